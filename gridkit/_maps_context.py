"""Context layers of :mod:`gridkit.maps` from the user's own data (no drawing: nothing here imports folium).

Streets (with a name label per named street, shown from the zoom where the name fits along it),
building outlines, community boundaries with their names, and the street office's boundary. Each
is turned into compact arrays of ``[lat, lon]`` (rounded to 6 decimals, about 0.1 m) for the
canvas layers of :mod:`gridkit._maps_page`; labels into ``[lat, lon, text, min_zoom, angle]``.

Grid labels read at every zoom: ``锦里 07`` (the community's short name and the grid's sequence)
where that fits, the sequence alone where only it fits; the full code is in the tooltip.
"""

from __future__ import annotations

import math
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import WGS84, to_metric

__all__ = ["EARTH_CIRCUMFERENCE_M", "building_rings", "community_labels", "community_names", "grid_label_texts",
           "office_outline", "outline_paths", "short_name", "street_labels", "street_lines"]

EARTH_CIRCUMFERENCE_M = 40075016.686
#: Width of one label character in pixels (CJK at 12 px; Latin letters take about half).
_CHAR_PX = 12.0
_SUFFIXES = re.compile(r"(社区居民委员会|居民委员会|社区|居委会|村民委员会)$")


def _char_px(text: str) -> float:
    return sum(_CHAR_PX if ord(ch) > 0x2E80 else 0.6 * _CHAR_PX for ch in text) + 8.0


def min_zoom_for(length_m: np.ndarray, text_px: np.ndarray, lat: float) -> np.ndarray:
    """The lowest web-mercator zoom at which ``text_px`` pixels cover at most ``length_m`` metres."""
    with np.errstate(divide="ignore", invalid="ignore"):
        zoom = np.log2(EARTH_CIRCUMFERENCE_M * math.cos(math.radians(lat)) * text_px / np.maximum(length_m, 1e-3)) - 8
    return np.ceil(np.nan_to_num(zoom, nan=30.0))


def short_name(name: Any) -> str:
    """A community's name without the 社区 / 居委会 suffix (``锦里社区`` -> ``锦里``; ``青杠村`` stays)."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return ""
    text = str(name).strip()
    stripped = _SUFFIXES.sub("", text)
    return stripped or text


def community_names(grids: pd.DataFrame, communities: gpd.GeoDataFrame | None, lang: str = "zh") -> pd.Series:
    """Community name per grid (``community_name`` of the grids, else looked up in ``communities``)."""
    if "community_name" in grids.columns:
        return grids["community_name"].astype(object).where(grids["community_name"].notna(), None)
    if communities is None or "community_id" not in grids.columns or "community_id" not in communities.columns:
        return pd.Series([None] * len(grids), index=grids.index, dtype=object)
    column = "name_en" if lang == "en" and "name_en" in communities.columns else "name"
    if column not in communities.columns:
        return pd.Series([None] * len(grids), index=grids.index, dtype=object)
    lookup = dict(zip(communities["community_id"].astype(str), communities[column], strict=False))
    return grids["community_id"].astype(str).map(lookup).astype(object)


def grid_label_texts(grids: pd.DataFrame, names: pd.Series) -> tuple[list[str], list[str]]:
    """Per grid the long label (community short name + sequence) and the short one (the sequence)."""
    if "seq" in grids.columns:
        seq = pd.to_numeric(grids["seq"], errors="coerce")
    else:
        ids = grids["grid_id"].astype(str) if "grid_id" in grids.columns else pd.Series("", index=grids.index)
        seq = pd.to_numeric(ids.str.extract(r"(\d{1,4})$")[0], errors="coerce")
    width = max(2, len(str(int(seq.max())))) if seq.notna().any() else 2
    short = [f"{int(s):0{width}d}" if pd.notna(s) else str(g) for s, g in
             zip(seq, grids.get("grid_id", pd.Series([""] * len(grids))), strict=True)]
    long = [f"{short_name(n)} {s}" if short_name(n) else s for n, s in zip(names, short, strict=True)]
    return long, short


def _round(coords: np.ndarray) -> list[list[float]]:
    """``[[lat, lon], ...]`` rounded to 6 decimals, from ``(n, 2)`` lon/lat."""
    return np.round(coords[:, ::-1], 6).tolist()


def outline_paths(layer: gpd.GeoDataFrame) -> list[list[list[float]]]:
    """The exterior rings of a polygon layer in EPSG:4326 as ``[lat, lon]`` paths."""
    parts = shapely.get_parts(layer.geometry.to_numpy())
    parts = parts[shapely.get_type_id(parts) == 3]
    return [_round(shapely.get_coordinates(shapely.get_exterior_ring(p))) for p in parts]


def street_lines(streets: gpd.GeoDataFrame, *, simplify_m: float = 0.5) -> list[list[list[float]]]:
    """Street centrelines as ``[lat, lon]`` paths, simplified by ``simplify_m`` metres."""
    metric = to_metric(streets[[streets.geometry.name]])
    geoms = shapely.simplify(metric.geometry.to_numpy(), simplify_m)
    parts = shapely.get_parts(geoms[~shapely.is_empty(geoms) & shapely.is_valid_input(geoms)])
    parts = parts[shapely.get_type_id(parts) == 1]
    lonlat = gpd.GeoSeries(parts, crs=metric.crs).to_crs(WGS84).to_numpy()
    return [_round(shapely.get_coordinates(line)) for line in lonlat]


def building_rings(buildings: gpd.GeoDataFrame, *, simplify_m: float = 0.3) -> list[list[list[float]]]:
    """Building outlines (exterior rings, points skipped) as ``[lat, lon]`` rings."""
    geoms = buildings.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not polygonal.any():
        return []
    metric = to_metric(gpd.GeoDataFrame(geometry=geoms[polygonal], crs=buildings.crs))
    parts = shapely.get_parts(shapely.simplify(metric.geometry.to_numpy(), simplify_m))
    rings = shapely.get_exterior_ring(parts[shapely.get_type_id(parts) == 3])
    lonlat = gpd.GeoSeries(rings, crs=metric.crs).to_crs(WGS84).to_numpy()
    return [_round(shapely.get_coordinates(ring)) for ring in lonlat if not ring.is_empty]


def street_labels(streets: gpd.GeoDataFrame, *, column: str = "name", min_zoom: int = 16,
                  max_zoom: int = 19) -> list[list[Any]]:
    """One label per street name: ``[lat, lon, name, zoom, angle°]`` on its longest stretch.

    ``zoom`` is the lowest zoom (at least ``min_zoom``) at which the name fits along that stretch;
    ``angle`` turns the text along the street (clockwise on screen, kept within ±90° so it reads).
    Streets without a name (missing, empty, ``nan``) get no label.
    """
    if column not in streets.columns or not len(streets):
        return []
    names = streets[column].astype(object)
    named = names.notna() & ~names.astype(str).str.strip().str.lower().isin({"", "nan", "none", "null"})
    if not named.any():
        return []
    metric = to_metric(streets.loc[named, [column, streets.geometry.name]])
    out_points, texts, lengths, angles = [], [], [], []
    for name, part in metric.groupby(column, sort=True):
        merged = shapely.line_merge(shapely.union_all(part.geometry.to_numpy()))
        pieces = shapely.get_parts(merged)
        pieces = pieces[shapely.get_type_id(pieces) == 1]
        if not len(pieces):
            continue
        longest = pieces[int(np.argmax(shapely.length(pieces)))]
        length = float(longest.length)
        a, b = longest.interpolate(0.45, normalized=True), longest.interpolate(0.55, normalized=True)
        angle = -math.degrees(math.atan2(b.y - a.y, b.x - a.x))  # screen y grows downwards
        angle = (angle + 90) % 180 - 90
        out_points.append(longest.interpolate(0.5, normalized=True))
        texts.append(str(name).strip())
        lengths.append(length)
        angles.append(round(angle, 1))
    if not texts:
        return []
    points = gpd.GeoSeries(out_points, crs=metric.crs).to_crs(WGS84)
    lat0 = float(points.y.mean())
    zooms = np.clip(min_zoom_for(np.asarray(lengths), np.array([_char_px(t) for t in texts]), lat0),
                    min_zoom, max_zoom)
    return [[round(float(p.y), 6), round(float(p.x), 6), t, int(z), a]
            for p, t, z, a in zip(points, texts, zooms, angles, strict=True)]


def community_labels(outlines: gpd.GeoDataFrame, names: dict[str, str]) -> list[list[Any]]:
    """A name label per community at a point well inside it: ``[lat, lon, name, 0, 0]``."""
    if outlines is None or not len(outlines):
        return []
    metric = to_metric(outlines)
    # the centre of the largest inscribed circle reads better than a centroid in an L-shaped community
    centres = [shapely.maximum_inscribed_circle(g, tolerance=5.0).coords[0] if not g.is_empty else (np.nan, np.nan)
               for g in metric.geometry]
    points = gpd.GeoSeries(gpd.points_from_xy(*np.array(centres).T), crs=metric.crs).to_crs(WGS84)
    out = []
    for cid, point in zip(outlines["community_id"].astype(str), points, strict=True):
        name = names.get(cid) or cid
        if point.is_empty or not np.isfinite(point.x):
            continue
        out.append([round(float(point.y), 6), round(float(point.x), 6), str(name), 0, 0])
    return out


def office_outline(layer: gpd.GeoDataFrame) -> list[list[list[float]]]:
    """The outer boundary of everything in ``layer`` (the street office) as ``[lat, lon]`` rings."""
    metric = to_metric(layer[[layer.geometry.name]])
    union = shapely.union_all(shapely.buffer(metric.geometry.to_numpy(), 1.0)).buffer(-1.0).simplify(1.0)
    rings = [shapely.get_exterior_ring(p) for p in shapely.get_parts(union) if p.geom_type == "Polygon"]
    lonlat = gpd.GeoSeries(rings, crs=metric.crs).to_crs(WGS84)
    return [_round(shapely.get_coordinates(r)) for r in lonlat if not r.is_empty]
