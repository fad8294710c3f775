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
    encoding = options.get("encoding")  # the same decoding as the partition of the rest
    comm = read_layer(communities, label="communities", encoding=encoding)  # type: ignore[arg-type]
    bld = read_layer(buildings, label="buildings", encoding=encoding)  # type: ignore[arg-type]
    id_col = columns.get("community_id", "community_id")
    bid_col = columns.get("building_id", "building_id")
    hh_col = columns.get("households", "households")
    pop_col = columns.get("population", "population")
    for layer, col, label in ((comm, id_col, "communities"), (bld, bid_col, "buildings")):
        if col not in layer.columns:
            raise InputDataError(f"{label} need a {col} column", source=source_name(layer), column=col)
    locks, lock_community, carved = _carve(comm, locked, id_col)
    lock_geoms = locks.geometry.to_numpy()
    building_lock = polygon_holding(representative_points(bld.to_crs(comm.crs).geometry.to_numpy()), lock_geoms)
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


def _carve(comm: gpd.GeoDataFrame, locked: gpd.GeoDataFrame,
           id_col: str) -> tuple[gpd.GeoDataFrame, np.ndarray, gpd.GeoDataFrame]:
    """Locked grids in the communities' CRS, the community row of each, and the communities without them."""
    locks = locked.to_crs(comm.crs).reset_index(drop=True)
    lock_geoms = locks.geometry.to_numpy()
    lock_community = polygon_holding(representative_points(lock_geoms), comm.geometry.to_numpy())
    if (lock_community < 0).any():
        row = int(np.flatnonzero(lock_community < 0)[0])
        raise InputDataError("locked grid lies outside every community", source=source_name(locked), row=row,
                             feature=locks["grid_id"].iloc[row], column="geometry")
    geoms = comm.geometry.to_numpy().copy()
    for c in np.unique(lock_community):
        rest = shapely.difference(geoms[c], shapely.union_all(lock_geoms[lock_community == c]))
        parts = shapely.get_parts(rest)
        parts = parts[shapely.area(parts) > 1e-9 * max(geoms[c].area, 1e-12)] if len(parts) else parts
        if len(parts) == 0:
            raise GridkitError(f"community {comm[id_col].iloc[c]!r} is covered by its locked grids: nothing "
                               "is left to plan (unlock a grid or leave the community out)")
        geoms[c] = shapely.union_all(parts)
    return locks, lock_community, comm.set_geometry(geoms, crs=comm.crs)


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


def regenerate_around_locked(
    regenerate: Callable[..., object], previous_grids: gpd.GeoDataFrame, previous_assignment: object,
    communities: object, buildings: object, streets: object, *, locked: gpd.GeoDataFrame, columns: dict[str, str],
    register: object = None, **options: object,
) -> object:
    """Regenerate what the locked grids leave of each community; the locked grids come back unchanged.

    The previous plan without its locked grids (and their buildings) is regenerated on the
    communities without them, with the locked codes entered in the code register as active, so
    no new grid takes a locked code. The locked grids keep polygon, code and buildings and are
    reported as ``kept``; churn counts their households as compared and not moved.

    Parameters
    ----------
    regenerate
        :func:`gridkit.regenerate.regenerate` (passed in: this module sits below it).
    previous_grids
        The previous plan (read), with the locked grids among them.
    locked
        The grids to keep (:func:`locked_grids` of ``previous_grids``).
    previous_assignment, communities, buildings, streets, columns, register, options
        As for ``regenerate``.
    """
    encoding = options.get("encoding")  # the same decoding as the partition of the rest
    comm = read_layer(communities, label="communities", encoding=encoding)  # type: ignore[arg-type]
    bld = read_layer(buildings, label="buildings", encoding=encoding)  # type: ignore[arg-type]
    id_col = columns.get("community_id", "community_id")
    bid_col = columns.get("building_id", "building_id")
    links = (previous_assignment.copy() if isinstance(previous_assignment, pd.DataFrame)
             else pd.read_csv(previous_assignment, dtype={"building_id": str, "grid_id": str}))
    links["building_id"] = links["building_id"].astype(str)
    links["grid_id"] = links["grid_id"].astype("string")
    codes = set(locked["grid_id"].astype(str))
    locks, lock_community, carved = _carve(comm, locked, id_col)
    lock_geoms = locks.geometry.to_numpy()
    building_lock = polygon_holding(representative_points(bld.to_crs(comm.crs).geometry.to_numpy()), lock_geoms)
    rest = previous_grids[~previous_grids["grid_id"].astype(str).isin(codes)]
    if register is None:
        book = pd.DataFrame(columns=["grid_id", "community_id", "seq", "status", "note"])
    elif isinstance(register, pd.DataFrame):
        book = register.copy()
    else:
        book = pd.read_csv(register, dtype={"grid_id": str, "community_id": str, "status": str, "note": str})
    seqs = [int(c[-3:]) if c[-3:].isdigit() else 0 for c in locks["grid_id"].astype(str)]
    book = pd.concat([book[~book["grid_id"].astype(str).isin(codes)], pd.DataFrame({
        "grid_id": locks["grid_id"].astype(str).to_numpy(), "community_id": comm[id_col].to_numpy()[lock_community],
        "seq": seqs, "status": "active", "note": "locked"})], ignore_index=True)
    result = regenerate(rest, links[~links["grid_id"].isin(codes)], carved, bld[building_lock < 0], streets,
                        columns=columns, register=book, **options)
    kept = _kept_grids(locks, lock_community, comm, bld, building_lock, result.grids.crs, id_col=id_col,
                       hh_col=columns.get("households", "households"),
                       pop_col=columns.get("population", "population"))
    kept = kept.assign(change="kept", related="", seq=seqs)
    result.grids = gpd.GeoDataFrame(pd.concat([result.grids.assign(locked=False), kept], ignore_index=True),
                                    crs=result.grids.crs)
    mine = building_lock >= 0
    previous_of = dict(zip(links["building_id"], links["grid_id"], strict=False))
    ids = bld[bid_col].astype(str).to_numpy()[mine]
    new_grid = locks["grid_id"].astype(str).to_numpy()[building_lock[mine]]
    before = [previous_of.get(b) for b in ids]
    moved = np.array([p is not None and not pd.isna(p) and str(p) != g for p, g in zip(before, new_grid, strict=True)])
    result.assignment = pd.concat([result.assignment, pd.DataFrame({
        "building_id": ids, "grid_id": new_grid,
        "community_id": comm[id_col].to_numpy()[lock_community[building_lock[mine]]],
        "estimated": False, "status": "assigned", "previous_grid_id": before, "moved": moved})], ignore_index=True)
    hh = kept["households"].to_numpy()
    result.report = pd.concat([result.report, pd.DataFrame({
        "grid_id": kept["grid_id"], "community_id": kept["community_id"], "change": "kept",
        "households_before": hh, "households_after": hh, "moved_in": 0, "moved_out": 0, "buildings_added": 0,
        "buildings_removed": 0, "related": "", "note": "locked"})], ignore_index=True)
    _add_locked_to_summary(result.summary, bld, columns, building_lock, before, moved, len(kept))
    return result


def _add_locked_to_summary(summary: dict, bld: gpd.GeoDataFrame, columns: dict[str, str], building_lock: np.ndarray,
                           before: list, moved: np.ndarray, n_locked: int) -> None:
    hh_col = columns.get("households", "households")
    hh = pd.to_numeric(bld[hh_col], errors="coerce").fillna(0).to_numpy(float)[building_lock >= 0] \
        if hh_col in bld.columns else np.zeros(int((building_lock >= 0).sum()))
    listed = np.array([b is not None and not pd.isna(b) for b in before], dtype=bool)
    summary["households_moved"] += int(hh[moved].sum())
    summary["households_compared"] += int(hh[listed].sum())
    summary["households_total"] += int(hh.sum())
    compared = summary["households_compared"]
    summary["churn"] = float(summary["households_moved"] / compared) if compared else 0.0
    summary["grids_before"] += n_locked
    summary["grids_after"] += n_locked
    summary["n_kept"] = summary.get("n_kept", 0) + n_locked
    summary["n_locked"] = n_locked
