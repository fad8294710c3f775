"""The invariant checks used throughout the suite catch a broken plan (so the tests can fail)."""

from __future__ import annotations

import dataclasses

import pytest
import shapely
from checks import (
    assert_buildings_whole,
    assert_codes,
    assert_conserved,
    assert_points_in_assigned_grid,
    assert_seamless,
    assert_single_polygons,
)


def _tampered(result, grids=None, assignment=None):
    return dataclasses.replace(result, grids=result.grids if grids is None else grids,
                               assignment=result.assignment if assignment is None else assignment)


def test_dropped_grid_is_a_gap(fine_district, fine_result):
    broken = _tampered(fine_result, grids=fine_result.grids.iloc[1:])
    with pytest.raises(AssertionError):
        assert_seamless(broken, fine_district.communities)


def test_grown_grid_is_an_overlap(fine_district, fine_result):
    grids = fine_result.grids.copy()
    grids.loc[0, "geometry"] = grids.geometry.iloc[0].buffer(5).intersection(fine_district.communities.geometry[0])
    with pytest.raises(AssertionError):
        assert_seamless(_tampered(fine_result, grids=grids), fine_district.communities)


def test_changed_count_breaks_conservation(fine_district, fine_result):
    grids = fine_result.grids.copy()
    grids.loc[0, "households"] += 1
    grids.loc[1, "households"] -= 1  # totals still match, the per-grid sums do not
    with pytest.raises(AssertionError):
        assert_conserved(_tampered(fine_result, grids=grids), fine_district.buildings)


def test_reassigned_building_is_caught(fine_district, fine_result):
    assignment = fine_result.assignment.copy()
    codes = fine_result.grids["grid_id"]
    current = assignment.loc[0, "grid_id"]
    assignment.loc[0, "grid_id"] = codes[codes != current].iloc[0]
    broken = _tampered(fine_result, assignment=assignment)
    with pytest.raises(AssertionError):
        assert_conserved(broken, fine_district.buildings)
    with pytest.raises(AssertionError):
        assert_points_in_assigned_grid(broken, fine_district.buildings)


def test_multipart_grid_is_caught(fine_result):
    grids = fine_result.grids.copy()
    far = shapely.box(0, 0, 1, 1)
    grids.loc[0, "geometry"] = shapely.MultiPolygon([grids.geometry.iloc[0], far])
    with pytest.raises(AssertionError):
        assert_single_polygons(_tampered(fine_result, grids=grids))


def test_cut_building_is_caught(fine_district, fine_result):
    grids = fine_result.grids.copy()
    building = fine_district.buildings.geometry.iloc[0]
    row = grids.index[grids["grid_id"] == fine_result.assignment.loc[0, "grid_id"]][0]
    grids.loc[row, "geometry"] = grids.geometry[row].difference(building.centroid.buffer(1.0))
    with pytest.raises(AssertionError):
        assert_buildings_whole(_tampered(fine_result, grids=grids), fine_district.buildings)


def test_bad_codes_are_caught(fine_district, fine_result):
    grids = fine_result.grids.copy()
    grids.loc[0, "grid_id"] = grids.loc[1, "grid_id"]
    with pytest.raises(AssertionError):
        assert_codes(_tampered(fine_result, grids=grids), fine_district.communities)
    grids = fine_result.grids.copy()
    grids["seq"] = grids["seq"] + 1  # 002..n+1
    with pytest.raises(AssertionError):
        assert_codes(_tampered(fine_result, grids=grids), fine_district.communities)
