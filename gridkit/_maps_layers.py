"""Layers of :mod:`gridkit.maps` other than the grids and the heat: statistics, routes, wardens, context.

Each ``add_*`` puts its layer on the map and returns its legend block (HTML, "" for none).
One colour meaning per map: green / orange / red are the tiers' alone; hot spots are magenta
outlines and cold spots teal; routes are purple; wardens blues and greys; context layers greys.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from gridkit._maps_context import (
    building_rings,
    community_labels,
    office_outline,
    outline_paths,
    street_labels,
    street_lines,
)
from gridkit._maps_data import community_outlines, json_ready, lonlat
from gridkit._maps_page import ContextLayer, ZoomLabels
from gridkit._maps_style import BIN_NAMES, OUTLINE_COLOURS, ROLE_COLOURS, ROUTE_COLOUR, legend_rows

__all__ = ["CONTEXT_LAYERS", "add_context", "add_hotspots", "add_kde", "add_routes", "add_wardens",
           "significant_bins"]

#: Context layers from the user's data, drawn under the grids (bottom first).
CONTEXT_LAYERS = ("buildings", "streets", "street_names", "communities", "office")


def significant_bins(spots: pd.DataFrame) -> pd.Series:
    """Gi* confidence bins, 0 where the cell is not significant after the FDR (as the summaries count)."""
    bins = spots["gi_bin"].fillna(0).astype(int) if "gi_bin" in spots.columns else pd.Series(0, index=spots.index)
    if "significant" in spots.columns:
        bins = bins.where(spots["significant"].fillna(False).astype(bool), 0)
    return bins


def add_hotspots(fmap: folium.Map, spots: gpd.GeoDataFrame, labels: dict[str, str], lang: str, *,
                 show: bool, on_grids: bool) -> str:
    """Significant Gi* cells as outlines (hot magenta, cold teal; thicker = more confident).

    Only cells significant after the FDR are drawn, so that the legend counts agree with the title
    and the run summary. On the grid lattice (``on_grids``) the z values are in the grid tooltips
    and the outlines do not catch the mouse; hexagons keep their own tooltips.
    """
    data = lonlat(spots)
    bins = significant_bins(data)
    data = data[bins.to_numpy() != 0]
    bins = bins[bins != 0]
    ident = "grid_id" if "grid_id" in data.columns else "hex_id" if "hex_id" in data.columns else None
    fields = [c for c in (ident, "count", "gi_z", "gi_q", "gi_bin") if c and c in data.columns]
    shown = json_ready(data, fields)
    names = BIN_NAMES["en" if lang == "en" else "zh"]
    shown["_colour"] = bins.map(OUTLINE_COLOURS).to_numpy()
    shown["_weight"] = (1.5 + bins.abs()).to_numpy(dtype=float)
    if "gi_bin" in shown.columns:
        shown["gi_bin"] = bins.map(names).to_numpy()
    layer = folium.GeoJson(
        shown, name=labels["hotspots"], show=show, interactive=not on_grids,
        style_function=lambda f: {"color": f["properties"]["_colour"], "weight": f["properties"]["_weight"],
                                  "fillColor": f["properties"]["_colour"], "fillOpacity": 0.0 if on_grids else 0.12,
                                  "dashArray": "6 4" if f["properties"]["_weight"] < 3.0 else None},
        tooltip=None if on_grids or not fields else
        folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]),
    )
    layer.add_to(fmap)
    items = [(OUTLINE_COLOURS[b], f"{names[b]} ({int((bins == b).sum())})") for b in (3, 2, 1, -1, -2, -3)
             if (bins == b).any()]
    note = "" if items else names[0]
    return legend_rows(items, labels["hotspots"], note=note, layer=layer.get_name(), line=True)


def add_kde(fmap: folium.Map, surface: gpd.GeoDataFrame, labels: dict[str, str], *, show: bool) -> str:
    """Kernel density bands (events per km²) in reds of their own layer, hidden at first."""
    from gridkit.hotspots import kde_bands  # noqa: PLC0415

    bands = lonlat(kde_bands(surface) if "band" not in surface.columns else surface)
    colours = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"]
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


def add_routes(fmap: folium.Map, routes: gpd.GeoDataFrame, labels: dict[str, str], *, show: bool) -> str:
    """Patrol routes in one purple; grids without a route (no geometry) are neither drawn nor counted."""
    data = lonlat(routes)
    data = data[data.geometry.notna() & ~data.geometry.is_empty]
    fields = [c for c in ("grid_id", "warden_id", "length_m", "minutes") if c in data.columns]
    shown = json_ready(data, fields)
    layer = folium.GeoJson(
        shown, name=labels["routes"], show=show,
        style_function=lambda _f: {"color": ROUTE_COLOUR, "weight": 3, "opacity": 0.8},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]) if fields else None,
    )
    layer.add_to(fmap)
    return legend_rows([(ROUTE_COLOUR, f"{len(data)}")], labels["routes"], layer=layer.get_name(), line=True)


def add_wardens(fmap: folium.Map, wardens: Any, labels: dict[str, str], *, show: bool) -> str:
    """Warden stations as circles coloured by role (blues and greys)."""
    data = lonlat(wardens)
    data = data[data.geometry.notna() & ~data.geometry.is_empty]
    fields = [c for c in ("warden_id", "name", "role", "grid_id") if c in data.columns]
    shown = json_ready(data, fields)
    roles = data["role"].astype(str) if "role" in data.columns else pd.Series("full_time", index=data.index)
    if "role" in shown.columns:
        shown["role"] = roles.map(lambda r: labels.get(r, r)).to_numpy()
    shown["_colour"] = roles.map(ROLE_COLOURS).fillna("#444444").to_numpy()
    layer = folium.GeoJson(
        shown, name=labels["wardens"], show=show,
        marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": "#ffffff", "fillColor": f["properties"]["_colour"]},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]) if fields else None,
    )
    layer.add_to(fmap)
    items = [(ROLE_COLOURS[r], f"{labels.get(r, r)} ({int((roles == r).sum())})") for r in ROLE_COLOURS
             if (roles == r).any()]
    return legend_rows(items, labels["wardens"], layer=layer.get_name())


def _outlines(grids: gpd.GeoDataFrame | None, communities: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if communities is not None and "community_id" in communities.columns:
        data = lonlat(communities)
        return data[["community_id", data.geometry.name]].assign(community_id=data["community_id"].astype(str))
    if grids is not None:
        outlines = community_outlines(grids)
        if outlines is not None:
            return outlines.assign(community_id=outlines["community_id"].astype(str))
    return None


def add_context(fmap: folium.Map, labels: dict[str, str], visible: set[str], *, grids: gpd.GeoDataFrame | None,
                communities: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame | None,
                streets: gpd.GeoDataFrame | None, names: dict[str, str]) -> str:
    """Buildings, streets (and their names), community boundaries and names, the office boundary.

    Drawn from the user's own layers on canvases in panes under the grids (z 350-395, the grids'
    overlay pane is 400), not interactive; each is a layer in the layer control. Returns the
    legend block of what is drawn.
    """
    items: list[tuple[str, str]] = []
    if buildings is not None and len(buildings):
        rings = building_rings(lonlat(buildings))
        ContextLayer(rings, name=labels["buildings"], kind="polygon", pane="gridkit-buildings", z=350,
                     style={"color": "#9e9e9e", "weight": 0.6, "fillColor": "#d9d9d9", "fillOpacity": 0.7},
                     show="buildings" in visible).add_to(fmap)
        items.append(("#d9d9d9", labels["buildings"]))
    if streets is not None and len(streets):
        data = lonlat(streets)
        ContextLayer(street_lines(data), name=labels["streets"], kind="line", pane="gridkit-streets", z=360,
                     style={"color": "#8d8d8d", "weight": 2.2, "opacity": 0.9}, show="streets" in visible) \
            .add_to(fmap)
        rows = street_labels(data)
        if rows:
            ZoomLabels(rows, name=labels["street_names"], show="street_names" in visible).add_to(fmap)
        items.append(("#8d8d8d", labels["streets"]))
    outlines = _outlines(grids, communities)
    if outlines is not None and len(outlines):
        ContextLayer(outline_paths(outlines), name=labels["communities"], kind="line", pane="gridkit-communities",
                     z=395,
                     style={"color": "#1a1a1a", "weight": 2.4, "opacity": 0.95},
                     show="communities" in visible).add_to(fmap)
        rows = community_labels(outlines, names)
        ZoomLabels(rows, name=labels["community_names"], css_class="community", show="communities" in visible,
                   control=False).add_to(fmap)
        items.append(("#1a1a1a", labels["communities"]))
        ContextLayer(office_outline(outlines), name=labels["office"], kind="line", pane="gridkit-office", z=396,
                     style={"color": "#000000", "weight": 4, "opacity": 0.9, "dashArray": "10 5"},
                     show="office" in visible).add_to(fmap)
    if not items:
        return ""
    return legend_rows(items, labels["context"], line=True)
