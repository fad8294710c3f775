"""Folium maps of grids, incidents, hot spots, routes and wardens, and pages that work offline.

:func:`map` (exported as ``gridkit.map``) draws grids coloured by tier or any metric with their codes
and tooltips, a heat layer of incidents with a time slider by month or week, Gi* hot spots, a kernel
density surface, patrol routes and wardens, with a legend and a layer control, labels in Chinese or
English. :func:`save_map` writes the page; with ``offline=True`` (the default) Leaflet and
Leaflet.heat are inlined from the npm packages (see :mod:`gridkit._assets`), no basemap tiles are
fetched and the page needs no network: government intranets and test machines have none.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.plugins import HeatMap
from jinja2 import Template

from gridkit.crs import WGS84
from gridkit.errors import GridkitError

__all__ = ["LABELS", "grids_map", "map", "offline_html", "save_map"]

LABELS = {
    "zh": {"grid_id": "网格编码", "community_id": "社区", "households": "户数", "population": "人口",
           "area_m2": "面积(m²)", "deviation": "偏差", "oversize": "超大网格", "grids": "网格",
           "polsby_popper": "紧凑度", "count": "事件数", "per_100_households": "每百户事件数",
           "median_hours_to_close": "结案时长中位数(小时)", "on_time_share": "按时结案率",
           "overdue_open": "超期未结", "open": "未结案", "tier": "等级", "heat": "事件热力图",
           "hotspots": "热点 (Gi*)", "gi_z": "Gi* z 值", "gi_q": "FDR 校正 p 值", "gi_bin": "置信区间",
           "hex_id": "六边形", "kde": "核密度 (事件/km²)", "density": "密度 (事件/km²)", "routes": "巡查路线",
           "wardens": "网格员", "warden_id": "网格员编号", "name": "姓名", "role": "岗位",
           "length_m": "长度(m)", "minutes": "用时(分钟)", "period": "时段", "all": "全部",
           "green": "绿", "orange": "橙", "red": "红", "none": "无户数", "hot": "热点", "cold": "冷点",
           "not_significant": "不显著", "legend": "图例", "full_time": "专职网格员", "part_time": "兼职网格员",
           "police": "网格民警", "volunteer": "志愿者", "incidents": "事件"},
    "en": {"grid_id": "Grid code", "community_id": "Community", "households": "Households",
           "population": "Population", "area_m2": "Area (m²)", "deviation": "Deviation",
           "oversize": "Oversize", "grids": "Grids", "polsby_popper": "Compactness", "count": "Incidents",
           "per_100_households": "Incidents per 100 households", "median_hours_to_close": "Median hours to close",
           "on_time_share": "Closed on time", "overdue_open": "Overdue open", "open": "Open", "tier": "Tier",
           "heat": "Incident heat map", "hotspots": "Hot spots (Gi*)", "gi_z": "Gi* z", "gi_q": "FDR-adjusted p",
           "gi_bin": "Confidence bin", "hex_id": "Hexagon", "kde": "Kernel density (incidents/km²)",
           "density": "Density (incidents/km²)", "routes": "Patrol routes", "wardens": "Wardens",
           "warden_id": "Warden", "name": "Name", "role": "Role", "length_m": "Length (m)",
           "minutes": "Minutes", "period": "Period", "all": "All", "green": "green", "orange": "orange",
           "red": "red", "none": "no households", "hot": "hot spot", "cold": "cold spot",
           "not_significant": "not significant", "legend": "Legend", "full_time": "full-time warden",
           "part_time": "part-time warden", "police": "grid police officer", "volunteer": "volunteer",
           "incidents": "Incidents"},
}
TIER_COLOURS = {"green": "#1a9850", "orange": "#fd8d3c", "red": "#d73027", "none": "#bdbdbd"}
BIN_COLOURS = {3: "#d62f27", 2: "#ed7551", 1: "#fab984", 0: "#eeeeee", -1: "#c0ccbe", -2: "#849eba", -3: "#4575b5"}
BIN_NAMES = {"zh": {3: "热点 99%", 2: "热点 95%", 1: "热点 90%", 0: "不显著", -1: "冷点 90%", -2: "冷点 95%",
                    -3: "冷点 99%"},
             "en": {3: "hot 99 %", 2: "hot 95 %", 1: "hot 90 %", 0: "not significant", -1: "cold 90 %",
                    -2: "cold 95 %", -3: "cold 99 %"}}
ROLE_COLOURS = {"full_time": "#1f78b4", "part_time": "#33a02c", "police": "#e31a1c", "volunteer": "#ff7f00"}
GRID_FIELDS = ("grid_id", "community_id", "households", "population", "area_m2", "deviation", "count",
               "per_100_households", "median_hours_to_close", "on_time_share", "overdue_open", "tier")


def _labels(lang: str) -> dict[str, str]:
    return LABELS["en" if lang == "en" else "zh"]


def _lonlat(layer: Any) -> gpd.GeoDataFrame:
    """A layer in EPSG:4326; a plain table with ``lon``/``lat`` becomes points."""
    if isinstance(layer, gpd.GeoDataFrame):
        return layer.to_crs(WGS84) if layer.crs is not None else layer.set_crs(WGS84)
    frame = pd.DataFrame(layer)
    if not {"lon", "lat"} <= set(frame.columns):
        raise GridkitError("a table to map needs lon and lat columns (or pass a GeoDataFrame)")
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84)


def _json_ready(frame: gpd.GeoDataFrame, fields: list[str]) -> gpd.GeoDataFrame:
    """Round floats and turn non-JSON types into plain values for GeoJSON properties."""
    out = frame[[*fields, frame.geometry.name]].copy()
    for col in fields:
        series = out[col]
        if pd.api.types.is_bool_dtype(series):
            out[col] = series.astype(object).where(series.notna(), None)
        elif pd.api.types.is_float_dtype(series):
            digits = 3 if col in {"deviation", "on_time_share", "gi_q", "polsby_popper"} else 2 if col in {
                "gi_z", "per_100_households"} else 1
            out[col] = series.astype(float).round(digits).astype(object).where(series.notna(), None)
        elif pd.api.types.is_integer_dtype(series):
            out[col] = series.astype(object).where(series.notna(), None)
        else:
            out[col] = series.astype(object).where(series.notna(), None).map(
                lambda v: v if v is None or isinstance(v, (int, float, str)) else str(v))
    return out


class _Legend(MacroElement):
    """A legend as a Leaflet control (plain HTML, no d3)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "gridkit-legend leaflet-control");
                div.style.cssText = "background:#fff;padding:6px 8px;font:12px/1.4 sans-serif;"
                    + "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:260px";
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "GridkitLegend"
        self.html = html


class _TimeSlider(MacroElement):
    """A slider over periods that shows one period's incidents in the heat layer (0 = all)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var heat = {{ this.heat_name }};
            var all = heat._latlngs.slice();
            var starts = {{ this.starts|tojson }};
            var labels = {{ this.labels|tojson }};
            var control = L.control({position: "bottomleft"});
            control.onAdd = function() {
                var div = L.DomUtil.create("div", "gridkit-time-slider leaflet-control");
                div.style.cssText = "background:#fff;padding:6px 8px;font:12px sans-serif;border-radius:4px;"
                    + "box-shadow:0 1px 4px rgba(0,0,0,.3)";
                var caption = L.DomUtil.create("div", "", div);
                var input = L.DomUtil.create("input", "", div);
                input.type = "range"; input.min = 0; input.max = labels.length; input.value = 0;
                input.style.width = "220px";
                function show(k) {
                    heat.setLatLngs(k == 0 ? all : all.slice(starts[k - 1], starts[k]));
                    if (heat._map && heat._heat) {  // draw now, not on the next animation frame
                        L.Util.cancelAnimFrame(heat._frame);
                        heat._frame = null;
                        heat._redraw();
                    }
                    caption.textContent = {{ this.title|tojson }} + ": " + (k == 0 ? {{ this.all_label|tojson }}
                        : labels[k - 1]) + " (" + (k == 0 ? all.length : starts[k] - starts[k - 1]) + ")";
                }
                input.addEventListener("input", function() { show(parseInt(input.value, 10)); });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                show(0);
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, heat_name: str, labels: list[str], starts: list[int], title: str, all_label: str) -> None:
        super().__init__()
        self._name = "GridkitTimeSlider"
        self.heat_name, self.labels, self.starts = heat_name, labels, starts
        self.title, self.all_label = title, all_label


def _legend_rows(items: list[tuple[str, str]], title: str) -> str:
    rows = "".join(f'<div><i style="display:inline-block;width:14px;height:10px;margin-right:6px;'
                   f'background:{colour};opacity:.8"></i>{label}</div>' for colour, label in items)
    return f'<div style="margin-top:4px"><b>{title}</b>{rows}</div>'


def _grid_colours(data: gpd.GeoDataFrame, column: str | None, labels: dict[str, str]) -> tuple[list[str], str]:
    """Fill colour per grid and the legend block for ``column``."""
    if column is None or column not in data.columns:
        return ["#3182bd"] * len(data), ""
    if column == "tier":
        tiers = data["tier"].astype(str).fillna("none")
        items = [(TIER_COLOURS[t], labels.get(t, t)) for t in ("green", "orange", "red", "none")
                 if (tiers == t).any()]
        return [TIER_COLOURS.get(t, TIER_COLOURS["none"]) for t in tiers], _legend_rows(items, labels["tier"])
    values = pd.to_numeric(data[column], errors="coerce").astype(float).to_numpy()
    finite = values[np.isfinite(values)]
    if not len(finite):
        return ["#bdbdbd"] * len(data), ""
    if column == "deviation":
        span = float(np.max(np.abs(finite))) or 1e-9
        low, high = -span, span
    else:
        low, high = float(finite.min()), float(finite.max())
    colours = cm.LinearColormap(["#2c7bb6", "#ffffbf", "#d7191c"], vmin=low, vmax=max(high, low + 1e-9))
    steps = np.linspace(low, max(high, low + 1e-9), 5)
    items = [(colours(v), f"{v:,.3g}") for v in steps]
    fills = [colours(v) if np.isfinite(v) else "#bdbdbd" for v in values]
    return fills, _legend_rows(items, labels.get(column, column))


def _add_grids(fmap: folium.Map, grids: gpd.GeoDataFrame, column: str | None, labels: dict[str, str]) -> str:
    data = _lonlat(grids)
    fills, legend = _grid_colours(data, column, labels)
    fields = [c for c in GRID_FIELDS if c in data.columns]
    if column and column in data.columns and column not in fields:
        fields.append(column)
    shown = _json_ready(data, fields)
    shown["_fill"] = fills
    folium.GeoJson(
        shown, name=labels["grids"],
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#333333", "weight": 1,
                                  "fillOpacity": 0.5},
        highlight_function=lambda _f: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]),
    ).add_to(fmap)
    return legend


def _add_heat(fmap: folium.Map, incidents: gpd.GeoDataFrame, time_slider: str | None, labels: dict[str, str]) -> None:
    from gridkit.incidents import period_labels  # noqa: PLC0415  (maps sits beside incidents, not below it)

    points = _lonlat(incidents)
    points = points[~points.geometry.is_empty & points.geometry.notna()]
    order = np.arange(len(points))
    periods: pd.Series | None = None
    if time_slider and "reported_at" in points.columns and len(points):
        periods = period_labels(pd.Series(points["reported_at"]).reset_index(drop=True), time_slider)
        order = np.argsort(periods.to_numpy(dtype=str), kind="stable")
    xy = np.column_stack([points.geometry.y.to_numpy(), points.geometry.x.to_numpy()])[order].round(5)
    heat = HeatMap([[0.0, 0.0]], name=labels["heat"], radius=12, blur=15, min_opacity=0.3)
    heat.data = xy.tolist()  # finite lat/lon by construction: skip folium's per-point validation (100k points)
    heat.add_to(fmap)
    if periods is not None:
        sorted_labels = periods.to_numpy(dtype=str)[order]
        names, starts = np.unique(sorted_labels, return_index=True)
        ends = [*starts[1:].tolist(), len(sorted_labels)]
        _TimeSlider(heat.get_name(), names.tolist(), ends, labels["period"], labels["all"]).add_to(fmap)


def _add_hotspots(fmap: folium.Map, spots: gpd.GeoDataFrame, labels: dict[str, str], lang: str) -> str:
    data = _lonlat(spots)
    ident = "grid_id" if "grid_id" in data.columns else "hex_id" if "hex_id" in data.columns else None
    fields = [c for c in (ident, "count", "gi_z", "gi_q", "gi_bin") if c and c in data.columns]
    shown = _json_ready(data, fields)
    bins = data["gi_bin"].fillna(0).astype(int)
    shown["_fill"] = bins.map(BIN_COLOURS).to_numpy()
    shown["_opacity"] = np.where(bins.to_numpy() == 0, 0.0, 0.65)
    folium.GeoJson(
        shown, name=labels["hotspots"],
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#555555", "weight": 0.5,
                                  "fillOpacity": f["properties"]["_opacity"]},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]),
    ).add_to(fmap)
    names = BIN_NAMES["en" if lang == "en" else "zh"]
    items = [(BIN_COLOURS[b], names[b]) for b in (3, 2, 1, 0, -1, -2, -3) if (bins == b).any()]
    return _legend_rows(items, labels["hotspots"])


def _add_kde(fmap: folium.Map, surface: gpd.GeoDataFrame, labels: dict[str, str]) -> str:
    from gridkit.hotspots import kde_bands  # noqa: PLC0415

    bands = _lonlat(kde_bands(surface) if "band" not in surface.columns else surface)
    colours = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]
    bands["_fill"] = [colours[min(i, len(colours) - 1)] for i in range(len(bands))]
    shown = _json_ready(bands, ["density"])
    shown["_fill"] = bands["_fill"].to_numpy()
    folium.GeoJson(
        shown, name=labels["kde"], show=False,
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": f["properties"]["_fill"],
                                  "weight": 0.5, "fillOpacity": 0.5},
        tooltip=folium.GeoJsonTooltip(fields=["density"], aliases=[labels["density"] + " ≥"]),
    ).add_to(fmap)
    items = [(c, f"≥ {d:,.0f}") for c, d in zip(bands["_fill"], bands["density"], strict=True)]
    return _legend_rows(items, labels["kde"])


def _add_routes(fmap: folium.Map, routes: gpd.GeoDataFrame, labels: dict[str, str]) -> None:
    data = _lonlat(routes)
    fields = [c for c in ("grid_id", "warden_id", "length_m", "minutes") if c in data.columns]
    palette = ["#6a3d9a", "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#b15928"]
    shown = _json_ready(data, fields)
    shown["_colour"] = [palette[i % len(palette)] for i in range(len(data))]
    folium.GeoJson(
        shown, name=labels["routes"],
        style_function=lambda f: {"color": f["properties"]["_colour"], "weight": 3, "opacity": 0.8},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]) if fields else None,
    ).add_to(fmap)


def _add_wardens(fmap: folium.Map, wardens: Any, labels: dict[str, str]) -> str:
    data = _lonlat(wardens)
    fields = [c for c in ("warden_id", "name", "role", "grid_id") if c in data.columns]
    shown = _json_ready(data, fields)
    roles = data["role"].astype(str) if "role" in data.columns else pd.Series("full_time", index=data.index)
    if "role" in shown.columns:
        shown["role"] = roles.map(lambda r: labels.get(r, r)).to_numpy()
    shown["_colour"] = roles.map(ROLE_COLOURS).fillna("#444444").to_numpy()
    folium.GeoJson(
        shown, name=labels["wardens"],
        marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": "#222222", "fillColor": f["properties"]["_colour"]},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]) if fields else None,
    ).add_to(fmap)
    items = [(ROLE_COLOURS[r], labels.get(r, r)) for r in ROLE_COLOURS if (roles == r).any()]
    return _legend_rows(items, labels["wardens"])


def _with_stats(grids: gpd.GeoDataFrame, incidents: Any) -> gpd.GeoDataFrame:
    """Grids with the per-grid incident statistics when they do not carry them yet."""
    if "tier" in grids.columns or incidents is None:
        return grids
    from gridkit.incidents import IncidentResult, grid_stats  # noqa: PLC0415

    frame = incidents.incidents if isinstance(incidents, IncidentResult) else incidents
    if not isinstance(frame, gpd.GeoDataFrame) or "closed_valid" not in frame.columns:
        return grids
    stats = grid_stats(incidents, grids)
    keep = [c for c in stats.columns if c not in grids.columns or c == "grid_id"]
    return grids.merge(stats[keep], on="grid_id", how="left")


def _bounds(layers: list[Any]) -> tuple[float, float, float, float]:
    """Lon/lat bounds of the layers given (None skipped)."""
    given = [_lonlat(x) for x in layers if x is not None]
    if not given:
        raise GridkitError("nothing to map: give grids, incidents, hotspots, routes or wardens")
    bounds = np.array([x.total_bounds for x in given])
    return (float(np.nanmin(bounds[:, 0])), float(np.nanmin(bounds[:, 1])), float(np.nanmax(bounds[:, 2])),
            float(np.nanmax(bounds[:, 3])))


def map(
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
        :func:`gridkit.hotspots.hotspots` output: cells coloured by ``gi_bin`` (±3/±2/±1).
    routes
        Lines with ``grid_id``, ``warden_id``, ``length_m``, ``minutes``.
    wardens
        Points (or a table with ``lon``/``lat``) with ``warden_id``, ``name``, ``role``, ``grid_id``.
    column
        Column that colours the grids: default ``tier`` when present, else ``deviation``, else none.
    lang
        ``"zh"`` (default) or ``"en"``: layer names, tooltips and legend.
    offline
        Draw no basemap tiles (nothing fetched from the internet); :func:`save_map` inlines the assets.
    time_slider
        ``"month"``, ``"week"`` or None: a slider that shows one period's incidents in the heat layer.
    heat
        Draw the heat layer of incidents (a picture, not a statistic: see hot spots and ``kde``).
    kde
        :func:`gridkit.hotspots.kde_surface` output, drawn as density bands (hidden at first).
    tiles
        Folium tiles for a basemap when online (ignored when ``offline``); None draws none.

    Returns
    -------
    folium.Map
    """
    labels = _labels(lang)
    incident_points = incidents.incidents if hasattr(incidents, "quality") else incidents
    if grids is not None:
        grids = _with_stats(grids, incidents)
    minx, miny, maxx, maxy = _bounds([grids, incident_points, hotspots, routes, kde, wardens])
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None if offline else tiles,
                      control_scale=True, prefer_canvas=False)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    legend = []
    if grids is not None:
        chosen = column or ("tier" if "tier" in grids.columns else "deviation" if "deviation" in grids.columns
                            else None)
        legend.append(_add_grids(fmap, grids, chosen, labels))
    if kde is not None:
        legend.append(_add_kde(fmap, kde, labels))
    if hotspots is not None:
        legend.append(_add_hotspots(fmap, hotspots, labels, lang))
    if incident_points is not None and heat and len(incident_points):
        _add_heat(fmap, incident_points, time_slider, labels)
    if routes is not None:
        _add_routes(fmap, routes, labels)
    if wardens is not None:
        legend.append(_add_wardens(fmap, wardens, labels))
    if any(legend):
        _Legend("".join(legend)).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.gridkit_offline = offline
    if offline:  # Jupyter shows the self-contained page too, not one that asks a CDN for Leaflet
        fmap._repr_html_ = lambda **_kw: _iframe(offline_html(fmap))
    return fmap


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

