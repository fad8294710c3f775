"""The one-command pipeline behind ``gridkit run gridkit.toml``.

Stages run in the order data flows (inputs → grids → wardens, coverage, routes, incidents → map and
exports); a stage runs when its inputs are configured. Every output is first written into a staging
folder beside the output folder and moved into place only when every stage has succeeded, so a failed
run never leaves half its outputs over a good earlier run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gridkit import io
from gridkit.config import Config
from gridkit.errors import GridkitWarning, InputDataError
from gridkit.metrics import evaluate, hard_failures
from gridkit.partition import partition

__all__ = ["STAGES", "PipelineResult", "run_pipeline"]

Progress = Callable[[str, int, int], None]


@dataclass
class PipelineResult:
    """What one pipeline run produced.

    Attributes
    ----------
    summary
        One row per reported figure: ``stage``, ``item``, ``value``.
    outputs
        Every file written, in the output folder.
    results
        The in-memory results by name (``grids``, ``assignment``, ``metrics``, ...) for notebooks.
    problems
        Hard invariants that failed (empty when all hold); the CLI exits 1 when there are any.
    warnings
        Messages of the warnings raised on the way (estimated households, shortages, ...).
    """

    summary: pd.DataFrame
    outputs: list[Path]
    results: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Run:
    config: Config
    staging: Path
    results: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[str, str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def report(self, stage: str, item: str, value: object) -> None:
        self.rows.append((stage, item, value))

    def out(self, name: str) -> Path:
        return self.staging / name


def _communities(config: Config) -> gpd.GeoDataFrame:
    communities = io.read_layer(config.input_path("communities"), label="communities")
    part = config["partition"]
    targets, type_column = part["targets"], part["type_column"]
    if targets:
        bad = {k: v for k, v in targets.items() if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0}
        if bad:
            raise InputDataError(f"[partition.targets] must map a community type to a positive number, got {bad}",
                                 source=str(config.path))
        if not type_column:
            raise InputDataError("[partition.targets] needs [partition] type_column, the community column that "
                                 "names each community's type", source=str(config.path))
        kinds = communities[type_column].astype(str)
        unknown = sorted(set(kinds) - set(targets))
        if unknown and "default" not in targets:
            raise InputDataError(f"community types {unknown} have no target in [partition.targets] "
                                 "(add them or a 'default')", source=str(config.path), column=type_column)
        communities["target"] = kinds.map(lambda k: targets.get(k, targets.get("default")))
    return communities


def _stage_partition(run: _Run, progress: Progress | None) -> None:
    cfg = run.config
    part = cfg["partition"]
    communities = _communities(cfg)
    streets = cfg.input_path("streets")
    if streets is None and cfg.input_path("osm") is not None:
        from gridkit.network import read_osm  # noqa: PLC0415 - only when an OSM file is configured

        streets = read_osm(cfg.input_path("osm"))
    result = partition(communities, cfg.input_path("buildings"), streets, by=part["by"], target=part["target"],
                       tolerance=part["tolerance"], seed=part["seed"], columns=cfg.columns,
                       outside=part["outside"], progress=progress)
    buildings = io.read_layer(cfg.input_path("buildings"), label="buildings").rename(
        columns={v: k for k, v in cfg.columns.items()})
    street_layer = streets if isinstance(streets, gpd.GeoDataFrame) else (
        io.read_layer(streets, label="streets") if streets is not None else None)
    metrics = evaluate(result.grids, communities.rename(columns={v: k for k, v in cfg.columns.items()}),
                       buildings, result.assignment, streets=street_layer, by=part["by"],
                       tolerance=part["tolerance"])
    run.problems.extend(hard_failures(metrics))
    run.results.update(grids=result.grids, assignment=result.assignment, report=result.report, metrics=metrics,
                       communities=communities, buildings=buildings, streets=street_layer)
    total = metrics.iloc[-1]
    run.report("partition", "grids", len(result.grids))
    run.report("partition", "households", int(result.grids["households"].sum()))
    run.report("partition", "max |deviation|", round(float(total["max_abs_deviation"]), 3))
    run.report("partition", "share within tolerance", round(float(total["share_within_tolerance"]), 3))
    run.report("partition", "on streets", round(float(total["street_alignment"]), 3))
    io.write_csv(result.assignment, run.out("assignment.csv"))
    io.write_csv(result.report, run.out("report.csv"))
    io.write_csv(metrics, run.out("metrics.csv"))


# (name, function, which inputs it needs); later stages are appended by their modules' wiring below
STAGES: list[tuple[str, Callable[[_Run, Progress | None], None], tuple[str, ...]]] = [
    ("partition", _stage_partition, ()),
]


def _stage_outputs(run: _Run) -> None:
    """Write the grid layer in every configured format (the other layers are written by their stages)."""
    formats = run.config["outputs"]["formats"]
    grids = run.results["grids"]
    if "geojson" in formats:
        io.write_geojson(grids, run.out("grids.geojson"))
    if "gpkg" in formats:
        io.write_gpkg(grids, run.out("grids.gpkg"), layer="grids")


def _publish(staging: Path, folder: Path) -> list[Path]:
    """Move every staged file into ``folder`` (each move is an atomic rename on one file system)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for item in sorted(staging.rglob("*")):
        if item.is_dir():
            continue
        target = folder / item.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(item, target)
        written.append(target)
    return written


def run_pipeline(config: Config, *, progress: Callable[[str], Progress | None] | None = None) -> PipelineResult:
    """Run every configured stage of ``config`` and publish the outputs.

    Parameters
    ----------
    config
        A checked configuration (:func:`gridkit.config.load_config`).
    progress
        Optional factory ``progress(stage) -> callback(step, done, total)`` for progress bars.

    Returns
    -------
    PipelineResult
        Summary table, files written, results in memory, failed invariants and warnings.
    """
    folder = Path(config["outputs"]["folder"])
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    run = _Run(config=config, staging=staging)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            for name, stage, needs in STAGES:
                if all(config.input_path(n) is not None for n in needs):
                    stage(run, progress(name) if progress else None)
            _stage_outputs(run)
        outputs = _publish(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary = pd.DataFrame(run.rows, columns=["stage", "item", "value"], dtype=object)
    return PipelineResult(summary=summary, outputs=outputs, results=run.results, problems=run.problems,
                          warnings=[str(w.message) for w in caught if issubclass(w.category, GridkitWarning)])
