"""Shared pieces of the ``gridkit`` command: the Typer app, console, messages and option types.

Exit codes: 0 success; 1 a hard invariant failed (``validate``); 2 wrong usage; 3 bad input data
(the message names the file, the feature and the column).
"""

from __future__ import annotations

import warnings
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridkit import i18n
from gridkit.errors import GridkitError, GridkitWarning
from gridkit.partition import PartitionResult, partition

EXIT_INVARIANT, EXIT_INPUT = 1, 3

app = typer.Typer(
    help="gridkit: community grid management (网格化管理). Balanced, street-bounded grids, wardens, "
    "coverage, patrol routes, incident maps and GIS exports.\n\n"
    "Examples / 示例:\n\n"
    "  gridkit demo --out demo\n\n"
    "  gridkit init gridkit.toml && gridkit run gridkit.toml\n\n"
    "  gridkit partition --communities c.geojson --buildings b.geojson --streets s.geojson "
    "--out grids.geojson --assignment assignment.csv\n\n"
    "  gridkit routes --grids grids.geojson --osm district.osm.pbf --out routes.geojson\n\n"
    "  gridkit map --grids grids.geojson --incidents incidents.csv --streets s.geojson --out map.html\n\n"
    "  gridkit report --from-run gridkit-out --communities c.geojson --title 锦官街道 --out report.pdf",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
console = Console(stderr=True)

MESSAGES = {
    "zh": {"reading": "读取并分区", "wrote": "已写出", "grids": "网格", "failed": "硬性指标未通过",
           "ok": "全部硬性指标通过", "error": "输入错误", "warn": "提示", "community": "社区"},
    "en": {"reading": "reading and partitioning", "wrote": "wrote", "grids": "grids",
           "failed": "hard invariants failed", "ok": "all hard invariants hold", "error": "input error",
           "warn": "note", "community": "community"},
}

#: The language when --lang is not given: the system locale's (zh for a Chinese one, and for C/POSIX).
DEFAULT_LANG = i18n.resolve_lang()
Lang = Annotated[str, typer.Option("--lang", help="Language of messages: zh or en (default: the system locale) "
                                   "/ 消息语言")]
CommunityIdCol = Annotated[str | None, typer.Option(help="Community id column (default community_id)")]
BuildingIdCol = Annotated[str | None, typer.Option(help="Building id column (default building_id)")]
HouseholdsCol = Annotated[str | None, typer.Option(help="Households column (default households)")]
PopulationCol = Annotated[str | None, typer.Option(help="Population column (default population)")]


def _msg(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"][key]


def _fail_input(exc: GridkitError, lang: str) -> typer.Exit:
    prefix, _, text = i18n.error_for(exc, lang).partition(": ")
    console.print(f"[bold red]{i18n.escape(prefix)}:[/] {i18n.escape(text)}")  # [partition] stays [partition]
    return typer.Exit(EXIT_INPUT)


def print_note(message: object, lang: str) -> None:
    """A warning for the planner, prefix and text in one language, markup escaped."""
    prefix, _, text = i18n.note(str(message), lang).partition(": ")
    console.print(f"[yellow]{i18n.escape(prefix)}:[/] {i18n.escape(text)}")


def _columns(**given: str | None) -> dict[str, str]:
    return {k: v for k, v in given.items() if v}


def _run_partition(lang: str, **kwargs: object) -> PartitionResult:
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(_msg(lang, "reading"), total=None)

        def progress(_step: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            warnings.simplefilter("always", UserWarning)
            result = partition(progress=progress, **kwargs)  # type: ignore[arg-type]
    for item in caught:
        print_note(item.message, lang)
    return result


def _print_metrics(table: pd.DataFrame, lang: str) -> None:
    view = Table(title="网格指标" if lang != "en" else "gridkit metrics")
    headers = {"community_id": "community", "n_grids": "grids", "n_oversize": "oversize", "conserved": "conserved",
               "coverage_gap": "gap", "overlap": "overlap", "n_noncontiguous": "non-contig",
               "max_abs_deviation": "max|dev|", "share_within_tolerance": "in tol", "mean_polsby_popper": "PP",
               "street_alignment": "on street"}
    if lang != "en":  # one language per table
        headers = {"community_id": "社区", "n_grids": "网格数", "n_oversize": "超大网格", "conserved": "户数守恒",
                   "coverage_gap": "缝隙", "overlap": "重叠", "n_noncontiguous": "不连通",
                   "max_abs_deviation": "最大偏差", "share_within_tolerance": "容差内", "mean_polsby_popper": "紧凑度",
                   "street_alignment": "沿街"}
    shown = list(headers)
    for col in shown:
        view.add_column(headers[col], justify="right", no_wrap=True)
    for _, row in table.iterrows():
        cells = []
        for col in shown:
            value = row.get(col)
            if isinstance(value, float):
                cells.append(f"{value:.2e}" if col in {"coverage_gap", "overlap"} else f"{value:.3f}")
            else:
                cells.append(str(value))
        view.add_row(*cells)
    Console(width=160).print(view)


