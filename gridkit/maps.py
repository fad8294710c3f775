"""Folium maps of grids.

:func:`grids_map` draws grids coloured by a column (deviation by default) with their codes and a
tooltip per grid, labels in Chinese or English. Offline pages, heat layers, hot spots and routes come
with the incident and route capabilities.
"""

from __future__ import annotations

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np

from gridkit.crs import WGS84

__all__ = ["LABELS", "grids_map"]

LABELS = {
    "zh": {"grid_id": "网格编码", "community_id": "社区", "households": "户数", "population": "人口",
           "area_m2": "面积(m²)", "deviation": "偏差", "oversize": "超大网格", "grids": "网格",
           "polsby_popper": "紧凑度"},
    "en": {"grid_id": "Grid code", "community_id": "Community", "households": "Households",
           "population": "Population", "area_m2": "Area (m²)", "deviation": "Deviation",
           "oversize": "Oversize", "grids": "Grids", "polsby_popper": "Compactness"},
}


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
    labels = LABELS["en" if lang == "en" else "zh"]
    data = grids.to_crs(WGS84)
    minx, miny, maxx, maxy = data.total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=tiles, control_scale=True)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    values = data[column].astype(float).to_numpy()
    span = float(np.nanmax(np.abs(values))) if len(values) and column == "deviation" else None
    low, high = (-span, span) if span else (float(np.nanmin(values)), float(np.nanmax(values)))
    colours = cm.LinearColormap(["#2c7bb6", "#ffffbf", "#d7191c"], vmin=low, vmax=max(high, low + 1e-9),
                                caption=labels.get(column, column))
    fields = [c for c in ("grid_id", "community_id", "households", "population", "area_m2", "deviation")
              if c in data.columns]
    shown = data[[*fields, "geometry"]].copy()
    shown["_fill"] = [colours(v) for v in values]
    for col in ("deviation", "area_m2"):
        if col in shown.columns:
            shown[col] = shown[col].round(3 if col == "deviation" else 0)
    folium.GeoJson(
        shown,
        name=labels["grids"],
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#333333", "weight": 1,
                                  "fillOpacity": 0.55},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[labels.get(f, f) for f in fields]),
    ).add_to(fmap)
    colours.add_to(fmap)
    folium.LayerControl().add_to(fmap)
    return fmap
