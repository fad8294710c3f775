"""``gridkit partition`` and ``validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from gridkit import io
from gridkit.cli._common import (
    DEFAULT_LANG,
    EXIT_INVARIANT,
    BuildingIdCol,
    CommunityIdCol,
    HouseholdsCol,
    Lang,
    PopulationCol,
    _columns,
    _fail_input,
    _msg,
    _print_metrics,
    _run_partition,
    app,
    console,
)
from gridkit.errors import GridkitError
from gridkit.metrics import evaluate, hard_failures
from gridkit.tables import write_table


@app.command("partition")
def partition_command(
    communities: Annotated[Path, typer.Option(help="Community polygons (GeoJSON, GPKG, SHP) / 社区边界")],
    buildings: Annotated[Path, typer.Option(help="Buildings (polygons or points, or CSV with lon/lat) / 建筑")],
    out: Annotated[Path, typer.Option(help="Grids output (.geojson or .gpkg) / 网格输出")],
    assignment: Annotated[Path, typer.Option(help="Building → grid CSV / 建筑-网格对应表")],
    streets: Annotated[Path | None, typer.Option(help="Street centrelines / 街巷中心线")] = None,
    by: Annotated[str, typer.Option(help="households, population or area / 均衡指标")] = "households",
    target: Annotated[float | None, typer.Option(help="Target per grid (households, persons or m²)")] = None,
    tolerance: Annotated[float, typer.Option(help="Two-sided tolerance, 0.1 = ±10 %")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed (results are deterministic per seed)")] = 0,
    report: Annotated[Path | None, typer.Option(help="Per-community report CSV / 社区报告")] = None,
    outside: Annotated[str, typer.Option(help="Buildings outside every community: error or report")] = "error",
    community_id_col: CommunityIdCol = None,
    building_id_col: BuildingIdCol = None,
    households_col: HouseholdsCol = None,
    population_col: PopulationCol = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Partition communities into balanced, street-bounded grids / 划分网格.

    Example: gridkit partition --communities c.geojson --buildings b.geojson --streets s.geojson
    --target 300 --out grids.geojson --assignment assignment.csv
    """
    columns = _columns(community_id=community_id_col, building_id=building_id_col, households=households_col,
                       population=population_col)
    try:
        result = _run_partition(lang, communities=communities, buildings=buildings, streets=streets, by=by,
                                target=target, tolerance=tolerance, seed=seed, columns=columns, outside=outside)
        io.write_layer(result.grids, out, layer="grids")
        write_table(result.assignment, assignment)
        if report is not None:
            write_table(result.report, report)
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    console.print(f"{_msg(lang, 'wrote')} {len(result.grids)} {_msg(lang, 'grids')} → {out}")
    Console().print(result.report[["community_id", "name", "n_grids", "households", "max_abs_deviation",
                                   "status"]].to_string(index=False))


@app.command("validate")
def validate_command(
    grids: Annotated[Path, typer.Argument(help="Grids file to check / 待检查的网格")],
    communities: Annotated[Path, typer.Option(help="Community polygons / 社区边界")],
    buildings: Annotated[Path | None, typer.Option(help="Buildings for the conservation check")] = None,
    assignment: Annotated[Path | None, typer.Option(help="Building → grid CSV")] = None,
    streets: Annotated[Path | None, typer.Option(help="Streets for street alignment")] = None,
    by: Annotated[str, typer.Option(help="Balanced measure")] = "households",
    tolerance: Annotated[float, typer.Option(help="Balance tolerance")] = 0.1,
    out: Annotated[Path | None, typer.Option(help="Write the metrics table as CSV")] = None,
    community_id_col: CommunityIdCol = None,
    building_id_col: BuildingIdCol = None,
    households_col: HouseholdsCol = None,
    population_col: PopulationCol = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Print the metrics table; exit 1 if conservation, coverage or contiguity fails / 校验网格.

    Example: gridkit validate grids.geojson --communities c.geojson --buildings b.geojson
    --assignment assignment.csv --streets s.geojson
    """
    try:
        grid_layer = io.read_layer(grids, label="grids")
        comm = io.read_layer(communities, label="communities")
        if community_id_col:
            comm = comm.rename(columns={community_id_col: "community_id"})
        bld = io.read_layer(buildings, label="buildings") if buildings else None
        if bld is not None:
            bld = bld.rename(columns={v: k for k, v in _columns(building_id=building_id_col, households=households_col,
                                                                 population=population_col).items()})
        links = pd.read_csv(assignment, dtype=str) if assignment else None
        street_layer = io.read_layer(streets, label="streets") if streets else None
        table = evaluate(grid_layer, comm, bld, links, streets=street_layer, by=by, tolerance=tolerance)
        if out is not None:
            write_table(table, out)
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    _print_metrics(table, lang)
    outside = int(table["buildings_outside"].iloc[-1]) if "buildings_outside" in table.columns else 0
    if outside:
        console.print(f"[yellow]{_msg(lang, 'warn')}:[/] {outside} buildings are listed in the assignment as "
                      "outside every community (not in any grid)")
    problems = hard_failures(table)
    if problems:
        console.print(f"[bold red]{_msg(lang, 'failed')}:[/] " + "; ".join(problems))
        raise typer.Exit(EXIT_INVARIANT)
    console.print(f"[green]{_msg(lang, 'ok')}[/]")
