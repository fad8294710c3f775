"""Validate a grid plan from its geometry and the buildings, not from the file's attributes.

:func:`validate_plan` is the check behind ``gridkit validate``: the edit-and-recheck loop of a planner
who edits grids in QGIS. Everything is recomputed:

- each building goes to a grid by the one point rule the partition uses
  (:func:`gridkit.spatial.representative_points` held by :func:`gridkit.spatial.polygon_holding`);
  with an assignment, each building must lie in the grid it is assigned to;
- households, population and building counts per grid come from the buildings, and balance from those;
- grids may not overlap (within a community or across communities), leave gaps in their community,
  reach outside it, or fall apart into several pieces;
- a plan manifest (``plan.json``, :mod:`gridkit.publish`) is checked when present.

Every failure is one row of :attr:`Validation.problems`, naming the grid (and the building) and what
is wrong, with a point to find it (lon/lat) and a message in English and Chinese.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit import _validate
from gridkit.crs import WGS84, local_metric_crs
from gridkit.io import read_layer, read_table, repair_polygons
from gridkit.metrics import HARD_LIMIT, deviations, overlapping_pairs
from gridkit.spatial import polygon_holding, representative_points

__all__ = ["CHECKS", "PROBLEM_COLUMNS", "Validation", "validate_plan"]

#: Columns of the problems table, in order.
PROBLEM_COLUMNS = ["severity", "check", "community_id", "grid_id", "building_id", "other", "value", "lon", "lat",
                   "message", "message_zh"]

#: check → (severity, English message, Chinese message); fields are filled from the problem row.
CHECKS: dict[str, tuple[str, str, str]] = {
    "duplicate_grid_id": ("error", "grid id {grid_id} is used by {value:.0f} grids",
                          "网格编码 {grid_id} 被 {value:.0f} 个网格重复使用"),
    "unknown_community": ("error", "grid {grid_id} names community {community_id}, which is not in the communities",
                          "网格 {grid_id} 所属社区 {community_id} 不在社区图层中"),
    "empty_grid_geometry": ("error", "grid {grid_id} has no geometry", "网格 {grid_id} 没有几何图形"),
    "not_contiguous": ("error", "grid {grid_id} is in {value:.0f} separate pieces (smallest {other})",
                       "网格 {grid_id} 分成 {value:.0f} 块互不相连（最小一块 {other}）"),
    "outside_community": ("error", "grid {grid_id} reaches {value:.1f} m² outside its community {community_id}",
                          "网格 {grid_id} 超出所属社区 {community_id} 边界 {value:.1f} 平方米"),
    "overlap": ("error", "grid {grid_id} overlaps grid {other} by {value:.1f} m²",
                "网格 {grid_id} 与网格 {other} 重叠 {value:.1f} 平方米"),
    "gap": ("error", "community {community_id} has {value:.1f} m² covered by no grid (next to grid {grid_id})",
            "社区 {community_id} 有 {value:.1f} 平方米未被任何网格覆盖（邻近网格 {grid_id}）"),
    "building_not_in_grid": ("error", "building {building_id} is assigned to grid {grid_id} but lies {value:.1f} m "
                             "outside it, in grid {other}",
                             "建筑 {building_id} 分配给网格 {grid_id}，"
                             "但位于该网格外 {value:.1f} 米处（网格 {other}）"),
    "building_split": ("warning", "building {building_id} in grid {grid_id} reaches {value:.1f} m² out of it, "
                       "into grid {other}",
                       "建筑 {building_id}（网格 {grid_id}）有 {value:.1f} 平方米伸出该网格，进入网格 {other}"),
    "building_in_no_grid": ("error", "building {building_id} lies in community {community_id} but in no grid",
                            "建筑 {building_id} 位于社区 {community_id} 内，但不在任何网格中"),
    "building_unassigned": ("error", "building {building_id} is missing from the assignment",
                            "建筑 {building_id} 不在建筑-网格对应表中"),
    "unknown_building": ("error", "the assignment lists building {building_id}, which is not in the buildings",
                         "对应表中的建筑 {building_id} 不在建筑图层中"),
    "duplicate_building": ("error", "building {building_id} is listed {value:.0f} times in the assignment",
                           "建筑 {building_id} 在对应表中出现 {value:.0f} 次"),
    "unknown_grid": ("error", "{value:.0f} buildings are assigned to grid {grid_id}, which is not in the grids "
                     "(e.g. building {building_id})",
                     "{value:.0f} 栋建筑分配给不存在的网格 {grid_id}（例如建筑 {building_id}）"),
    "building_outside_communities": ("warning", "building {building_id} lies outside every community",
                                     "建筑 {building_id} 不在任何社区内"),
    "balance": ("error", "grid {grid_id} deviates {value:+.1%} from its community's mean (grid / mean: {other}), "
                "beyond the hard limit",
                "网格 {grid_id} 偏离社区平均 {value:+.1%}（本网格 / 平均：{other}），超出硬性上限"),
    "balance_tolerance": ("warning", "grid {grid_id} deviates {value:+.1%} from its community's mean (grid / mean: "
                          "{other}), outside the tolerance",
                          "网格 {grid_id} 偏离社区平均 {value:+.1%}（本网格 / 平均：{other}），超出容差"),
    "stale_attribute": ("error", "grid {grid_id}: the file says {other}, the buildings give {value:.0f}",
                        "网格 {grid_id}：文件属性为 {other}，按建筑重算为 {value:.0f}"),
    "balance_from_attributes": ("warning", "no buildings given: balance is read from the grids' {other} "
                                "attribute, which a hand edit does not update",
                                "未提供建筑：均衡度取自网格的 {other} 属性，手工编辑后该属性不会更新"),
    "manifest_interrupted": ("error", "{other}: a run was interrupted while publishing this plan, so its files "
                             "may come from two runs; run the same command again (it restores the previous plan "
                             "first)",
                             "{other}：发布该方案时运行被中断，文件可能来自两次运行；"
                             "请重新运行同一命令（会先恢复上一版方案）"),
    "manifest_staging": ("error", "{other}: staging left by an interrupted run", "{other}：中断运行遗留的暂存目录"),
    "manifest_unreadable": ("error", "{other}: not a gridkit plan manifest", "{other}：不是 gridkit 方案清单"),
    "manifest_missing": ("error", "{other}: listed in the plan manifest but missing",
                         "{other}：方案清单中列出但文件缺失"),
    "manifest_changed": ("warning", "{other}: changed since gridkit wrote it (the manifest's checksum differs)",
                         "{other}：在 gridkit 写出后被修改（与方案清单校验值不符）"),
}


@dataclass
class Validation:
    """What :func:`validate_plan` found.

    Attributes
    ----------
    problems
        One row per failure (columns :data:`PROBLEM_COLUMNS`), errors first.
    grids
        Per grid, recomputed from the buildings: ``grid_id``, ``community_id``, ``households``,
        ``population``, ``n_buildings``, ``area_m2``, ``deviation``, ``oversize``, ``n_parts``.
    crs
        The metric CRS the checks were made in.
    """

    problems: pd.DataFrame
    grids: pd.DataFrame
    crs: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> pd.DataFrame:
        """The rows that make the plan fail."""
        return self.problems[self.problems["severity"] == "error"]

    @property
    def ok(self) -> bool:
        """True when no error was found (warnings may remain)."""
        return self.errors.empty

    def summary(self, lang: str = "en") -> list[str]:
        """One line per check that failed: the check, how many, and the first message."""
        column = "message" if lang == "en" else "message_zh"
        lines = []
        for (severity, check), part in self.problems.groupby(["severity", "check"], sort=False):
            lines.append(f"{severity} {check} ×{len(part)}: {part[column].iloc[0]}")
        return lines


class _Problems:
    def __init__(self, to_lonlat: Any) -> None:
        self.rows: list[dict[str, Any]] = []
        self.to_lonlat = to_lonlat

    def add(self, check: str, *, where: shapely.Geometry | None = None, **fields: Any) -> None:
        severity, en, zh = CHECKS[check]
        row = {c: fields.get(c) for c in PROBLEM_COLUMNS}
        row.update(severity=fields.get("severity", severity), check=check)
        values = {k: ("" if v is None else v) for k, v in row.items()}
        if values["value"] == "":
            values["value"] = 0.0
        row["message"], row["message_zh"] = en.format(**values), zh.format(**values)
        if where is not None and not shapely.is_empty(where):
            row["lon"], row["lat"] = self.to_lonlat(where)
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        table = pd.DataFrame(self.rows, columns=PROBLEM_COLUMNS)
        order = (table["severity"] != "error").to_numpy()
        return table.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


def validate_plan(
    grids: str | os.PathLike[str] | gpd.GeoDataFrame,
    communities: str | os.PathLike[str] | gpd.GeoDataFrame,
    buildings: str | os.PathLike[str] | gpd.GeoDataFrame | None = None,
    assignment: str | os.PathLike[str] | pd.DataFrame | None = None,
    *,
    by: str = "households",
    tolerance: float = 0.1,
    balance_limit: float = 0.5,
    columns: Mapping[str, str] | None = None,
    manifest: str | os.PathLike[str] | None = None,
) -> Validation:
    """Check a grid plan against its communities and buildings, recomputing every figure.

    Parameters
    ----------
    grids
        Grid polygons with ``grid_id`` and ``community_id`` (path or GeoDataFrame, any CRS). Count
        attributes (``households`` …) are compared with the buildings, never trusted.
    communities
        Community polygons with ``community_id`` (any CRS).
    buildings
        Buildings (``building_id``, ``households``, ``population``); without them balance can only be
        read from the grids' attributes (a warning says so) and no building check is made.
    assignment
        Building → grid table (CSV path or frame with ``building_id``, ``grid_id``). Without it, each
        building is assigned by location (the point rule).
    by
        Balanced measure: ``households``, ``population`` or ``area``.
    tolerance
        Balance tolerance (0.1 = ±10 %); grids outside it are warnings.
    balance_limit
        |deviation| beyond which a grid is an error (0.5 = ±50 %: two grids merged by hand are about
        +100 %); a grid whose single heaviest building alone exceeds the upper bound (``oversize``) is
        exempt.
    columns
        Input column names where they differ from the standard ones (as for :func:`gridkit.partition`).
    manifest
        A plan manifest to check (default: the ``plan.json`` or ``<grids>.plan.json`` next to the
        grids file, when there is one).

    Returns
    -------
    Validation
        ``problems`` (one row per failure) and the recomputed per-grid table.

    Examples
    --------
    >>> import gridkit
    >>> from gridkit.samples import load_sample
    >>> s = load_sample()
    >>> grids, assignment = gridkit.partition(s.communities, s.buildings, s.streets)  # doctest: +SKIP
    >>> gridkit.validate_plan(grids, s.communities, s.buildings, assignment).ok  # doctest: +SKIP
    True
    """
    names = dict(columns or {})
    grid_layer = read_layer(grids, label="grids")
    _validate.require_columns(grid_layer, ["grid_id", "community_id"], label="grids")
    comm = _validate.communities(read_layer(communities, label="communities"),
                                 id_col=names.get("community_id"), check_overlap=False,
                                 **{f"{k}_col": names.get(k) for k in ("name", "code", "target")})
    crs = local_metric_crs(comm)
    to_wgs = _lonlat(crs)
    problems = _Problems(to_wgs)
    comm_m = comm.to_crs(crs)
    g = grid_layer.to_crs(crs)
    g = g.set_geometry(repair_polygons(g.geometry.to_numpy()), crs=crs)
    grid_ids = g["grid_id"].astype("string").to_numpy(dtype=object, na_value=None)
    grid_comm = g["community_id"].to_numpy(dtype=object)
    geoms = g.geometry.to_numpy()
    _check_grids(problems, grid_ids, grid_comm, geoms, comm_m)
    table = pd.DataFrame({"grid_id": grid_ids, "community_id": grid_comm, "area_m2": shapely.area(geoms),
                          "n_parts": shapely.get_num_geometries(geoms)})
    if buildings is not None:
        bld = _validate.buildings(
            read_layer(buildings, label="buildings"), id_col=names.get("building_id"),
            households_col=names.get("households"),
            population_col=names.get("population"),
            levels_col=names.get("levels"), use_col=names.get("use"))
        links = _read_assignment(assignment) if assignment is not None else None
        grid_of = _check_buildings(problems, bld.to_crs(crs), links, grid_ids, grid_comm, geoms, comm_m)
        _recount(problems, table, g, bld, grid_of)
        heaviest = _heaviest(bld, grid_of, len(table), by)
    else:
        measure = "households" if by == "area" else by
        for col in ("households", "population", "n_buildings"):
            table[col] = pd.to_numeric(g[col], errors="coerce").to_numpy() if col in g.columns else np.nan
        if by != "area":
            problems.add("balance_from_attributes", other=measure)
        heaviest = np.zeros(len(table))
    _check_balance(problems, table, geoms, by=by, tolerance=tolerance, limit=balance_limit, heaviest=heaviest)
    found = manifest if manifest is not None else _manifest_beside(grids)
    if found is not None:
        from gridkit.publish import check_manifest  # noqa: PLC0415 - publish imports nothing of this module

        for _severity, kind, path in check_manifest(found):
            problems.add(f"manifest_{kind}", other=path)
    return Validation(problems=problems.frame(), grids=table, crs=crs)


def _lonlat(crs: Any) -> Any:
    from pyproj import Transformer  # noqa: PLC0415

    transformer = Transformer.from_crs(crs, WGS84, always_xy=True)

    def convert(geom: shapely.Geometry) -> tuple[float, float]:
        point = geom if geom.geom_type == "Point" else shapely.point_on_surface(geom)
        lon, lat = transformer.transform(point.x, point.y)
        return round(float(lon), 7), round(float(lat), 7)

    return convert


def _manifest_beside(grids: Any) -> Path | None:
    if isinstance(grids, gpd.GeoDataFrame):
        return None
    path = Path(grids)
    for candidate in (path.with_name(f"{path.stem}.plan.json"), path.parent / "plan.json"):
        if candidate.exists():
            return candidate
    return None


def _read_assignment(assignment: Any) -> pd.DataFrame:
    if isinstance(assignment, pd.DataFrame):
        links = pd.DataFrame(assignment).copy()
        links.attrs.setdefault("source", "<assignment>")
    else:
        # the one CSV reader: encoding detected (GBK from Excel too), ragged rows named, file named
        links = read_table(assignment, dtype=str, keep_default_na=False, na_values=[""], label="assignment")
    _validate.require_columns(links, ["building_id", "grid_id"], label="assignment")
    links["building_id"] = links["building_id"].astype(str)
    links["grid_id"] = links["grid_id"].astype("string")
    return links


def _check_grids(problems: _Problems, grid_ids: np.ndarray, grid_comm: np.ndarray, geoms: np.ndarray,
                 comm: gpd.GeoDataFrame) -> None:
    counts = pd.Series(grid_ids).value_counts()
    for gid, n in counts[counts > 1].items():
        problems.add("duplicate_grid_id", grid_id=gid, value=float(n))
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        problems.add("empty_grid_geometry", grid_id=grid_ids[i], community_id=grid_comm[i])
    row_of = {cid: i for i, cid in enumerate(comm["community_id"])}
    comm_geoms = comm.geometry.to_numpy()
    for i in np.flatnonzero(~missing):
        c = row_of.get(grid_comm[i])
        if c is None:
            problems.add("unknown_community", grid_id=grid_ids[i], community_id=grid_comm[i], where=geoms[i])
            continue
        parts = shapely.get_parts(geoms[i])
        if len(parts) > 1 and shapely.get_num_geometries(comm_geoms[c]) == 1:
            problems.add("not_contiguous", grid_id=grid_ids[i], community_id=grid_comm[i], value=float(len(parts)),
                         other=f"{shapely.area(parts).min():.2f} m²", where=parts[np.argmin(shapely.area(parts))])
        outside = shapely.difference(geoms[i], comm_geoms[c])
        if outside.area > HARD_LIMIT * geoms[i].area:
            problems.add("outside_community", grid_id=grid_ids[i], community_id=grid_comm[i], value=outside.area,
                         where=outside)
    usable = np.flatnonzero(~missing)
    left, right, area = overlapping_pairs(geoms[usable])
    for a, b, m2 in zip(usable[left], usable[right], area, strict=True):
        where = shapely.intersection(geoms[a], geoms[b])
        problems.add("overlap", grid_id=grid_ids[a], community_id=grid_comm[a], other=grid_ids[b], value=float(m2),
                     where=where)
    for c, cid in enumerate(comm["community_id"]):
        mine = usable[grid_comm[usable] == cid]
        gap = shapely.difference(comm_geoms[c], shapely.union_all(geoms[mine])) if len(mine) else comm_geoms[c]
        if gap.area <= HARD_LIMIT * comm_geoms[c].area:
            continue
        pieces = shapely.get_parts(gap)
        biggest = pieces[np.argmax(shapely.area(pieces))]
        near = mine[shapely.STRtree(geoms[mine]).query_nearest(biggest)] if len(mine) else []
        problems.add("gap", community_id=cid, grid_id=", ".join(str(grid_ids[j]) for j in near) or "-",
                     value=float(gap.area), where=biggest)


def _check_buildings(problems: _Problems, bld: gpd.GeoDataFrame, links: pd.DataFrame | None, grid_ids: np.ndarray,
                     grid_comm: np.ndarray, geoms: np.ndarray, comm: gpd.GeoDataFrame) -> np.ndarray:
    """Grid position of each building (-1: none); records every building that is not where it should be."""
    points = representative_points(bld.geometry.to_numpy())
    ids = bld["building_id"].astype(str).to_numpy()
    holder = polygon_holding(points, geoms)  # by location: the partition's own rule
    in_comm = polygon_holding(points, comm.geometry.to_numpy())
    comm_ids = comm["community_id"].to_numpy(dtype=object)
    if links is None:
        grid_of = holder
    else:
        grid_of = _assigned(problems, links, ids, points, grid_ids, in_comm)
        position = {gid: i for i, gid in enumerate(grid_ids)}
        # a building whose point the assigned grid does not cover (duplicate ids: any grid of that id)
        covered = np.zeros(len(ids), dtype=bool)
        has = grid_of >= 0
        covered[has] = shapely.covers(geoms[grid_of[has]], points[has])
        for i in np.flatnonzero(has & ~covered):
            gid = grid_ids[grid_of[i]]
            same = [j for j in np.flatnonzero(grid_ids == gid) if shapely.covers(geoms[j], points[i])]
            if same:
                grid_of[i] = same[0]
                continue
            metres = float(shapely.distance(geoms[position[gid]], points[i]))
            problems.add("building_not_in_grid", building_id=ids[i], grid_id=gid,
                         community_id=grid_comm[grid_of[i]], other=grid_ids[holder[i]] if holder[i] >= 0 else "-",
                         value=metres, where=points[i])
    _check_footprints(problems, bld, ids, grid_of, grid_ids, geoms)
    for i in np.flatnonzero(grid_of == -1):  # -2: already reported (unknown grid, not in the assignment)
        if in_comm[i] >= 0:
            problems.add("building_in_no_grid", building_id=ids[i], community_id=comm_ids[in_comm[i]],
                         where=points[i])
        else:
            problems.add("building_outside_communities", building_id=ids[i], where=points[i])
    return np.where(grid_of >= 0, grid_of, -1)


def _check_footprints(problems: _Problems, bld: gpd.GeoDataFrame, ids: np.ndarray, grid_of: np.ndarray,
                      grid_ids: np.ndarray, geoms: np.ndarray) -> None:
    """Footprints reaching out of their grid (a warning: a street drawn through a building splits it)."""
    footprints = bld.geometry.to_numpy()
    use = np.flatnonzero((grid_of >= 0) & np.isin(shapely.get_type_id(footprints), [3, 6]))
    if not len(use):
        return
    out = shapely.difference(footprints[use], geoms[grid_of[use]])
    area = shapely.area(out)
    split = area > np.maximum(HARD_LIMIT * shapely.area(footprints[use]), 0.01)
    for k in np.flatnonzero(split):
        i = use[k]
        others = shapely.STRtree(geoms).query(out[k], predicate="intersects")
        others = [j for j in others if j != grid_of[i] and shapely.intersection(geoms[j], out[k]).area > 1e-6]
        into = ", ".join(str(grid_ids[j]) for j in others) if others else "-"
        problems.add("building_split", building_id=ids[i], grid_id=grid_ids[grid_of[i]], value=float(area[k]),
                     other=into, where=out[k])


def _assigned(problems: _Problems, links: pd.DataFrame, ids: np.ndarray, points: np.ndarray, grid_ids: np.ndarray,
              in_comm: np.ndarray) -> np.ndarray:
    """Grid position each building is assigned to (-1: none), recording assignment rows that do not fit."""
    dup = links["building_id"].value_counts()
    for bid, n in dup[dup > 1].items():
        problems.add("duplicate_building", building_id=bid, value=float(n))
    first = links.drop_duplicates("building_id").set_index("building_id")["grid_id"]
    known = set(ids)
    for bid in first.index[~first.index.isin(list(known))]:
        problems.add("unknown_building", building_id=bid, grid_id=first[bid])
    position = pd.Series(np.arange(len(grid_ids)), index=pd.Index(grid_ids, dtype=object))
    position = position[~position.index.duplicated()]
    given = first.reindex(ids)
    grid_of = np.full(len(ids), -1, dtype=np.int64)
    present = given.notna().to_numpy()
    found = position.reindex(given[present].astype(str).to_numpy())
    grid_of[np.flatnonzero(present)[found.notna().to_numpy()]] = found.dropna().to_numpy(np.int64)
    grid_of[np.flatnonzero(present)[found.isna().to_numpy()]] = -2
    unknown = pd.Series(given[present][found.isna().to_numpy()])
    for gid, part in unknown.groupby(unknown.astype(str)):
        problems.add("unknown_grid", grid_id=gid, building_id=part.index[0], value=float(len(part)))
    unlisted = ~pd.Index(ids).isin(first.index)
    grid_of[unlisted] = -2
    for i in np.flatnonzero(unlisted):
        problems.add("building_unassigned", building_id=ids[i], where=points[i],
                     severity="error" if in_comm[i] >= 0 else "warning")
    return grid_of


def _recount(problems: _Problems, table: pd.DataFrame, grids: gpd.GeoDataFrame, bld: gpd.GeoDataFrame,
             grid_of: np.ndarray) -> None:
    placed = grid_of >= 0
    n = len(table)
    table["households"] = np.bincount(grid_of[placed], weights=bld["households"].to_numpy(float)[placed],
                                      minlength=n).astype(np.int64)
    table["population"] = np.bincount(grid_of[placed], weights=bld["population"].to_numpy(float)[placed],
                                      minlength=n).astype(np.int64)
    table["n_buildings"] = np.bincount(grid_of[placed], minlength=n)
    for col in ("households", "population", "n_buildings"):
        if col not in grids.columns:
            continue
        stated = pd.to_numeric(grids[col], errors="coerce").to_numpy(float)
        differs = ~np.isnan(stated) & (stated != table[col].to_numpy(float))
        for i in np.flatnonzero(differs):
            problems.add("stale_attribute", grid_id=table["grid_id"].iloc[i],
                         community_id=table["community_id"].iloc[i], other=f"{col} {stated[i]:.0f}",
                         value=float(table[col].iloc[i]), where=grids.geometry.iloc[i])


def _heaviest(bld: gpd.GeoDataFrame, grid_of: np.ndarray, n: int, by: str) -> np.ndarray:
    """Per grid, the weight of its heaviest building (what no redrawing can split)."""
    out = np.zeros(n)
    if by == "area":
        return out
    placed = grid_of >= 0
    np.maximum.at(out, grid_of[placed], bld[by].to_numpy(float)[placed])
    return out


def _check_balance(problems: _Problems, table: pd.DataFrame, geoms: np.ndarray, *, by: str, tolerance: float,
                   limit: float, heaviest: np.ndarray) -> None:
    weight = table["area_m2"].to_numpy(float) if by == "area" else table[by].to_numpy(float)
    table["deviation"] = np.nan
    table["oversize"] = False
    for cid, rows in table.groupby("community_id", sort=False).groups.items():
        idx = np.asarray(rows)
        w = weight[idx]
        if np.isnan(w).any() or len(idx) < 2:
            continue
        # a grid is oversize when its heaviest building alone is above the upper bound
        mean = w.mean()
        oversize = heaviest[idx] > (1 + tolerance) * mean
        dev = deviations(w, oversize)
        normal_mean = w[~oversize].mean() if (~oversize).any() else mean
        table.loc[idx, "deviation"] = dev
        table.loc[idx, "oversize"] = oversize
        ids = table["grid_id"].to_numpy()
        for j, d, big in zip(idx, dev, oversize, strict=True):
            if big or abs(d) <= tolerance + 1e-12:
                continue
            check = "balance" if abs(d) > limit else "balance_tolerance"
            problems.add(check, grid_id=ids[j], community_id=cid, value=float(d),
                         other=f"{weight[j]:.0f} / {normal_mean:.0f}", where=geoms[j])
