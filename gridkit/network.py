"""Street networks as lines.

This module turns a street layer (lines in any CRS) into the plain, noded line work that the other
modules build on. OSM XML and PBF readers and the walking graph come with the patrol routes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["node_lines", "street_lines"]


def street_lines(streets: gpd.GeoDataFrame | None, crs: object) -> np.ndarray:
    """Return the street centrelines of ``streets`` in ``crs`` as an array of single LineStrings.

    Parameters
    ----------
    streets
        Street lines (LineString or MultiLineString) in any CRS, or None for no streets.
    crs
        The (metric) CRS to project to.

    Returns
    -------
    numpy.ndarray
        Object array of LineStrings; empty when there are no streets.
    """
    if streets is None or len(streets) == 0:
        return np.empty(0, dtype=object)
    geoms = streets.to_crs(crs).geometry.to_numpy()
    parts = shapely.get_parts(geoms)
    parts = parts[shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING]
    return parts[~shapely.is_empty(parts) & (shapely.length(parts) > 0)]


def node_lines(lines: np.ndarray) -> np.ndarray:
    """Split ``lines`` at every crossing and shared point (noding), returning single LineStrings.

    Real street data is rarely noded (OSM roads cross without a shared vertex at bridges and in
    exports that cut ways); polygonizing or routing needs every crossing to be a vertex.
    """
    lines = lines[~shapely.is_empty(lines)] if len(lines) else lines
    if len(lines) == 0:
        return np.empty(0, dtype=object)
    # a unary union of line work nodes it and merges duplicated segments; GEOS's node() crashes on
    # some real inputs (GEOS 3.14), the union does not
    return shapely.get_parts(shapely.union_all(lines))
