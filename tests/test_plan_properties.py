"""Properties of whole plans over generated districts, judged by ``validate_plan`` from the written files.

Random street grids (jittered, zero households included, metric and lon/lat) with overlapping
building footprints, as real data has. Each plan is written as GeoJSON + CSV, read back and validated:
conservation, no gaps or overlaps, contiguity, every building whole inside its grid, grid attributes
equal to the buildings' sums; and the same inputs give the same bytes. The profile (conftest) runs
20 derandomized examples per property.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import shapely
from conftest import run_partition
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic import CHENGDU_UTM, METRIC_CRS, make_district, with_overlapping_twins

from gridkit import io
from gridkit.validate import validate_plan


@st.composite
def districts(draw):
    lonlat = draw(st.booleans())
    low = draw(st.integers(0, 20))
    district = make_district(
        draw(st.integers(2, 5)), draw(st.integers(2, 5)), jitter=draw(st.floats(0.0, 0.3)),
        per_side=draw(st.integers(1, 3)), households=(low, low + draw(st.integers(0, 60))),
        zero_share=draw(st.floats(0.0, 0.5)), seed=draw(st.integers(0, 2**16)),
        crs=CHENGDU_UTM if lonlat else METRIC_CRS, lonlat=lonlat)
    district = with_overlapping_twins(district, draw(st.floats(0.0, 0.5)), seed=draw(st.integers(0, 2**16)))
    return district, draw(st.integers(40, 600))


def _write(result, folder: Path) -> tuple[Path, Path]:
    grids, assignment = folder / "grids.geojson", folder / "assignment.csv"
    io.write_geojson(result.grids, grids)
    io.write_csv(result.assignment, assignment)
    return grids, assignment


@given(districts())
def test_written_plans_validate_from_their_buildings(case):
    district, target = case
    result, _ = run_partition(district.communities, district.buildings, district.streets, target=target, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        grids, assignment = _write(result, Path(folder))
        found = validate_plan(grids, district.communities, district.buildings, assignment, balance_limit=10.0)
        by_location = validate_plan(grids, district.communities, district.buildings, balance_limit=10.0)
    assert found.ok, found.errors[["check", "grid_id", "building_id", "message"]].to_string()
    assert by_location.ok, by_location.errors[["check", "grid_id", "building_id", "message"]].to_string()
    # conservation and attributes: every grid's counts are its buildings' sums, by either rule
    for table in (found.grids, by_location.grids):
        assert int(table["households"].sum()) == int(district.buildings["households"].sum())
        assert int(table["population"].sum()) == int(district.buildings["population"].sum())
        assert (table["n_parts"] == 1).all()
    # every building lies whole in its grid (overlapping footprints share a cell)
    assert "building_split" not in set(found.problems["check"]), found.problems.to_string()
    assert found.problems["check"].isin(["balance_tolerance"]).all(), found.problems.to_string()


@settings(max_examples=10)
@given(districts(), st.integers(0, 3))
def test_same_inputs_give_the_same_bytes(case, seed):
    district, target = case
    written = []
    for _ in range(2):
        result, _ = run_partition(district.communities, district.buildings, district.streets, target=target,
                                  seed=seed)
        with tempfile.TemporaryDirectory() as folder:
            written.append([path.read_bytes() for path in _write(result, Path(folder))])
    assert written[0] == written[1]


@settings(max_examples=6)
@given(districts())
def test_hand_edits_of_a_random_plan_fail(case):
    """Whatever the district: a grid deleted leaves a gap, a building moved to another grid is named."""
    district, target = case
    result, _ = run_partition(district.communities, district.buildings, district.streets, target=target, seed=1)
    grids = result.grids
    if len(grids) < 2:
        return
    found = validate_plan(grids.iloc[1:], district.communities, district.buildings)
    gap = found.errors[found.errors["check"] == "gap"]
    assert len(gap) == 1
    assert gap["value"].iloc[0] > 0
    links = result.assignment.copy()
    first = grids["grid_id"].iloc[0]
    row = int((links["grid_id"] != first).to_numpy().nonzero()[0][0])
    links.loc[row, "grid_id"] = first
    found = validate_plan(grids, district.communities, district.buildings, links)
    wrong = found.errors[found.errors["check"] == "building_not_in_grid"]
    assert wrong["building_id"].tolist() == [links["building_id"].iloc[row]]
    assert wrong["grid_id"].tolist() == [first]
    # and the recount moves that building's households with it
    moved = pd.to_numeric(district.buildings.set_index("building_id").loc[links["building_id"].iloc[row],
                                                                           "households"])
    recount = found.grids.set_index("grid_id").loc[first, "households"]
    stated = grids.set_index("grid_id").loc[first, "households"]
    assert recount == stated + moved
    assert shapely.is_valid(grids.geometry).all()
