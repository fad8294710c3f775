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
from gridkit._maps_data import (
    bounds,
    community_outlines,
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
from gridkit._maps_style import (
    BIN_NAMES,
    CHANGE_COLOURS,
    HEAT_GRADIENT,
    LABELS,
    OUTLINE_COLOURS,
    ROLE_COLOURS,
    TIER_COLOURS,
    Colouring,
    grid_colouring,
    labels_for,
    legend_rows,
)
from gridkit.errors import GridkitError

__all__ = ["CHANGE_COLOURS", "DEFAULT_SHOW", "LABELS", "TIER_COLOURS", "grids_map", "map", "offline_html",
           "save_map"]

GRID_FIELDS = ("grid_id", "community_id", "period", "count", "tier", "per_100_households", "households",
               "population", "area_m2", "deviation", "median_hours_to_close", "on_time_share", "overdue_open",
               "change", "related", "gi_z", "gi_bin")
#: Layers shown when the page opens (and the heat layer on maps without grids); the others are
#: listed in the layer control, switched off.
DEFAULT_SHOW = ("grids", "hotspots")
_LAYERS = ("grids", "hotspots", "heat", "kde", "routes", "wardens")
#: Grid columns whose values are words to translate in tooltips.
_WORDS = ("tier", "change", "role")


def _labels(lang: str) -> dict[str, str]:
    return labels_for(lang)


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
    """The grids layer: polygons coloured by ``colouring`` with tooltips, community outlines, code labels."""
    group = folium.FeatureGroup(name=labels["grids"], show=show)
    shown, fields = _grid_tooltip_frame(data, colouring, labels, lang, slider)
    shown["_i"] = np.arange(len(shown))
    shown["_fill"] = colouring.fills
    shown["_lx"], shown["_ly"], shown["_sz"] = label_geometry(data)
    shown[["_lx", "_ly"]] = shown[["_lx", "_ly"]].astype(object).where(shown[["_lx", "_ly"]].notna(), None)
    layer = folium.GeoJson(
        shown, className="gridkit-grid",
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#444444", "weight": 0.8,
                                  "fillOpacity": 0.55},
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]),
    )
    layer.add_to(group)
    outlines = community_outlines(data)
    if outlines is not None and len(outlines):
        folium.GeoJson(outlines[[outlines.geometry.name]], interactive=False,
                       style_function=lambda _f: {"color": "#1a1a1a", "weight": 2.2, "fill": False,
                                                  "opacity": 0.9}).add_to(group)
    group.add_to(fmap)
    if "grid_id" in data.columns:  # codes on the map; 15-digit codes shorten to their 3-digit sequence
        ids = data["grid_id"].astype(str)
        short = 3 if len(ids) and ids.str.fullmatch(r"\d{15}").all() else 0
        GridLabels(layer.get_name(), group.get_name(), short).add_to(fmap)
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


# --- statistics layers, routes, wardens ----------------------------------------------------------


def _add_hotspots(fmap: folium.Map, spots: gpd.GeoDataFrame, labels: dict[str, str], lang: str, *,
                  show: bool, on_grids: bool) -> str:
    """Significant Gi* cells as outlines (hot red, cold blue; thicker = more confident).

    On the grid lattice (``on_grids``) the z values are in the grid tooltips and the outlines do not
    catch the mouse; hexagons keep their own tooltips.
    """
    data = lonlat(spots)
    bins = data["gi_bin"].fillna(0).astype(int)
    data = data[bins.to_numpy() != 0]
    bins = bins[bins != 0]
    ident = "grid_id" if "grid_id" in data.columns else "hex_id" if "hex_id" in data.columns else None
    fields = [c for c in (ident, "count", "gi_z", "gi_q", "gi_bin") if c and c in data.columns]
    shown = json_ready(data, fields)
    names = BIN_NAMES["en" if lang == "en" else "zh"]
    shown["_colour"] = bins.map(OUTLINE_COLOURS).to_numpy()
    shown["_weight"] = (1.0 + bins.abs()).to_numpy(dtype=float)
    if "gi_bin" in shown.columns:
        shown["gi_bin"] = bins.map(names).to_numpy()
    layer = folium.GeoJson(
        shown, name=labels["hotspots"], show=show, interactive=not on_grids,
        style_function=lambda f: {"color": f["properties"]["_colour"], "weight": f["properties"]["_weight"],
                                  "fillColor": f["properties"]["_colour"], "fillOpacity": 0.0 if on_grids else 0.12,
                                  "dashArray": "6 4" if f["properties"]["_weight"] < 2.5 else None},
        tooltip=None if on_grids or not fields else
        folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]),
    )
    layer.add_to(fmap)
    items = [(OUTLINE_COLOURS[b], f"{names[b]} ({int((bins == b).sum())})") for b in (3, 2, 1, -1, -2, -3)
             if (bins == b).any()]
    note = "" if items else names[0]
    return legend_rows(items, labels["hotspots"], note=note, layer=layer.get_name(), line=True)


def _add_kde(fmap: folium.Map, surface: gpd.GeoDataFrame, labels: dict[str, str], *, show: bool) -> str:
    from gridkit.hotspots import kde_bands  # noqa: PLC0415

    bands = lonlat(kde_bands(surface) if "band" not in surface.columns else surface)
    colours = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]
    fills = [colours[min(i, len(colours) - 1)] for i in range(len(bands))]
    shown = json_ready(bands, ["density"])
    shown["_fill"] = fills
    layer = folium.GeoJson(
        shown, name=labels["kde"], show=show,
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": f["properties"]["_fill"],
                                  "weight": 0.5, "fillOpacity": 0.5},
        tooltip=folium.GeoJsonTooltip(fields=["density"], aliases=[labels["density"] + " ≥"]),
    )
    layer.add_to(fmap)
    items = [(c, f"≥ {d:,.0f}") for c, d in zip(fills, bands["density"], strict=True)]
    return legend_rows(items, labels["kde"], layer=layer.get_name())


def _add_routes(fmap: folium.Map, routes: gpd.GeoDataFrame, labels: dict[str, str], *, show: bool) -> str:
    data = lonlat(routes)
    fields = [c for c in ("grid_id", "warden_id", "length_m", "minutes") if c in data.columns]
    palette = ["#6a3d9a", "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#b15928"]
    shown = json_ready(data, fields)
    shown["_colour"] = [palette[i % len(palette)] for i in range(len(data))]
    layer = folium.GeoJson(
        shown, name=labels["routes"], show=show,
        style_function=lambda f: {"color": f["properties"]["_colour"], "weight": 3, "opacity": 0.8},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]) if fields else None,
    )
    layer.add_to(fmap)
    return legend_rows([(palette[0], f"{len(data)}")], labels["routes"], layer=layer.get_name(), line=True)


def _add_wardens(fmap: folium.Map, wardens: Any, labels: dict[str, str], *, show: bool) -> str:
    data = lonlat(wardens)
    fields = [c for c in ("warden_id", "name", "role", "grid_id") if c in data.columns]
    shown = json_ready(data, fields)
    roles = data["role"].astype(str) if "role" in data.columns else pd.Series("full_time", index=data.index)
    if "role" in shown.columns:
        shown["role"] = roles.map(lambda r: labels.get(r, r)).to_numpy()
    shown["_colour"] = roles.map(ROLE_COLOURS).fillna("#444444").to_numpy()
    layer = folium.GeoJson(
        shown, name=labels["wardens"], show=show,
        marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": "#222222", "fillColor": f["properties"]["_colour"]},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]) if fields else None,
    )
    layer.add_to(fmap)
    items = [(ROLE_COLOURS[r], f"{labels.get(r, r)} ({int((roles == r).sum())})") for r in ROLE_COLOURS
             if (roles == r).any()]
    return legend_rows(items, labels["wardens"], layer=layer.get_name())


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


def map(  # noqa: PLR0913  (one keyword per layer and option)
    grids: gpd.GeoDataFrame | None = None,
    incidents: Any = None,
    hotspots: gpd.GeoDataFrame | None = None,
    routes: gpd.GeoDataFrame | None = None,
    wardens: Any = None,
    *,
    column: str | None = None,
    lang: str = "zh",
    offline: bool = False,
    time_slider: str | None = "month",
    heat: bool = True,
    kde: gpd.GeoDataFrame | None = None,
    tiles: str | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    show: Iterable[str] | None = None,
    sla: Any = None,
) -> folium.Map:
    """Return a folium map of grids, incidents, hot spots, routes and wardens.

    Parameters
    ----------
    grids
        Grid polygons (any CRS) with ``grid_id``; per-grid statistics columns (``count``, ``tier``
        ...) are shown in the tooltip. Without a ``tier`` column and with incidents from
        :func:`gridkit.incidents.prepare_incidents`, :func:`~gridkit.incidents.grid_stats` is added.
    incidents
        Incident points (GeoDataFrame or :class:`~gridkit.incidents.IncidentResult`): a heat layer.
    hotspots
        :func:`gridkit.hotspots.hotspots` output: significant cells outlined by ``gi_bin`` (±3/±2/±1).
    routes
        Lines with ``grid_id``, ``warden_id``, ``length_m``, ``minutes``.
    wardens
        Points (or a table with ``lon``/``lat``) with ``warden_id``, ``name``, ``role``, ``grid_id``.
    column
        Column that colours the grids: default ``tier`` when present, else ``change`` (a regenerated
        plan: kept / adjusted / split / merged / new in fixed colours), else ``deviation``. Text
        columns are coloured as categories, numbers in five quantile classes.
    lang
        ``"zh"`` (default) or ``"en"``: title, layer names, tooltips and legend.
    offline
        Draw no basemap tiles (nothing fetched from the internet); :func:`save_map` inlines the assets.
    time_slider
        ``"month"``, ``"week"`` or None: a slider that shows one period's incidents in the heat layer
        and recolours the grids by the period's tiers (or the period's values of ``column``).
    heat
        Draw the heat layer of incidents (a picture, not a statistic: see hot spots and ``kde``). Its
        radius is the kernel bandwidth in metres at every zoom; its scale saturates the densest 1 %.
    kde
        :func:`gridkit.hotspots.kde_surface` output, drawn as density bands (hidden at first).
    tiles
        Folium tiles for a basemap when online (ignored when ``offline``); None draws none.
    title, subtitle
        Shown at the top (a district name, say); defaults: "网格事件地图" / "Grid incident map" and
        the date span with the numbers of grids, incidents and hot spots.
    show
        Layers shown when the page opens, of ``grids``, ``hotspots``, ``heat``, ``kde``, ``routes``,
        ``wardens`` (default :data:`DEFAULT_SHOW`, plus ``heat`` on a map without grids: over the
        tier colours the heat muddies them); the others are off in the layer control.
    sla
        Tier thresholds (as for :func:`~gridkit.incidents.grid_stats`) for the tiers of each period.

    Returns
    -------
    folium.Map
    """
    _validate.option("lang", lang)
    labels = _labels(lang)
    visible = _shown(show, grids is not None)
    points = incidents.incidents if hasattr(incidents, "quality") else incidents
    points = lonlat(points) if points is not None else None
    if points is not None:
        points = points[points.geometry.notna() & ~points.geometry.is_empty]
    if grids is not None:
        grids = lonlat(with_hotspot_z(with_stats(grids, incidents, sla), hotspots))
    minx, miny, maxx, maxy = bounds([grids] if grids is not None else [points, hotspots, routes, kde, wardens])
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None if offline else tiles,
                      control_scale=True, prefer_canvas=False, zoom_snap=0.25, zoom_delta=0.5)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]], padding=(20, 20))
    Style().add_to(fmap)
    legend: list[str] = []
    periods = point_periods(points, time_slider) if points is not None else None
    grid_layer = colouring = None
    if grids is not None:
        colouring = grid_colouring(grids, column or _default_column(grids), labels)
        group, grid_layer = _add_grids(fmap, grids, colouring, labels, lang=lang, show="grids" in visible,
                                       slider=periods is not None)
        block = colouring.legend(counts=colouring.kind in {"tier", "category"})
        if block:
            legend.append(f'<div class="gridkit-legend-grids" data-layer="{group.get_name()}">{block}</div>')
    if kde is not None:
        legend.append(_add_kde(fmap, kde, labels, show="kde" in visible))
    if hotspots is not None:
        legend.append(_add_hotspots(fmap, hotspots, labels, lang, show="hotspots" in visible,
                                    on_grids=grids is not None and "grid_id" in hotspots.columns))
    order = np.argsort(periods.to_numpy(dtype=str), kind="stable") if periods is not None else None
    heat_layer = None
    if points is not None and heat and len(points):
        heat_layer = _add_heat(fmap, points, order if order is not None else np.arange(len(points)), labels,
                               show="heat" in visible, radius_m=heat_radius_m(points, kde))
        legend.append(legend_rows([(HEAT_GRADIENT[0.5], labels["incidents"])], labels["heat"],
                                  note=labels["heat_note"], layer=heat_layer.get_name()))
    if routes is not None:
        legend.append(_add_routes(fmap, routes, labels, show="routes" in visible))
    if wardens is not None:
        legend.append(_add_wardens(fmap, wardens, labels, show="wardens" in visible))
    if any(legend):
        Legend("".join(legend)).add_to(fmap)
    if periods is not None:
        _add_slider(fmap, points, periods, order, grids, (grid_layer, heat_layer), colouring, labels, time_slider,
                    sla)
    default_title = labels["title_incidents"] if points is not None else labels["title_grids"]
    Title(title or default_title, summary_line(labels, grids, points, hotspots) if subtitle is None else subtitle) \
        .add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.gridkit_offline = offline
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
    if re.search(r"L\.tileLayer\(\s*\"https?://", html):
        raise GridkitError("cannot make the page offline: it draws basemap tiles from the internet; "
                           "make the map with offline=True or tiles=None")
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
        needs no network; a map with an internet basemap cannot be saved offline.

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

