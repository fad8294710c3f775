"""Quality metrics of a grid plan, exactly as GUIDE §4 defines them.

- conservation: households (and population) summed over grids equal the sum over input buildings;
- coverage gap |area(∪ grids) − area(community)| / area(community) and overlap
  (Σ area(grid) − area(∪ grids)) / area(community), both ≤ 1e-6;
- contiguity: a grid is one Polygon;
- balance: deviation = (w − mean) / mean over the grids of one community (oversize grids aside),
  max |deviation| and the share of grids inside ±tolerance;
- compactness: mean Polsby-Popper 4πA/P²;
- street alignment: the share of the grid boundary inside the community (not on its outer boundary)
  that lies within 5 m of a street centreline.

All lengths and areas are measured in a local metric CRS (m, m²).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import local_metric_crs
from gridkit.io import repair_polygons

__all__ = [
    "HARD_LIMIT",
    "coverage",
    "deviations",
    "evaluate",
    "hard_failures",
    "overlapping_pairs",
    "polsby_popper",
    "street_alignment",
]

#: Largest coverage gap and overlap (relative to community area) that counts as seamless.
HARD_LIMIT = 1e-6
_STEP_M = 1.0


def polsby_popper(geoms: np.ndarray | gpd.GeoSeries) -> np.ndarray:
    """Polsby-Popper compactness 4πA/P² of each polygon (1 for a disc); metric CRS expected."""
    geoms = np.asarray(geoms)
    perimeter = shapely.length(geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perimeter > 0, 4 * np.pi * shapely.area(geoms) / perimeter**2, 0.0)


def deviations(weights: np.ndarray, oversize: np.ndarray | None = None) -> np.ndarray:
    """Relative deviation of each grid's weight from the mean over the (non-oversize) grids."""
    weights = np.asarray(weights, dtype=float)
    normal = np.ones(len(weights), dtype=bool) if oversize is None else ~np.asarray(oversize, dtype=bool)
    if not normal.any():
        normal = np.ones(len(weights), dtype=bool)
    mean = weights[normal].mean() if len(weights) else 0.0
    return (weights - mean) / mean if mean > 0 else np.zeros(len(weights))


def coverage(grid_geoms: np.ndarray, community: shapely.Geometry) -> tuple[float, float]:
    """Return (gap, overlap) of grids against their community, relative to the community area."""
    area = community.area
    union = shapely.union_all(grid_geoms)
    gap = abs(union.area - area) / area
    overlap = (shapely.area(grid_geoms).sum() - union.area) / area
    return float(gap), float(max(0.0, overlap))


def overlapping_pairs(geoms: np.ndarray, *, share: float = HARD_LIMIT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of polygons (``i < j``) whose common area exceeds ``share`` of the smaller one.

    Parameters
    ----------
    geoms
        Polygons in a metric CRS.
    share
        Overlap that counts, relative to the smaller polygon's area (rounding on shared edges is far below).

    Returns
    -------
    left, right, area_m2
        Positions of each overlapping pair and the area they share (m²).
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    area = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    hit = area > share * smaller
    return left[hit], right[hit], area[hit]


def street_alignment(
    grid_geoms: np.ndarray, community: shapely.Geometry, streets: np.ndarray, *, within_m: float = 5.0
) -> tuple[float, float]:
    """Share of the internal grid boundary within ``within_m`` metres of a street centreline.

    Parameters
    ----------
    grid_geoms
        Grid polygons of one community (metric CRS).
    community
        The community polygon.
    streets
        Street centrelines (metric CRS).
    within_m
        Distance that counts as "on the street", m.

    Returns
    -------
    share, internal_length_m
        ``share`` is NaN when the grids have no internal boundary (a single grid).
    """
    lines = shapely.union_all(shapely.boundary(grid_geoms))
    internal = shapely.difference(lines, shapely.buffer(shapely.boundary(community), 0.01))
    total = float(shapely.length(internal))
    if total <= 0.01:
        return float("nan"), 0.0
    if len(streets) == 0:
        return 0.0, total
    pieces = shapely.segmentize(shapely.get_parts(shapely.line_merge(internal)), _STEP_M)
    coords, owner = shapely.get_coordinates(pieces, return_index=True)
    same = owner[1:] == owner[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    length = np.hypot(*(end - start).T)
    midpoints = shapely.points((start + end) / 2)
    tree = shapely.STRtree(streets)
    hit, _ = tree.query(midpoints, predicate="dwithin", distance=within_m)
    near = np.zeros(len(midpoints), dtype=bool)
    near[hit] = True
    return float(length[near].sum() / length.sum()), total


def evaluate(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    assignment: pd.DataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    *,
    by: str = "households",
    tolerance: float = 0.1,
    atoms: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Metrics table of a grid plan: one row per community and a last row ``ALL``.

    Parameters
    ----------
    grids
        Grid polygons with ``grid_id``, ``community_id``, ``households``, ``population`` and
        optionally ``oversize`` (any CRS).
    communities
        Community polygons with ``community_id`` (any CRS).
    buildings, assignment
        Input buildings (``building_id``, ``households``, ``population``) and the building → grid
        assignment (``building_id``, ``grid_id``) for the conservation check.
    streets
        Street lines for street alignment (optional).
    by
        The balanced measure: a grid column (``households``, ``population``, ``area_m2``).
    tolerance
        Balance tolerance for the share inside ±tolerance.
    atoms
        The atoms the plan was made of (``PartitionResult.atoms``: ``community_id``,
        ``block_id``, the ``by`` column). With ``streets``, adds ``street_alignment_ceiling``
        (no plan of these atoms inside the tolerance can have more of its internal boundary on
        streets; :func:`gridkit.alignment.alignment_ceiling`) and ``through_blocks_min_m``.

    Returns
    -------
    pandas.DataFrame
        Columns: ``community_id``, ``n_grids``, ``n_oversize``, ``households_in``,
        ``households_grids``, ``population_in``, ``population_grids``, ``conserved``,
        ``unassigned_buildings``, ``coverage_gap``, ``overlap``, ``n_noncontiguous``,
        ``max_abs_deviation``, ``share_within_tolerance``, ``mean_polsby_popper``,
        ``street_alignment``, ``internal_boundary_m``.
    """
    crs = local_metric_crs(communities)
    comm = communities.to_crs(crs)
    g = grids.to_crs(crs)
    # a plan drawn elsewhere may arrive with a self-touching ring: measure it rather than crash
    g = g.set_geometry(repair_polygons(g.geometry.to_numpy()), crs=crs)
    lines = np.empty(0, dtype=object) if streets is None else shapely.get_parts(streets.to_crs(crs).geometry.to_numpy())
    measure = "area_m2" if by == "area" else by
    weight = g.geometry.area.to_numpy() if measure == "area_m2" else g[measure].to_numpy(float)
    oversize = g["oversize"].to_numpy(bool) if "oversize" in g.columns else np.zeros(len(g), dtype=bool)
    inputs = _input_totals(buildings, assignment, g)
    across = _overlap_across(g)
    rows = []
    for c, cid in enumerate(comm["community_id"]):
        mask = (g["community_id"] == cid).to_numpy()
        row = _community_row(cid, comm.geometry.iloc[c], g[mask], weight[mask], oversize[mask], lines,
                             inputs.get(cid, {}), tolerance)
        area = comm.geometry.iloc[c].area
        row["overlap_other_communities"] = across.get(cid, 0.0) / area if area > 0 else 0.0
        row["outside_community"] = float(shapely.area(shapely.difference(
            g.geometry.to_numpy()[mask], comm.geometry.iloc[c])).sum() / area) if mask.any() and area > 0 else 0.0
        rows.append(row)
    table = pd.DataFrame(rows)
    table = pd.concat([table, _total_row(table, g, inputs)], ignore_index=True)
    if atoms is not None and len(lines):
        table = _with_ceiling(table, atoms.to_crs(crs), lines, g, weight, oversize, measure, tolerance)
    return table


def _with_ceiling(table: pd.DataFrame, atoms: gpd.GeoDataFrame, lines: np.ndarray, grids: gpd.GeoDataFrame,
                  weight: np.ndarray, oversize: np.ndarray, measure: str, tolerance: float) -> pd.DataFrame:
    """Add the street-alignment ceiling per community (and a length-weighted one for ALL)."""
    from gridkit.alignment import community_ceilings  # noqa: PLC0415 - only with atoms

    caps = {}
    for cid in table["community_id"].iloc[:-1]:
        mine = (grids["community_id"] == cid).to_numpy() & ~oversize
        caps[cid] = (1 + tolerance) * float(weight[mine].mean()) if mine.any() else float("nan")
    column = measure if measure in atoms.columns else "households"
    ceilings = community_ceilings(atoms, lines, caps, weight_column=column)
    table["street_alignment_ceiling"] = [ceilings[c].ceiling if c in ceilings else float("nan")
                                         for c in table["community_id"]]
    table["through_blocks_min_m"] = [ceilings[c].through_blocks_min_m if c in ceilings else float("nan")
                                     for c in table["community_id"]]
    street_max = sum(c.street_max_m for c in ceilings.values())
    through = sum(c.through_blocks_min_m for c in ceilings.values())
    table.loc[table.index[-1], "street_alignment_ceiling"] = (
        street_max / (street_max + through) if street_max + through > 0 else float("nan"))
    table.loc[table.index[-1], "through_blocks_min_m"] = through
    return table


def _overlap_across(grids: gpd.GeoDataFrame) -> dict:
    """Per community, m² of its grids that overlap grids of another community (overlapping communities)."""
    left, right, area = overlapping_pairs(grids.geometry.to_numpy())
    cid = grids["community_id"].to_numpy(dtype=object)
    out: dict = {}
    for a, b, m2 in zip(left, right, area, strict=True):
        if cid[a] != cid[b]:
            out[cid[a]] = out.get(cid[a], 0.0) + float(m2)
            out[cid[b]] = out.get(cid[b], 0.0) + float(m2)
    return out


def _input_totals(buildings: gpd.GeoDataFrame | None, assignment: pd.DataFrame | None,
                  grids: gpd.GeoDataFrame) -> dict:
    """Per community: households and population of the input buildings, and unassigned count."""
    if buildings is None or assignment is None:
        return {}
    columns = ["building_id", "households", "population"]
    table = pd.DataFrame(buildings.drop(columns="geometry", errors="ignore"))[columns]
    table["building_id"] = table["building_id"].astype(str)
    # buildings the partition listed as outside every community (outside="report") are accounted
    # for, not lost: they leave the totals and are counted apart
    listed = set()
    if "status" in assignment.columns:
        listed = set(assignment.loc[assignment["status"] == "outside_communities", "building_id"].astype(str))
    outside = table["building_id"].isin(listed).to_numpy()
    table = table[~outside]
    links = pd.DataFrame({"building_id": assignment["building_id"].astype(str),
                          "grid_id": assignment["grid_id"].astype("string")})
    links = links[links["grid_id"].notna()].drop_duplicates("building_id")
    joined = table.merge(links, on="building_id", how="left")
    lookup = pd.DataFrame({"grid_id": grids["grid_id"].astype("string"), "community_id": grids["community_id"]})
    joined = joined.merge(lookup, on="grid_id", how="left")
    out: dict = {}
    for cid, part in joined.groupby("community_id", dropna=True):
        out[cid] = {"households_in": int(part["households"].sum()), "population_in": int(part["population"].sum())}
    out["__unassigned__"] = int(joined["community_id"].isna().sum())
    out["__outside__"] = int(outside.sum())
    out["__households__"] = int(table["households"].sum())
    out["__population__"] = int(table["population"].sum())
    return out


def _community_row(cid: object, community: shapely.Geometry, grids: gpd.GeoDataFrame, weight: np.ndarray,
                   oversize: np.ndarray, lines: np.ndarray, inputs: dict, tolerance: float) -> dict:
    geoms = grids.geometry.to_numpy()
    gap, overlap = coverage(geoms, community) if len(geoms) else (1.0, 0.0)
    dev = deviations(weight, oversize)
    normal = ~oversize
    near = lines[shapely.STRtree(lines).query(community.buffer(10))] if len(lines) else lines
    alignment, internal = street_alignment(geoms, community, near) if len(geoms) else (float("nan"), 0.0)
    hh, pop = int(grids["households"].sum()), int(grids["population"].sum())
    return {
        "community_id": cid,
        "n_grids": len(grids),
        "n_oversize": int(oversize.sum()),
        "households_in": inputs.get("households_in", hh if not inputs else 0),
        "households_grids": hh,
        "population_in": inputs.get("population_in", pop if not inputs else 0),
        "population_grids": pop,
        "conserved": bool(inputs.get("households_in", hh) == hh and inputs.get("population_in", pop) == pop),
        "coverage_gap": gap,
        "overlap": overlap,
        "n_noncontiguous": int((shapely.get_type_id(geoms) != shapely.GeometryType.POLYGON).sum()),
        "max_abs_deviation": float(np.abs(dev[normal]).max()) if normal.any() else 0.0,
        "share_within_tolerance": float((np.abs(dev[normal]) <= tolerance + 1e-12).mean()) if normal.any() else 1.0,
        "mean_polsby_popper": float(polsby_popper(geoms).mean()) if len(geoms) else float("nan"),
        "street_alignment": alignment,
        "internal_boundary_m": internal,
    }


def _total_row(table: pd.DataFrame, grids: gpd.GeoDataFrame, inputs: dict) -> pd.DataFrame:
    normal = table["n_grids"] - table["n_oversize"]
    within = (table["share_within_tolerance"] * normal).sum() / max(1, normal.sum())
    aligned = (table["street_alignment"].fillna(0) * table["internal_boundary_m"]).sum()
    internal = table["internal_boundary_m"].sum()
    hh_in = inputs.get("__households__", int(table["households_in"].sum()))
    pop_in = inputs.get("__population__", int(table["population_in"].sum()))
    hh, pop = int(grids["households"].sum()), int(grids["population"].sum())
    row = {
        "community_id": "ALL",
        "n_grids": int(table["n_grids"].sum()),
        "n_oversize": int(table["n_oversize"].sum()),
        "households_in": hh_in,
        "households_grids": hh,
        "population_in": pop_in,
        "population_grids": pop,
        "conserved": bool(hh_in == hh and pop_in == pop and table["conserved"].all()
                          and inputs.get("__unassigned__", 0) == 0),
        "unassigned_buildings": inputs.get("__unassigned__", 0),
        "buildings_outside": inputs.get("__outside__", 0),
        "coverage_gap": float(table["coverage_gap"].max()),
        "overlap": float(table["overlap"].max()),
        "n_noncontiguous": int(table["n_noncontiguous"].sum()),
        "overlap_other_communities": float(table["overlap_other_communities"].max()) if len(table) else 0.0,
        "outside_community": float(table["outside_community"].max()) if len(table) else 0.0,
        "max_abs_deviation": float(table["max_abs_deviation"].max()),
        "share_within_tolerance": float(within),
        "mean_polsby_popper": float(polsby_popper(grids.geometry.to_numpy()).mean()) if len(grids) else float("nan"),
        "street_alignment": float(aligned / internal) if internal > 0 else float("nan"),
        "internal_boundary_m": float(internal),
    }
    return pd.DataFrame([row])


def hard_failures(table: pd.DataFrame, *, allowed_noncontiguous: int = 0) -> list[str]:
    """Plain-language list of the hard invariants a metrics table breaks (empty when all hold)."""
    total = table[table["community_id"] == "ALL"].iloc[0]
    problems = []
    if not total["conserved"]:
        problems.append(f"conservation: households {int(total['households_grids'])} in grids vs "
                        f"{int(total['households_in'])} in buildings; "
                        f"{int(total.get('unassigned_buildings', 0))} buildings unassigned")
    if total["coverage_gap"] > HARD_LIMIT:
        problems.append(f"coverage gap {total['coverage_gap']:.2e} > {HARD_LIMIT:g}")
    if total["overlap"] > HARD_LIMIT:
        problems.append(f"overlap {total['overlap']:.2e} > {HARD_LIMIT:g}")
    across = table[(table["community_id"] != "ALL") & (table.get("overlap_other_communities", 0) > HARD_LIMIT)]
    if len(across):
        problems.append("grids of different communities overlap (overlapping communities?): " + ", ".join(
            f"{cid} {share:.2e}" for cid, share in zip(across["community_id"], across["overlap_other_communities"],
                                                      strict=True)))
    outside = table[(table["community_id"] != "ALL") & (table.get("outside_community", 0) > HARD_LIMIT)]
    if len(outside):
        problems.append("grids reach outside their community: " + ", ".join(map(str, outside["community_id"])))
    if total["n_noncontiguous"] > allowed_noncontiguous:
        problems.append(f"{total['n_noncontiguous']} grid(s) not contiguous")
    return problems
