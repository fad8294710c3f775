"""The one-command pipeline behind ``gridkit run gridkit.toml``.

Stages run in the order data flows (inputs → grids → wardens, coverage, routes, incidents → map and
exports); a stage runs when its inputs are configured. Every output is first written into a staging
folder beside the output folder, which replaces the output folder in one step only when every stage
has succeeded (:func:`gridkit.publish.publish_folder`, with the manifest ``plan.json``), so a failed or
killed run never leaves half its outputs, or files of an earlier run, over a good earlier run.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gridkit import io
from gridkit.columns import standard_columns
from gridkit.config import Config
from gridkit.errors import GridkitWarning, InputDataError
from gridkit.metrics import evaluate, hard_failures
from gridkit.partition import BatchError, partition
from gridkit.publish import publish_folder

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
        Every file written, in the output folder (in ``<folder>.failed`` when ``problems`` is not empty:
        a plan that fails its hard invariants never replaces the previous plan).
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
    workers: int | None = None
    client: Any = None
    scheduler: str | None = None
    results: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[str, str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def report(self, stage: str, item: str, value: object) -> None:
        self.rows.append((stage, item, value))

    def out(self, name: str) -> Path:
        return self.staging / name


def _csv(run: _Run, table: pd.DataFrame, name: str) -> None:
    """Every CSV of a run through one writer (gridkit.tables): ids as text, .csvt, the Excel BOM option."""
    from gridkit.tables import write_table  # noqa: PLC0415

    write_table(table, run.out(name), excel=run.config["outputs"]["excel_csv"])


def _communities(config: Config) -> gpd.GeoDataFrame:
    communities = io.read_layer(config.input_path("communities"), label="communities",
                                encoding=config["inputs"]["encoding"])
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


def _standard(layer: gpd.GeoDataFrame, cfg: Config, names: tuple[str, ...], label: str) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)  # the partition has said which columns it used
        return standard_columns(layer, {k: cfg.columns.get(k) for k in names}, label=label)


def _stage_partition(run: _Run, progress: Progress | None) -> None:
    cfg = run.config
    part = cfg["partition"]
    communities = _communities(cfg)
    # each input is read once; the readers remember the file for error messages
    encoding = cfg["inputs"]["encoding"]
    streets = (io.read_layer(cfg.input_path("streets"), label="streets", encoding=encoding)
               if cfg.input_path("streets") else None)
    if streets is None and cfg.input_path("osm") is not None:
        from gridkit.network import read_osm  # noqa: PLC0415 - only when an OSM file is configured

        streets = read_osm(cfg.input_path("osm"))
    buildings_read = io.read_layer(cfg.input_path("buildings"), label="buildings", encoding=encoding)
    if cfg.input_path("previous_grids") is not None:
        result = _regenerate(run, communities, buildings_read, streets)
    else:
        result = _partition(run, communities, buildings_read, streets, progress)
    # the same columns the partition used (named ones, else standard or common names such as 户数)
    buildings = _standard(buildings_read, cfg, ("building_id", "households", "population"), "buildings")
    street_layer = streets
    metrics = evaluate(result.grids, _standard(communities, cfg, ("community_id",), "communities"),
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
    if "changes" in run.results:
        summary = run.results["changes"].summary
        run.report("partition", "churn", f"{summary['churn']:.1%}")
        run.report("partition", "grid changes", ", ".join(f"{k[2:]} {v}" for k, v in summary.items()
                                                          if k.startswith("n_") and v))
    _csv(run, result.assignment, "assignment.csv")
    _csv(run, result.report, "report.csv")
    _csv(run, metrics, "metrics.csv")


def _partition(run: _Run, communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, streets: Any,
               progress: Progress | None) -> Any:
    """Partition batch by batch (street offices) here, in worker processes or on a Dask cluster.

    A batch that fails is listed in ``failed_batches.csv`` and in the run's problems; the other
    batches' grids go on through every stage and are written.
    """
    part = run.config["partition"]
    try:
        result = partition(communities, buildings, streets, by=part["by"], target=part["target"],
                           tolerance=part["tolerance"], seed=part["seed"], columns=run.config.columns,
                           outside=part["outside"], overlapping=part["overlapping"], progress=progress,
                           sequence_digits=part["sequence_digits"],
                           workers=run.workers, client=run.client, scheduler=run.scheduler,
                           batch_by=run.config["run"]["batch_by"])
    except BatchError as exc:
        result = exc.partial
        run.problems.extend(str(f) for f in exc.failures)
        _csv(run, result.batches[result.batches["status"] != "ok"], "failed_batches.csv")
        id_col = run.config.columns.get("community_id", "community_id")
        every = set(communities[id_col].astype(str))  # each community gets a grid at least: the rest failed
        run.results["failed_communities"] = sorted(every - set(result.grids["community_id"].astype(str)))
    run.results["batches"] = result.batches
    if len(result.batches) > 1:
        run.report("partition", "batches", len(result.batches))
        _csv(run, result.batches, "batches.csv")
    return result


def _regenerate(run: _Run, communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, streets: Any) -> Any:
    """Regenerate from the previous plan (动态调整) instead of partitioning afresh."""
    from gridkit.regenerate import regenerate  # noqa: PLC0415

    cfg = run.config
    part = cfg["partition"]
    previous = cfg.input_path("previous_grids")
    folder = Path(cfg["outputs"]["folder"]).resolve()
    for name in ("previous_grids", "previous_assignment", "register"):
        path = cfg.input_path(name)
        if path is not None and path.resolve().parent == folder:
            raise InputDataError(f"[inputs] {name} is in the output folder and would be overwritten; copy the "
                                 f"previous plan elsewhere (e.g. previous/) first: {path}", source=str(cfg.path))
    register = cfg.input_path("register")
    if register is None and previous.with_name(f"{previous.stem}.register.csv").exists():
        register = previous.with_name(f"{previous.stem}.register.csv")
    result = regenerate(previous, cfg.input_path("previous_assignment"), communities, buildings,
                        streets, target=part["target"], tolerance=part["tolerance"], by=part["by"],
                        seed=part["seed"], register=register, columns=cfg.columns, outside=part["outside"])
    run.results["changes"] = result
    _csv(run, result.report, "changes.csv")
    _csv(run, result.register, "grids.register.csv")
    return result


def _graph(run: _Run) -> Any:
    """The walking graph of the district's streets, built once (None without streets)."""
    if "graph" not in run.results:
        from gridkit.network import street_graph  # noqa: PLC0415

        streets = run.results.get("streets")
        run.results["graph"] = street_graph(streets) if streets is not None and len(streets) else None
    return run.results["graph"]


def _stage_wardens(run: _Run, _progress: Progress | None) -> None:
    from gridkit.wardens import assign_wardens, building_wardens, read_roster  # noqa: PLC0415

    cfg = run.config
    grids = run.results["grids"]
    roster = read_roster(cfg.input_path("wardens"), district=run.results["communities"])
    if run.results.get("failed_communities") and "community_id" in roster.columns:
        # the people of a failed batch's communities wait for that batch's grids
        roster = roster[~roster["community_id"].astype(str).isin(run.results["failed_communities"])]
    plan = assign_wardens(grids, roster, rule=cfg["staffing"]["rule"], graph=_graph(run),
                          streets=run.results.get("streets"))
    run.results.update(roster=roster, warden_plan=plan,
                       building_wardens=building_wardens(run.results["assignment"], plan))
    run.report("wardens", "rule", cfg["staffing"]["rule"])
    run.report("wardens", "grids staffed", f"{plan.summary['grids_staffed']}/{plan.summary['grids']}")
    run.report("wardens", "walk to grids, km", round(plan.objective / 1000, 1))
    run.report("wardens", "households per warden", f"{plan.summary['households_min']:.0f}-"
               f"{plan.summary['households_max']:.0f} (Gini {plan.summary['households_gini']:.3f})")
    run.report("wardens", "unstaffed grids", len(plan.unstaffed))
    run.report("wardens", "exact optimum", bool(plan.optimal))
    if cfg["staffing"]["strict"] and len(plan.unstaffed):
        run.problems.append(f"{len(plan.unstaffed)} grids have no warden (strict staffing)")
    _csv(run, plan.assignment, "wardens_assignment.csv")
    _csv(run, plan.per_warden, "per_warden.csv")
    if len(plan.shortage):
        _csv(run, plan.shortage, "staff_shortage.csv")


def _stage_coverage(run: _Run, _progress: Progress | None) -> None:
    from gridkit.coverage import coverage  # noqa: PLC0415

    cov = run.config["coverage"]
    metres = cov["metres"]
    result = coverage(run.results["buildings"], run.results["roster"], _graph(run),
                      minutes=None if metres else cov["minutes"], metres=metres, speed_kmh=cov["speed_kmh"],
                      assignment=run.results["building_wardens"])
    run.results["coverage"] = result
    summary = result.summary
    run.report("coverage", "walk threshold, m", round(float(summary["threshold_m"])))
    run.report("coverage", "households within reach of own warden", f"{summary['share_households']:.1%}")
    run.report("coverage", "households within reach of any warden", f"{summary['share_households_any']:.1%}")
    run.report("coverage", "buildings not covered", int(summary["uncovered"]))
    _csv(run, result.buildings, "coverage.csv")


def _stage_routes(run: _Run, _progress: Progress | None) -> None:
    from gridkit.roles import is_grid_warden  # noqa: PLC0415
    from gridkit.routing import patrol_routes, routes_for_export  # noqa: PLC0415

    cfg = run.config["routes"]
    graph = _graph(run)
    if not cfg["enabled"] or graph is None:
        return
    stations = None
    if "warden_plan" in run.results:
        links = run.results["warden_plan"].links
        seats = links.loc[is_grid_warden(links["role"]), ["warden_id", "grid_id"]]  # who walks: one rule
        stations = run.results["roster"].drop(columns=["grid_id"], errors="ignore").merge(seats, on="warden_id")
    routes = patrol_routes(run.results["grids"], graph, stations=stations,
                           include_boundary=cfg["include_boundary"], speed_kmh=cfg["speed_kmh"])
    run.results["routes"] = routes
    drawn = routes[routes.geometry.notna()]
    run.report("routes", "routes", len(drawn))
    run.report("routes", "total km", round(float(drawn["length_m"].sum()) / 1000, 2))
    run.report("routes", "mean minutes", round(float(drawn["minutes"].mean()), 1) if len(drawn) else 0)
    run.report("routes", "grids without a route", int(routes.geometry.isna().sum()))
    run.report("routes", "exact optimum", f"{int(drawn['exact'].sum())}/{len(drawn)}")
    io.write_geojson(routes_for_export(drawn), run.out("routes.geojson"))


def _stage_incidents(run: _Run, _progress: Progress | None) -> None:
    from gridkit.hotspots import hotspots  # noqa: PLC0415
    from gridkit.incidents import grid_stats, prepare_incidents  # noqa: PLC0415

    cfg = run.config["incidents"]
    grids = run.results["grids"]
    prepared = prepare_incidents(run.config.input_path("incidents"), grids, coords=cfg["coords"],
                                 period=cfg["period"])
    sla = {}
    if cfg["time_limits_hours"]:
        sla["time_limits_hours"] = cfg["time_limits_hours"]
    if cfg["tiers"]:
        sla["tiers"] = cfg["tiers"]
    stats = grid_stats(prepared, grids, sla=sla or None)
    spots = hotspots(grids.merge(stats[["grid_id", "count"]], on="grid_id"), "count")
    run.results.update(incidents=prepared, grid_stats=stats, hotspots=spots, sla=sla or None)
    for key, value in prepared.counts.items():
        run.report("incidents", key, int(value))
    run.report("incidents", "data-quality rows", len(prepared.quality))
    for tier, n in stats["tier"].value_counts().items():
        run.report("incidents", f"{tier} grids", int(n))
    run.report("incidents", "hot spots (FDR)", int(((spots["gi_bin"] > 0) & spots["significant"]).sum()))
    _csv(run, stats, "grid_stats.csv")
    _csv(run, prepared.quality, "incident_quality.csv")


# (name, function, inputs it needs); each runs when its inputs are configured
STAGES: list[tuple[str, Callable[[_Run, Progress | None], None], tuple[str, ...]]] = [
    ("partition", _stage_partition, ()),
    ("wardens", _stage_wardens, ("wardens",)),
    ("coverage", _stage_coverage, ("wardens",)),
    ("routes", _stage_routes, ()),
    ("incidents", _stage_incidents, ("incidents",)),
]

# --- programme stages (issue 16): unit cells, staffing by a programme rule, schedules, KPIs, norms.
# They live in gridkit.programme; install() inserts cells after the partition and appends the rest.
from gridkit.programme import install as _install_programme_stages  # noqa: E402

_install_programme_stages(STAGES)


def _stage_map(run: _Run) -> None:
    from gridkit.maps import map as district_map  # noqa: PLC0415
    from gridkit.maps import save_map  # noqa: PLC0415

    out = run.config["outputs"]
    if not out["map"]:
        return
    grids = run.results["grids"]
    stats = run.results.get("grid_stats")
    if stats is not None:
        grids = grids.merge(stats.drop(columns=["households"], errors="ignore"), on="grid_id", how="left")
    plan = run.results.get("warden_plan")
    wardens = plan.assignment if plan is not None else None
    incidents = run.results.get("incidents")
    fmap = district_map(grids=grids, incidents=incidents, hotspots=run.results.get("hotspots"),
                        routes=run.results.get("routes"), wardens=wardens, communities=run.results["communities"],
                        buildings=run.results.get("buildings"), streets=run.results.get("streets"),
                        lang=run.config["district"]["lang"], offline=out["offline"], tiles=out["tiles"],
                        tiles_crs=out["tiles_crs"], paper="A3" if out["paper"] == "A3" else "A4",
                        title=run.config["district"]["name"], sla=run.results.get("sla"))
    save_map(fmap, run.out("map.html"), offline=out["offline"])


def _stage_report(run: _Run) -> None:
    """The per-warden workload table and the meeting report (report.pdf; skipped without a CJK font)."""
    from gridkit.errors import GridkitError  # noqa: PLC0415
    from gridkit.workload import warden_workload  # noqa: PLC0415

    plan = run.results.get("warden_plan")
    if plan is not None:
        run.results["workload"] = warden_workload(plan, run.results["grids"], routes=run.results.get("routes"),
                                                  incidents=run.results.get("incidents"),
                                                  streets=run.results.get("streets"))
        _csv(run, run.results["workload"], "warden_workload.csv")
        run.report("wardens", "overloaded wardens", int(run.results["workload"]["overloaded"].sum()))
    out = run.config["outputs"]
    if not out["report"]:
        return
    from gridkit.report import meeting_report  # noqa: PLC0415

    coverage = run.results.get("coverage")
    try:
        meeting_report(run.out("report.pdf"), run.results["grids"], communities=run.results["communities"],
                       buildings=run.results.get("buildings"), streets=run.results.get("streets"),
                       partition_report=run.results["report"], assignment=run.results["assignment"],
                       staffing=plan.assignment if plan is not None else None, workload=run.results.get("workload"),
                       stats=run.results.get("grid_stats"), coverage=coverage.buildings if coverage else None,
                       title=run.config["district"]["name"], paper=out["paper"], lang=run.config["district"]["lang"],
                       tolerance=run.config["partition"]["tolerance"], sla=run.results.get("sla"),
                       sources=", ".join(str(run.config.input_path(k).name) for k in
                                         ("communities", "buildings", "streets", "wardens", "incidents")
                                         if run.config.input_path(k) is not None))
    except GridkitError as exc:
        if "CJK" not in str(exc):
            raise
        warnings.warn(f"report.pdf not written: {exc}", GridkitWarning, stacklevel=2)


def _stage_exports(run: _Run) -> None:
    """Write every layer in every configured format and CRS (GIS files under ``gis/<format>/``)."""
    from gridkit.export import export  # noqa: PLC0415

    out = run.config["outputs"]
    from gridkit.workload import grids_for_people  # noqa: PLC0415

    # the grids layer carries community name, wardens and tier, so an analyst needs no join
    people = grids_for_people(run.results["grids"], communities=run.results["communities"],
                              plan=run.results.get("warden_plan"), stats=run.results.get("grid_stats"))
    layers: dict[str, Any] = {"grids": people, "communities": run.results["communities"],
                              "assignment": run.results["assignment"]}
    if "warden_plan" in run.results:
        layers["staffing"] = run.results["warden_plan"].assignment
    if run.results.get("routes") is not None:
        layers["routes"] = run.results["routes"]
    if "grid_stats" in run.results:
        layers["grid_stats"] = run.results["grid_stats"]
    layers.update(run.results.get("extra_layers", {}))  # e.g. the unit cells (gridkit.programme)
    for fmt in out["formats"]:
        export(layers, run.out("gis") / fmt, format=fmt, crs=out["crs"], excel=out["excel_csv"])
    io.write_geojson(run.results["grids"], run.out("grids.geojson"))


#: What a run may write at the top of its folder (to tell an older run's outputs from the user's files
#: in a folder that has no plan.json yet).
KNOWN_OUTPUTS = ("grids.geojson", "assignment.csv", "report.csv", "metrics.csv", "changes.csv",
                 "grids.register.csv", "wardens_assignment.csv", "per_warden.csv", "staff_shortage.csv",
                 "coverage.csv", "routes.geojson", "grid_stats.csv", "incident_quality.csv", "map.html", "gis",
                 "report.pdf", "warden_workload.csv", "batches.csv", "failed_batches.csv")
# every CSV has its .csvt beside it (gridkit.tables)
KNOWN_OUTPUTS += tuple(name[:-4] + ".csvt" for name in KNOWN_OUTPUTS if name.endswith(".csv"))


def run_pipeline(config: Config, *, progress: Callable[[str], Progress | None] | None = None,
                 workers: int | None = None, client: Any = None, scheduler: str | None = None) -> PipelineResult:
    """Run every configured stage of ``config`` and publish the outputs.

    Parameters
    ----------
    config
        A checked configuration (:func:`gridkit.config.load_config`).
    progress
        Optional factory ``progress(stage) -> callback(step, done, total)`` for progress bars.
    workers
        Worker processes for the partition batches (default ``[run] workers``, 1 = this process).
    client, scheduler
        A :class:`dask.distributed.Client` or a scheduler address (default ``[run] scheduler``) to
        partition the batches on a Dask cluster.

    Returns
    -------
    PipelineResult
        Summary table, files written, results in memory, failed invariants and warnings.
    """
    folder = Path(config["outputs"]["folder"]).absolute()
    notes: list[str] = []
    # every output of the run is one plan: staged beside the folder, published by one folder exchange
    # with plan.json (each file's checksum) inside; a failed or killed run leaves the previous plan whole
    failed = folder.with_name(f"{folder.name}.failed")

    def divert() -> Path | None:
        # a plan that fails its hard invariants never replaces the previous one: it goes beside it
        return failed if run.problems else None

    with publish_folder(folder, command="run", known_outputs=KNOWN_OUTPUTS, notes=notes, divert=divert) as staging:
        run = _Run(config=config, staging=staging, workers=workers or config["run"]["workers"], client=client,
                   scheduler=scheduler or config["run"]["scheduler"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            for name, stage, needs in STAGES:
                if all(config.input_path(n) is not None for n in needs):
                    callback = progress(name) if progress else None
                    stage(run, callback)
                    if callback is not None:
                        callback(name, 1, 1)
            _stage_map(run)
            _stage_report(run)
            _stage_exports(run)
        written = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
    published = failed if run.problems else folder
    outputs = [published / rel for rel in written]
    if run.problems:
        notes.append(f"hard invariants failed: the outputs went to {failed}; the plan in {folder} was left as it was")
    elif failed.exists():
        shutil.rmtree(failed)  # the outputs of an earlier failed run no longer apply
    summary = pd.DataFrame(run.rows, columns=["stage", "item", "value"], dtype=object)
    messages = [str(w.message) for w in caught if issubclass(w.category, GridkitWarning)]
    return PipelineResult(summary=summary, outputs=outputs, results=run.results, problems=run.problems,
                          warnings=notes + messages)
