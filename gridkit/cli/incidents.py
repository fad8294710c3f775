"""``gridkit incidents`` (per-grid statistics, data quality, hot spots) and ``gridkit map``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gridkit import io
from gridkit.cli._common import DEFAULT_LANG, EXIT_INVARIANT, Lang, _fail_input, app, console
from gridkit.errors import GridkitError
from gridkit.i18n import escape
from gridkit.tables import write_table

MESSAGES = {
    "zh": {"read": "读入", "in_grids": "网格内", "outside": "网格外", "rejected": "剔除", "flagged": "有问题但保留",
           "wrote": "已写出", "problems": "数据质量问题", "strict": "存在数据质量问题 (--strict)",
           "tiers": "网格等级", "hotspots": "热点网格 (FDR 校正后显著)"},
    "en": {"read": "read", "in_grids": "in grids", "outside": "outside", "rejected": "rejected",
           "flagged": "kept with problems", "wrote": "wrote", "problems": "data-quality problems",
           "strict": "data-quality problems found (--strict)", "tiers": "grid tiers",
           "hotspots": "hot-spot grids (significant after FDR)"},
}

Coords = Annotated[str, typer.Option(help="Coordinates of the incidents: wgs84, gcj02 (高德/腾讯) or bd09 (百度)")]


def _m(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"][key]


def _print_counts(counts: dict[str, int], quality, lang: str) -> None:
    view = Table(title=_m(lang, "problems"))
    view.add_column(_m(lang, "read"), justify="right")
    for key in ("in_grids", "outside", "rejected", "flagged"):
        view.add_column(_m(lang, key), justify="right")
    view.add_row(*(f"{counts[k]:,}" for k in ("read", "in_grids", "outside", "rejected", "flagged")))
    Console(width=140).print(view)
    if len(quality):
        summary = quality.groupby(["problem", "action"]).size().rename("rows").reset_index()
        Console(width=140).print(summary.to_string(index=False))


@app.command("incidents")
def incidents_command(
    incidents: Annotated[Path, typer.Option(help="Incidents CSV (lon/lat) or GeoJSON / 事件")],
    grids: Annotated[Path, typer.Option(help="Grid polygons with grid_id and households / 网格")],
    out: Annotated[Path, typer.Option(help="Per-grid statistics: .csv, or .geojson/.gpkg with the grids / 网格统计")],
    sla: Annotated[Path | None, typer.Option(help="sla.toml: time limits per category and tier thresholds / 时限")]
    = None,
    quality_out: Annotated[Path | None, typer.Option(help="Data-quality table CSV / 数据质量问题表")] = None,
    hotspots_out: Annotated[Path | None, typer.Option(help="Gi* hot spots of the grids (.geojson/.gpkg) / 热点")]
    = None,
    period: Annotated[str | None, typer.Option(help="Statistics by month, week, quarter or year / 统计时段")] = None,
    coords: Coords = "wgs84",
    alpha: Annotated[float, typer.Option(help="False discovery rate of hot spots")] = 0.05,
    strict: Annotated[bool, typer.Option(help="Exit 1 when any data-quality problem is found")] = False,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Per-grid incident statistics, tiers and data quality / 事件统计与网格分级.

    Counts by category and period, per 100 households, median hours to close, on-time share,
    overdue open cases and a green/orange/red tier per grid; every rejected or flagged row goes to
    the data-quality table (read = in grids + outside + rejected).

    Example: gridkit incidents --incidents incidents.csv --grids grids.geojson --sla sla.toml
    --out grid_stats.csv --quality-out issues.csv
    """
    from gridkit.hotspots import hotspots  # noqa: PLC0415
    from gridkit.incidents import grid_stats, prepare_incidents  # noqa: PLC0415

    try:
        layer = io.read_layer(grids, label="grids")
        result = prepare_incidents(incidents, layer, coords=coords)
        stats = grid_stats(result, layer, sla=sla, period=period)
        if out.suffix.lower() == ".csv":
            write_table(stats, out)
        else:  # .geojson / .gpkg: the grids with their statistics (one period per row when --period)
            keep = [c for c in stats.columns if c not in layer.columns or c == "grid_id"]
            io.write_layer(layer[["grid_id", layer.geometry.name]].merge(stats[keep], on="grid_id"), out,
                           layer="grid_stats")
        if quality_out is not None:
            write_table(result.quality, quality_out)
        if hotspots_out is not None:
            whole = stats if period is None else grid_stats(result, layer, sla=sla)
            spots = hotspots(layer, whole, alpha=alpha)
            io.write_layer(spots, hotspots_out, layer="hotspots")
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    _print_counts(result.counts, result.quality, lang)
    tiers = stats["tier"].value_counts().to_dict()
    console.print(f"{_m(lang, 'tiers')}: " + ", ".join(f"{k} {v}" for k, v in tiers.items()))
    if hotspots_out is not None:
        console.print(f"{_m(lang, 'hotspots')}: {int((spots['significant'] & (spots['gi_z'] > 0)).sum())}")
    console.print(f"{_m(lang, 'wrote')} → {out}")
    if strict and len(result.quality):
        console.print(f"[bold red]{_m(lang, 'strict')}[/]")
        raise typer.Exit(EXIT_INVARIANT)


@app.command("map")
def map_command(
    grids: Annotated[Path, typer.Option(help="Grid polygons / 网格")],
    out: Annotated[Path, typer.Option(help="HTML page to write / 输出地图")],
    incidents: Annotated[Path | None, typer.Option(help="Incidents CSV or GeoJSON: tiers, heat, hot spots / 事件")]
    = None,
    routes: Annotated[Path | None, typer.Option(help="Patrol routes (lines) / 巡查路线")] = None,
    wardens: Annotated[Path | None, typer.Option(help="Wardens CSV (lon/lat) or points / 网格员")] = None,
    communities: Annotated[Path | None, typer.Option(help="Community boundaries with names / 社区边界")] = None,
    buildings: Annotated[Path | None, typer.Option(help="Building outlines, drawn as context / 建筑轮廓")] = None,
    streets: Annotated[Path | None, typer.Option(help="Streets with names, drawn as context / 街巷")] = None,
    column: Annotated[str | None, typer.Option(help="Column that colours the grids (default tier)")] = None,
    sla: Annotated[Path | None, typer.Option(help="sla.toml for the tiers / 时限与分级")] = None,
    time_slider: Annotated[str, typer.Option(help="Heat-map time slider: month, week or none")] = "month",
    hotspots: Annotated[bool, typer.Option(help="Add the Gi* hot-spot layer / 热点图层")] = True,
    coords: Coords = "wgs84",
    online: Annotated[bool, typer.Option("--online", help="Load Leaflet from its CDN instead of inlining it "
                                         "(the page then needs the internet) / 在线加载")] = False,
    offline: Annotated[bool, typer.Option("--offline", hidden=True, help="The default (kept for old scripts)")]
    = True,
    tiles: Annotated[str | None, typer.Option(help="Basemap tile URL template, e.g. an intranet 天地图 "
                                              "http://host/{z}/{x}/{y}.png (none by default) / 底图")] = None,
    tiles_crs: Annotated[str, typer.Option(help="wgs84, or gcj02 when the tiles are in GCJ-02")] = "wgs84",
    paper: Annotated[str, typer.Option(help="Paper the page prints on, landscape: A4 or A3")] = "A4",
    title: Annotated[str | None, typer.Option(help="Title, e.g. the district name / 标题")] = None,
    show: Annotated[str | None, typer.Option(
        help="Layers shown at first: grids,hotspots,heat,kde,routes,wardens,buildings,streets,street_names,"
             "communities,office / 默认显示图层")] = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Map of grids over the district's streets and buildings, with incidents and wardens / 网格事件地图.

    The page needs no network (Leaflet inlined, no basemap) unless --online or --tiles.

    Example: gridkit map --grids grids.geojson --communities communities.geojson --streets streets.geojson
    --buildings buildings.geojson --incidents incidents.csv --wardens wardens.csv --out map.html
    """
    import pandas as pd  # noqa: PLC0415

    from gridkit.hotspots import hotspots as gi_star  # noqa: PLC0415
    from gridkit.incidents import grid_stats, prepare_incidents  # noqa: PLC0415
    from gridkit.maps import map as grid_map  # noqa: PLC0415
    from gridkit.maps import save_map  # noqa: PLC0415

    del offline  # offline is the default; --online opts out
    try:
        layer = io.read_layer(grids, label="grids")
        points, spots = None, None
        if incidents is not None:
            points = prepare_incidents(incidents, layer, coords=coords)
            stats = grid_stats(points, layer, sla=sla)
            layer = layer.merge(stats[[c for c in stats.columns if c not in layer.columns or c == "grid_id"]],
                                on="grid_id", how="left")
            spots = gi_star(layer, "count") if hotspots else None
        context = {name: io.read_layer(path, label=name) if path is not None else None
                   for name, path in (("communities", communities), ("buildings", buildings), ("streets", streets))}
        route_layer = io.read_layer(routes, label="routes") if routes is not None else None
        warden_layer = None
        if wardens is not None:
            warden_layer = pd.read_csv(wardens, dtype={"warden_id": str, "grid_id": str}) \
                if wardens.suffix.lower() == ".csv" else io.read_layer(wardens, label="wardens")
        fmap = grid_map(layer, points, spots, route_layer, warden_layer, column=column, lang=lang,
                        offline=not online, time_slider=None if time_slider == "none" else time_slider,
                        tiles=tiles, tiles_crs=tiles_crs, sla=sla, title=title, paper=paper,
                        show=show.split(",") if show else None, **context)
        save_map(fmap, out, offline=not online)
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    for notice in fmap.gridkit_notices:
        console.print(f"[yellow]⚠[/] {escape(notice)}")
    console.print(f"{_m(lang, 'wrote')} → {out}")
