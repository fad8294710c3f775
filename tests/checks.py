"""The hard invariants of a grid plan (GUIDE §4), checked the way a user would check them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely

from gridkit.metrics import coverage

LIMIT = 1e-6


def per_community_coverage(result, communities) -> pd.DataFrame:
    """Gap, overlap and symmetric difference (relative to community area) per community, metric CRS."""
    grids = result.grids.to_crs(result.crs)
    comm = communities.to_crs(result.crs)
    rows = []
    for cid, geom in zip(comm["community_id"], comm.geometry, strict=True):
        mine = grids.geometry[grids["community_id"] == cid].to_numpy()
        gap, overlap = coverage(mine, geom)
        union = shapely.union_all(mine)
        symdiff = shapely.symmetric_difference(union, geom).area / geom.area
        outside = shapely.area(shapely.difference(mine, geom)) / shapely.area(mine)
        rows.append({"community_id": cid, "gap": gap, "overlap": overlap, "symdiff": symdiff,
                     "max_outside_share": float(outside.max()), "n_grids": len(mine)})
    return pd.DataFrame(rows)


def assert_conserved(result, buildings) -> None:
    """Households and population over grids equal those over buildings; each building assigned once."""
    grids, assignment = result.grids, result.assignment
    assert int(grids["households"].sum()) == int(buildings["households"].sum())
    assert int(grids["population"].sum()) == int(buildings["population"].sum())
    assert len(assignment) == len(buildings)
    assert assignment["building_id"].is_unique
    assert set(assignment["building_id"]) == set(buildings["building_id"])
    assert assignment["grid_id"].notna().all()
    assert set(assignment["grid_id"]) <= set(grids["grid_id"])
    # each grid's counts are exactly the sums of the buildings assigned to it
    joined = buildings[["building_id", "households", "population"]].merge(
        assignment[["building_id", "grid_id"]], on="building_id", validate="one_to_one")
    sums = joined.groupby("grid_id")[["households", "population"]].sum()
    counts = joined.groupby("grid_id").size()
    by_grid = grids.set_index("grid_id")
    for col in ("households", "population"):
        expected = sums[col].reindex(by_grid.index, fill_value=0)
        assert (by_grid[col].to_numpy() == expected.to_numpy()).all(), col
    assert (by_grid["n_buildings"].to_numpy() == counts.reindex(by_grid.index, fill_value=0).to_numpy()).all()


def assert_buildings_whole(result, buildings) -> None:
    """Every building lies inside the grid it is assigned to (a building is never split)."""
    metric = buildings.to_crs(result.crs)
    grids = result.grids.to_crs(result.crs).set_index("grid_id").geometry
    ids = result.assignment.set_index("building_id").loc[metric["building_id"], "grid_id"].to_numpy()
    footprints = metric.geometry.to_numpy()
    polygons = shapely.get_type_id(footprints) != shapely.GeometryType.POINT
    outside = shapely.area(shapely.difference(footprints, grids.loc[ids].to_numpy()))
    area = np.where(polygons, shapely.area(footprints), 1.0)
    worst = float((outside / area).max())
    assert worst <= LIMIT, f"a building sticks out of its grid by {worst:.2e} of its area"


def assert_points_in_assigned_grid(result, buildings) -> None:
    """Each building's representative point lies in the grid it is assigned to (and in no other)."""
    metric = buildings.to_crs(result.crs)
    grids = result.grids.to_crs(result.crs)
    points = shapely.point_on_surface(metric.geometry.to_numpy())
    point_idx, grid_idx = shapely.STRtree(grids.geometry.to_numpy()).query(points, predicate="within")
    assert np.array_equal(np.sort(point_idx), np.arange(len(metric))), "a building point is in 0 or 2+ grids"
    found = pd.Series(grids["grid_id"].to_numpy()[grid_idx], index=metric["building_id"].to_numpy()[point_idx])
    assigned = result.assignment.set_index("building_id")["grid_id"]
    assert (found.sort_index() == assigned.loc[found.sort_index().index]).all()


def assert_seamless(result, communities) -> pd.DataFrame:
    table = per_community_coverage(result, communities)
    assert (table["gap"] <= LIMIT).all(), table
    assert (table["overlap"] <= LIMIT).all(), table
    assert (table["symdiff"] <= LIMIT).all(), table
    assert (table["max_outside_share"] <= LIMIT).all(), table
    return table


def assert_single_polygons(result) -> None:
    types = result.grids.geom_type
    assert (types == "Polygon").all(), result.grids.loc[types != "Polygon", ["grid_id"]].to_dict("list")


def assert_codes(result, communities) -> None:
    """Codes unique; ``code + 3-digit sequence`` (15 digits) or ``{community_id}-{seq:03d}``; 001..n."""
    grids = result.grids
    assert grids["grid_id"].is_unique
    for _, community in communities.iterrows():
        cid = community["community_id"]
        mine = grids[grids["community_id"] == cid]
        n = len(mine)
        assert sorted(mine["seq"].tolist()) == list(range(1, n + 1))
        code = community.get("code")
        for gid, seq in zip(mine["grid_id"], mine["seq"], strict=True):
            if code is not None and not pd.isna(code):
                assert re.fullmatch(r"\d{15}", gid), gid
                assert gid == f"{code}{seq:03d}"
            else:
                assert gid == f"{cid}-{seq:03d}"


def assert_plan(result, communities, buildings) -> None:
    """All hard invariants at once."""
    assert_conserved(result, buildings)
    assert_seamless(result, communities)
    assert_single_polygons(result)
    assert_points_in_assigned_grid(result, buildings)
    assert_buildings_whole(result, buildings)
    assert_codes(result, communities)


def share_within(result, tolerance: float = 0.1) -> float:
    """Share of non-oversize grids whose deviation is inside ±tolerance."""
    normal = result.grids[~result.grids["oversize"]]
    return float((normal["deviation"].abs() <= tolerance + 1e-12).mean())
