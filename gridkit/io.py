"""Read input layers and write outputs.

Readers accept a path (GeoJSON, GeoPackage, Shapefile, CSV with coordinates) or a GeoDataFrame, and
remember where the data came from so that :mod:`gridkit._validate` can name the file in its errors.
Writers are atomic: they write a temporary file beside the target and rename it over the target only
when the write succeeded, so a failed run never leaves a half-written file over a good one.
"""

from __future__ import annotations

import contextlib
import io as _stdio
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from gridkit.crs import WGS84
from gridkit.encodings import decode_text, detect_encoding, normalise_encoding
from gridkit.errors import GridkitWarning, InputDataError

__all__ = [
    "atomic_path",
    "check_lonlat",
    "coordinate_columns",
    "points_from_table",
    "read_layer",
    "read_table",
    "repair_polygons",
    "source_name",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_layer",
]

_LONLAT_PAIRS = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y"), ("经度", "纬度"),
                 ("东经", "北纬"), ("x坐标", "y坐标"))
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
    encoding: str | None = None,
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
    encoding
        Text encoding of a CSV or of a Shapefile's ``.dbf`` (``"gbk"``, ``"utf-8"`` …). By default a
        CSV's encoding is detected (UTF-8, UTF-8 with BOM, GBK/GB18030: :mod:`gridkit.encodings`), and
        so is a Shapefile's without a ``.cpg``; a choice other than UTF-8 is announced by a warning.

    Returns
    -------
    geopandas.GeoDataFrame
        With ``attrs['source']`` naming the file (and ``attrs['layer']`` the layer read).

    Raises
    ------
    InputDataError
        The file is missing or unreadable, its text does not decode, a CSV row is ragged, a CSV has
        no coordinates or its latitudes are out of range (lon/lat swapped), or the layer has no CRS.
    """
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source.copy()
        gdf.attrs.setdefault("source", source.attrs.get("source", f"<{label} GeoDataFrame>"))
    else:
        path = Path(source)
        if not path.exists():
            raise InputDataError(f"{label} file does not exist", source=path)
        if path.suffix.lower() in {".csv", ".txt", ".tsv"}:
            gdf = _read_csv(path, x_col=x_col, y_col=y_col, crs=crs, encoding=encoding)
        elif path.suffix.lower() in {".parquet", ".geoparquet"}:
            gdf = _read_parquet(path, label)
        else:
            gdf = _read_vector(path, layer=layer, label=label, encoding=encoding)
        gdf.attrs["source"] = str(path)
        gdf.attrs["layer"] = layer if layer is not None else path.stem
    if gdf.crs is None:
        if crs is None:
            raise InputDataError(
                f"{label} has no CRS; pass crs= (for example 'EPSG:4326')",
                source=gdf.attrs["source"],
            )
        gdf = gdf.set_crs(crs)
    return gdf


def _read_vector(path: Path, *, layer: str | None, label: str, encoding: str | None) -> gpd.GeoDataFrame:
    """Read a GDAL layer; a Shapefile without ``.cpg`` gets its text encoding detected."""
    shapefile = path.suffix.lower() in {".shp", ".dbf"}
    no_cpg = shapefile and not path.with_suffix(".cpg").exists() and not path.with_suffix(".CPG").exists()
    options: dict[str, str] = {}
    if no_cpg:
        options["encoding"] = "ISO-8859-1"  # every byte read as one character, recoded below
    elif encoding is not None:
        options["encoding"] = normalise_encoding(encoding)
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio", **options)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputDataError(f"cannot read {label}: {exc}", source=path) from exc
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{label}: text is not valid {encoding}: {exc}", source=path) from exc
    return _recode_dbf(gdf, path, encoding) if no_cpg else gdf


def _recode_dbf(gdf: gpd.GeoDataFrame, path: Path, encoding: str | None) -> gpd.GeoDataFrame:
    """Decode the text of a Shapefile read byte-for-byte (ISO-8859-1) in its real encoding."""
    text_cols = [c for c in gdf.columns if c != gdf.geometry.name
                 and (gdf[c].dtype == object or pd.api.types.is_string_dtype(gdf[c].dtype))]
    names = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    values = [v for c in text_cols for v in gdf[c].dropna().astype(str)]
    raw = "\n".join([*names, *values]).encode("latin-1", errors="replace")
    if raw.isascii():
        return gdf
    if encoding is not None:
        chosen = normalise_encoding(encoding)
    else:
        detected = detect_encoding(raw)
        if detected is None:
            raise InputDataError("cannot tell the text encoding of the .dbf (no .cpg beside it); name it with "
                                 "encoding= (--encoding), e.g. gbk", source=path)
        chosen = "utf-8" if detected == "utf-8-sig" else detected
        if chosen not in {"utf-8", "gb18030"}:
            # neither UTF-8 nor Chinese: keep the DBF default GDAL read it with (a guess among the
            # single-byte code pages from a few names is no better)
            warnings.warn(f"{path}: no .cpg beside the Shapefile; its text was read as ISO-8859-1 (the DBF "
                          "default); pass encoding= (--encoding) to choose another", GridkitWarning, stacklevel=4)
            return gdf
        shown = "GBK/GB18030" if chosen == "gb18030" else chosen
        warnings.warn(f"{path}: no .cpg beside the Shapefile; its text encoding was detected as {shown}; pass "
                      "encoding= (--encoding) to choose another", GridkitWarning, stacklevel=4)

    def decode(value: object, *, row: int | None = None, column: str | None = None) -> object:
        if not isinstance(value, str) or value.isascii():
            return value
        try:
            return value.encode("latin-1").decode(chosen)
        except (UnicodeDecodeError, UnicodeEncodeError) as exc:
            raise InputDataError(f"text {value!r} is not valid {chosen} (no .cpg beside the Shapefile); name "
                                 "the encoding with encoding= (--encoding)", source=path, row=row,
                                 column=column) from exc

    out = gdf.copy()
    for col in text_cols:
        series = out[col].astype(object)
        out[col] = [decode(v, row=i, column=str(decode(col))) for i, v in enumerate(series)]
    out = out.rename(columns={c: decode(c) for c in out.columns if c != gdf.geometry.name})
    return out


def read_table(
    path: str | os.PathLike[str], *, encoding: str | None = None, label: str = "table", **read_csv: object
) -> pd.DataFrame:
    """Read a CSV (or TSV) table, detecting its text encoding; ragged rows are an error naming the line.

    Parameters
    ----------
    path
        The file.
    encoding
        Its text encoding; None detects it (:func:`gridkit.encodings.decode_text`).
    label
        What the table is, for error messages.
    **read_csv
        Passed to :func:`pandas.read_csv` (``dtype``, ``usecols``, ``nrows`` …).

    Returns
    -------
    pandas.DataFrame
        With ``attrs['source']`` naming the file and ``attrs['encoding']`` the encoding used.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{label} file does not exist", source=path)
    if path.is_dir():
        raise InputDataError(f"{label} is a folder, not a file", source=path)
    decoded = decode_text(path.read_bytes(), encoding=encoding, source=path)
    read_csv.setdefault("sep", "\t" if path.suffix.lower() == ".tsv" else ",")
    try:
        frame = pd.read_csv(_stdio.StringIO(decoded.text), **read_csv)  # type: ignore[call-overload]
    except pd.errors.EmptyDataError as exc:
        raise InputDataError(f"{label} file is empty (no header row)", source=path) from exc
    except pd.errors.ParserError as exc:
        raise InputDataError(f"{label} is not a well-formed table (a row with more fields than the header?): "
                             f"{str(exc).strip()}", source=path) from exc
    except ValueError as exc:  # usecols naming a missing column, a dtype that does not fit
        raise InputDataError(f"cannot read {label}: {exc}", source=path) from exc
    if len(frame.columns) and str(frame.columns[0]).startswith("\ufeff"):
        frame = frame.rename(columns={frame.columns[0]: str(frame.columns[0]).lstrip("\ufeff")})
    frame.attrs["source"] = str(path)
    frame.attrs["encoding"] = decoded.encoding
    return frame
def _read_parquet(path: Path, label: str) -> gpd.GeoDataFrame:
    """A GeoParquet file (as gridkit exports for city-size layers); needs pyarrow."""
    try:
        return gpd.read_parquet(path)
    except ImportError as exc:
        raise InputDataError('reading GeoParquet needs pyarrow: pip install "gridkit[scale]"', source=path) from exc
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read {label} as GeoParquet: {exc}", source=path) from exc


def coordinate_columns(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The (x, y) columns of a table: lon/lat, longitude/latitude, lng/lat, x/y or 经度/纬度, any case; or None."""
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
    check_lonlat(xs, ys, crs=crs if crs is not None else WGS84, columns=columns,
                 source=frame.attrs.get("source", "<table>"))
    geometry = shapely.points(xs, ys)
    geometry[~(np.isfinite(xs) & np.isfinite(ys))] = shapely.Point()
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs if crs is not None else WGS84)


def check_lonlat(xs: np.ndarray, ys: np.ndarray, *, crs: object, columns: tuple[str, str] = ("x", "y"),
                 source: object = None) -> None:
    """In a geographic CRS, longitudes must lie in [-180, 180] and latitudes in [-90, 90].

    A latitude beyond 90° with longitudes that would be valid latitudes is diagnosed as the two
    columns swapped (latitude given first); any other value out of range names its row.
    """
    try:
        geographic = pyproj.CRS.from_user_input(crs).is_geographic
    except pyproj.exceptions.CRSError:
        return
    if not geographic:
        return
    finite = np.isfinite(xs) & np.isfinite(ys)
    bad_y = finite & (np.abs(ys) > 90)
    bad_x = finite & (np.abs(xs) > 180)
    if not (bad_y.any() or bad_x.any()):
        return
    if bad_y.any() and (np.abs(xs[finite]) <= 90).all() and (np.abs(ys[finite]) <= 180).all():
        row = int(bad_y.nonzero()[0][0])
        raise InputDataError(
            f"latitude {ys[row]:g} is beyond ±90° ({int(bad_y.sum())} rows): the coordinates look swapped, "
            f"latitude in {columns[0]!r} and longitude in {columns[1]!r}; swap the two columns "
            "(longitude comes first, as x)", source=source, row=row, column=columns[1])
    row = int((bad_y | bad_x).nonzero()[0][0])
    column = columns[1] if bad_y[row] else columns[0]
    raise InputDataError(f"coordinate ({xs[row]:g}, {ys[row]:g}) is out of range for longitude/latitude "
                         f"({int((bad_y | bad_x).sum())} rows): projected coordinates need crs= "
                         "(for example 'EPSG:4547')", source=source, row=row, column=column)


def _read_csv(path: Path, *, x_col: str | None, y_col: str | None, crs: str | int | None,
              encoding: str | None = None) -> gpd.GeoDataFrame:
    frame = read_table(path, encoding=encoding, label="CSV", dtype_backend="numpy_nullable")
    lower = {str(c).lower(): c for c in frame.columns}
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
        check_lonlat(xs.to_numpy(float), ys.to_numpy(float), crs=crs if crs is not None else WGS84,
                     columns=(x_col, y_col), source=path)
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
        "CSV has no coordinates: name its coordinate columns lon and lat (or longitude/latitude, x/y, "
        f"经度/纬度), or give a WKT 'geometry' column; its columns are {[str(c) for c in frame.columns]}",
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
