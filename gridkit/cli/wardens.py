"""``gridkit wardens``, ``gridkit coverage`` and ``gridkit stations``: staffing, reach and station siting."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import typer
from rich.console import Console

from gridkit import io, network
from gridkit.cli._common import DEFAULT_LANG, EXIT_INVARIANT, Lang, _fail_input, app, console, print_note
from gridkit.coverage import InfeasibleCoverError, coverage, site_stations
from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.i18n import escape
from gridkit.spatial import polygon_holding, representative_points
from gridkit.tables import write_table
from gridkit.wardens import WardenPlan, assign_wardens, building_wardens, read_roster

MESSAGES = {
    "zh": {"error": "输入错误", "warn": "提示", "wrote": "已写出", "short": "人员不足",
           "unstaffed": "未配齐的网格", "objective": "总步行距离", "optimal": "已证明最优",
           "not_optimal": "未证明最优", "covered": "覆盖", "households": "户", "buildings": "栋建筑",
           "uncovered": "未覆盖建筑", "no_cover": "无法全覆盖", "stations": "站点", "bound": "界",
           "no_graph": "未给出街巷, 按直线距离计算", "any": "任一站点", "objective_value": "目标值",
           "per_warden": "每名网格员户数", "team": "社区巡防队与志愿者", "communities": "个社区"},
    "en": {"error": "input error", "warn": "note", "wrote": "wrote", "short": "shortage",
           "unstaffed": "grids not fully staffed", "objective": "total walking distance", "optimal": "proven optimal",
           "not_optimal": "optimality not proven", "covered": "covered", "households": "households",
           "buildings": "buildings", "uncovered": "uncovered buildings", "no_cover": "no full cover",
           "stations": "stations", "bound": "bound", "no_graph": "no streets given: straight-line distances",
           "any": "any station",
           "objective_value": "objective", "per_warden": "households per warden",
           "team": "community patrol team and volunteers", "communities": "communities"},
}

Streets = Annotated[Path | None, typer.Option(help="Street centrelines (GeoJSON, GPKG, SHP) / 街巷中心线")]
Osm = Annotated[Path | None, typer.Option("--osm", help="OSM XML or PBF street file / OSM 路网文件")]
Minutes = Annotated[float | None, typer.Option(help="Walking threshold in minutes / 步行分钟数")]
Metres = Annotated[float | None, typer.Option(help="Distance threshold in metres / 距离阈值 (米)")]
Speed = Annotated[float, typer.Option(help="Walking speed, km/h / 步行速度")]


def _m(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"][key]


def _graph(streets: gpd.GeoDataFrame | None, osm: Path | None, lang: str) -> Any:
    """The street graph from --streets or --osm (gridkit.network), or None with a note."""
    if streets is not None and osm is not None:
        raise typer.BadParameter("give either --streets or --osm, not both")
    if streets is None and osm is None:
        console.print(f"[yellow]{_m(lang, 'warn')}:[/] {_m(lang, 'no_graph')}")
        return None
    if streets is not None:
        builder = getattr(network, "street_graph", None)
        if builder is None:
            raise InputDataError("this gridkit has no gridkit.network.street_graph; street graphs are not available")
        return builder(streets)
    reader = getattr(network, "graph_from_osm", None)
    if reader is None:
        raise InputDataError("this gridkit has no gridkit.network.graph_from_osm; OSM files are not available")
    return reader(osm)


def _print_shortage(plan: WardenPlan, lang: str) -> None:
    short = plan.shortage[plan.shortage["shortage"] > 0]
    if short.empty:
        return
    console.print(f"[yellow]{_m(lang, 'short')}:[/]")
    Console(stderr=True, width=160).print(short.to_string(index=False))
    ids = plan.unstaffed["grid_id"].astype(str).tolist()
    console.print(f"[yellow]{_m(lang, 'unstaffed')} ({len(ids)}):[/] " + ", ".join(ids))


@app.command("wardens")
def wardens_command(
    grids: Annotated[Path, typer.Option(help="Grids (GeoJSON, GPKG) from gridkit partition / 网格")],
    roster: Annotated[Path, typer.Option(help="Warden roster CSV: warden_id,name,role,capacity,lon,lat / 网格员名册")],
    out: Annotated[Path, typer.Option(help="Assignment CSV, one row per person / 分配表")],
    rule: Annotated[str, typer.Option(help="one_per_grid, per_households:N or 1+1+2 / 配置规则")] = "one_per_grid",
    streets: Streets = None,
    osm: Osm = None,
    grids_out: Annotated[Path | None, typer.Option(help="Grids with staffing columns (.geojson/.gpkg)")] = None,
    per_warden: Annotated[Path | None, typer.Option(help="Per-person workload CSV / 人员工作量")] = None,
    incidents: Annotated[Path | None, typer.Option(help="Incidents CSV (lon/lat) for the workload / 事件")] = None,
    part_time_fte: Annotated[float, typer.Option(help="Seat share of a part-time warden / 兼职折算")] = 0.5,
    team_free: Annotated[bool, typer.Option(help="1+1+2: place the community team (patrol, volunteers) by "
                                             "workload across communities / 社区力量按工作量跨社区调配")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 when a grid or community stays short / 人员不足时返回 1")] \
        = False,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Staff grids and assign the roster, minimising walking distance (exact) / 网格员配置与分配.

    Example: gridkit wardens --grids grids.geojson --roster wardens.csv --rule 1+1+2
    --streets streets.geojson --out wardens_assignment.csv --grids-out grids_staffed.geojson
    """
    try:
        grid_layer = io.read_layer(grids, label="grids")
        street_layer = io.read_layer(streets, label="streets") if streets is not None else None
        graph = _graph(street_layer, osm, lang)
        events = io.read_table(incidents, label="incidents") if incidents is not None else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            plan = assign_wardens(grid_layer, read_roster(roster, district=grid_layer), rule=rule, graph=graph,
                                  incidents=events, streets=street_layer if street_layer is not None else graph,
                                  part_time_fte=part_time_fte, team_same_community=False if team_free else None)
        write_table(plan.assignment, out)
        if per_warden is not None:
            write_table(plan.per_warden, per_warden)
        if grids_out is not None:
            io.write_layer(plan.grids, grids_out, layer="grids")
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    for item in caught:
        if issubclass(item.category, GridkitWarning) and not str(item.message).startswith("roster too small"):
            print_note(item.message, lang)
    s = plan.summary
    console.print(f"{_m(lang, 'wrote')} {out}: {s['assigned']}/{s['wardens']} → {s['grids_staffed']}/{s['grids']} "
                  f"grids; {_m(lang, 'objective')} {plan.objective / 1000:.2f} km "
                  f"({_m(lang, 'optimal') if plan.optimal else _m(lang, 'not_optimal')}, {plan.method}); "
                  f"{_m(lang, 'per_warden')} {s['households_min']:.0f}–{s['households_max']:.0f}, "
                  f"Gini {s['households_gini']:.3f}")
    if len(plan.team):
        placed = plan.team[plan.team["community_id"].notna()]
        console.print(f"{_m(lang, 'team')}: {len(placed)}/{len(plan.team)} → {placed['community_id'].nunique()} "
                      f"{_m(lang, 'communities')}")
    _print_shortage(plan, lang)
    if strict and (len(plan.unstaffed) or (plan.shortage["shortage"] > 0).any()):
        raise typer.Exit(EXIT_INVARIANT)


def _building_grid(buildings: gpd.GeoDataFrame, grid_layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """building_id → grid_id by the grid holding each building's representative point (one rule: spatial)."""
    points = representative_points(buildings.to_crs(grid_layer.crs).geometry.to_numpy())
    holding = polygon_holding(points, grid_layer.geometry.to_numpy())
    grid_ids = np.where(holding >= 0, grid_layer["grid_id"].astype(str).to_numpy()[np.maximum(holding, 0)], None)
    return pd.DataFrame({"building_id": buildings["building_id"].to_numpy(), "grid_id": grid_ids})


@app.command("coverage")
def coverage_command(
    buildings: Annotated[Path, typer.Option(help="Buildings with households / 建筑")],
    stations: Annotated[Path, typer.Option(help="Stations or the warden roster (lon/lat) / 站点或网格员名册")],
    out: Annotated[Path, typer.Option(help="Per-building coverage CSV / 覆盖表")],
    grids: Annotated[Path | None, typer.Option(help="Grids: measure each building's own warden / 网格")] = None,
    plan: Annotated[Path | None, typer.Option(help="Assignment CSV from gridkit wardens (else computed)")] = None,
    rule: Annotated[str, typer.Option(help="Staffing rule when the plan is computed / 配置规则")] = "one_per_grid",
    streets: Streets = None,
    osm: Osm = None,
    minutes: Minutes = None,
    metres: Metres = None,
    speed_kmh: Speed = 4.5,
    uncovered: Annotated[Path | None, typer.Option(help="Uncovered buildings (.geojson/.gpkg) / 未覆盖建筑")] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 when any building is uncovered")] = False,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Share of households within a walk of their warden's (or any) station / 步行覆盖.

    Example: gridkit coverage --grids grids.geojson --buildings buildings.geojson --stations wardens.csv
    --streets streets.geojson --minutes 10 --out coverage.csv
    """
    try:
        bld = io.read_layer(buildings, label="buildings")
        graph = _graph(io.read_layer(streets, label="streets") if streets else None, osm, lang)
        grid_layer = io.read_layer(grids, label="grids") if grids is not None else None
        # with grids the stations are a roster (each grid's warden is measured); otherwise any points
        roster = read_roster(stations, district=grid_layer) if grid_layer is not None else \
            io.read_layer(stations, label="stations")
        assignment = None
        if grid_layer is not None:
            staffing_plan: WardenPlan | pd.DataFrame
            if plan is not None:
                staffing_plan = io.read_table(plan, dtype={"warden_id": str, "grid_id": str}, label="plan")
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", GridkitWarning)
                    staffing_plan = assign_wardens(grid_layer, roster, rule=rule, graph=graph)
            assignment = building_wardens(_building_grid(bld, grid_layer), staffing_plan)
            assignment = assignment.assign(warden_id=assignment["warden_id"].where(
                assignment["warden_id"].isin(set(roster["warden_id"]))))
        result = coverage(bld, roster, graph, minutes=minutes, metres=metres, speed_kmh=speed_kmh,
                          assignment=assignment)
        write_table(result.buildings, out)
        if uncovered is not None:
            io.write_layer(result.uncovered, uncovered, layer="uncovered")
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    s = result.summary
    console.print(f"{_m(lang, 'wrote')} {out}: ≤ {s['threshold_m']:.0f} m, {_m(lang, 'covered')} "
                  f"{s['share_households']:.1%} {_m(lang, 'households')}, {s['share_buildings']:.1%} "
                  f"{_m(lang, 'buildings')} ({_m(lang, 'any')} {s['share_households_any']:.1%}); "
                  f"{_m(lang, 'uncovered')}: {s['uncovered']}")
    if strict and s["uncovered"]:
        raise typer.Exit(EXIT_INVARIANT)


@app.command("stations")
def stations_command(
    buildings: Annotated[Path, typer.Option(help="Buildings with households / 建筑")],
    candidates: Annotated[Path, typer.Option(help="Candidate station points (CSV lon/lat or layer) / 候选站点")],
    out: Annotated[Path, typer.Option(help="Chosen stations (.geojson/.gpkg/.csv) / 选中站点")],
    p: Annotated[int | None, typer.Option("--p", help="Stations to open: maximal covering / 站点数")] = None,
    full_cover: Annotated[bool, typer.Option(help="Fewest stations covering everyone / 全覆盖")] = False,
    streets: Streets = None,
    osm: Osm = None,
    minutes: Minutes = 10.0,
    metres: Metres = None,
    speed_kmh: Speed = 4.5,
    buildings_out: Annotated[Path | None, typer.Option(help="Per-building result CSV")] = None,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Site stations exactly (MILP, HiGHS): maximal covering or set covering / 站点选址.

    Example: gridkit stations --buildings buildings.geojson --candidates candidates.csv
    --streets streets.geojson --p 5 --minutes 10 --out stations.geojson
    """
    if (p is None) == (not full_cover):
        raise typer.BadParameter("give exactly one of --p and --full-cover")
    try:
        bld = io.read_layer(buildings, label="buildings")
        cand = io.read_layer(candidates, label="candidates")
        graph = _graph(io.read_layer(streets, label="streets") if streets else None, osm, lang)
        result = site_stations(bld, cand, graph, p=p, full_cover=full_cover, minutes=minutes, metres=metres,
                               speed_kmh=speed_kmh)
        io.write_layer(result.selected, out, layer="stations")
        if buildings_out is not None:
            write_table(result.buildings, buildings_out)
    except InfeasibleCoverError as exc:
        console.print(f"[bold red]{_m(lang, 'no_cover')}:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_INVARIANT) from exc
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    s = result.summary
    console.print(f"{_m(lang, 'wrote')} {out}: {s['stations']} {_m(lang, 'stations')}, {_m(lang, 'covered')} "
                  f"{s['share_households']:.1%} {_m(lang, 'households')} ≤ {s['threshold_m']:.0f} m; "
                  f"{_m(lang, 'objective_value')} {result.objective:g}, {_m(lang, 'bound')} {result.bound:g} "
                  f"({_m(lang, 'optimal') if result.optimal else _m(lang, 'not_optimal')}: {result.status})")
    if not result.optimal:
        raise typer.Exit(EXIT_INVARIANT)
