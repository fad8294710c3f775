"""``gridkit report``: the printable report for the street-office meeting (PDF, A3 or A4 landscape)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridkit import io
from gridkit.cli._common import DEFAULT_LANG, Lang, _fail_input, app, console, print_note
from gridkit.errors import GridkitError, InputDataError

MESSAGES = {"zh": {"wrote": "已写出会议材料", "missing": "缺少输入"},
            "en": {"wrote": "wrote the meeting report", "missing": "missing input"}}

#: Files of a ``gridkit run`` output folder the report reads (each optional but the grids).
RUN_FILES = {"grids": "grids.geojson", "partition_report": "report.csv", "assignment": "assignment.csv",
             "staffing": "wardens_assignment.csv", "workload": "warden_workload.csv", "stats": "grid_stats.csv",
             "coverage": "coverage.csv"}

Table = Annotated[Path | None, typer.Option(help="CSV written by gridkit (see --from-run)")]


def _m(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"][key]


def _table(path: Path | None):
    from gridkit.tables import read_table  # noqa: PLC0415

    return read_table(path) if path is not None and path.exists() else None


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option(help="PDF to write / 输出 PDF")],
    communities: Annotated[Path, typer.Option(help="Community boundaries with names / 社区边界")],
    grids: Annotated[Path | None, typer.Option(help="Grid polygons (default FROM_RUN/grids.geojson) / 网格")] = None,
    from_run: Annotated[Path | None, typer.Option(help="Output folder of gridkit run: its grids, report.csv, "
                                                  "assignment, staffing, workload, statistics and coverage")] = None,
    buildings: Annotated[Path | None, typer.Option(help="Buildings (context; reasons for grids out of tolerance)")]
    = None,
    streets: Annotated[Path | None, typer.Option(help="Streets (context) / 街巷")] = None,
    partition_report: Table = None,
    assignment: Table = None,
    staffing: Table = None,
    workload: Table = None,
    stats: Table = None,
    coverage: Table = None,
    title: Annotated[str | None, typer.Option(help="The street office's name / 街道名称")] = None,
    paper: Annotated[str, typer.Option(help="A3 or A4 (landscape)")] = "A3",
    tolerance: Annotated[float, typer.Option(help="Balance tolerance of the plan")] = 0.1,
    sources: Annotated[str | None, typer.Option(help="Data sources line / 数据来源")] = None,
    preview: Annotated[Path | None, typer.Option(help="Also write an HTML preview / 预览页")] = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """The report for the street-office meeting / 街道网格化工作会议材料 (PDF).

    A map of the street office and one per community, a per-community table, the roster per grid,
    the grids out of tolerance with the reason and the warden workload; needs a CJK font
    (Debian: fonts-noto-cjk).

    Example: gridkit run gridkit.toml && gridkit report --from-run gridkit-out --communities
    sample-data/communities.geojson --buildings sample-data/buildings.geojson --title 锦官街道 --out report.pdf
    """
    import warnings  # noqa: PLC0415

    from gridkit.errors import GridkitWarning  # noqa: PLC0415
    from gridkit.report import meeting_report  # noqa: PLC0415

    given = {"partition_report": partition_report, "assignment": assignment, "staffing": staffing,
             "workload": workload, "stats": stats, "coverage": coverage}
    if from_run is not None:
        grids = grids or from_run / RUN_FILES["grids"]
        given = {k: v or from_run / RUN_FILES[k] for k, v in given.items()}
    try:
        if grids is None:
            raise InputDataError(f"{_m(lang, 'missing')}: --grids or --from-run")
        layers = {"buildings": io.read_layer(buildings, label="buildings") if buildings else None,
                  "streets": io.read_layer(streets, label="streets") if streets else None}
        tables = {k: _table(v) for k, v in given.items()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            meeting_report(out, io.read_layer(grids, label="grids"),
                           communities=io.read_layer(communities, label="communities"), title=title, paper=paper,
                           lang=lang, tolerance=tolerance, sources=sources, preview=preview, **layers, **tables)
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    for item in caught:
        print_note(item.message, lang)
    console.print(f"{_m(lang, 'wrote')} → {out}")
