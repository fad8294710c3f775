"""Maps of a whole city: one offline page per street office (街道) and an index page linking them.

A city of 1,000+ grids on one page would weigh 40–250 MB; a street office's page (its grids,
incidents, routes, wardens and its own streets, buildings and communities) stays within a limit
(15 MB by default). The office of a grid is taken from, in order: the ``by`` column of the grids,
the same column of the communities (joined on ``community_id``), or the first 9 digits of a
15-digit grid code (6 district + 3 street digits).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely

from gridkit._maps_data import lonlat
from gridkit._maps_page import PageStyle
from gridkit.crs import to_metric
from gridkit.errors import GridkitError, GridkitWarning

__all__ = ["office_keys", "save_office_maps"]

#: Limit of one page, bytes (issue: a city page ≤ 15 MB).
PAGE_LIMIT_MB = 15.0


def office_keys(grids: pd.DataFrame, communities: pd.DataFrame | None = None, by: str = "street_office") -> pd.Series:
    """The street office of each grid (see the module docstring); ``"all"`` when nothing tells."""
    if by in grids.columns:
        return grids[by].astype(str)
    if communities is not None and by in communities.columns and "community_id" in grids.columns:
        lookup = dict(zip(communities["community_id"].astype(str), communities[by].astype(str), strict=False))
        return grids["community_id"].astype(str).map(lookup).fillna("all")
    if "grid_id" in grids.columns:
        ids = grids["grid_id"].astype(str)
        if ids.str.fullmatch(r"\d{15}").all():
            return ids.str[:9]
    return pd.Series("all", index=grids.index)


def _slug(key: str) -> str:
    return re.sub(r"[^\w.-]+", "_", key).strip("_") or "office"


def _near(layer: Any, area: Any) -> Any:
    """The features of ``layer`` (any CRS) that meet ``area`` (a lon/lat polygon), by the spatial index."""
    if layer is None:
        return None
    data = lonlat(layer)
    return data.iloc[data.sindex.query(area, predicate="intersects")]


def _by_grid(layer: Any, ids: set[str]) -> Any:
    if layer is None:
        return None
    frame = layer
    if "grid_id" not in getattr(frame, "columns", []):
        return frame
    return frame[frame["grid_id"].astype(str).isin(ids)]


def _incidents(incidents: Any, ids: set[str], area: Any) -> Any:
    points = incidents.incidents if hasattr(incidents, "quality") else incidents
    if points is None:
        return None
    if "grid_id" in points.columns:
        return points[points["grid_id"].astype(str).isin(ids)]
    return _near(points, area)


def save_office_maps(  # noqa: PLR0913
    folder: str | os.PathLike[str],
    grids: gpd.GeoDataFrame,
    incidents: Any = None,
    hotspots: gpd.GeoDataFrame | None = None,
    routes: gpd.GeoDataFrame | None = None,
    wardens: Any = None,
    *,
    communities: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    by: str = "street_office",
    names: dict[str, str] | None = None,
    lang: str = "zh",
    limit_mb: float = PAGE_LIMIT_MB,
    **options: Any,
) -> list[Path]:
    """Write ``folder/index.html`` and one offline page per street office; return the pages written.

    Parameters
    ----------
    folder
        Output folder (created).
    grids, incidents, hotspots, routes, wardens, communities, buildings, streets
        As for :func:`gridkit.maps.map`, for the whole city; each page gets its office's part.
    by
        The column naming each grid's (or community's) street office.
    names
        Display names of the offices (key -> name); default the key.
    limit_mb
        A page above this size is written again without building outlines (the heaviest context
        layer), with a warning; one still above it is an error.
    **options
        Passed to :func:`gridkit.maps.map` (``column``, ``sla``, ``time_slider`` ...).
    """
    import warnings  # noqa: PLC0415

    from gridkit.maps import map as district_map  # noqa: PLC0415
    from gridkit.maps import save_map  # noqa: PLC0415

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    keys = office_keys(grids, communities, by)
    names = names or {}
    pages: list[Path] = []
    index_rows = []
    for key in sorted(keys.unique()):
        part = grids[(keys == key).to_numpy()]
        ids = set(part["grid_id"].astype(str))
        area = shapely.union_all(lonlat(part).geometry.to_numpy()).buffer(1e-4)
        own = communities[communities["community_id"].astype(str).isin(set(part["community_id"].astype(str)))] \
            if communities is not None and "community_id" in part.columns else None
        layers = {"incidents": _incidents(incidents, ids, area), "hotspots": _by_grid(hotspots, ids),
                  "routes": _by_grid(routes, ids), "wardens": _by_grid(wardens, ids)}
        context = {"communities": own, "buildings": _near(buildings, area), "streets": _near(streets, area)}
        title = names.get(key, key)
        path = out / f"{_slug(key)}.html"
        for attempt in ("full", "no_buildings"):
            if attempt == "no_buildings":
                context["buildings"] = None
                warnings.warn(f"office {key}: the page is above {limit_mb:g} MB; written without building outlines",
                              GridkitWarning, stacklevel=2)
            save_map(district_map(part, lang=lang, title=title, **layers, **context, **options), path)
            size_mb = path.stat().st_size / 1e6
            if size_mb <= limit_mb:
                break
        else:
            raise GridkitError(f"office {key}: the page is {size_mb:.1f} MB, above {limit_mb:g} MB even without "
                               "building outlines; split the office (a finer `by` column)")
        pages.append(path)
        index_rows.append({"office": key, "name": title, "page": path.name, "grids": len(part),
                           "households": int(part["households"].sum()) if "households" in part.columns else None,
                           "geometry": area})
    _write_index(out / "index.html", gpd.GeoDataFrame(index_rows, crs="EPSG:4326"), lang)
    return pages


def heading_of(zh: bool) -> str:
    """The index page's title."""
    return "街道网格地图索引" if zh else "Street office maps"


def _write_index(path: Path, offices: gpd.GeoDataFrame, lang: str) -> None:
    """A map of the offices' outlines, each linking to its page, and the same links as a list."""
    from gridkit.maps import save_map  # noqa: PLC0415

    metric = to_metric(offices)
    simple = offices.set_geometry(metric.geometry.simplify(5.0).to_crs("EPSG:4326").to_numpy())
    minx, miny, maxx, maxy = simple.total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    PageStyle().add_to(fmap)
    zh = lang != "en"
    from folium.utilities import JsCode  # noqa: PLC0415

    shown = simple.assign(label=[f"{r.name} · {r.grids} {'个网格' if zh else 'grids'}" for r in simple.itertuples()])
    folium.GeoJson(shown[["label", "page", "geometry"]], name=heading_of(zh),
                   style_function=lambda _f: {"color": "#111111", "weight": 2, "fillColor": "#9ecae1",
                                              "fillOpacity": 0.35},
                   tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
                   on_each_feature=JsCode("function(feature, layer) { layer.on('click', function() { "
                                          "window.location.href = encodeURI(feature.properties.page); }); }"),
                   ).add_to(fmap)
    items = "".join(f'<li><a href="{html.escape(r.page)}">{html.escape(str(r.name))}</a> ({r.grids})</li>'
                    for r in simple.itertuples())
    heading = heading_of(zh)
    fmap.get_root().html.add_child(folium.Element(
        f'<div class="gridkit-title" style="position:absolute;top:10px;left:60px;z-index:1000;background:#fff;'
        f'padding:6px 12px;border-radius:4px;max-height:80vh;overflow:auto"><b>{heading}</b><ul>{items}</ul></div>'))
    save_map(fmap, path)
