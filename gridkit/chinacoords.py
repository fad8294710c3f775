"""Chinese web-map coordinates: WGS 84, GCJ-02 (国测局坐标, "Mars coordinates") and BD-09 (百度坐标).

Chinese web basemaps (Amap/高德, Tencent/腾讯, Baidu/百度 after its own extra shift) do not draw in
WGS 84: by regulation their tiles are in GCJ-02, an obfuscated, non-linear offset of WGS 84 of up to
~700 m (about 360 m in Chengdu); Baidu adds a second offset on top (BD-09). Data in EPSG:4326 drawn
on such a basemap sits beside the streets. The functions here convert longitude/latitude arrays (degrees) between the
three systems with the published formulas (the same as the ``coordtransform`` and ``eviltransform``
packages), vectorised with numpy.

Outside China
    GCJ-02 is only defined inside China. Following the usual convention, a point outside the
    bounding box ``73.66 < lon < 135.05`` and ``3.86 < lat < 53.55`` (degrees) is returned
    unchanged by **every** function in this module (also the BD-09 ones). The box is a rectangle,
    so parts of neighbouring countries are shifted and Taiwan/Hong Kong are treated as inside, as in
    the reference implementations. Which side of the box a point is on is decided on the *input*
    coordinates of each function.

Accuracy
    :func:`wgs84_to_gcj02` and :func:`gcj02_to_bd09` are the defining formulas. Their inverses
    :func:`gcj02_to_wgs84` and :func:`bd09_to_gcj02` are solved iteratively (fixed-point on the
    forward formula) to better than 1e-9 degree (~0.1 mm), not the common one-step approximation
    that is off by ~0.6 m typically and up to ~4 m.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyproj
import shapely

from gridkit.errors import GridkitError

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "transform_geometries",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Krasovsky 1940 semi-major axis (m) and squared eccentricity, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
#: The bounding box (degrees) inside which GCJ-02/BD-09 shifts are applied.
CHINA_BOX = (73.66, 3.86, 135.05, 53.55)
#: Convergence of the iterative inverses, degrees.
_TOL_DEG = 1e-10
_MAX_ITER = 50

Coords = tuple[Any, Any]


def _as_arrays(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon_a.astype(float, copy=True), lat_a.astype(float, copy=True)


def _out(lon: np.ndarray, lat: np.ndarray) -> Coords:
    if lon.ndim == 0:
        return float(lon), float(lat)
    return lon, lat


def in_china(lon: Any, lat: Any) -> np.ndarray | bool:
    """Return whether points lie in the box where the Chinese offsets apply.

    Parameters
    ----------
    lon, lat
        Longitude and latitude, degrees (scalars or arrays that broadcast).

    Returns
    -------
    numpy.ndarray of bool (or bool for scalars)
        True strictly inside ``73.66 < lon < 135.05, 3.86 < lat < 53.55``; NaN is outside.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    x0, y0, x1, y1 = CHINA_BOX
    inside = (lon_a > x0) & (lon_a < x1) & (lat_a > y0) & (lat_a < y1)
    return bool(inside) if inside.ndim == 0 else inside


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the GCJ-02 offset (degrees) to add to WGS 84 ``lon``/``lat`` (no box test)."""
    x, y = lon - 105.0, lat - 35.0
    six = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += six
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += six
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _bd_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 from GCJ-02 (no box test)."""
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_inverse_step(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one-step (approximate) GCJ-02 from BD-09, used as the iteration's start."""
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: np.ndarray,
    lat: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x, y) == (lon, lat)`` by fixed-point iteration from ``start``."""
    x, y = start
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        err = np.maximum(np.abs(ex), np.abs(ey))
        if not np.any(err > _TOL_DEG):  # NaN compares False: NaN stays NaN and does not loop
            break
    return x, y


def wgs84_to_gcj02(lon: Any, lat: Any) -> Coords:
    """Convert WGS 84 (EPSG:4326) longitude/latitude to GCJ-02.

    Parameters
    ----------
    lon, lat
        WGS 84 longitude and latitude, degrees; scalars or arrays that broadcast.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)`` in degrees, arrays of the broadcast shape (floats for scalar input).
        Points outside China (see the module docstring) are returned unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    inside = np.asarray(in_china(lon_a, lat_a))
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    return _out(np.where(inside, lon_a + dlon, lon_a), np.where(inside, lat_a + dlat, lat_a))


def _gcj_forward(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: Any, lat: Any) -> Coords:
    """Convert GCJ-02 longitude/latitude to WGS 84 (EPSG:4326), exactly (iterative inverse).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude, degrees; scalars or arrays that broadcast.

    Returns
    -------
    tuple
        WGS 84 ``(lon, lat)`` in degrees, such that :func:`wgs84_to_gcj02` of it gives back the
        input to better than 1e-9 degree. Points outside China are returned unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    inside = np.asarray(in_china(lon_a, lat_a))
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    x, y = _invert(_gcj_forward, lon_a, lat_a, (lon_a - dlon, lat_a - dlat))
    return _out(np.where(inside, x, lon_a), np.where(inside, y, lat_a))


def gcj02_to_bd09(lon: Any, lat: Any) -> Coords:
    """Convert GCJ-02 longitude/latitude to Baidu BD-09.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude, degrees.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)`` in degrees. Points outside China are returned unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    inside = np.asarray(in_china(lon_a, lat_a))
    x, y = _bd_forward(lon_a, lat_a)
    return _out(np.where(inside, x, lon_a), np.where(inside, y, lat_a))


def bd09_to_gcj02(lon: Any, lat: Any) -> Coords:
    """Convert Baidu BD-09 longitude/latitude to GCJ-02 (iterative inverse of :func:`gcj02_to_bd09`).

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude, degrees.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)`` in degrees. Points outside China are returned unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    inside = np.asarray(in_china(lon_a, lat_a))
    x, y = _invert(_bd_forward, lon_a, lat_a, _bd_inverse_step(lon_a, lat_a))
    return _out(np.where(inside, x, lon_a), np.where(inside, y, lat_a))


def wgs84_to_bd09(lon: Any, lat: Any) -> Coords:
    """Convert WGS 84 longitude/latitude to Baidu BD-09 (through GCJ-02); outside China unchanged."""
    lon_a, lat_a = _as_arrays(lon, lat)
    inside = np.asarray(in_china(lon_a, lat_a))
    gx, gy = _gcj_forward(lon_a, lat_a)
    x, y = _bd_forward(gx, gy)
    return _out(np.where(inside, x, lon_a), np.where(inside, y, lat_a))


def bd09_to_wgs84(lon: Any, lat: Any) -> Coords:
    """Convert Baidu BD-09 longitude/latitude to WGS 84 (through GCJ-02); outside China unchanged."""
    lon_a, lat_a = _as_arrays(lon, lat)
    inside = np.asarray(in_china(lon_a, lat_a))
    gx, gy = _invert(_bd_forward, lon_a, lat_a, _bd_inverse_step(lon_a, lat_a))
    dlon, dlat = _gcj_delta(gx, gy)
    x, y = _invert(_gcj_forward, gx, gy, (gx - dlon, gy - dlat))
    return _out(np.where(inside, x, lon_a), np.where(inside, y, lat_a))


def transform_geometries(geoms: Any, func: Callable[[Any, Any], Coords]) -> Any:
    """Apply a coordinate function of this module to every vertex of some geometries.

    Parameters
    ----------
    geoms
        A GeoSeries or GeoDataFrame (in a geographic CRS, e.g. EPSG:4326, or with none), a numpy
        array of shapely geometries, or one geometry. Coordinates are longitude/latitude, degrees.
    func
        One of :func:`wgs84_to_gcj02`, :func:`gcj02_to_wgs84`, ... (``func(lon, lat) -> (lon, lat)``).

    Returns
    -------
    Same kind as ``geoms``
        New geometries (Z values are dropped). A GeoSeries/GeoDataFrame keeps its index, columns
        and CRS label: GCJ-02 and BD-09 are not registered CRSs, so shifted data still says
        EPSG:4326 — label the output yourself (gridkit's exports add a ``coord_sys`` field).
    """
    def xy(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])

    if hasattr(geoms, "geometry") and hasattr(geoms, "crs"):
        crs = geoms.crs
        if crs is not None and not pyproj.CRS.from_user_input(crs).is_geographic:
            raise GridkitError(f"Chinese offsets need longitude/latitude, but the data is in {crs.name}; "
                               "reproject to EPSG:4326 first")
        moved = shapely.transform(np.asarray(geoms.geometry.array, dtype=object), xy)
        if hasattr(geoms, "set_geometry") and hasattr(geoms, "columns"):  # GeoDataFrame
            out = geoms.copy()
            out[geoms.geometry.name] = moved
            return out.set_geometry(geoms.geometry.name, crs=crs)
        return type(geoms)(moved, index=geoms.index, crs=crs, name=geoms.name)
    return shapely.transform(geoms, xy)
