"""The per-batch engine: batches change nothing, payloads pickle, one CRS per run, limits checked up front."""

from __future__ import annotations

import importlib
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from bench_regenerate import perturb
from synthetic import make_district

import gridkit
from gridkit import engine
from gridkit.codes import grid_code
from gridkit.engine import (
    PartitionOptions,
    make_batches,
    parse_measure,
    partition_batch,
    prepare_inputs,
)
from gridkit.errors import GridkitError, PartitionError
from gridkit.regenerate import regenerate


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def assert_same_partition(a, b) -> None:
    """Same ids, same columns to the bit, equal geometries, same assignment and report."""
    pd.testing.assert_frame_equal(a.grids.drop(columns="geometry"), b.grids.drop(columns="geometry"))
    assert all(x.equals_exact(y, 0) for x, y in zip(a.grids.geometry, b.grids.geometry, strict=True))
    pd.testing.assert_frame_equal(a.assignment, b.assignment)
    pd.testing.assert_frame_equal(a.report, b.report)


def offices(communities, names):
    out = communities.copy()
    out["street_office"] = names
    return out


def test_street_office_batches_give_the_single_batch_result(sample, sample_result):
    comm = offices(sample.communities, ["A", "B", "A", "B", "C"])
    batched = quiet(gridkit.partition, comm, sample.buildings, sample.streets, seed=0)
    assert list(batched.batches["batch_id"]) == ["A", "B", "C"]
    assert batched.batches["communities"].tolist() == [2, 2, 1]
    assert len(sample_result.batches) == 1
    assert_same_partition(batched, sample_result)


def test_payload_and_result_pickle(fine_district):
    d = fine_district
    inputs = prepare_inputs(d.communities, d.buildings, d.streets)
    batch = make_batches(inputs, PartitionOptions(parse_measure("households", 300)))[0]
    copy = pickle.loads(pickle.dumps(batch))
    first, second = quiet(partition_batch, batch), quiet(partition_batch, copy)
    again = pickle.loads(pickle.dumps(second))
    pd.testing.assert_frame_equal(first.grids.drop(columns="geometry"), again.grids.drop(columns="geometry"))
    assert np.array_equal(first.building_grid.astype(str), again.building_grid.astype(str))
    assert first.peak_rss_mb > 0
    assert first.pid > 0


def test_batches_without_an_office_column_follow_the_building_count(sample):
    inputs = prepare_inputs(sample.communities, sample.buildings, sample.streets)
    options = PartitionOptions(parse_measure("households", None))
    batches = make_batches(inputs, options, max_buildings=300)
    assert [len(b.rows) for b in batches] == [1, 3, 1]  # 822 | 67 + 196 + 114 | 547 buildings
    assert sorted(np.concatenate([b.building_rows for b in batches]).tolist()) == list(range(len(sample.buildings)))


def test_unknown_batch_column_is_refused(sample):
    with pytest.raises(GridkitError, match="no column 'office'"):
        prepare_inputs(sample.communities, sample.buildings, batch_by="office")


def test_sequence_limit_is_checked_before_any_work(sample, monkeypatch):
    def no_work(*_args, **_kwargs):
        raise AssertionError("atoms were built before the limit was checked")

    monkeypatch.setattr(engine, "build_atoms", no_work)
    with pytest.raises(PartitionError, match=r"C02.*about 1,000 grids.*sequence_digits=4"):
        gridkit.partition(sample.communities, sample.buildings, sample.streets, n_grids={"C02": 1000})
    comm = sample.communities.drop(columns="target")
    with pytest.raises(PartitionError, match=r"C01.*about 4,070 grids"):
        gridkit.partition(comm, sample.buildings, sample.streets, target=1)
    with pytest.raises(PartitionError, match="at most 9,999"):
        gridkit.partition(comm, sample.buildings, target=0.5, sequence_digits=4)
    with pytest.raises(GridkitError, match="sequence_digits must be 3 or 4"):
        gridkit.partition(sample.communities, sample.buildings, sequence_digits=5)


def test_four_digit_codes():
    assert grid_code("510107003001", "C01", 1000, digits=4) == "5101070030011000"
    assert grid_code(None, "C01", 7, digits=4) == "C01-0007"
    with pytest.raises(PartitionError, match="sequence_digits=4"):
        grid_code("510107003001", "C01", 1000)


def test_four_digit_sequence_numbers_the_grids(fine_district):
    d = fine_district
    result = quiet(gridkit.partition, d.communities, d.buildings, d.streets, target=300, sequence_digits=4)
    assert result.grids["grid_id"].str.fullmatch(r".+-\d{4}|\d{16}").all()


def test_one_metric_crs_for_a_run_across_two_utm_zones(sample):
    """A second copy of the district 4.5° east lies in the next UTM zone; the run keeps one CRS for both."""
    def east(gdf):
        moved = gdf.copy()
        return moved.set_geometry(shapely.transform(gdf.geometry.to_numpy(), lambda xy: xy + np.array([4.5, 0.0])))

    comm = sample.communities.copy()
    far = east(sample.communities)
    far["community_id"] = "E-" + far["community_id"]
    far["code"] = far["code"].str[:6] + "004" + far["code"].str[-3:]
    both = pd.concat([offices(comm, "W"), offices(far, "E")], ignore_index=True)
    bld_far = east(sample.buildings)
    bld_far["building_id"] = "E-" + bld_far["building_id"]
    buildings = pd.concat([sample.buildings, bld_far], ignore_index=True)
    streets = pd.concat([sample.streets, east(sample.streets)], ignore_index=True)
    result = quiet(gridkit.partition, both, buildings, streets)
    assert result.crs.to_epsg() == 32648  # the zone of the whole run's centre (106.3°E)
    alone = quiet(gridkit.partition, far, bld_far, east(sample.streets), crs=result.crs)
    east_grids = result.grids[result.grids["community_id"].str.startswith("E-")].reset_index(drop=True)
    pd.testing.assert_frame_equal(east_grids.drop(columns="geometry"), alone.grids.drop(columns="geometry"))


def test_regenerate_passes_split_share_and_interior_penalty(monkeypatch):
    d = make_district(6, 6, per_side=3, households=(5, 15), seed=3)
    before = quiet(gridkit.partition, d.communities, d.buildings, d.streets, target=300)
    changed = perturb(d.communities, d.buildings, d.streets, seed=1)
    seen = []
    module = importlib.import_module("gridkit.regenerate")
    real = module.redraw_region

    def spy(*args, **kwargs):
        seen.append((kwargs["split_share"], kwargs["interior_penalty"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "redraw_region", spy)
    quiet(regenerate, before.grids, before.assignment, d.communities, changed, d.streets, target=300,
          split_share=0.5, interior_penalty=5.0)
    assert seen
    assert set(seen) == {(0.5, 5.0)}
    with pytest.raises(GridkitError, match="interior_penalty"):
        regenerate(before.grids, before.assignment, d.communities, changed, d.streets, interior_penalty=0.5)
