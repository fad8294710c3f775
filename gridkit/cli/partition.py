"""``gridkit partition``: balanced, street-bounded grids written as one plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gridkit import io
from gridkit.cli._common import (
    DEFAULT_LANG,
    BuildingIdCol,
    By,
    CommunityIdCol,
    Encoding,
    HouseholdsCol,
    Lang,
    LevelsCol,
    PopulationCol,
    _columns,
    _fail_input,
    _msg,
    _option,
    _run_partition,
    app,
    console,
)
from gridkit.errors import GridkitError
from gridkit.publish import check_writable, manifest_path, publish_files


@app.command("partition")
def partition_command(
    communities: Annotated[Path, typer.Option(help="Community polygons (GeoJSON, GPKG, SHP) / 社区边界")],
    buildings: Annotated[Path, typer.Option(help="Buildings (polygons or points, or CSV with lon/lat) / 建筑")],
    out: Annotated[Path, typer.Option(help="Grids output (.geojson or .gpkg) / 网格输出")],
    assignment: Annotated[Path, typer.Option(help="Building → grid CSV / 建筑-网格对应表")],
    streets: Annotated[Path | None, typer.Option(help="Street centrelines / 街巷中心线")] = None,
    by: By = "households",
    target: Annotated[float | None, typer.Option(help="Target per grid (households, persons or m²)")] = None,
    tolerance: Annotated[float, typer.Option(help="Two-sided tolerance, 0.1 = ±10 %")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed (results are deterministic per seed)")] = 0,
    report: Annotated[Path | None, typer.Option(help="Per-community report CSV / 社区报告")] = None,
    outside: Annotated[str, typer.Option(help="Buildings outside every community: error or report")] = "error",
    overlapping: Annotated[str, typer.Option(
        help="Overlapping communities: error, or clip (the one listed first keeps the overlap) / 社区重叠")] = "error",
    alternatives: Annotated[int, typer.Option(help="Plans to make (seeds seed, seed+1, …): each written beside "
                                                   "--out with a map and a comparison CSV / 备选方案数")] = 1,
    locked: Annotated[Path | None, typer.Option(help="Grids to keep exactly (rows with locked=true, or --lock "
                                                     "codes) / 锁定网格")] = None,
    lock: Annotated[list[str] | None, typer.Option(help="Code of a grid in --locked to keep (repeatable)")] = None,
    community_id_col: CommunityIdCol = None,
    building_id_col: BuildingIdCol = None,
    households_col: HouseholdsCol = None,
    population_col: PopulationCol = None,
    levels_col: LevelsCol = None,
    encoding: Encoding = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Partition communities into balanced, street-bounded grids / 划分网格.

    Example: gridkit partition --communities c.geojson --buildings b.geojson --streets s.geojson
    --target 300 --out grids.geojson --assignment assignment.csv
    """
    _option("by", by)
    _option("outside", outside)
    _option("overlapping", overlapping)
    _option("lang", lang)
    columns = _columns(community_id=community_id_col, building_id=building_id_col, households=households_col,
                       population=population_col, levels=levels_col)
    targets = {"grids": out, "assignment": assignment} | ({"report": report} if report is not None else {})
    for path in (*targets.values(), manifest_path(out)):
        check_writable(path)  # before the work, not after it
    try:
        result = _run_partition(lang, communities=communities, buildings=buildings, streets=streets, by=by,
                                target=target, tolerance=tolerance, seed=seed, columns=columns, outside=outside,
                                overlapping=overlapping, encoding=encoding, n_alternatives=alternatives,
                                locked=locked, locked_codes=lock or None)
        notes: list[str] = []
        # grids, assignment and report are one plan: published together with grids.plan.json, or not at all
        with publish_files(targets, manifest=manifest_path(out), command="partition", notes=notes) as staged:
            io.write_layer(result.grids, staged["grids"], layer="grids")
            io.write_csv(result.assignment, staged["assignment"])
            if report is not None:
                io.write_csv(result.report, staged["report"])
        if len(result.alternatives) > 1:
            _write_alternatives(result, out, assignment, communities, buildings, streets, tolerance, lang)
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    for note in notes:
        console.print(f"[yellow]{_msg(lang, 'warn')}:[/] {note}")
    console.print(f"{_msg(lang, 'wrote')} {len(result.grids)} {_msg(lang, 'grids')} → {out}")
    Console().print(result.report[["community_id", "name", "n_grids", "households", "max_abs_deviation",
                                   "status"]].to_string(index=False))


def _write_alternatives(result: object, out: Path, assignment: Path, communities: Path, buildings: Path,
                        streets: Path | None, tolerance: float, lang: str) -> None:
    """Every plan beside ``out`` (``<stem>-alt<i>``), a map per plan and the comparison table."""
    from gridkit.alternatives import compare_plans  # noqa: PLC0415
    from gridkit.maps import map as grid_map  # noqa: PLC0415
    from gridkit.maps import save_map  # noqa: PLC0415

    for i, plan in enumerate(result.alternatives, start=1):
        stem = f"{out.stem}-alt{i}"
        io.write_layer(plan.grids, out.with_name(stem + out.suffix), layer="grids")
        io.write_csv(plan.assignment, assignment.with_name(f"{assignment.stem}-alt{i}{assignment.suffix}"))
        save_map(grid_map(plan.grids, lang=lang, offline=True, title=f"{stem}"), out.with_name(stem + ".html"))
    street_layer = io.read_layer(streets, label="streets") if streets is not None else None
    table = compare_plans(result.alternatives, io.read_layer(communities, label="communities"),
                          io.read_layer(buildings, label="buildings"), street_layer, tolerance=tolerance)
    table["plan"] = table["plan"] + 1
    io.write_csv(table, out.with_name(f"{out.stem}-alternatives.csv"))
    Console().print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))

