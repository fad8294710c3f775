"""``gridkit routes``: patrol routes (巡查路线) for every grid."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from gridkit import io
from gridkit.cli._common import DEFAULT_LANG, Lang, _fail_input, app, console, print_note
from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.network import graph_from_osm, street_graph
from gridkit.roles import is_grid_warden, normalise_roles
from gridkit.routing import patrol_routes, routes_for_export

ROUTE_MESSAGES = {
    "zh": {"usage": "请只给出 --streets 或 --osm 之一", "wrote": "已写出巡查路线", "routes": "条",
           "warn": "提示", "total": "总长", "minutes": "分钟", "gap": "与下界最大差距"},
    "en": {"usage": "give exactly one of --streets or --osm", "wrote": "wrote patrol routes", "routes": "routes",
           "warn": "note", "total": "total length", "minutes": "minutes", "gap": "largest gap to the lower bound"},
}


def _m(lang: str, key: str) -> str:
    return ROUTE_MESSAGES["en" if lang == "en" else "zh"][key]


@app.command("routes")
def routes_command(
    grids: Annotated[Path, typer.Option(help="Grid polygons with grid_id (GeoJSON, GPKG) / 网格")],
    out: Annotated[Path, typer.Option(help="Routes output (.geojson or .gpkg) / 巡查路线输出")],
    streets: Annotated[Path | None, typer.Option(help="Street centrelines / 街巷中心线")] = None,
    osm: Annotated[Path | None, typer.Option(help="OSM file (.osm, .osm.bz2, .osm.pbf) / OSM 数据")] = None,
    stations: Annotated[Path | None, typer.Option(
        help="Warden stations: CSV with warden_id, lon, lat and optional grid_id, or points; each warden's "
             "route starts at their own station / 网格员驻点")] = None,
    role: Annotated[list[str] | None, typer.Option(
        help="Only stations of this role (repeatable); default the grid wardens, full_time and part_time, "
        "when the roster has roles / 只用该角色（默认专职、兼职网格员）")] = None,
    include_boundary: Annotated[bool, typer.Option(
        "--include-boundary/--no-include-boundary", help="Also walk the grid's boundary streets / 含边界街巷")] = True,
    speed_kmh: Annotated[float, typer.Option(help="Walking speed, km/h / 步行速度")] = 4.5,
    mode: Annotated[str, typer.Option(
        help="streets (every street) or buildings (door to door, to each building's access point on the "
             "nearest street) / 模式")] = "streets",
    buildings: Annotated[Path | None, typer.Option(help="Buildings for --mode buildings / 建筑")] = None,
    snap_m: Annotated[float, typer.Option(help="Snap street ends closer than this, metres / 端点吸附容差")] = 0.5,
    time_budget: Annotated[float, typer.Option(
        help="Seconds per grid for bounds and improvement; the route is always written / 每网格计算时限（秒）")] = 2.0,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Shortest closed patrol route per grid along every street (Chinese Postman) / 巡查路线.

    Example: gridkit routes --grids grids.geojson --streets streets.geojson --stations wardens.csv
    --out routes.geojson
    """
    if (streets is None) == (osm is None) or mode not in {"streets", "buildings"}:
        console.print(f"[bold red]{_m(lang, 'usage')}[/]")
        raise typer.Exit(2)
    try:
        grid_layer = io.read_layer(grids, label="grids")
        graph = (street_graph(io.read_layer(streets, label="streets"), snap_m=snap_m) if streets is not None
                 else graph_from_osm(osm, snap_m=snap_m))
        station_layer = None
        if stations is not None:
            station_layer = io.read_layer(stations, label="stations")
            if role:
                if "role" not in station_layer:
                    raise InputDataError("stations have no role column", source=stations, column="role")
                wanted = set(normalise_roles(pd.Series(role), source="--role", column="--role"))
                mine = normalise_roles(station_layer["role"], source=stations)
                station_layer = station_layer[mine.isin(wanted).to_numpy()]
            elif "role" in station_layer:  # police and volunteers do not walk a grid's patrol route
                station_layer = station_layer[is_grid_warden(station_layer["role"])]
        building_layer = io.read_layer(buildings, label="buildings") if buildings is not None else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            routes = patrol_routes(grid_layer, graph, stations=station_layer, include_boundary=include_boundary,
                                   speed_kmh=speed_kmh, mode=mode, buildings=building_layer,
                                   time_budget_s=time_budget)
        for item in caught:
            print_note(item.message, lang)
        layer = routes_for_export(routes)
        io.write_layer(layer, out, layer="routes")
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    walked = routes[routes.length_m > 0]
    gap = pd.to_numeric(walked["gap"]).max() if len(walked) else 0.0
    console.print(f"{_m(lang, 'wrote')} {out}: {len(walked)} {_m(lang, 'routes')}, "
                  f"{_m(lang, 'total')} {walked.length_m.sum() / 1000:.1f} km, "
                  f"{walked.minutes.sum():.0f} {_m(lang, 'minutes')}, {_m(lang, 'gap')} {gap:.1%}")
