"""Page furniture and context layers of :mod:`gridkit.maps` as folium elements (plain JavaScript, no CDN).

* :class:`ContextLayer`: streets, building outlines or boundaries drawn on a canvas in a pane under
  the grids (not interactive, so the grids keep their tooltips), listed in the layer control;
* :class:`ZoomLabels`: text labels (street names, community names) shown from a zoom on, turned
  along their street;
* :class:`NorthArrow`: a north arrow (drawn in SVG, printed);
* :class:`Notice`: a map-level warning when the data look wrong;
* :class:`PageStyle`: a CJK font fallback for every text on the page and the print stylesheet
  (A4 or A3 landscape, controls hidden, title block, north arrow, scale and date kept).
"""

from __future__ import annotations

from typing import Any

from branca.element import MacroElement
from folium.map import Layer
from jinja2 import Template

#: Fonts that hold Chinese, tried in order: Noto / Source Han (Linux, Debian ``fonts-noto-cjk``),
#: WenQuanYi (``fonts-wqy-zenhei``), Microsoft YaHei and SimHei (Windows), PingFang (macOS).
CJK_FONTS = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", '
             '"WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", '
             '"Hiragino Sans GB", "SimHei", "Heiti SC", sans-serif')
PAPERS = ("A4", "A3")


def page_css(paper: str = "A4") -> str:
    """The font fallback and the print rules (``paper`` landscape)."""
    return (
        f".leaflet-container,.leaflet-container *,.gridkit-title,.gridkit-legend,.gridkit-label span,"
        f".gridkit-notice,.leaflet-tooltip{{font-family:{CJK_FONTS}}}\n"
        ".gridkit-ctx-label span{position:absolute;white-space:nowrap;font-size:11px;line-height:1;color:#555;"
        "transform:translate(-50%,-50%) rotate(var(--a,0deg));text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff}\n"
        ".gridkit-ctx-label.community span{font-size:15px;font-weight:700;color:#222;letter-spacing:1px;"
        "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 5px #fff}\n"
        ".gridkit-north{background:rgba(255,255,255,.9);border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);"
        "padding:2px 4px;line-height:0}\n"
        ".gridkit-notice{position:absolute;top:74px;left:50%;transform:translateX(-50%);z-index:1001;"
        "background:#fff8e1;border:2px solid #5d4037;color:#3e2723;padding:6px 12px;border-radius:4px;"
        "font-size:13px;max-width:70%;box-shadow:0 1px 4px rgba(0,0,0,.3)}\n"
        ".gridkit-title .date{font-size:11px;color:#777}\n"
        f"@media print{{@page{{size:{paper} landscape;margin:8mm}}"
        "html,body{width:100%;height:100%;margin:0}"
        ".folium-map{position:absolute!important;inset:0!important;width:100%!important;height:100%!important}"
        ".leaflet-control-zoom,.leaflet-control-layers,.gridkit-time-slider,.leaflet-control-attribution a"
        "{display:none!important}"
        ".gridkit-title{box-shadow:none;border:1px solid #333;max-width:80%}"
        ".gridkit-legend{box-shadow:none;border:1px solid #333;max-height:none;overflow:visible}"
        ".gridkit-north,.leaflet-control-scale,.gridkit-title,.gridkit-legend{display:block!important}"
        "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}"
    )


class PageStyle(MacroElement):
    """The CJK font fallback and the print stylesheet, once per page."""

    _template = Template("{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}")

    def __init__(self, paper: str = "A4") -> None:
        super().__init__()
        self._name = "GridkitPageStyle"
        self.css = page_css(paper)


class ContextLayer(Layer):
    """Lines or rings (``[lat, lon]`` paths) drawn on a canvas in a pane under the grids.

    ``kind`` is ``line`` or ``polygon``; ``style`` a Leaflet path style; ``z`` the pane's z-index
    (the grids' overlay pane is 400); ``min_zoom`` hides the layer below that zoom (buildings
    zoomed far out are a grey smudge and cost drawing time).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function() {
            var map = {{ this._parent.get_name() }}, pane = {{ this.pane|tojson }};
            if (!map.getPane(pane)) { map.createPane(pane); map.getPane(pane).style.zIndex = {{ this.z }};
                                      map.getPane(pane).style.pointerEvents = "none"; }
            var renderer = L.canvas({pane: pane, padding: 0.3});
            var style = Object.assign({{ this.style|tojson }}, {renderer: renderer, pane: pane, interactive: false});
            var paths = {{ this.paths|tojson }}, group = L.layerGroup(), minZoom = {{ this.min_zoom }};
            var make = {{ '"polygon"' if this.kind == "polygon" else '"line"' }} === "polygon" ? L.polygon : L.polyline;
            for (var i = 0; i < paths.length; i++) { group.addLayer(make(paths[i], style)); }
            var holder = L.layerGroup();
            function sync() {
                var on = map.getZoom() >= minZoom;
                if (on && !holder.hasLayer(group)) { holder.addLayer(group); }
                if (!on && holder.hasLayer(group)) { holder.removeLayer(group); }
            }
            holder.on("add", function() { sync(); map.on("zoomend", sync); });
            holder.on("remove", function() { map.off("zoomend", sync); holder.removeLayer(group); });
            holder.gridkitCount = paths.length;
            return holder;
        })();
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
    """)

    def __init__(self, paths: list[Any], *, name: str, kind: str, style: dict[str, Any], pane: str, z: int,
                 show: bool = True, min_zoom: int = 0) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GridkitContext"
        self.paths, self.kind, self.style, self.pane, self.z = paths, kind, style, pane, z
        self.min_zoom = int(min_zoom)


class ZoomLabels(Layer):
    """Labels ``[lat, lon, text, min_zoom, angle]`` shown from their zoom on (a layer of its own)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function() {
            var map = {{ this._parent.get_name() }}, rows = {{ this.rows|tojson }}, group = L.layerGroup();
            var markers = rows.map(function(r) {
                var icon = L.divIcon({className: "gridkit-ctx-label {{ this.css_class }}",
                                      html: "<span></span>", iconSize: null});
                var m = L.marker([r[0], r[1]], {icon: icon, interactive: false, keyboard: false,
                                               pane: {{ this.pane|tojson }}});
                m.gridkitRow = r;
                return m;
            });
            function update() {
                var z = map.getZoom();
                markers.forEach(function(m) {
                    var r = m.gridkitRow, on = z >= r[3];
                    if (on && !group.hasLayer(m)) { group.addLayer(m); }
                    if (!on && group.hasLayer(m)) { group.removeLayer(m); }
                    var el = m.getElement();
                    if (el && !el.firstChild.textContent) {
                        el.firstChild.textContent = r[2];
                        el.firstChild.style.setProperty("--a", r[4] + "deg");
                    }
                });
            }
            group.on("add", function() { update(); map.on("zoomend", update); });
            group.on("remove", function() { map.off("zoomend", update); });
            return group;
        })();
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]], *, name: str, css_class: str = "", show: bool = True,
                 control: bool = True, pane: str = "markerPane") -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "GridkitLabels"
        self.rows, self.css_class, self.pane = rows, css_class, pane


class NorthArrow(MacroElement):
    """A north arrow (top left, under the zoom buttons; printed)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var arrow = L.control({position: "topleft"});
            arrow.onAdd = function() {
                var div = L.DomUtil.create("div", "gridkit-north leaflet-control");
                div.title = {{ this.title|tojson }};
                div.innerHTML = '<svg width="26" height="40" viewBox="0 0 26 40" role="img" aria-label="N">'
                    + '<text x="13" y="11" text-anchor="middle" font-size="11" font-weight="700">N</text>'
                    + '<polygon points="13,13 21,37 13,31 5,37" fill="#222"/>'
                    + '<polygon points="13,13 13,31 5,37" fill="#fff" stroke="#222" stroke-width="1"/></svg>';
                return div;
            };
            arrow.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, title: str) -> None:
        super().__init__()
        self._name = "GridkitNorthArrow"
        self.title = title


class Notice(MacroElement):
    """A warning over the map, under the title: the data look wrong (see :func:`gridkit.maps.map`)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var box = L.DomUtil.create("div", "gridkit-notice", {{ this._parent.get_name() }}.getContainer());
            box.setAttribute("role", "alert");
            {{ this.lines|tojson }}.forEach(function(line) {
                var p = L.DomUtil.create("div", "", box); p.textContent = "⚠ " + line;
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self._name = "GridkitNotice"
        self.lines = lines
