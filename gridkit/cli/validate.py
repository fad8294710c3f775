"""``gridkit validate`` (a plan checked from its geometry and buildings) and ``gridkit check-inputs``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from gridkit import io
from gridkit.cli._common import (
    DEFAULT_LANG,
    EXIT_INPUT,
    EXIT_INVARIANT,
    BuildingIdCol,
    By,
    CommunityIdCol,
    Encoding,
    HouseholdsCol,
    Lang,
    PopulationCol,
    _columns,
    _msg,
    _print_metrics,
    app,
    console,
)
from gridkit.columns import standard_columns
from gridkit.metrics import evaluate, hard_failures
from gridkit.preflight import check_inputs
from gridkit.validate import validate_plan

MESSAGES = {
    "zh": {"problems": "问题", "more": "另有 {n} 条，见 --report", "report": "问题清单已写出",
           "inputs_ok": "输入检查全部通过", "inputs_failed": "输入检查未通过", "layer": "图层", "check": "检查",
           "status": "结果", "message": "说明", "warnings": "条提示"},
    "en": {"problems": "problems", "more": "{n} more, see --report", "report": "problem list written to",
           "inputs_ok": "all input checks pass", "inputs_failed": "input checks failed", "layer": "layer",
           "check": "check", "status": "status", "message": "message", "warnings": "warnings"},
}
_SHOWN = 25


def _m(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"][key]


@app.command("validate")
def validate_command(
    grids: Annotated[Path, typer.Argument(help="Grids file to check / 待检查的网格")],
    communities: Annotated[Path, typer.Option(help="Community polygons / 社区边界")],
    buildings: Annotated[Path | None, typer.Option(help="Buildings: counts and balance are recomputed from them")]
    = None,
    assignment: Annotated[Path | None, typer.Option(
        help="Building → grid CSV; without it buildings are assigned by location")] = None,
    streets: Annotated[Path | None, typer.Option(help="Streets for street alignment")] = None,
    by: By = "households",
    tolerance: Annotated[float, typer.Option(help="Balance tolerance (grids outside it are warnings)")] = 0.1,
    balance_limit: Annotated[float, typer.Option(
        help="|deviation| beyond which a grid fails (0.5 = ±50 %; oversize grids exempt)")] = 0.5,
    report: Annotated[Path | None, typer.Option(help="Write every problem as a CSV table / 问题清单")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the metrics table as CSV")] = None,
    community_id_col: CommunityIdCol = None,
    building_id_col: BuildingIdCol = None,
    households_col: HouseholdsCol = None,
    population_col: PopulationCol = None,
    encoding: Encoding = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Check a plan from its geometry and buildings; exit 1 naming every grid that fails / 校验网格.

    Counts and balance are recomputed from the buildings (assigned by the assignment, or by location),
    every building must lie in its grid, grids may not overlap (also across communities), leave gaps,
    reach outside their community or fall apart; a plan.json manifest beside the grids is checked.

    Example: gridkit validate grids.geojson --communities c.geojson --buildings b.geojson
    --assignment assignment.csv --report problems.csv
    """
    # every layer read once, with the same decoding and column rules, for the check and the metrics
    comm = standard_columns(io.read_layer(communities, label="communities", encoding=encoding),
                            {"community_id": community_id_col}, label="communities")
    bld = None
    if buildings is not None:
        bld = standard_columns(io.read_layer(buildings, label="buildings", encoding=encoding),
                               {"building_id": building_id_col, "households": households_col,
                                "population": population_col}, label="buildings")
    links = io.read_table(assignment, dtype=str, keep_default_na=False, na_values=[""], encoding=encoding,
                          label="assignment") if assignment is not None else None
    found = validate_plan(grids, comm, bld, links, by=by, tolerance=tolerance, balance_limit=balance_limit)
    grid_layer = io.read_layer(grids, label="grids", encoding=encoding)
    street_layer = io.read_layer(streets, label="streets", encoding=encoding) if streets else None
    table = evaluate(grid_layer, comm, bld, links, streets=street_layer, by=by, tolerance=tolerance)
    if out is not None:
        io.write_csv(table, out)
    if report is not None:
        shown = found.problems.drop(columns=["message_zh" if lang == "en" else "message"])
        io.write_csv(shown.rename(columns={"message_zh": "message"}), report, excel=lang != "en")
    _print_metrics(table, lang)
    _print_problems(found.problems, lang)
    if report is not None:
        console.print(f"{_m(lang, 'report')} {report}")
    problems = hard_failures(table)
    if problems or not found.ok:
        if problems:
            console.print(f"[bold red]{_msg(lang, 'failed')}:[/] " + "; ".join(problems))
        for line in found.summary(lang):
            if line.startswith("error"):
                console.print(f"[bold red]{_msg(lang, 'failed')}:[/] {line[6:]}")
        raise typer.Exit(EXIT_INVARIANT)
    console.print(f"[green]{_msg(lang, 'ok')}[/]")


def _print_problems(problems: pd.DataFrame, lang: str) -> None:
    if problems.empty:
        return
    column = "message" if lang == "en" else "message_zh"
    view = Table(title=f"{_m(lang, 'problems')}: {len(problems)}")
    for col in ("severity", "check", "grid_id", "building_id", column):
        view.add_column(col if col != "message_zh" else "message")
    for row in problems.head(_SHOWN).itertuples(index=False):
        view.add_row(row.severity, row.check, str(row.grid_id or ""), str(row.building_id or ""),
                     getattr(row, column))
    Console(width=200, stderr=True).print(view)
    if len(problems) > _SHOWN:
        console.print(_m(lang, "more").format(n=len(problems) - _SHOWN))


@app.command("check-inputs")
def check_inputs_command(
    communities: Annotated[Path, typer.Option(help="Community polygons / 社区边界")],
    buildings: Annotated[Path | None, typer.Option(help="Buildings / 建筑")] = None,
    streets: Annotated[Path | None, typer.Option(help="Street centrelines / 街巷中心线")] = None,
    wardens: Annotated[Path | None, typer.Option(help="Warden roster CSV / 网格员名册")] = None,
    incidents: Annotated[Path | None, typer.Option(help="Incidents CSV or GeoJSON / 事件")] = None,
    outside: Annotated[str, typer.Option(help="Buildings outside every community: error or report")] = "error",
    report: Annotated[Path | None, typer.Option(help="Write the checks as a CSV table")] = None,
    community_id_col: CommunityIdCol = None,
    building_id_col: BuildingIdCol = None,
    households_col: HouseholdsCol = None,
    population_col: PopulationCol = None,
    lang: Lang = "zh",
) -> None:
    """Run every input check and print one report, before any partition; exit 3 on any error / 输入检查.

    Example: gridkit check-inputs --communities c.geojson --buildings b.geojson --streets s.geojson
    --wardens wardens.csv --incidents incidents.csv
    """
    columns = _columns(community_id=community_id_col, building_id=building_id_col, households=households_col,
                       population=population_col)
    table = check_inputs(communities, buildings, streets, wardens, incidents, columns=columns, outside=outside)
    if report is not None:
        io.write_csv(table, report, excel=lang != "en")
    view = Table(title="gridkit check-inputs")
    for key in ("layer", "check", "status", "message"):
        view.add_column(_m(lang, key))
    colours = {"ok": "green", "warning": "yellow", "error": "bold red"}
    for row in table.itertuples(index=False):
        view.add_row(row.layer, row.check, f"[{colours[row.status]}]{row.status}[/]", row.message)
    Console(width=200, stderr=True).print(view)
    if (table["status"] == "error").any():
        console.print(f"[bold red]{_m(lang, 'inputs_failed')}[/]")
        raise typer.Exit(EXIT_INPUT)
    console.print(f"[green]{_m(lang, 'inputs_ok')}[/]")
