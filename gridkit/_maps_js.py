"""Leaflet controls of :mod:`gridkit.maps` as folium MacroElements (plain JavaScript, no d3, no CDN).

* :class:`Legend`: a legend whose blocks follow their layers (a block hides while its layer is off);
* :class:`Title`: title and subtitle at the top of the map;
* :class:`GridLabels`: grid labels at the grids' label points, shown where they fit at the zoom
  (community name and sequence when the grid is wide enough on screen, the sequence when only it fits);
* :class:`HeatStyle`: the heat layer's radius in metres (so it follows the zoom) and its colour
  scale set from the cells it draws (the densest 1 % saturate), at reduced opacity;
* :class:`TimeSlider`: a slider over periods that filters the heat layer and recolours the grids
  by the period's counts and tiers, with the tooltips and the legend following.
"""

from __future__ import annotations

from typing import Any

from branca.element import MacroElement
from jinja2 import Template

CSS = """
.gridkit-label{pointer-events:none}
.gridkit-label span{position:absolute;transform:translate(-50%,-50%);white-space:nowrap;font:600 11px/1 sans-serif;
  color:#1a1a1a;text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff,0 0 4px #fff}
.gridkit-title{position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:1000;background:rgba(255,255,255,.92);
  padding:6px 14px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:15px/1.35 sans-serif;text-align:center;
  pointer-events:none;max-width:70%}
.gridkit-title .sub{font-size:12px;color:#555}
.gridkit-legend{background:#fff;padding:6px 8px;font:12px/1.4 sans-serif;border-radius:4px;
  box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:260px;max-height:60vh;overflow:auto}
"""


class Style(MacroElement):
    """The CSS of the gridkit controls, once per page."""

    _template = Template("{% macro header(this, kwargs) %}<style>" + CSS + "</style>{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridkitStyle"


class Legend(MacroElement):
    """A legend as a Leaflet control; blocks with ``data-layer`` hide while that layer is off."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "gridkit-legend leaflet-control");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
            function sync() {
                legend.getContainer().querySelectorAll("[data-layer]").forEach(function(block) {
                    var layer = window[block.getAttribute("data-layer")];
                    block.style.display = layer && map.hasLayer(layer) ? "" : "none";
                });
            }
            map.on("layeradd layerremove", sync);
            sync();
        })();
        {% endmacro %}
    """)

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "GridkitLegend"
        self.html = html


class Title(MacroElement):
    """Title and subtitle over the map (not a Leaflet control: centred at the top)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var box = L.DomUtil.create("div", "gridkit-title", {{ this._parent.get_name() }}.getContainer());
            var head = L.DomUtil.create("div", "head", box);
            head.textContent = {{ this.title|tojson }};
            var sub = L.DomUtil.create("div", "sub", box);
            sub.textContent = {{ this.subtitle|tojson }};
            {% if this.date %}var date = L.DomUtil.create("div", "date", box);
            date.textContent = {{ this.date|tojson }};{% endif %}
        })();
        {% endmacro %}
    """)

    def __init__(self, title: str, subtitle: str, date: str = "") -> None:
        super().__init__()
        self._name = "GridkitTitle"
        self.title, self.subtitle, self.date = title, subtitle, date


class GridLabels(MacroElement):
    """Grid labels in ``group``, from the grid features' ``_lx``/``_ly``/``_sz``/``_ll``/``_ls`` properties.

    ``_sz`` is the grid's width in metres, ``_ll`` the long label (community name and sequence),
    ``_ls`` the short one (the sequence): the long label shows where it fits on screen at the zoom,
    else the short one where it fits, else nothing. The full code is in the tooltip.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }}, grids = {{ this.grids }}, group = {{ this.group }};
            var labels = [];
            grids.eachLayer(function(layer) {
                var p = layer.feature.properties;
                if (p._lx === null || p._lx === undefined) { return; }
                var icon = L.divIcon({className: "gridkit-label", html: "<span></span>", iconSize: null});
                var marker = L.marker([p._ly, p._lx], {icon: icon, interactive: false, keyboard: false});
                labels.push({marker: marker, full: String(p._ll), short: String(p._ls), size: p._sz});
                marker.addTo(group);
            });
            function width(t) {  // CJK characters are about twice as wide as digits
                var w = 6;
                for (var i = 0; i < t.length; i++) { w += t.charCodeAt(i) > 0x2e80 ? 11 : 6.5; }
                return w;
            }
            function update() {
                var c = map.getCenter();
                var mpp = 40075016.686 * Math.cos(c.lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
                labels.forEach(function(l) {
                    var px = l.size / mpp;
                    var text = px >= width(l.full) ? l.full : px >= width(l.short) ? l.short : "";
                    var el = l.marker.getElement();
                    if (el) { el.firstChild.textContent = text; }
                });
            }
            map.on("zoomend", update);
            group.on("add", update);
            update();
        })();
        {% endmacro %}
    """)

    def __init__(self, grids: str, group: str) -> None:
        super().__init__()
        self._name = "GridkitGridLabels"
        self.grids, self.group = grids, group


class HeatStyle(MacroElement):
    """The heat layer's radius in metres at every zoom, its scale from the cells drawn, its opacity."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }}, heat = {{ this.heat }};
            heat.options.max = 1e12;  // a cell's weight is not clipped; the scale is set per drawing below
            function tune() {
                var c = map.getCenter();
                var mpp = 40075016.686 * Math.cos(c.lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
                var r = Math.max({{ this.min_px }}, Math.min({{ this.max_px }}, {{ this.radius_m }} / mpp));
                if (Math.abs(r - heat.options.radius) > 0.5) { heat.setOptions({radius: r, blur: 0.9 * r}); }
            }
            function hook() {
                var h = heat._heat;
                if (!h || h.gridkitScaled) { return; }
                h.gridkitScaled = true;
                var data = h.data;
                h.data = function(cells) {  // the densest {{ this.top }} of the cells drawn saturate
                    var v = cells.map(function(x) { return x[2]; }).sort(function(a, b) { return a - b; });
                    var q = v.length ? v[Math.floor({{ 1 - this.top }} * (v.length - 1))] : 1;
                    h.max(Math.max(q * {{ this.overlap }}, 1e-12));
                    return data.call(h, cells);
                };
                heat._canvas.style.opacity = {{ this.opacity }};
            }
            heat.on("add", function() { hook(); tune(); heat.redraw(); });
            map.on("zoomend", tune);
            if (map.hasLayer(heat)) { hook(); tune(); heat.redraw(); }
        })();
        {% endmacro %}
    """)

    def __init__(self, heat: str, radius_m: float, *, opacity: float = 0.75, top: float = 0.01,
                 overlap: float = 1.3, min_px: float = 5.0, max_px: float = 40.0) -> None:
        super().__init__()
        self._name = "GridkitHeatStyle"
        self.heat, self.radius_m, self.opacity = heat, round(float(radius_m), 1), opacity
        self.top, self.overlap, self.min_px, self.max_px = top, overlap, min_px, max_px


class TimeSlider(MacroElement):
    """A slider over periods (0 = all): the heat shows the period's incidents, the grids its colours.

    ``heat`` is the heat layer's name (or None) with its points sorted by period, ``starts`` and
    ``ends`` each period's slice of them; ``grids`` is the payload of :func:`gridkit.maps._period_payload` (or None).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var heat = {{ this.heat or "null" }};
            var all = heat ? heat._latlngs.slice() : null;
            var starts = {{ this.starts|tojson }}, ends = {{ this.ends|tojson }};
            var labels = {{ this.labels|tojson }}, totals = {{ this.totals|tojson }};
            var g = {{ this.grids|tojson }};
            var grids = g ? window[g.layer] : null, current = 0, originals = {};
            if (grids) {
                var base = grids.options.style;
                grids.options.style = function(f) {
                    var s = Object.assign({}, base(f));
                    if (current > 0 && g.codes) {
                        var c = g.codes[current - 1].charCodeAt(f.properties._i) - 48;
                        s.fillColor = c >= 0 && c < g.palette.length ? g.palette[c] : g.missing;
                    }
                    return s;
                };
            }
            function recolour(k) {
                var fields = Object.keys(g.values);
                grids.eachLayer(function(layer) {
                    var p = layer.feature.properties, i = p._i;
                    if (!(i in originals)) {
                        originals[i] = {tier: p.tier, period: p.period};
                        fields.forEach(function(f) { originals[i][f] = p[f]; });
                    }
                    var o = originals[i];
                    if (k == 0) {
                        p.tier = o.tier; p.period = o.period;
                        fields.forEach(function(f) { p[f] = o[f]; });
                        return;
                    }
                    p.period = labels[k - 1];
                    fields.forEach(function(f) { p[f] = g.values[f][k - 1][i]; });
                    if (g.tiers) { p.tier = g.tierNames[g.tiers[k - 1].charCodeAt(i) - 48]; }
                });
                grids.setStyle(grids.options.style);
                var block = document.querySelector(".gridkit-legend-grids");
                if (block && g.legends) { block.innerHTML = k == 0 ? g.legendAll : g.legends[k - 1]; }
            }
            var control = L.control({position: "bottomleft"});
            control.onAdd = function() {
                var div = L.DomUtil.create("div", "gridkit-time-slider leaflet-control");
                div.style.cssText = "background:#fff;padding:6px 8px;font:12px sans-serif;border-radius:4px;"
                    + "box-shadow:0 1px 4px rgba(0,0,0,.3)";
                var caption = L.DomUtil.create("div", "", div);
                var input = L.DomUtil.create("input", "", div);
                input.type = "range"; input.min = 0; input.max = labels.length; input.value = 0;
                input.style.width = "240px";
                function show(k) {
                    current = k;
                    if (heat) {
                        heat.setLatLngs(k == 0 ? all : all.slice(starts[k - 1], ends[k - 1]));
                        if (heat._map && heat._heat) {  // draw now, not on the next animation frame
                            L.Util.cancelAnimFrame(heat._frame);
                            heat._frame = null;
                            heat._redraw();
                        }
                    }
                    if (grids) { recolour(k); }
                    caption.textContent = {{ this.title|tojson }} + ": " + (k == 0 ? {{ this.all_label|tojson }}
                        : labels[k - 1]) + " (" + (k == 0 ? totals[0] : totals[k]) + ")";
                }
                input.addEventListener("input", function() { show(parseInt(input.value, 10)); });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                show(0);
                return div;
            };
            control.addTo(map);
        })();
        {% endmacro %}
    """)

    def __init__(self, heat: str | None, labels: list[str], starts: list[int], ends: list[int], totals: list[int],
                 grids: dict[str, Any] | None, title: str, all_label: str) -> None:
        super().__init__()
        self._name = "GridkitTimeSlider"
        self.heat, self.labels, self.starts, self.ends = heat, labels, starts, ends
        self.totals, self.grids = totals, grids
        self.title, self.all_label = title, all_label
