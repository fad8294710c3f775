"""Read input layers and write outputs.

Readers accept a path (GeoJSON, GeoPackage, Shapefile, CSV with coordinates) or a GeoDataFrame, and
remember where the data came from so that :mod:`gridkit._validate` can name the file in its errors.
Writers are atomic: they write a temporary file beside the target and rename it over the target only
when the write succeeded, so a failed run never leaves a half-written file over a good one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridkit.crs import WGS84
from gridkit.errors import InputDataError

__all__ = [
    "atomic_path",
    "coordinate_columns",
    "points_from_table",
    "read_layer",
    "repair_polygons",
    "source_name",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_layer",
]

_LONLAT_PAIRS = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y"))
_WKT_COLUMNS = ("geometry", "wkt", "geom")


def source_name(gdf: pd.DataFrame, default: str = "<GeoDataFrame>") -> str:
    """Return the file a frame was read from (``attrs['source']``) or ``default``."""
    return str(gdf.attrs.get("source", default))


def read_layer(
    source: str | os.PathLike[str] | gpd.GeoDataFrame,
    *,
    layer: str | None = None,
    crs: str | int | None = None,
    x_col: str | None = None,
    y_col: str | None = None,
    label: str = "layer",
) -> gpd.GeoDataFrame:
    """Read one vector layer into a GeoDataFrame.

    Parameters
    ----------
    source
        A path to a GeoJSON, GeoPackage, Shapefile (or anything GDAL opens) or a CSV file, or a
        GeoDataFrame (returned as a copy).
    layer
        Layer name inside a multi-layer file such as a GeoPackage.
    crs
        CRS to assume when the data carries none. CSV coordinates default to EPSG:4326 (lon/lat).
        A layer with no CRS and no ``crs`` given is an error: gridkit never guesses.
    x_col, y_col
        Coordinate columns of a CSV. By default ``lon``/``lat``, ``longitude``/``latitude``,
        ``lng``/``lat`` or ``x``/``y`` are found, or a WKT column ``geometry``/``wkt``.
    label
        What the layer is (``"buildings"``), used in error messages for in-memory frames.

    Returns
    -------
    geopandas.GeoDataFrame
        With ``attrs['source']`` naming the file.
    """
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source.copy()
        gdf.attrs.setdefault("source", source.attrs.get("source", f"<{label} GeoDataFrame>"))
    else:
        path = Path(source)
        if not path.exists():
            raise InputDataError(f"{label} file does not exist", source=path)
        if path.suffix.lower() in {".csv", ".txt", ".tsv"}:
            gdf = _read_csv(path, x_col=x_col, y_col=y_col, crs=crs)
        elif path.suffix.lower() in {".parquet", ".geoparquet"}:
            gdf = _read_parquet(path, label)
        else:
            try:
                gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
                raise InputDataError(f"cannot read {label}: {exc}", source=path) from exc
        gdf.attrs["source"] = str(path)
    if gdf.crs is None:
        if crs is None:
            raise InputDataError(
                f"{label} has no CRS; pass crs= (for example 'EPSG:4326')",
                source=gdf.attrs["source"],
            )
        gdf = gdf.set_crs(crs)
    return gdf


def _read_parquet(path: Path, label: str) -> gpd.GeoDataFrame:
    """A GeoParquet file (as gridkit exports for city-size layers); needs pyarrow."""
    try:
        return gpd.read_parquet(path)
    except ImportError as exc:
        raise InputDataError('reading GeoParquet needs pyarrow: pip install "gridkit[scale]"', source=path) from exc
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read {label} as GeoParquet: {exc}", source=path) from exc


def coordinate_columns(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The (x, y) columns of a table: lon/lat, longitude/latitude, lng/lat or x/y, any case; or None."""
    lower = {str(c).lower(): c for c in frame.columns}
    for x_name, y_name in _LONLAT_PAIRS:
        if x_name in lower and y_name in lower:
            return lower[x_name], lower[y_name]
    return None


def points_from_table(frame: pd.DataFrame, *, crs: str | int | None = None) -> gpd.GeoDataFrame | None:
    """Points from a table's coordinate columns (see :func:`coordinate_columns`), or None without them.

    Rows whose coordinates are missing or not numbers get an empty point, so that the caller can list
    them (row by row) rather than lose them. ``crs`` defaults to EPSG:4326 (longitude, latitude).
    """
    columns = coordinate_columns(frame)
    if columns is None:
        return None
    xs = pd.to_numeric(frame[columns[0]], errors="coerce").to_numpy(float)
    ys = pd.to_numeric(frame[columns[1]], errors="coerce").to_numpy(float)
    geometry = shapely.points(xs, ys)
    geometry[~(np.isfinite(xs) & np.isfinite(ys))] = shapely.Point()
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs if crs is not None else WGS84)


def _read_csv(path: Path, *, x_col: str | None, y_col: str | None, crs: str | int | None) -> gpd.GeoDataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", dtype_backend="numpy_nullable")
    lower = {c.lower(): c for c in frame.columns}
    if (x_col is None or y_col is None) and coordinate_columns(frame) is not None:
        x_col, y_col = coordinate_columns(frame)
    if x_col is not None and y_col is not None:
        for col in (x_col, y_col):
            if col not in frame.columns:
                raise InputDataError("coordinate column not found", source=path, column=col)
        xs = pd.to_numeric(frame[x_col], errors="coerce")
        ys = pd.to_numeric(frame[y_col], errors="coerce")
        bad = xs.isna() | ys.isna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputDataError(
                f"missing or non-numeric coordinate ({int(bad.sum())} rows in all)",
                source=path, row=row, column=x_col if pd.isna(xs.iloc[row]) else y_col,
            )
        geometry = gpd.points_from_xy(xs.to_numpy(float), ys.to_numpy(float))
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs if crs is not None else WGS84)
    for name in _WKT_COLUMNS:
        if name in lower:
            col = lower[name]
            try:
                geometry = shapely.from_wkt(frame[col].astype(str).to_numpy())
            except shapely.errors.GEOSException as exc:
                raise InputDataError(f"cannot parse WKT: {exc}", source=path, column=col) from exc
            frame = frame.drop(columns=[col])
            return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)
    raise InputDataError(
        "CSV has no coordinates: give lon/lat (or x/y) columns, a WKT 'geometry' column, "
        "or name them with x_col/y_col",
        source=path,
    )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, keep_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds.

    Parameters
    ----------
    path
        The final destination.
    keep_existing
        Start the temporary file as a copy of an existing ``path`` (for adding a layer to a
        GeoPackage without losing the others).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    if keep_existing and target.exists():
        shutil.copyfile(target, tmp)
    else:
        tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_geojson(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``gdf`` as RFC 7946 GeoJSON (EPSG:4326, counter-clockwise exterior rings, no ``crs``).

    The file is written atomically. Returns the path written.
    """
    out = gdf.to_crs(WGS84) if gdf.crs is not None else gdf.set_crs(WGS84)
    out = out.set_geometry(shapely.orient_polygons(repair_polygons(out.geometry.to_numpy()), exterior_cw=False))
    with atomic_path(path) as tmp:
        pyogrio.write_dataframe(
            out, tmp, driver="GeoJSON",
            # 10 decimals (~0.01 mm): GDAL's RFC 7946 default of 7 (~1 cm) opens coverage gaps above 1e-6
            layer_options={"RFC7946": "YES", "WRITE_NAME": "NO", "COORDINATE_PRECISION": 10}
        )
    return Path(path)


def repair_polygons(geoms: np.ndarray) -> np.ndarray:
    """Remove zero-width spikes that reprojection can make out of very thin ones (``buffer(0)``).

    Only invalid polygons are touched; crumbs the repair splits off (under 1e-6 of the polygon) go.
    """
    geoms = np.asarray(geoms, dtype=object)
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])
    invalid = polygonal & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = [_drop_crumbs(shapely.buffer(g, 0)) for g in geoms[invalid]]
    return geoms


def _drop_crumbs(geom: shapely.Geometry, *, share: float = 1e-6) -> shapely.Geometry:
    """Keep the parts of a repaired polygon larger than ``share`` of its largest part."""
    parts = shapely.get_parts(geom)
    if len(parts) <= 1:
        return geom
    area = shapely.area(parts)
    parts = parts[area >= share * area.max()]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))


def write_gpkg(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, layer: str) -> Path:
    """Write ``gdf`` as one layer of a GeoPackage, keeping the file's other layers.

    The file is written atomically (a copy is changed, then renamed over the original).
    """
    with atomic_path(path, keep_existing=True) as tmp:
        pyogrio.write_dataframe(gdf, tmp, layer=layer, driver="GPKG", promote_to_multi=False)
    return Path(path)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, excel: bool = False) -> Path:
    """Write a table as UTF-8 CSV (geometry columns dropped), atomically.

    With ``excel=True`` the file starts with a byte-order mark, which Excel needs to show Chinese text
    (GDAL, QGIS, pandas with ``encoding="utf-8-sig"`` and WPS read it either way).
    """
    table = pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c == "geometry"]))
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8-sig" if excel else "utf-8")
    return Path(path)


def write_layer(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, layer: str = "grids") -> Path:
    """Write ``gdf`` in the format given by the suffix of ``path`` (.geojson, .gpkg, .csv)."""
    suffix = Path(path).suffix.lower()
    if suffix in {".geojson", ".json"}:
        return write_geojson(gdf, path)
    if suffix == ".gpkg":
        return write_gpkg(gdf, path, layer=layer)
    if suffix == ".csv":
        return write_csv(gdf, path)
    raise InputDataError(f"unsupported output format {suffix!r}; use .geojson, .gpkg or .csv", source=path)
