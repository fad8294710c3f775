"""Hot spots and density surfaces of incidents, in metres.

:func:`hotspots` computes the Getis-Ord Gi* statistic on grid counts (neighbours: grids that share a
boundary or a corner, plus the grid itself) or on a hexagon lattice laid over the incidents, with
normal p-values, Benjamini-Hochberg false-discovery-rate (FDR) correction and the usual confidence
bins ±3 / ±2 / ±1 (99 / 95 / 90 %). The z-scores are those of ``esda.G_Local(star=True)`` with binary
weights (``transform="B"``) on the same neighbours.

:func:`kde_surface` is a Gaussian kernel density surface (incidents per km²) on square cells in a
local metric CRS, with the bandwidth rule documented there. A heat layer in a browser is a picture;
these are the statistics to show as layers.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage, sparse, stats

from gridkit.crs import to_metric
from gridkit.errors import InputDataError
from gridkit.spatial import polygon_holding

__all__ = ["bandwidth_rule", "benjamini_hochberg", "contiguity_weights", "getis_ord_star", "hex_lattice",
           "hotspots", "kde_bands", "kde_surface"]

#: Confidence levels of the bins ±3, ±2, ±1.
BIN_LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))


def contiguity_weights(polygons: gpd.GeoSeries | gpd.GeoDataFrame, *, tolerance_m: float = 0.01) -> sparse.csr_matrix:
    """Binary queen contiguity (shared edge or corner, within ``tolerance_m`` metres), no self-links.

    Returns
    -------
    scipy.sparse.csr_matrix
        Symmetric n × n matrix of 0/1.
    """
    geoms = to_metric(gpd.GeoDataFrame(geometry=gpd.GeoSeries(polygons.geometry if hasattr(polygons, "geometry")
                                                                else polygons))).geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = left != right
    n = len(geoms)
    w = sparse.csr_matrix((np.ones(keep.sum()), (left[keep], right[keep])), shape=(n, n))
    w = ((w + w.T) > 0).astype(float)
    return w.tocsr()


def getis_ord_star(values: np.ndarray, weights: sparse.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* z-scores and two-sided normal p-values.

    Parameters
    ----------
    values
        One value per unit (incident counts).
    weights
        n × n weights *without* self-links; Gi* adds ``w_ii = 1`` (binary Gi*, Getis & Ord 1995).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``z`` and ``p = 2 (1 - Φ(|z|))``; NaN where the values have no spread.
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    w = sparse.csr_matrix(weights, dtype=float)
    w = w - sparse.diags(w.diagonal()) + sparse.identity(n, format="csr")
    mean = x.mean() if n else np.nan
    spread = np.sqrt((x**2).mean() - mean**2) if n else np.nan
    w_sum = np.asarray(w.sum(axis=1)).ravel()
    w_sq = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = spread * np.sqrt((n * w_sq - w_sum**2) / (n - 1))
        z = (w @ x - w_sum * mean) / denom
    z = np.where(np.isfinite(z), z, np.nan)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return z, p


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    values = np.empty(m)
    values[order] = np.clip(ranked, 0, 1)
    q[ok] = values
    return q


def hex_lattice(
    points: gpd.GeoDataFrame | gpd.GeoSeries, *, size_m: float | None = None, area: Any = None
) -> gpd.GeoDataFrame:
    """Pointy-top hexagons of circumradius ``size_m`` metres covering the points (or ``area``).

    ``size_m`` defaults to the radius that lays about 1,000 hexagons over the bounding box,
    no smaller than 25 m. With ``area`` (polygons), only hexagons meeting it are kept.
    Returns hexagons in the local metric CRS with ``hex_id``.
    """
    metric = to_metric(gpd.GeoDataFrame(geometry=gpd.GeoSeries(points.geometry)))
    crs = metric.crs
    if area is not None:
        area_geoms = gpd.GeoSeries(area.geometry if hasattr(area, "geometry") else area).to_crs(crs)
        minx, miny, maxx, maxy = area_geoms.total_bounds
    else:
        area_geoms = None
        minx, miny, maxx, maxy = metric.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        raise InputDataError("no points to lay a hexagon lattice over")
    if size_m is None:
        box = max((maxx - minx) * (maxy - miny), 1.0)
        size_m = max(25.0, float(np.sqrt(box / (1000 * 2.598))))
    width, height = np.sqrt(3) * size_m, 1.5 * size_m
    cols = np.arange(minx - width, maxx + width, width)
    rows = np.arange(miny - height, maxy + height, height)
    cx, cy = np.meshgrid(cols, rows)
    cx = cx + (np.arange(len(rows)) % 2 * width / 2)[:, None]
    cx, cy = cx.ravel(), cy.ravel()
    angles = np.deg2rad(np.arange(30, 390, 60))
    ring_x = cx[:, None] + size_m * np.cos(angles)[None, :]
    ring_y = cy[:, None] + size_m * np.sin(angles)[None, :]
    coords = np.stack([ring_x, ring_y], axis=-1)
    hexes = shapely.polygons(np.concatenate([coords, coords[:, :1]], axis=1))
    if area_geoms is not None:
        keep = shapely.intersects(hexes, shapely.union_all(area_geoms.to_numpy()))
    else:
        tree = shapely.STRtree(hexes)
        _, hit = tree.query(metric.geometry.to_numpy(), predicate="intersects")
        near = shapely.buffer(shapely.convex_hull(shapely.multipoints(metric.geometry.to_numpy())), size_m)
        keep = np.zeros(len(hexes), bool)
        keep[hit] = True
        keep |= shapely.intersects(hexes, near)
    hexes = hexes[keep]
    gdf = gpd.GeoDataFrame({"hex_id": np.arange(len(hexes))}, geometry=hexes, crs=crs)
    gdf.attrs["size_m"] = size_m
    return gdf


def hotspots(
    grids_or_points: gpd.GeoDataFrame,
    counts: pd.Series | pd.DataFrame | np.ndarray | str | None = None,
    *,
    lattice: str = "grids",
    alpha: float = 0.05,
    size_m: float | None = None,
    area: Any = None,
    id_col: str = "grid_id",
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots with FDR correction.

    Parameters
    ----------
    grids_or_points
        ``lattice="grids"``: grid polygons (any CRS). ``lattice="hex"``: incident points.
    counts
        For grids: a column name of ``grids_or_points``, a Series indexed by ``grid_id``, a
        :func:`gridkit.incidents.grid_stats` frame (its ``count``; one row per grid) or an array in
        grid order. For hexagons: None (points are counted) or a column of weights per point.
    lattice
        ``"grids"`` or ``"hex"``.
    alpha
        False discovery rate for the ``significant`` column (Benjamini-Hochberg).
    size_m
        Hexagon circumradius in metres (see :func:`hex_lattice`).
    area
        Polygons that bound the hexagon lattice (for example the grids), so that empty hexagons
        inside the study area take part.
    id_col
        The grids' id column.

    Returns
    -------
    geopandas.GeoDataFrame
        The units (grids, or hexagons in EPSG:4326's source CRS) with ``count``, ``gi_z``, ``gi_p``
        (two-sided normal), ``gi_q`` (BH-adjusted), ``significant`` (``gi_q <= alpha``) and
        ``gi_bin``: ±3 / ±2 / ±1 when significant after FDR at 99 / 95 / 90 %, sign of z, else 0.
    """
    if lattice == "grids":
        units = grids_or_points.copy()
        values = _grid_counts(units, counts, id_col)
        weights = contiguity_weights(units)
    elif lattice == "hex":
        hexes = hex_lattice(grids_or_points, size_m=size_m, area=area)
        points = grids_or_points.geometry.to_crs(hexes.crs).to_numpy()
        holding = polygon_holding(points, hexes.geometry.to_numpy())
        pt = np.flatnonzero(holding >= 0)
        hx = holding[pt]
        weight = np.ones(len(points)) if counts is None else \
            np.asarray(grids_or_points[counts] if isinstance(counts, str) else counts, dtype=float)
        values = np.bincount(hx, weights=weight[pt], minlength=len(hexes))
        centres = shapely.centroid(hexes.geometry.to_numpy())
        size = hexes.attrs["size_m"]
        ctree = shapely.STRtree(centres)
        a, b = ctree.query(centres, predicate="dwithin", distance=np.sqrt(3) * size * 1.01)
        keep = a != b
        weights = sparse.csr_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(len(hexes),) * 2)
        units = hexes.to_crs(grids_or_points.crs)
    else:
        raise InputDataError(f"lattice must be 'grids' or 'hex', not {lattice!r}")
    z, p = getis_ord_star(values, weights)
    q = benjamini_hochberg(p)
    units["count"] = values
    units["gi_z"] = z
    units["gi_p"] = p
    units["gi_q"] = q
    units["significant"] = np.nan_to_num(q, nan=1.0) <= alpha
    units["gi_bin"] = _bins(z, p)
    return units


def _grid_counts(units: gpd.GeoDataFrame, counts: Any, id_col: str) -> np.ndarray:
    if counts is None:
        counts = "count"
    if isinstance(counts, str):
        if counts not in units.columns:
            raise InputDataError(f"grids have no {counts!r} column to compute hot spots of", column=counts)
        return units[counts].fillna(0).to_numpy(float)
    if isinstance(counts, pd.DataFrame):
        if "period" in counts.columns and not (counts["period"] == counts["period"].iloc[0]).all():
            raise InputDataError("hot spots need one count per grid: pass grid_stats(period=None) "
                                 "or one period's rows")
        counts = counts.set_index(counts[id_col].astype("string"))["count"]
    if isinstance(counts, pd.Series):
        return units[id_col].astype("string").map(counts).fillna(0).to_numpy(float)
    values = np.asarray(counts, dtype=float)
    if len(values) != len(units):
        raise InputDataError(f"{len(values)} counts for {len(units)} grids")
    return values


def _bins(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ArcGIS-style confidence bins with FDR: ±3 (99 %), ±2 (95 %), ±1 (90 %), 0."""
    out = np.zeros(len(z), dtype=int)
    for level, a in reversed(BIN_LEVELS):
        sig = np.nan_to_num(benjamini_hochberg(p), nan=1.0) <= a
        out = np.where(sig, level, out)
    return np.sign(np.nan_to_num(z)).astype(int) * out


def bandwidth_rule(xy: np.ndarray) -> float:
    """Silverman's rule of thumb for a bivariate Gaussian kernel, in the units of ``xy`` (metres).

    ``h = 0.9 · min(σ, IQR / 1.349) · n^(-1/5)``, where σ is the standard distance
    ``sqrt((σx² + σy²) / 2)`` and IQR the mean of the x and y interquartile ranges (the robust
    spread keeps one far outlier from blurring the surface); at least 10 m.
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2:
        return 100.0
    sigma = float(np.sqrt((xy[:, 0].var(ddof=1) + xy[:, 1].var(ddof=1)) / 2.0))
    iqr = float(np.mean(np.subtract(*np.percentile(xy, [75, 25], axis=0))))
    spread = min(sigma, iqr / 1.349) if iqr > 0 else sigma
    return max(10.0, 0.9 * spread * n ** (-0.2))


def kde_surface(
    incidents: gpd.GeoDataFrame,
    *,
    bandwidth: float | None = None,
    cell_size: float | None = None,
    min_share: float = 0.02,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Gaussian kernel density of incidents on square cells, incidents per km².

    Parameters
    ----------
    incidents
        Points in any CRS.
    bandwidth
        Kernel standard deviation in metres; default :func:`bandwidth_rule` (Silverman).
    cell_size
        Cell side in metres; default ``bandwidth / 3`` (at least 5 m, at most 4 million cells).
    min_share
        Cells below this share of the peak density are left out (the surface's outer fringe).
    crs
        Metric CRS to work in (default: the local UTM zone).

    Returns
    -------
    geopandas.GeoDataFrame
        Square cells in the incidents' CRS with ``density`` (incidents per km²) and ``level``
        (density as a share of the peak, 0-1); ``attrs`` hold ``bandwidth_m`` and ``cell_m``. The
        integral over all cells (kept and dropped) equals the number of incidents.
    """
    metric = to_metric(gpd.GeoDataFrame(geometry=gpd.GeoSeries(incidents.geometry)), crs)
    pts = metric.geometry
    pts = pts[~pts.is_empty & pts.notna()]
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    if len(xy) == 0:
        raise InputDataError("no incidents to draw a density surface of")
    h = float(bandwidth) if bandwidth else bandwidth_rule(xy)
    minx, miny = xy.min(axis=0) - 3 * h
    maxx, maxy = xy.max(axis=0) + 3 * h
    cell = float(cell_size) if cell_size else max(5.0, h / 3.0)
    while ((maxx - minx) / cell) * ((maxy - miny) / cell) > 4e6:
        cell *= 1.5
    nx, ny = int(np.ceil((maxx - minx) / cell)), int(np.ceil((maxy - miny) / cell))
    grid, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=[nx, ny],
                                range=[[minx, minx + nx * cell], [miny, miny + ny * cell]])
    smooth = ndimage.gaussian_filter(grid, sigma=h / cell, mode="constant", truncate=4.0)
    density = smooth / (cell * cell) * 1e6
    peak = density.max()
    ix, iy = np.nonzero(density >= min_share * peak)
    x0, y0 = minx + ix * cell, miny + iy * cell
    boxes = shapely.box(x0, y0, x0 + cell, y0 + cell)
    out = gpd.GeoDataFrame({"density": density[ix, iy], "level": density[ix, iy] / peak}, geometry=boxes,
                           crs=metric.crs)
    out = out.to_crs(incidents.crs) if incidents.crs is not None else out
    out.attrs.update({"bandwidth_m": h, "cell_m": cell})
    return out


def kde_bands(surface: gpd.GeoDataFrame, levels: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)) -> gpd.GeoDataFrame:
    """Density bands of a :func:`kde_surface`: one (multi)polygon per share of the peak.

    Band ``k`` covers the cells whose ``level`` (density / peak) is at least ``levels[k]``, so the
    bands nest; ``density`` is the band's lower limit in incidents per km².
    """
    if "level" not in surface.columns:
        raise InputDataError("a density surface from kde_surface() is needed (column 'level')")
    peak = float((surface["density"] / surface["level"]).max()) if len(surface) else 0.0
    metric = to_metric(surface)
    snap = float(surface.attrs.get("cell_m", 1.0)) / 1000.0
    rows, geoms = [], []
    for k, level in enumerate(sorted(levels)):
        cells = metric.geometry.to_numpy()[surface["level"].to_numpy() >= level]
        if not len(cells):
            continue
        rows.append({"band": k, "level": level, "density": level * peak})
        geoms.append(shapely.union_all(cells, grid_size=snap))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=metric.crs).to_crs(surface.crs)
