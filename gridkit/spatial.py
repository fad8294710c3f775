"""Spatial rules shared by every stage: which polygon holds a point, a building's representative point.

One rule, one place: the partition (building → community), regeneration (building → previous grid),
wardens (building → grid), incidents (incident → grid), routes (stop → grid) and the maps all ask
:func:`polygon_holding`, so a point on a shared boundary lands in the same polygon everywhere.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["polygon_holding", "representative_points"]


def representative_points(geoms: np.ndarray) -> np.ndarray:
    """Return a point guaranteed inside each geometry (the point itself for points).

    Parameters
    ----------
    geoms
        Array of shapely geometries (polygons or points), any CRS.

    Returns
    -------
    numpy.ndarray
        Array of shapely points in the same CRS.
    """
    geoms = np.asarray(geoms, dtype=object)
    points = shapely.point_on_surface(geoms)
    return np.where(shapely.get_type_id(geoms) == shapely.GeometryType.POINT, geoms, points)


def polygon_holding(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Return the position of the polygon that holds each point, or -1 where none does.

    A point holds to a polygon that *covers* it (interior or boundary), so a point exactly on a grid's
    edge is never dropped. Where a point lies on the boundary shared by several polygons (or in an
    overlap), the lowest position wins, the same for every caller.

    Parameters
    ----------
    points
        Array of shapely points; missing (``None``) or empty points get -1.
    polygons
        Array of shapely polygons in the same CRS as ``points``.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of polygon positions (0-based), one per point.

    Examples
    --------
    >>> import shapely
    >>> squares = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    >>> polygon_holding([shapely.Point(1, 0.5), shapely.Point(3, 3)], squares).tolist()
    [0, -1]
    """
    points = np.asarray(points, dtype=object)
    result = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(polygons) == 0:
        return result
    usable = ~(shapely.is_missing(points) | shapely.is_empty(points))
    if not usable.any():
        return result
    where = np.flatnonzero(usable)
    point_idx, poly_idx = shapely.STRtree(np.asarray(polygons, dtype=object)).query(
        points[where], predicate="intersects"
    )
    if len(point_idx):
        # lowest polygon position first per point, then keep the first hit of each point
        order = np.lexsort((poly_idx, point_idx))
        point_idx, poly_idx = point_idx[order], poly_idx[order]
        lead = np.r_[True, point_idx[1:] != point_idx[:-1]]
        result[where[point_idx[lead]]] = poly_idx[lead]
    return result
