"""Locked grids: grids agreed with residents or a street office that a new plan must not move.

A locked grid is kept exactly: its polygon, its code and the buildings in it (those whose
representative point it holds). The rest of its community is planned around it: the community
minus its locked grids is partitioned as a community of its own, and the locked grids join the
result. Where a locked grid holds more or less than the tolerance allows around the community's
mean grid, no plan can bring it inside; the report says so and by how much.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.errors import GridkitError, InputDataError
from gridkit.io import read_layer, source_name
from gridkit.metrics import polsby_popper
from gridkit.spatial import polygon_holding, representative_points

__all__ = ["locked_grids", "partition_around_locked"]


def locked_grids(grids: object, codes: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """The grids to keep: rows of ``grids`` with a true ``locked`` column, and/or whose code is in ``codes``.

    Parameters
    ----------
    grids
        Grid polygons (path or GeoDataFrame, any CRS) with ``grid_id`` and optionally ``locked``.
    codes
        Grid codes to keep (``grid_id`` values); every code must be present.

    Raises
    ------
    InputDataError
        A code that is not in ``grids``, a duplicate ``grid_id``, or a geometry that is not a polygon.
    """
    layer = read_layer(grids, label="locked grids")
    if "grid_id" not in layer.columns:
        raise InputDataError("locked grids need a grid_id column", source=source_name(layer), column="grid_id")
    ids = layer["grid_id"].astype(str)
    if ids.duplicated().any():
        row = int(np.flatnonzero(ids.duplicated().to_numpy())[0])
        raise InputDataError("grid_id appears twice among the locked grids", source=source_name(layer), row=row,
                             feature=ids.iloc[row], column="grid_id")
    keep = np.zeros(len(layer), dtype=bool)
    if "locked" in layer.columns:
        keep |= layer["locked"].fillna(False).astype(str).str.lower().isin(["true", "1", "yes", "y"]).to_numpy()
    if codes is not None:
        wanted = [str(c) for c in codes]
        missing = sorted(set(wanted) - set(ids))
        if missing:
            raise InputDataError(f"locked grid code(s) not found: {', '.join(missing[:5])}",
                                 source=source_name(layer), column="grid_id")
        keep |= ids.isin(wanted).to_numpy()
    out = layer[keep].copy()
    out["grid_id"] = ids[keep].to_numpy()
    kinds = shapely.get_type_id(out.geometry.to_numpy())
    bad = np.flatnonzero(~np.isin(kinds, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]))
    if len(bad):
        raise InputDataError("a locked grid is not a polygon", source=source_name(layer), row=int(bad[0]),
                             feature=out["grid_id"].iloc[int(bad[0])], column="geometry")
    return out.reset_index(drop=True)


def partition_around_locked(
    partition: Callable[..., object], communities: object, buildings: object, streets: object, *,
    locked: gpd.GeoDataFrame, columns: dict[str, str], tolerance: float, by: object, **options: object,
) -> object:
    """Partition what the locked grids leave of each community, then add the locked grids back.

    Parameters
    ----------
    partition
        :func:`gridkit.partition.partition` (passed in: this module sits below it).
    communities, buildings, streets
        As for ``partition``.
    locked
        The grids to keep (:func:`locked_grids`), any CRS.
    columns, tolerance, by, options
        ``partition``'s options.

    Returns
    -------
    PartitionResult
        Grids of the whole communities (locked ones flagged ``locked``), assignment, report (with
        ``n_locked`` and a note where a lock puts a grid out of the tolerance).
    """
    comm = read_layer(communities, label="communities")
    bld = read_layer(buildings, label="buildings")
    id_col = columns.get("community_id", "community_id")
    bid_col = columns.get("building_id", "building_id")
    hh_col = columns.get("households", "households")
    pop_col = columns.get("population", "population")
    for layer, col, label in ((comm, id_col, "communities"), (bld, bid_col, "buildings")):
        if col not in layer.columns:
            raise InputDataError(f"{label} need a {col} column", source=source_name(layer), column=col)
    locks = locked.to_crs(comm.crs).reset_index(drop=True)
    lock_geoms = locks.geometry.to_numpy()
    lock_community = polygon_holding(representative_points(lock_geoms), comm.geometry.to_numpy())
    if (lock_community < 0).any():
        row = int(np.flatnonzero(lock_community < 0)[0])
        raise InputDataError("locked grid lies outside every community", source=source_name(locked), row=row,
                             feature=locks["grid_id"].iloc[row], column="geometry")
    points = representative_points(bld.to_crs(comm.crs).geometry.to_numpy())
    building_lock = polygon_holding(points, lock_geoms)
    carved = comm.copy()
    geoms = carved.geometry.to_numpy().copy()
    for c in np.unique(lock_community):
        rest = shapely.difference(geoms[c], shapely.union_all(lock_geoms[lock_community == c]))
        parts = shapely.get_parts(rest)
        parts = parts[shapely.area(parts) > 1e-9 * max(geoms[c].area, 1e-12)] if len(parts) else parts
        if len(parts) == 0:
            raise GridkitError(f"community {comm[id_col].iloc[c]!r} is covered by its locked grids: nothing "
                               "is left to plan (unlock a grid or leave the community out)")
        geoms[c] = shapely.union_all(parts)
    carved = carved.set_geometry(geoms, crs=comm.crs)
    free = bld[building_lock < 0]
    result = partition(carved, free, streets, columns=columns, tolerance=tolerance, by=by, **options)
    kept = _kept_grids(locks, lock_community, comm, bld, building_lock, result.grids.crs,
                       id_col=id_col, hh_col=hh_col, pop_col=pop_col)
    grids, renamed = _merge_grids(result.grids, kept, by=by)
    if renamed:
        result.assignment["grid_id"] = result.assignment["grid_id"].replace(renamed)
        result.atoms["grid_id"] = result.atoms["grid_id"].replace(renamed)
    links = pd.DataFrame({"building_id": bld[bid_col].to_numpy()[building_lock >= 0],
                          "grid_id": locks["grid_id"].to_numpy()[building_lock[building_lock >= 0]],
                          "community_id": comm[id_col].to_numpy()[lock_community[building_lock[building_lock >= 0]]],
                          "estimated": False, "status": "assigned"})
    result.assignment = pd.concat([result.assignment, links], ignore_index=True)
    result.grids = grids
    result.report = _lock_report(result.report, grids, tolerance)
    return result


def _kept_grids(locks: gpd.GeoDataFrame, lock_community: np.ndarray, comm: gpd.GeoDataFrame,
                bld: gpd.GeoDataFrame, building_lock: np.ndarray, crs: object, *, id_col: str, hh_col: str,
                pop_col: str) -> gpd.GeoDataFrame:
    n = len(locks)
    inside = building_lock >= 0

    def total(col: str) -> np.ndarray:
        if col not in bld.columns:
            return np.zeros(n, dtype=np.int64)
        values = pd.to_numeric(bld[col], errors="coerce").fillna(0).to_numpy(float)[inside]
        return np.bincount(building_lock[inside], weights=values, minlength=n).astype(np.int64)

    kept = gpd.GeoDataFrame({
        "grid_id": locks["grid_id"].to_numpy(),
        "community_id": comm[id_col].to_numpy()[lock_community],
        "households": total(hh_col),
        "population": total(pop_col),
        "n_buildings": np.bincount(building_lock[inside], minlength=n),
    }, geometry=locks.geometry.to_numpy(), crs=comm.crs).to_crs(crs)
    metric = kept.to_crs(kept.estimate_utm_crs()) if kept.crs is not None and kept.crs.is_geographic else kept
    kept["area_m2"] = metric.geometry.area.to_numpy()
    kept["polsby_popper"] = polsby_popper(metric.geometry.to_numpy())
    kept["oversize"] = False
    kept["locked"] = True
    return kept


def _merge_grids(planned: gpd.GeoDataFrame, kept: gpd.GeoDataFrame, *,
                 by: object) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Planned and kept grids together; codes made unique; deviation over the whole community.

    Returns the grids and the new code of every planned grid whose code a locked grid holds.
    """
    planned = planned.copy()
    renamed: dict[str, str] = {}
    planned["locked"] = False
    taken = set(kept["grid_id"])
    for i in np.flatnonzero(planned["grid_id"].isin(taken).to_numpy()):
        used = set(planned["grid_id"]) | taken
        seq = int(planned["seq"].max()) + 1
        base = str(planned["grid_id"].iloc[i])[:-3]
        while f"{base}{seq:03d}" in used:
            seq += 1
        renamed[str(planned["grid_id"].iloc[i])] = f"{base}{seq:03d}"
        planned.loc[planned.index[i], ["grid_id", "seq"]] = [f"{base}{seq:03d}", seq]
    kept = kept.assign(seq=[int(s[-3:]) if s[-3:].isdigit() else 0 for s in kept["grid_id"]])
    grids = gpd.GeoDataFrame(pd.concat([planned, kept], ignore_index=True), crs=planned.crs)
    measure = by if isinstance(by, str) else next(iter(by))
    column = "area_m2" if measure == "area" else measure
    values = grids[column].to_numpy(float)
    normal = ~grids["oversize"].fillna(False).to_numpy(bool)
    deviation = np.zeros(len(grids))
    for cid in grids["community_id"].unique():
        mine = (grids["community_id"] == cid).to_numpy()
        mean = values[mine & normal].mean() if (mine & normal).any() else 0.0
        deviation[mine] = (values[mine] - mean) / mean if mean > 0 else 0.0
    grids["deviation"] = deviation
    grids["oversize"] = grids["oversize"].fillna(False).astype(bool)
    return grids.sort_values(["community_id", "seq"], kind="stable").reset_index(drop=True), renamed


def _lock_report(report: pd.DataFrame, grids: gpd.GeoDataFrame, tolerance: float) -> pd.DataFrame:
    report = report.copy()
    rows = []
    for _, row in report.iterrows():
        mine = grids[grids["community_id"] == row["community_id"]]
        locks = mine[mine["locked"]]
        normal = mine[~mine["oversize"]]
        dev = normal["deviation"].abs()
        notes = [row["message"]] if isinstance(row["message"], str) and row["message"] else []
        out_of_reach = locks[locks["deviation"].abs() > tolerance + 1e-12]
        for _, lock in out_of_reach.iterrows():
            notes.append(f"locked grid {lock['grid_id']} holds {1 + lock['deviation']:.2f} of the mean grid: the "
                         f"lock keeps it outside ±{tolerance:.0%} by {abs(lock['deviation']) - tolerance:.3f}")
        status = row["status"]
        within = float((dev <= tolerance + 1e-12).mean()) if len(normal) else 1.0
        if len(out_of_reach):
            status = "tolerance_unreachable_locked"
        elif within < 1.0 and status == "ok":
            status = "tolerance_not_reached"
        rows.append({**row.to_dict(), "n_grids": len(mine), "n_locked": len(locks),
                     "households": int(mine["households"].sum()), "population": int(mine["population"].sum()),
                     "max_abs_deviation": float(dev.max()) if len(dev) else 0.0, "share_within_tolerance": within,
                     "status": status, "message": "; ".join(notes)})
    return pd.DataFrame(rows)
