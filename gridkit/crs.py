"""Coordinate reference systems.

gridkit does all geometry work in a local metric CRS: the UTM zone of the data's centre (WGS 84 /
UTM, EPSG:326xx north or 327xx south) unless the user names one. Outputs go back to the user's CRS;
GeoJSON always goes to EPSG:4326 (RFC 7946).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj

from gridkit.errors import InputDataError

__all__ = ["WGS84", "local_metric_crs", "to_metric"]

WGS84 = pyproj.CRS.from_epsg(4326)


def local_metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Return the UTM CRS (metres) of the zone holding the centre of ``gdf``.

    Parameters
    ----------
    gdf
        Any geometries with a CRS set.

    Returns
    -------
    pyproj.CRS
        ``WGS 84 / UTM zone NN{N,S}``; if ``gdf`` is already in a projected CRS whose unit is the
        metre, that CRS is returned unchanged.
    """
    if gdf.crs is None:
        raise InputDataError("layer has no CRS; set one (e.g. EPSG:4326) before using gridkit")
    crs = pyproj.CRS.from_user_input(gdf.crs)
    if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in {"metre", "meter"}:
        return crs
    minx, miny, maxx, maxy = gdf.to_crs(WGS84).total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        raise InputDataError("layer has no valid coordinates to choose a metric CRS from")
    lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return pyproj.CRS.from_epsg(epsg)


def to_metric(
    gdf: gpd.GeoDataFrame, crs: pyproj.CRS | str | int | None = None
) -> gpd.GeoDataFrame:
    """Project ``gdf`` to ``crs`` or, when ``crs`` is None, to :func:`local_metric_crs`."""
    target = local_metric_crs(gdf) if crs is None else pyproj.CRS.from_user_input(crs)
    if gdf.crs is not None and pyproj.CRS.from_user_input(gdf.crs) == target:
        return gdf
    return gdf.to_crs(target)
