"""``gridkit regenerate``: bring a previous grid plan up to date with the least change (动态调整)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from gridkit import io
from gridkit.cli._common import (
    DEFAULT_LANG,
    BuildingIdCol,
    By,
    CommunityIdCol,
    HouseholdsCol,
    Lang,
    PopulationCol,
    _columns,
    _fail_input,
    app,
    console,
    print_note,
)
from gridkit.errors import GridkitError, GridkitWarning
from gridkit.publish import check_writable, manifest_path, publish_files
from gridkit.regenerate import RegenerateResult, regenerate

MESSAGES = {
    "zh": {"title": "网格变更报告", "summary": "汇总", "churn": "换格住户占比 (churn)", "moved": "变动户数",
           "wrote": "已写出", "dry": "试运行：未写出任何文件",
           "missing": "未指定输出（--out、--assignment、--report），或使用 --dry-run",
           "same": "输出不得覆盖上一版文件", "warn": "提示", "repair": "修复",
           "unchanged": "其余网格保持不变", "buildings": "新建 {new} 栋 / 拆除 {removed} 栋建筑"},
    "en": {"title": "grid change report", "summary": "summary", "churn": "churn", "moved": "households moved",
           "wrote": "wrote", "dry": "dry run: nothing written", "missing": "give --out, --assignment and --report, "
           "or --dry-run", "same": "outputs must not overwrite the previous files", "warn": "note",
           "repair": "repair", "unchanged": "all other grids kept as they were",
           "buildings": "{new} new / {removed} removed buildings"},
}
EXIT_USAGE = 2


def _m(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"][key]


def register_path(grids_path: Path) -> Path:
    """The register file that goes with a grids file: ``grids.geojson`` → ``grids.register.csv``."""
    return grids_path.with_name(f"{grids_path.stem}.register.csv")


def _print_report(result: RegenerateResult, lang: str) -> None:
    report = result.report
    changed = report[report["change"] != "kept"]
    view = Table(title=_m(lang, "title"))
    for col in ("grid_id", "community_id", "change", "households_before", "households_after", "moved_in",
                "moved_out", "related"):
        view.add_column(col, justify="left" if col in {"grid_id", "community_id", "change", "related"} else "right")
    for row in changed.itertuples(index=False):
        before = "" if pd.isna(row.households_before) else str(int(row.households_before))
        view.add_row(str(row.grid_id), str(row.community_id), row.change, before, str(row.households_after),
                     str(row.moved_in), str(row.moved_out), str(row.related))
    out = Console(width=160)
    out.print(view)
    if (report["change"] == "kept").any():
        out.print(_m(lang, "unchanged"))
    s = result.summary
    counts = ", ".join(f"{k[2:]} {s[k]}" for k in ("n_kept", "n_adjusted", "n_split", "n_merged", "n_new",
                                                   "n_retired"))
    out.print(f"{_m(lang, 'summary')}: {counts}; {_m(lang, 'churn')} {s['churn']:.1%} "
              f"({_m(lang, 'moved')} {s['households_moved']} / {s['households_compared']}); "
              + _m(lang, "buildings").format(new=s["buildings_new"], removed=s["buildings_removed"]))
    for note in s["repairs"]:
        out.print(f"[yellow]{_m(lang, 'repair')}:[/] {note}")


def _outputs_ok(previous: Path, previous_assignment: Path, outputs: list[Path | None], lang: str) -> None:
    protected = {previous.resolve(), previous_assignment.resolve(), register_path(previous).resolve()}
    if any(p is not None and p.resolve() in protected for p in outputs):
        console.print(f"[bold red]{_m(lang, 'same')}[/]")
        raise typer.Exit(EXIT_USAGE)


@app.command("regenerate")
def regenerate_command(
    previous: Annotated[Path, typer.Option(help="Previous grids (GeoJSON, GPKG) / 上一版网格")],
    previous_assignment: Annotated[Path, typer.Option(help="Previous building → grid CSV / 上一版建筑-网格对应表")],
    communities: Annotated[Path, typer.Option(help="Current community polygons / 社区边界")],
    buildings: Annotated[Path, typer.Option(help="Current buildings / 建筑")],
    streets: Annotated[Path | None, typer.Option(help="Street centrelines / 街巷中心线")] = None,
    target: Annotated[float | None, typer.Option(help="Target per grid (households, persons or m²) / 目标规模")] = None,
    tolerance: Annotated[float, typer.Option(help="Two-sided tolerance, 0.1 = ±10 % / 容差")] = 0.1,
    by: By = "households",
    seed: Annotated[int, typer.Option(help="Random seed (deterministic per seed)")] = 0,
    out: Annotated[Path | None, typer.Option(help="New grids (.geojson or .gpkg) / 新网格")] = None,
    assignment: Annotated[Path | None, typer.Option(help="New building → grid CSV / 新对应表")] = None,
    report: Annotated[Path | None, typer.Option(help="Change report CSV / 变更报告")] = None,
    register: Annotated[Path | None, typer.Option(
        help="Code register of earlier runs (default: <previous>.register.csv if present) / 编码登记表")] = None,
    register_out: Annotated[Path | None, typer.Option(
        help="Where to write the register (default: <out>.register.csv) / 登记表输出")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the report, write nothing / 试运行")] = False,
    outside: Annotated[str, typer.Option(help="Buildings outside every community: error or report / 社区外建筑")] = \
        "error",
    community_id_col: CommunityIdCol = None,
    building_id_col: BuildingIdCol = None,
    households_col: HouseholdsCol = None,
    population_col: PopulationCol = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Regenerate grids after a data change, keeping codes and moving few households / 动态调整网格.

    Grids still inside the tolerance keep their code and shape; the others (with as few neighbours
    as needed) are redrawn; splits take new codes, merged codes are retired and never reused.

    Example: gridkit regenerate --previous grids.geojson --previous-assignment assignment.csv
    --communities c.geojson --buildings b.geojson --streets s.geojson --target 300
    --out new_grids.geojson --assignment new_assignment.csv --report changes.csv
    """
    if not dry_run and (out is None or assignment is None or report is None):
        console.print(f"[bold red]{_m(lang, 'missing')}[/]")
        raise typer.Exit(EXIT_USAGE)
    if register_out is None and out is not None:
        register_out = register_path(out)
    _outputs_ok(previous, previous_assignment, [out, assignment, report, register_out], lang)
    for path in (out, assignment, report, register_out):
        if path is not None and not dry_run:
            check_writable(path)  # before the work, not after it
    if register is None and register_path(previous).exists():
        register = register_path(previous)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            result = regenerate(previous, previous_assignment, communities, buildings, streets, target=target,
                                tolerance=tolerance, by=by, seed=seed, register=register, outside=outside,
                                columns=_columns(community_id=community_id_col, building_id=building_id_col,
                                                 households=households_col, population=population_col))
        for item in caught:
            if issubclass(item.category, GridkitWarning):
                print_note(item.message, lang)
        _print_report(result, lang)
        if dry_run or out is None or assignment is None or report is None or register_out is None:
            console.print(_m(lang, "dry"))
            return
        notes: list[str] = []
        # the new grids, assignment, change report and register are one plan, published together
        targets = {"grids": out, "assignment": assignment, "report": report, "register": register_out}
        with publish_files(targets, manifest=manifest_path(out), command="regenerate", notes=notes) as staged:
            io.write_layer(result.grids, staged["grids"], layer="grids")
            io.write_csv(result.assignment, staged["assignment"])
            io.write_csv(result.report, staged["report"])
            io.write_csv(result.register, staged["register"])
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    for note in notes:
        console.print(f"[yellow]{_m(lang, 'warn')}:[/] {note}")
    console.print(f"{_m(lang, 'wrote')} {out}, {assignment}, {report}, {register_out}")
