"""Folium maps of grids, incidents, hot spots, routes and wardens, and pages that work offline.

:func:`map` (exported as ``gridkit.map``) draws grids coloured by tier, by a category (``change``
of a regenerated plan) or by any metric, with their codes and tooltips; a heat layer of incidents
and a time slider by month or week that filters the heat and recolours the grids by the period's
counts and tiers; Gi* hot spots as outlines; a kernel density surface, patrol routes and wardens;
a title, a legend and a layer control, labels in Chinese or English. By default the grids, the hot
spots are shown; the heat layer, the density surface, routes and wardens are a click away in the
layer control.
:func:`save_map` writes the page; with ``offline=True`` (the default) Leaflet and Leaflet.heat are
inlined from the npm packages (see :mod:`gridkit._assets`), no basemap tiles are fetched and the
page needs no network: government intranets and test machines have none.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.plugins import HeatMap

from gridkit import _validate
from gridkit._maps_city import save_office_maps
from gridkit._maps_context import community_names, grid_label_texts
from gridkit._maps_data import (
    bounds,
    data_notices,
    heat_radius_m,
    json_ready,
    label_geometry,
    lonlat,
    period_payload,
    period_stats,
    point_periods,
    summary_line,
    translate,
    with_hotspot_z,
    with_stats,
)
from gridkit._maps_js import GridLabels, HeatStyle, Legend, Style, TimeSlider, Title
from gridkit._maps_layers import CONTEXT_LAYERS, add_context, add_hotspots, add_kde, add_routes, add_wardens
from gridkit._maps_page import PAPERS, NorthArrow, Notice, PageStyle
from gridkit._maps_style import (
    BIN_NAMES,
    CHANGE_COLOURS,
    HEAT_GRADIENT,
    LABELS,
    TIER_COLOURS,
    Colouring,
    grid_colouring,
    labels_for,
    legend_rows,
    tier_rule,
)
from gridkit.crs import WGS84
from gridkit.errors import GridkitError

__all__ = ["CHANGE_COLOURS", "DEFAULT_SHOW", "LABELS", "TIER_COLOURS", "grids_map", "map", "offline_html",
           "save_map", "save_office_maps", "tier_legend"]

GRID_FIELDS = ("grid_id", "community_name", "warden_name", "community_id", "period", "count", "tier",
               "per_100_households", "households",
               "population", "area_m2", "deviation", "median_hours_to_close", "on_time_share", "overdue_open",
               "change", "related", "gi_z", "gi_bin")
#: Layers shown when the page opens (and the heat layer on maps without grids); the others are
#: listed in the layer control, switched off.
DEFAULT_SHOW = ("grids", "hotspots", *CONTEXT_LAYERS)
_LAYERS = ("grids", "hotspots", "heat", "kde", "routes", "wardens", *CONTEXT_LAYERS)
#: Coordinate systems of basemap tiles: WGS 84 (天地图, OSM-style servers) or GCJ-02 (高德, 腾讯).
TILE_CRS = ("wgs84", "gcj02")
#: Grid columns whose values are words to translate in tooltips.
_WORDS = ("tier", "change", "role")


def _labels(lang: str) -> dict[str, str]:
    return labels_for(lang)


def tier_legend(sla: Any = None, lang: str = "zh") -> list[str]:
    """Legend names of the tiers green, orange, red, none that say the rule (relative or fixed)."""
    return tier_rule(load_tiers(sla), _labels(lang))[0]


def load_tiers(sla: Any) -> dict[str, Any]:
    """The tier thresholds in force for ``sla`` (the defaults filled in)."""
    from gridkit.incidents import load_sla  # noqa: PLC0415

    return dict(load_sla(sla)["tiers"])


# --- grids -------------------------------------------------------------------------------------


def _grid_tooltip_frame(data: gpd.GeoDataFrame, colouring: Colouring, labels: dict[str, str], lang: str,
                        slider: bool) -> tuple[gpd.GeoDataFrame, list[str]]:
    data = data.copy()
    if slider:
        data["period"] = labels["all"]
    fields = [c for c in GRID_FIELDS if c in data.columns]
    if colouring.column and colouring.column not in fields:
        fields.append(colouring.column)
    shown = json_ready(data, fields)
    for col in _WORDS:
        if col in shown.columns:
            shown[col] = translate(shown[col], labels)
    if "gi_bin" in shown.columns:
        names = BIN_NAMES["en" if lang == "en" else "zh"]
        shown["gi_bin"] = shown["gi_bin"].map(lambda b: names.get(int(b)) if b is not None else None)
    return shown, fields


def _add_grids(fmap: folium.Map, data: gpd.GeoDataFrame, colouring: Colouring, labels: dict[str, str], *,
               lang: str, show: bool, slider: bool) -> tuple[folium.FeatureGroup, folium.GeoJson]:
    """The grids layer: polygons coloured by ``colouring`` with tooltips, and their labels.

    Labels read at every zoom: the community's short name and the grid's sequence (``锦里 07``)
    where that fits on screen, the sequence where only it fits; the full code is in the tooltip.
    """
    group = folium.FeatureGroup(name=labels["grids"], show=show)
    shown, fields = _grid_tooltip_frame(data, colouring, labels, lang, slider)
    shown["_i"] = np.arange(len(shown))
    shown["_fill"] = colouring.fills
    shown["_lx"], shown["_ly"], shown["_sz"] = label_geometry(data)
    shown[["_lx", "_ly"]] = shown[["_lx", "_ly"]].astype(object).where(shown[["_lx", "_ly"]].notna(), None)
    if "grid_id" in data.columns or "seq" in data.columns:
        names = data["community_name"] if "community_name" in data.columns else pd.Series([None] * len(data))
        shown["_ll"], shown["_ls"] = grid_label_texts(data, names.reset_index(drop=True).set_axis(data.index))
    layer = folium.GeoJson(
        shown, className="gridkit-grid",
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#444444", "weight": 0.8,
                                  "fillOpacity": 0.55},
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]),
    )
    layer.add_to(group)
    group.add_to(fmap)
    if "_ll" in shown.columns:
        GridLabels(layer.get_name(), group.get_name()).add_to(fmap)
    return group, layer


# --- incidents: heat, periods ------------------------------------------------------------------


def _add_heat(fmap: folium.Map, points: gpd.GeoDataFrame, order: np.ndarray, labels: dict[str, str], *,
              show: bool, radius_m: float) -> HeatMap:
    xy = np.column_stack([points.geometry.y.to_numpy(), points.geometry.x.to_numpy()])[order].round(5)
    heat = HeatMap([[0.0, 0.0]], name=labels["heat"], radius=12, blur=11, min_opacity=0.05, show=show,
                   gradient=HEAT_GRADIENT)
    heat.data = xy.tolist()  # finite lat/lon by construction: skip folium's per-point validation (100k points)
    heat.add_to(fmap)
    HeatStyle(heat.get_name(), radius_m).add_to(fmap)
    return heat


# --- map ---------------------------------------------------------------------------------------


def _shown(show: Iterable[str] | None, has_grids: bool) -> set[str]:
    if show is None:  # the heat layer muddies the tier colours: over grids it waits in the layer control
        return set(DEFAULT_SHOW) if has_grids else {*DEFAULT_SHOW, "heat"}
    chosen = {show} if isinstance(show, str) else set(show)
    unknown = chosen - set(_LAYERS)
    if unknown:
        raise GridkitError(f"show: unknown layer {sorted(unknown)[0]!r}; layers are {', '.join(_LAYERS)}")
    return chosen


def _default_column(grids: gpd.GeoDataFrame) -> str | None:
    for name in ("tier", "change", "deviation"):
        if name in grids.columns:
            return name
    return None


def _check_tiles(tiles: str | None, tiles_crs: str) -> None:
    if tiles_crs not in TILE_CRS:
        raise GridkitError(f"tiles_crs must be one of {', '.join(TILE_CRS)}, not {tiles_crs!r}")
    if tiles is not None and not all(k in tiles for k in ("{z}", "{x}", "{y}")):
        raise GridkitError(f"tiles must be a tile URL template with {{z}}, {{x}} and {{y}} (an intranet 天地图 or "
                           f"other server you can reach), not {tiles!r}; gridkit draws no basemap by default")


def _warden_names(grids: gpd.GeoDataFrame, wardens: Any) -> gpd.GeoDataFrame:
    """Grids with ``warden_name``: the names of the wardens seated in each grid, police last."""
    if wardens is None or "warden_name" in grids.columns or "grid_id" not in grids.columns:
        return grids
    table = pd.DataFrame(wardens)
    if not {"grid_id", "name"} <= set(table.columns):
        return grids
    table = table[table["grid_id"].notna()].assign(grid_id=lambda t: t["grid_id"].astype(str))
    if "role" in table.columns:
        table = table.assign(_police=(table["role"].astype(str) == "police").astype(int)).sort_values("_police")
    names = table.groupby("grid_id", sort=False)["name"].agg(lambda v: "、".join(str(x) for x in v))
    return grids.assign(warden_name=grids["grid_id"].astype(str).map(names).astype(object))


def _with_community_names(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None,
                          lang: str) -> gpd.GeoDataFrame:
    names = community_names(grids, communities, lang)
    return grids.assign(community_name=names) if names.notna().any() else grids


def _names_by_community(grids: Any, communities: Any) -> dict[str, str]:
    if grids is not None and "community_name" in grids.columns and "community_id" in grids.columns:
        return dict(zip(grids["community_id"].astype(str), grids["community_name"], strict=False))
    if communities is not None and {"community_id", "name"} <= set(communities.columns):
        return dict(zip(communities["community_id"].astype(str), communities["name"], strict=False))
    return {}


def _to_display(layer: Any, tiles_crs: str) -> Any:
    """A layer in lon/lat as the basemap tiles expect it (GCJ-02 for Chinese web tiles)."""
    if layer is None:
        return None
    data = lonlat(layer)
    if tiles_crs != "gcj02":
        return data
    from gridkit.chinacoords import transform_geometries, wgs84_to_gcj02  # noqa: PLC0415

    return data.set_geometry(transform_geometries(data.geometry.to_numpy(), wgs84_to_gcj02), crs=WGS84)


def _add_layers(fmap: folium.Map, labels: dict[str, str], visible: set[str], *, lang: str,  # noqa: PLR0913
                grids: Any, points: Any, hotspots: Any, routes: Any, wardens: Any, kde: Any, column: str | None,
                heat: bool, time_slider: str | None, sla: Any, context: dict[str, Any]) -> tuple:
    """Every layer, bottom to top: context, grids, kde, hot spots, heat, routes, wardens; the legend blocks."""
    legend: list[str] = []
    context_block = add_context(fmap, labels, visible, grids=grids, **context)
    periods = point_periods(points, time_slider) if points is not None else None
    grid_layer = colouring = None
    if grids is not None:
        colouring = grid_colouring(grids, column or _default_column(grids), labels)
        if colouring.kind == "tier":
            colouring.names, colouring.note = tier_rule(load_tiers(sla), labels)
        group, grid_layer = _add_grids(fmap, grids, colouring, labels, lang=lang, show="grids" in visible,
                                       slider=periods is not None)
        block = colouring.legend(counts=colouring.kind in {"tier", "category"})
        if block:
            legend.append(f'<div class="gridkit-legend-grids" data-layer="{group.get_name()}">{block}</div>')
    if kde is not None:
        legend.append(add_kde(fmap, kde, labels, show="kde" in visible))
    if hotspots is not None:
        legend.append(add_hotspots(fmap, hotspots, labels, lang, show="hotspots" in visible,
                                   on_grids=grids is not None and "grid_id" in hotspots.columns))
    order = np.argsort(periods.to_numpy(dtype=str), kind="stable") if periods is not None else None
    heat_layer = None
    if points is not None and heat and len(points):
        heat_layer = _add_heat(fmap, points, order if order is not None else np.arange(len(points)), labels,
                               show="heat" in visible, radius_m=heat_radius_m(points, kde))
        legend.append(legend_rows([(HEAT_GRADIENT[0.75], labels["incidents"])], labels["heat"],
                                  note=labels["heat_note"], layer=heat_layer.get_name()))
    if routes is not None:
        legend.append(add_routes(fmap, routes, labels, show="routes" in visible))
    if wardens is not None:
        legend.append(add_wardens(fmap, wardens, labels, show="wardens" in visible))
    legend.append(context_block)
    return legend, grid_layer, heat_layer, colouring, periods, order


def map(  # noqa: PLR0913  (one keyword per layer and option)
    grids: gpd.GeoDataFrame | None = None,
    incidents: Any = None,
    hotspots: gpd.GeoDataFrame | None = None,
    routes: gpd.GeoDataFrame | None = None,
    wardens: Any = None,
    *,
    communities: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    column: str | None = None,
    lang: str = "zh",
    offline: bool = True,
    time_slider: str | None = "month",
    heat: bool = True,
    kde: gpd.GeoDataFrame | None = None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    tiles_crs: str = "wgs84",
    title: str | None = None,
    subtitle: str | None = None,
    show: Iterable[str] | None = None,
    sla: Any = None,
    paper: str = "A4",
    date: str | None = None,
) -> folium.Map:
    """Return a folium map of grids over the district's own streets, buildings and boundaries.

    Parameters
    ----------
    grids
        Grid polygons (any CRS) with ``grid_id``; per-grid statistics columns (``count``, ``tier``
        ...) are shown in the tooltip. Without a ``tier`` column and with incidents from
        :func:`gridkit.incidents.prepare_incidents`, :func:`~gridkit.incidents.grid_stats` is added.
    incidents
        Incident points (GeoDataFrame or :class:`~gridkit.incidents.IncidentResult`): a heat layer.
    hotspots
        :func:`gridkit.hotspots.hotspots` output: cells significant after the FDR outlined by
        confidence (hot magenta, cold teal).
    routes
        Lines with ``grid_id``, ``warden_id``, ``length_m``, ``minutes``.
    wardens
        Points (or a table with ``lon``/``lat``) with ``warden_id``, ``name``, ``role``, ``grid_id``;
        their names are put on the grids they staff (tooltip ``warden_name``).
    communities, buildings, streets
        The user's own layers (any CRS), drawn under the grids as context: community boundaries
        and names (``name``), building outlines, streets with their names (``name``) shown from the
        zoom where they fit, and the street office's boundary (the outline of the communities).
        Without ``communities`` the boundaries are the outlines of each community's grids.
    column
        Column that colours the grids: default ``tier`` when present, else ``change`` (a regenerated
        plan: kept / adjusted / split / merged / new in fixed colours), else ``deviation``. Text
        columns are coloured as categories, numbers in five quantile classes.
    lang
        ``"zh"`` (default) or ``"en"``: title, layer names, tooltips and legend.
    offline
        True (default): :func:`save_map` and the Jupyter view inline Leaflet, so the page needs no
        network. False loads Leaflet from its CDN.
    time_slider
        ``"month"``, ``"week"`` or None: a slider that shows one period's incidents in the heat layer
        and recolours the grids by the period's tiers (or the period's values of ``column``).
    heat
        Draw the heat layer of incidents (a picture, not a statistic: see hot spots and ``kde``).
    kde
        :func:`gridkit.hotspots.kde_surface` output, drawn as density bands (hidden at first).
    tiles, tiles_attribution, tiles_crs
        An optional basemap: a tile URL template (``https://intranet/tiles/{z}/{x}/{y}.png``, an
        intranet 天地图 or other government server), its attribution, and ``"gcj02"`` when the tiles
        are drawn in GCJ-02 (most Chinese web tiles): every layer is then shifted to GCJ-02 for
        display. None (default) draws no basemap: the context comes from the user's own layers.
    title, subtitle, date
        The title block: defaults "网格事件地图" / "Grid incident map", the date span with the
        numbers of grids, incidents and hot spots, and today's date.
    show
        Layers shown when the page opens, of ``grids``, ``hotspots``, ``heat``, ``kde``, ``routes``,
        ``wardens``, ``buildings``, ``streets``, ``street_names``, ``communities``, ``office``
        (default :data:`DEFAULT_SHOW`: grids, hot spots and every context layer, plus ``heat`` on a map
        without grids); the others are off in the layer control.
    sla
        Tier thresholds (as for :func:`~gridkit.incidents.grid_stats`); the legend says whether
        they are fixed numbers or relative ranks ("top 10 % of grids").
    paper
        ``"A4"`` or ``"A3"``: the page prints in landscape on it (controls hidden; title block,
        legend, north arrow, scale and date kept).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> from gridkit.samples import load_sample
    >>> s = load_sample()
    >>> grids = gridkit.partition(s.communities, s.buildings, s.streets).grids  # doctest: +SKIP
    >>> gridkit.map(grids, communities=s.communities, streets=s.streets, buildings=s.buildings)  # doctest: +SKIP
    """
    _validate.option("lang", lang)
    _check_tiles(tiles, tiles_crs)
    if paper not in PAPERS:
        raise GridkitError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    labels = _labels(lang)
    visible = _shown(show, grids is not None)
    points = incidents.incidents if hasattr(incidents, "quality") else incidents
    points = lonlat(points) if points is not None else None
    if points is not None:
        points = points[points.geometry.notna() & ~points.geometry.is_empty]
    if grids is not None:
        grids = lonlat(with_hotspot_z(with_stats(grids, incidents, sla), hotspots))
        grids = _with_community_names(_warden_names(grids, wardens), communities, lang)
    notices = data_notices(grids, incidents, points, labels)
    if tiles_crs == "gcj02":
        grids, points, hotspots, routes, wardens, kde, communities, buildings, streets = (
            _to_display(x, tiles_crs) for x in (grids, points, hotspots, routes, wardens, kde, communities,
                                                 buildings, streets))
    minx, miny, maxx, maxy = bounds([grids] if grids is not None else [points, hotspots, routes, kde, wardens])
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True,
                      prefer_canvas=False, zoom_snap=0.25, zoom_delta=0.5)
    if tiles is not None:
        folium.TileLayer(tiles, attr=tiles_attribution or "basemap", name=labels.get("basemap", "basemap"),
                         overlay=False, control=False).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]], padding=(20, 20))
    Style().add_to(fmap)
    PageStyle(paper).add_to(fmap)
    names = _names_by_community(grids, communities)
    legend, grid_layer, heat_layer, colouring, periods, order = _add_layers(
        fmap, labels, visible, lang=lang, grids=grids, points=points, hotspots=hotspots, routes=routes,
        wardens=wardens, kde=kde, column=column, heat=heat, time_slider=time_slider, sla=sla,
        context={"communities": communities, "buildings": buildings, "streets": streets, "names": names})
    if any(legend):
        Legend("".join(legend)).add_to(fmap)
    if periods is not None:
        _add_slider(fmap, points, periods, order, grids, (grid_layer, heat_layer), colouring, labels, time_slider,
                    sla)
    default_title = labels["title_incidents"] if points is not None else labels["title_grids"]
    made = labels["made"].format(date=date or dt.date.today().isoformat())
    Title(title or default_title, summary_line(labels, grids, points, hotspots) if subtitle is None else subtitle,
          made).add_to(fmap)
    NorthArrow(labels["north"]).add_to(fmap)
    if notices:
        Notice(notices).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.gridkit_offline = offline
    fmap.gridkit_notices = notices
    if offline:  # Jupyter shows the self-contained page too, not one that asks a CDN for Leaflet
        fmap._repr_html_ = lambda **_kw: _iframe(offline_html(fmap))
    return fmap


def _add_slider(fmap: folium.Map, points: gpd.GeoDataFrame, periods: pd.Series, order: np.ndarray,
                grids: gpd.GeoDataFrame | None, layers: tuple[folium.GeoJson | None, HeatMap | None],
                colouring: Colouring | None, labels: dict[str, str], period: str, sla: Any) -> None:
    """The time slider: heat points sorted by period, and the grids' colours per period."""
    grid_layer, heat_layer = layers
    sorted_labels = periods.to_numpy(dtype=str)[order]
    names = sorted(set(np.unique(sorted_labels).tolist()) - {""})
    payload = None
    if grid_layer is not None and colouring is not None and colouring.kind in {"tier", "numeric"}:
        stats = period_stats(points, grids, period, sla)
        if stats is not None and len(stats):
            names = sorted(set(names) | set(stats["period"].astype(str)))
            payload = period_payload(grids, stats, names, colouring, labels, grid_layer.get_name(),
                                     [c for c in GRID_FIELDS if c in grids.columns])
    wanted = np.asarray(names, dtype=str)
    starts = np.searchsorted(sorted_labels, wanted, side="left")
    ends = np.searchsorted(sorted_labels, wanted, side="right")
    totals = [len(sorted_labels), *(ends - starts).tolist()]
    TimeSlider(heat_layer.get_name() if heat_layer is not None else None, names, starts.tolist(), ends.tolist(),
               totals, payload, labels["period"], labels["all"]).add_to(fmap)


def _iframe(html: str) -> str:
    """An HTML page in an iframe (as a data URI), the way folium shows maps in notebooks."""
    data = base64.b64encode(html.encode("utf-8")).decode("ascii")
    return ('<div style="width:100%"><div style="position:relative;width:100%;height:0;padding-bottom:60%">'
            f'<iframe src="data:text/html;charset=utf-8;base64,{data}" style="position:absolute;width:100%;'
            'height:100%;left:0;top:0;border:none" allowfullscreen></iframe></div></div>')


def grids_map(
    grids: gpd.GeoDataFrame, *, column: str = "deviation", lang: str = "zh", tiles: str | None = None
) -> folium.Map:
    """Return a folium map of grid polygons coloured by ``column``.

    Parameters
    ----------
    grids
        Grids as returned by :func:`gridkit.partition` (any CRS; drawn in EPSG:4326).
    column
        Numeric column that colours the grids (``deviation`` by default: blue light, red heavy).
    lang
        ``"zh"`` or ``"en"`` for tooltips and the legend.
    tiles
        Folium tiles; None draws no basemap (works offline).
    """
    return map(grids, column=column, lang=lang, tiles=tiles, time_slider=None)


_SCRIPT = re.compile(r'<script\s+src="(https?://[^"]+)"\s*>\s*</script>')
_STYLE = re.compile(r'<link\s+rel="stylesheet"\s+href="(https?://[^"]+)"\s*/?>')
_UNUSED = ("jquery", "bootstrap", "awesome-markers", "awesome_markers", "fontawesome", "glyphicons",
           "awesome.rotate")


def _local_asset(url: str) -> str | None:
    """The local asset standing in for a CDN ``url``: a name, "" to drop it, None if unknown."""
    name = url.rsplit("/", 1)[-1].lower()
    if name in {"leaflet.js", "leaflet-src.js"}:
        return "leaflet.js"
    if name == "leaflet.css":
        return "leaflet.css"
    if "heat" in name and name.endswith(".js"):
        return "leaflet-heat.js"
    if any(key in url.lower() for key in _UNUSED):
        return ""
    return None


def offline_html(fmap: folium.Map) -> str:
    """The page of ``fmap`` with Leaflet and Leaflet.heat inlined and no request to the network.

    Links to assets the gridkit layers do not use (jQuery, Bootstrap, awesome-markers, Font
    Awesome) are dropped; a link to any other remote asset (a plugin added by hand) is an error,
    since the page could not honour its promise to work offline.
    """
    from gridkit._assets import asset_text, licence_banner  # noqa: PLC0415

    html = fmap.get_root().render()
    inlined: list[str] = []

    def keep(text: str) -> str:
        inlined.append(text)
        return f"\x00GRIDKIT-ASSET-{len(inlined) - 1}\x00"

    def script(match: re.Match[str]) -> str:
        local = _local_asset(match.group(1))
        if local is None:
            raise GridkitError(f"cannot make the page offline: it loads {match.group(1)}")
        if not local:
            return ""
        code = asset_text(local).replace("</script", "<\\/script")
        return keep(f"<script>/* {local}: {licence_banner()} */\n{code}\n</script>")

    def style(match: re.Match[str]) -> str:
        local = _local_asset(match.group(1))
        if local is None:
            raise GridkitError(f"cannot make the page offline: it loads {match.group(1)}")
        return keep(f"<style>/* {local} */\n{asset_text(local)}\n</style>") if local else ""

    html = _SCRIPT.sub(script, html)
    html = _STYLE.sub(style, html)
    remote = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    if remote:
        raise GridkitError(f"cannot make the page offline: it still loads {remote[0]}")
    return re.sub("\x00GRIDKIT-ASSET-(\\d+)\x00", lambda m: inlined[int(m.group(1))], html)


def save_map(fmap: folium.Map, path: str | os.PathLike[str], *, offline: bool = True) -> Path:
    """Write ``fmap`` as an HTML page, atomically.

    Parameters
    ----------
    fmap
        A map from :func:`map` (or any folium map without remote plugins).
    path
        The ``.html`` file to write.
    offline
        Inline Leaflet and Leaflet.heat (from the npm packages, :mod:`gridkit._assets`) so the page
        needs no network (a basemap the user asked for with ``tiles`` still comes from that server).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    from gridkit.io import atomic_path  # noqa: PLC0415

    html = offline_html(fmap) if offline else fmap.get_root().render()
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return Path(path)

