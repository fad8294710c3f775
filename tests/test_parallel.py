"""Batches in worker processes and on a Dask cluster: the serial result, failures named, dead workers retried."""

from __future__ import annotations

import importlib
import os
import signal
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import gridkit
from gridkit import pipeline
from gridkit.config import example_config, load_config
from gridkit.errors import GridkitError
from gridkit.parallel import run_batches
from gridkit.samples import sample_dir


@dataclass
class Job:
    batch_id: str
    cost: float
    marker: str = ""


def square(job: Job, progress=None) -> tuple[str, int]:
    if progress is not None:
        progress(job.batch_id, 1, 1)
    return job.batch_id, int(job.cost) ** 2


def flaky(job: Job, progress=None) -> tuple[str, int]:
    """Fails for batch 'bad'; kills its own process for 'kill' always, and for 'once' on the first try."""
    if job.batch_id == "bad":
        raise ValueError("no streets in this street office")
    if job.batch_id == "kill" or (job.batch_id == "once" and not Path(job.marker).exists()):
        Path(job.marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return square(job, progress)


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def offices(communities):
    out = communities.copy()
    out["street_office"] = ["A", "B", "A", "B", "C"]
    return out


def test_results_come_back_in_payload_order_with_progress():
    jobs = [Job(f"b{i}", i) for i in range(5)]
    seen = []
    results, failures = run_batches(square, jobs, workers=2, progress=lambda b, d, t: seen.append(b))
    assert failures == []
    assert results == [(f"b{i}", i * i) for i in range(5)]
    assert sorted(seen) == sorted(j.batch_id for j in jobs)


def test_a_failing_batch_is_named_and_the_others_finish(tmp_path):
    jobs = [Job("a", 3), Job("bad", 9), Job("c", 1)]
    for workers in (None, 2):
        results, failures = run_batches(flaky, jobs, workers=workers)
        assert results[0] == ("a", 9)
        assert results[2] == ("c", 1)
        assert results[1] is None
        assert [f.batch_id for f in failures] == ["bad"]
        assert "ValueError: no streets" in str(failures[0])
        assert not failures[0].killed


def test_a_killed_worker_is_retried_once_then_reported(tmp_path):
    jobs = [Job("a", 5), Job("once", 4, str(tmp_path / "once")), Job("kill", 3, str(tmp_path / "kill")),
            Job("d", 2), Job("e", 1)]
    results, failures = run_batches(flaky, jobs, workers=2)
    assert results[1] == ("once", 16)  # died once, done on the retry
    assert results[0] == ("a", 25)
    assert results[3] == ("d", 4)
    assert results[4] == ("e", 1)
    assert results[2] is None
    assert len(failures) == 1
    assert failures[0].batch_id == "kill"
    assert failures[0].killed
    assert failures[0].attempts == 2


def test_workers_must_be_positive():
    with pytest.raises(GridkitError, match="workers"):
        run_batches(square, [Job("a", 1)], workers=0)


def test_two_workers_give_the_serial_result(sample):
    comm = offices(sample.communities)
    serial = quiet(gridkit.partition, comm, sample.buildings, sample.streets)
    parallel = quiet(gridkit.partition, comm, sample.buildings, sample.streets, workers=2)
    assert parallel.batches["pid"].nunique() >= 1
    assert set(parallel.batches["pid"]) != {os.getpid()}
    pd.testing.assert_frame_equal(serial.grids.drop(columns="geometry"), parallel.grids.drop(columns="geometry"))
    assert all(a.equals_exact(b, 0) for a, b in zip(serial.grids.geometry, parallel.grids.geometry, strict=True))
    pd.testing.assert_frame_equal(serial.assignment, parallel.assignment)
    pd.testing.assert_frame_equal(serial.report, parallel.report)


def test_pipeline_writes_the_batches_that_succeed(sample, sample_result, tmp_path, monkeypatch):
    """A batch failing during work is reported with its id; the others go through every stage and are written."""
    data = tmp_path / "data"
    data.mkdir()
    offices(sample.communities).to_file(data / "communities.geojson", driver="GeoJSON")
    for name in ("buildings.geojson", "streets.geojson", "wardens.csv", "incidents.csv"):
        (data / name).write_bytes((sample_dir() / name).read_bytes())
    config = tmp_path / "gridkit.toml"
    text = example_config("data").replace('folder = "gridkit-out"', 'folder = "out"')
    text = text.replace("map = true", "map = false")
    config.write_text(text.replace('formats = ["gpkg", "shp", "csv"]', 'formats = ["gpkg"]'), encoding="utf-8")
    module = importlib.import_module("gridkit.partition")
    real = module.partition_batch

    def broken(batch, progress=None):
        if batch.batch_id == "B":
            raise RuntimeError("disk full while cutting blocks")
        return real(batch, progress)

    monkeypatch.setattr(module, "partition_batch", broken)
    result = quiet(pipeline.run_pipeline, load_config(config))
    assert any("batch 'B'" in p and "disk full" in p for p in result.problems)
    out = tmp_path / "out.failed"  # a run with problems is published beside the plan folder, never over it
    assert not (tmp_path / "out").exists()
    failed = pd.read_csv(out / "failed_batches.csv")
    assert failed["batch_id"].tolist() == ["B"]
    assert failed["status"].tolist() == ["failed"]
    grids = result.results["grids"]
    assert set(grids["community_id"]) == {"C01", "C03", "C05"}
    assignment = pd.read_csv(out / "assignment.csv")
    before = sample_result.assignment
    assert set(assignment.loc[assignment["status"] == "batch_failed", "building_id"]) == set(
        before.loc[before["community_id"].isin(["C02", "C04"]), "building_id"])
    assert assignment.loc[assignment["status"] == "batch_failed", "grid_id"].isna().all()
    assert (out / "wardens_assignment.csv").exists()
    assert (out / "gis" / "gpkg").exists()


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_result(sample):
    distributed = pytest.importorskip("distributed")
    comm = offices(sample.communities)
    serial = quiet(gridkit.partition, comm, sample.buildings, sample.streets)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        on_dask = quiet(gridkit.partition, comm, sample.buildings, sample.streets, client=client)
        by_address = quiet(gridkit.partition, comm, sample.buildings, sample.streets,
                           scheduler=cluster.scheduler_address)
    for result in (on_dask, by_address):
        pd.testing.assert_frame_equal(serial.grids.drop(columns="geometry"), result.grids.drop(columns="geometry"))
        assert all(a.equals_exact(b, 0) for a, b in zip(serial.grids.geometry, result.grids.geometry, strict=True))
        pd.testing.assert_frame_equal(serial.assignment, result.assignment)
        pd.testing.assert_frame_equal(serial.report, result.report)
    assert set(on_dask.batches["pid"]) != {os.getpid()}
