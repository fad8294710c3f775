"""Hard invariants (GUIDE §4) on the embedded sample and on synthetic street grids, grid codes,
reading order and determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from checks import (
    assert_buildings_whole,
    assert_codes,
    assert_conserved,
    assert_plan,
    assert_points_in_assigned_grid,
    assert_seamless,
    assert_single_polygons,
    share_within,
)
from conftest import run_partition
from synthetic import CHENGDU_UTM, make_district, two_communities

import gridkit
from gridkit.codes import grid_code, reading_order
from gridkit.metrics import hard_failures

# --------------------------------------------------------------------------------------------
# the embedded sample


def test_sample_conservation(sample, sample_result):
    assert_conserved(sample_result, sample.buildings)
    # the totals documented in data/samples/README.md
    assert int(sample_result.grids["households"].sum()) == 23_646
    assert int(sample_result.grids["population"].sum()) == 60_236
    assert (sample_result.assignment["status"] == "assigned").all()


def test_sample_conservation_per_community(sample, sample_result):
    expected = {"C01": 4070, "C02": 6924, "C03": 6245, "C04": 3980, "C05": 2427}
    got = sample_result.grids.groupby("community_id")["households"].sum().to_dict()
    assert got == expected
    assert sample_result.report.set_index("community_id")["households"].to_dict() == expected


def test_sample_seamless_coverage(sample, sample_result):
    table = assert_seamless(sample_result, sample.communities)
    assert set(table["community_id"]) == {"C01", "C02", "C03", "C04", "C05"}


def test_sample_grids_are_single_polygons(sample_result):
    assert_single_polygons(sample_result)
    assert sample_result.grids.is_valid.all()


def test_sample_buildings_in_their_grids(sample, sample_result):
    assert_points_in_assigned_grid(sample_result, sample.buildings)


def test_sample_buildings_never_split(sample, sample_result):
    assert_buildings_whole(sample_result, sample.buildings)


def test_sample_grid_codes(sample, sample_result):
    assert_codes(sample_result, sample.communities)
    grids = sample_result.grids
    assert grids["grid_id"].str.len().eq(15).all()
    assert grids["grid_id"].str[:12].isin(sample.communities["code"]).all()
    assert grids.loc[grids["community_id"] == "C01", "grid_id"].iloc[0] == "510107003001001"


def test_sample_grid_counts_follow_the_targets(sample, sample_result):
    """About households / target grids per community (C05, the village, has a target of 200)."""
    report = sample_result.report.set_index("community_id")
    targets = sample.communities.set_index("community_id")["target"]
    for cid, row in report.iterrows():
        expected = row["households"] / targets[cid]
        assert abs(row["n_grids"] - expected) <= max(2, 0.15 * expected), (cid, row["n_grids"], expected)


def test_sample_deviation_column_is_relative_to_non_oversize_mean(sample_result):
    for _cid, mine in sample_result.grids.groupby("community_id"):
        oversize = mine["oversize"].to_numpy()
        normal = mine.loc[~oversize, "households"].to_numpy(float)
        expected = (mine["households"].to_numpy(float) - normal.mean()) / normal.mean()
        np.testing.assert_allclose(mine["deviation"].to_numpy(), expected, atol=1e-9)


def test_sample_report_matches_the_grids(sample_result):
    """The report's balance numbers are those of the grids; 'ok' means every grid is inside ±10 %."""
    grids, report = sample_result.grids, sample_result.report
    for _, row in report.iterrows():
        mine = grids[grids["community_id"] == row["community_id"]]
        normal = mine[~mine["oversize"]]
        assert row["n_grids"] == len(mine)
        assert row["n_oversize"] == int(mine["oversize"].sum())
        assert row["max_abs_deviation"] == pytest.approx(normal["deviation"].abs().max())
        if row["status"] == "ok":
            assert row["share_within_tolerance"] == 1.0
            assert row["max_abs_deviation"] <= 0.1 + 1e-12
        else:
            assert row["message"], row
    # communities whose buildings are small against the target reach the tolerance
    fine = report[report["community_id"].isin(["C01", "C03", "C04", "C05"])]
    assert (fine["share_within_tolerance"] >= 0.95).all(), fine


def test_sample_coarse_community_says_so(sample_run):
    """C02's towers (150–400 households) are coarse against 300: the report says what was reached."""
    result, caught = sample_run
    c02 = result.report.set_index("community_id").loc["C02"]
    if c02["share_within_tolerance"] < 1.0:
        assert c02["status"] == "tolerance_not_reached"
        assert "not reached" in c02["message"]
        assert any("C02" in str(w.message) and issubclass(w.category, gridkit.GridkitWarning) for w in caught)
    # oversize grids are single buildings heavier than the upper bound
    over = result.grids[result.grids["oversize"]]
    assert (over["n_buildings"] == 1).all()
    targets = {"C01": 300, "C02": 300, "C03": 300, "C04": 300, "C05": 200}
    assert all(row.households > 1.1 * targets[row.community_id] for row in over.itertuples())


def test_sample_evaluate_has_no_hard_failures(sample, sample_result):
    table = gridkit.evaluate(sample_result.grids, sample.communities, sample.buildings, sample_result.assignment,
                             streets=sample.streets)
    total = table.set_index("community_id").loc["ALL"]
    assert bool(total["conserved"])
    assert total["households_grids"] == total["households_in"] == 23_646
    assert total["unassigned_buildings"] == 0
    assert total["n_noncontiguous"] == 0
    assert total["coverage_gap"] <= 1e-6
    assert total["overlap"] <= 1e-6
    # grids follow streets most of the time (街巷定界)
    assert total["street_alignment"] > 0.5
    assert hard_failures(table) == []


# --------------------------------------------------------------------------------------------
# synthetic street grids


def test_fine_grid_all_invariants(fine_district, fine_result):
    assert_plan(fine_result, fine_district.communities, fine_district.buildings)


def test_fine_grid_is_balanced(fine_district, fine_result):
    grids = fine_result.grids
    total = int(fine_district.buildings["households"].sum())
    assert len(grids) == round(total / 300)
    assert not grids["oversize"].any()
    assert share_within(fine_result, 0.1) >= 0.95
    assert grids["deviation"].abs().max() <= 0.15
    assert fine_result.report["status"].iloc[0] == "ok"


def test_fine_grid_is_street_bounded(fine_district, fine_result):
    table = gridkit.evaluate(fine_result.grids, fine_district.communities, fine_district.buildings,
                             fine_result.assignment, streets=fine_district.streets)
    assert table["street_alignment"].iloc[-1] >= 0.5


def test_lonlat_input_gives_lonlat_output():
    d = make_district(3, 3, per_side=3, households=(5, 15), seed=2, crs=CHENGDU_UTM, lonlat=True)
    result, _ = run_partition(d.communities, d.buildings, target=150)  # no streets: blocks are the community
    assert result.grids.crs.to_epsg() == 4326
    assert result.crs.to_epsg() == 32648  # the UTM zone of Chengdu
    minx, miny, maxx, maxy = result.grids.total_bounds
    assert 103.9 < minx < maxx < 104.2
    assert 30.5 < miny < maxy < 30.8
    assert_conserved(result, d.buildings)
    # areas are measured in metres: 3×3 blocks of 100 m
    assert result.grids["area_m2"].sum() == pytest.approx(90_000, rel=1e-6)


def test_two_communities_never_crossed():
    d = two_communities(seed=4)
    result, _ = run_partition(d.communities, d.buildings, d.streets, target=150)
    assert_plan(result, d.communities, d.buildings)
    # each building's grid belongs to the community holding the building
    left = set(d.buildings.loc[d.buildings["building_id"].str.startswith("B"), "building_id"])
    assign = result.assignment.set_index("building_id")
    assert (assign.loc[list(left), "community_id"] == "C01").all()
    assert (assign.loc[~assign.index.isin(left), "community_id"] == "C02").all()
    assert set(result.grids["community_id"]) == {"C01", "C02"}


def test_fallback_codes_without_community_code():
    d = two_communities(seed=5, codes=False)
    result, _ = run_partition(d.communities, d.buildings, d.streets, target=150)
    assert_codes(result, d.communities)
    codes = result.grids["grid_id"]
    assert codes[result.grids["community_id"] == "C01"].str.fullmatch(r"C01-\d{3}").all()
    assert codes[result.grids["community_id"] == "C02"].str.fullmatch(r"C02-\d{3}").all()
    assert "C01-001" in set(codes)
    assert "C02-001" in set(codes)


def test_blank_code_falls_back_per_community():
    d = two_communities(seed=5)
    comm = d.communities.copy()
    comm.loc[1, "code"] = ""
    result, _ = run_partition(comm, d.buildings, d.streets, target=150)
    grids = result.grids
    assert grids.loc[grids["community_id"] == "C01", "grid_id"].str.fullmatch(r"510107003001\d{3}").all()
    assert grids.loc[grids["community_id"] == "C02", "grid_id"].str.fullmatch(r"C02-\d{3}").all()


def _single_building_blocks(rows: int, cols: int):
    """One building of 100 households per 100 m block: with a target of 100 every block is a grid."""
    d = make_district(rows, cols, per_side=1, households=(100, 100), size_m=(20, 20))
    result, _ = run_partition(d.communities, d.buildings, d.streets, target=100)
    return d, result


def _code_at(result, x: float, y: float) -> str:
    point = shapely.Point(x, y)
    grids = result.grids
    hit = grids[grids.geometry.contains(point)]
    assert len(hit) == 1
    return hit["grid_id"].iloc[0]


def test_reading_order_2x2():
    """Numbered west→east within rows taken north→south: NW 001, NE 002, SW 003, SE 004."""
    d, result = _single_building_blocks(2, 2)
    assert len(result.grids) == 4
    xs, ys = d.xs, d.ys
    cx = (xs[:-1] + xs[1:]) / 2
    cy = (ys[:-1] + ys[1:]) / 2
    assert _code_at(result, cx[0], cy[1]) == "510107003001001"  # north-west
    assert _code_at(result, cx[1], cy[1]) == "510107003001002"  # north-east
    assert _code_at(result, cx[0], cy[0]) == "510107003001003"  # south-west
    assert _code_at(result, cx[1], cy[0]) == "510107003001004"  # south-east


def test_reading_order_3x3():
    d, result = _single_building_blocks(3, 3)
    assert len(result.grids) == 9
    cx = (d.xs[:-1] + d.xs[1:]) / 2
    cy = (d.ys[:-1] + d.ys[1:]) / 2
    seq = 1
    for row in (2, 1, 0):  # north to south
        for col in (0, 1, 2):  # west to east
            assert _code_at(result, cx[col], cy[row]) == f"510107003001{seq:03d}"
            seq += 1


def test_grids_are_sorted_by_community_then_code(sample_result):
    grids = sample_result.grids
    assert grids["grid_id"].tolist() == sorted(grids["grid_id"])
    assert grids["community_id"].tolist() == sorted(grids["community_id"])


def test_result_unpacks_as_grids_and_assignment(fine_result):
    grids, assignment = fine_result
    assert grids is fine_result.grids
    assert assignment is fine_result.assignment
    for col in ("grid_id", "community_id", "households", "population", "area_m2", "n_buildings", "deviation",
                "polsby_popper", "oversize"):
        assert col in grids.columns
    assert list(assignment.columns[:3]) == ["building_id", "grid_id", "community_id"]


def test_polsby_popper_column(fine_result):
    grids = fine_result.grids.to_crs(fine_result.crs)
    expected = 4 * np.pi * grids.area / grids.length**2
    np.testing.assert_allclose(fine_result.grids["polsby_popper"], expected, rtol=1e-9)
    assert ((grids["polsby_popper"] > 0) & (grids["polsby_popper"] <= np.pi / 4 + 1e-9)).all()


def test_area_column_is_square_metres(fine_district, fine_result):
    assert fine_result.grids["area_m2"].sum() == pytest.approx(fine_district.communities.area.iloc[0], rel=1e-9)
    np.testing.assert_allclose(fine_result.grids["area_m2"], fine_result.grids.area, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# determinism


def _fingerprint(result):
    return (
        shapely.to_wkb(result.grids.geometry.to_numpy()).tolist(),
        result.grids["grid_id"].tolist(),
        result.grids["households"].tolist(),
        result.assignment["grid_id"].tolist(),
    )


@pytest.mark.parametrize("seed", [0, 7])
def test_same_seed_same_plan(seed):
    d = make_district(5, 5, per_side=3, jitter=0.2, households=(0, 30), zero_share=0.2, seed=11)
    first, _ = run_partition(d.communities, d.buildings, d.streets, target=250, seed=seed)
    second, _ = run_partition(d.communities, d.buildings, d.streets, target=250, seed=seed)
    assert _fingerprint(first) == _fingerprint(second)
    pd.testing.assert_frame_equal(first.assignment, second.assignment)
    pd.testing.assert_frame_equal(first.report, second.report)


def test_same_seed_same_plan_on_the_sample(sample, sample_result):
    again, _ = run_partition(sample.communities, sample.buildings, sample.streets, seed=0)
    assert _fingerprint(again) == _fingerprint(sample_result)



# --------------------------------------------------------------------------------------------
# lon/lat input with streets (EPSG:4326 near Chengdu): the usual case of GeoJSON files

#: (rows, cols, seed, target): 2 buildings a side per block, streets on every block edge
LONLAT_CASES = [(2, 2, 2, 50), (3, 3, 0, 100), (3, 3, 0, 50), (2, 3, 4, 50), (3, 3, 5, 50)]


def _lonlat_runs():
    for rows, cols, seed, target in LONLAT_CASES:
        d = make_district(rows, cols, per_side=2, seed=seed, crs=CHENGDU_UTM, lonlat=True)
        result, caught = run_partition(d.communities, d.buildings, d.streets, target=target)
        yield (rows, cols, seed, target), d, result, caught


def test_lonlat_with_streets_conserves():
    for case, d, result, _ in _lonlat_runs():
        assert result.grids.crs.to_epsg() == 4326, case
        assert_conserved(result, d.buildings)
        assert_points_in_assigned_grid(result, d.buildings)


def test_lonlat_with_streets_gives_valid_grids():
    invalid = {case: result.grids.loc[~result.grids.is_valid, "grid_id"].tolist()
               for case, _, result, _ in _lonlat_runs()}
    assert not any(invalid.values()), invalid


def test_lonlat_with_streets_gives_contiguous_grids():
    broken = {case: result.grids.loc[result.grids.geom_type != "Polygon", "grid_id"].tolist()
              for case, _, result, _ in _lonlat_runs()}
    assert not any(broken.values()), broken



def test_lonlat_contiguity_warning_matches_the_grids():
    mismatches = []
    for rows, cols, per_side, seed, target in [(4, 4, 3, 1, 200), (3, 4, 2, 1, 200)]:
        d = make_district(rows, cols, per_side=per_side, seed=seed, crs=CHENGDU_UTM, lonlat=True)
        result, caught = run_partition(d.communities, d.buildings, d.streets, target=target)
        warned = any("not contiguous" in str(w.message) for w in caught)
        split = bool((result.grids.geom_type != "Polygon").any())
        if warned != split:
            mismatches.append({"case": (rows, cols, per_side, seed, target), "warned": warned, "multipart": split})
    assert not mismatches, mismatches


#: jittered street positions (block sides 90–110 m), 2 buildings a side: (rows, cols, jitter, seed, target)
LONLAT_JITTERED = {
    "multipart": (3, 3, 0.1, 0, 100),  # grid 003 = 9,500 m² + 19,652 m², no warning
    "spurious warning": (2, 2, 0.2, 1, 100),  # one Polygon grid, warned 'not contiguous'
    "invalid in metric CRS": (3, 2, 0.1, 1, 40),  # valid in EPSG:4326, self-intersecting back in UTM
}


def _lonlat_jittered(name):
    rows, cols, jitter, seed, target = LONLAT_JITTERED[name]
    d = make_district(rows, cols, per_side=2, jitter=jitter, seed=seed, crs=CHENGDU_UTM, lonlat=True)
    result, caught = run_partition(d.communities, d.buildings, d.streets, target=target)
    return d, result, caught


def test_lonlat_jittered_conserves():
    for name in LONLAT_JITTERED:
        d, result, _ = _lonlat_jittered(name)
        assert_conserved(result, d.buildings)


def test_lonlat_jittered_grids_are_contiguous():
    _, result, _ = _lonlat_jittered("multipart")
    assert_single_polygons(result)


def test_lonlat_jittered_no_false_contiguity_warning():
    _, result, caught = _lonlat_jittered("spurious warning")
    assert (result.grids.geom_type == "Polygon").all()
    assert not [str(w.message) for w in caught if "not contiguous" in str(w.message)]


def test_lonlat_jittered_plan_can_be_evaluated():
    d, result, _ = _lonlat_jittered("invalid in metric CRS")
    assert result.grids.to_crs(result.crs).is_valid.all()
    table = gridkit.evaluate(result.grids, d.communities, d.buildings, result.assignment, streets=d.streets)
    assert hard_failures(table) == []

# --------------------------------------------------------------------------------------------
# codes.py on its own


def test_grid_code_formats():
    assert grid_code("510107003001", "C01", 7) == "510107003001007"
    assert grid_code(None, "C01", 7) == "C01-007"
    assert grid_code(pd.NA, "社区A", 12) == "社区A-012"
    assert grid_code("510107003001", "C01", 999) == "510107003001999"
    with pytest.raises(gridkit.PartitionError, match="999"):
        grid_code("510107003001", "C01", 1000)


def test_reading_order_of_points():
    # two rows 100 m apart; the northern one first, each west to east; small y jitter inside a row
    points = shapely.points([(250, 95), (50, 0), (150, 104), (50, 100), (250, 3), (150, -2)])
    order = reading_order(points, band_height=100.0)
    assert order.tolist() == [3, 2, 0, 1, 5, 4]
    assert reading_order(np.empty(0, dtype=object), 100.0).tolist() == []


# --------------------------------------------------------------------------------------------
# overlapping footprints (common in cadastral data: Moabit has 122 overlapping pairs)


def test_overlapping_footprints_leave_no_hole():
    """Two footprints overlapping by 4 m² in a block split into cells: the overlap still belongs to a grid."""
    d = make_district(2, 2, per_side=3, households=(5, 15), seed=0)
    buildings = d.buildings.copy()
    _, _, x1, y1 = buildings.geometry.iloc[0].bounds
    buildings.loc[1, "geometry"] = shapely.box(x1 - 2, y1 - 2, x1 + 8, y1 + 8)  # 2 m × 2 m over building 0
    assert buildings.geometry.iloc[0].intersection(buildings.geometry.iloc[1]).area == pytest.approx(4.0)
    result, _ = run_partition(d.communities, buildings, d.streets, target=100)
    assert_conserved(result, buildings)
    assert_seamless(result, d.communities)
