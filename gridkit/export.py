"""Exports for city GIS: GeoJSON, GeoPackage, Shapefile and CSV in the CRSs Chinese cities use.

:func:`export` writes a set of named layers (grids, building assignment, routes, staffing, statistics:
any GeoDataFrame or plain table) in one format and one CRS:

========  ==========================================================================================
format    what is written (``OUT`` is the folder given)
========  ==========================================================================================
geojson   ``OUT/<layer>.geojson``: RFC 7946 (EPSG:4326 longitude/latitude, exterior rings
          counter-clockwise, no ``crs`` member); tables without geometry as features with null
          geometry. Other CRSs are refused unless ``geojson_crs_member=True`` (a non-RFC file with a
          ``crs`` member). ``crs="gcj02"`` writes GCJ-02 longitude/latitude for Chinese web maps.
gpkg      one GeoPackage ``OUT/gridkit.gpkg`` (or the ``.gpkg`` path given), one layer per input;
          tables without geometry as attribute tables.
shp       ``OUT/<layer>.shp/.shx/.dbf/.prj/.cpg`` (UTF-8, the ``.cpg`` says so), field names cut to
          10 bytes by :func:`shapefile_field_names`, the mapping written beside as
          ``OUT/<layer>.fields.csv``; text longer than a DBF field (254 bytes) continues in
          ``name_2``, ``name_3``... fields; lists joined with ``"; "``; tables as ``.dbf`` only.
csv       ``OUT/<layer>.csv`` (UTF-8): points as ``lon``/``lat`` (``x``/``y`` in metres for a
          projected CRS), other geometries as ``wkt``, plus a ``coord_sys`` column naming the CRS;
          column types for GDAL/QGIS in ``OUT/<layer>.csvt`` (codes stay text).
parquet   ``OUT/<layer>.parquet``: GeoParquet 1.1 (WKB geometry, the CRS as PROJJSON in the ``geo``
          metadata, bounding boxes per row) for city- and province-size layers, read by GDAL ≥ 3.8,
          QGIS, DuckDB, geopandas and dask-geopandas; tables without geometry as plain Parquet.
          Needs ``pyarrow`` (``pip install "gridkit[scale]"``).
all       ``OUT/gridkit.gpkg``, ``OUT/geojson/``, ``OUT/shp/`` and ``OUT/csv/``.
========  ==========================================================================================

CRSs (``crs=``): ``"EPSG:4326"`` (WGS 84, default), ``"EPSG:4490"`` (CGCS2000 geographic),
``"cgcs2000-gk3"`` (CGCS2000 3-degree Gauss-Krüger, zone chosen from the centre longitude of the
data, zone-prefixed eastings, EPSG:4513-4533), ``"cgcs2000-gk3-cm"`` (the same zone, central-meridian
variant without prefix, EPSG:4534-4554), ``"cgcs2000-gk3:<zone>"`` (zone 25-45, prefixed) or
``"cgcs2000-gk3:<CM>"`` (central meridian 75-135, CM variant), any ``"EPSG:45xx"`` of those, and
``"gcj02"`` / ``"bd09"`` (EPSG:4326 coordinates shifted to the Chinese web-map systems with
:mod:`gridkit.chinacoords`; every spatial layer gets a ``coord_sys`` column saying so, because no
registered CRS describes them). Any other ``"EPSG:<code>"`` pyproj knows is passed through.

Every file is written atomically (:func:`gridkit.io.atomic_path`); a Shapefile's set of files is
written complete into a hidden folder beside the target and only then moved over the old set, so a
failed export never leaves a half-written file (or a ``.shp`` of one run beside a ``.dbf`` of another).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from gridkit.chinacoords import transform_geometries, wgs84_to_bd09, wgs84_to_gcj02
from gridkit.crs import WGS84
from gridkit.errors import GridkitError, GridkitWarning
from gridkit.io import atomic_path, repair_polygons, write_geojson
from gridkit.tables import write_table

__all__ = [
    "CRS_CHOICES",
    "FORMATS",
    "ExportCRS",
    "export",
    "gk3_epsg",
    "gk3_zone",
    "prepare_layer",
    "resolve_crs",
    "shapefile_field_names",
    "write_csv_layers",
    "write_geojson_layers",
    "write_gpkg_layers",
    "write_parquet_layers",
    "write_shapefile_layers",
]

FORMATS = ("geojson", "gpkg", "shp", "csv", "parquet")
CRS_CHOICES = ("EPSG:4326", "EPSG:4490", "cgcs2000-gk3", "cgcs2000-gk3-cm", "cgcs2000-gk3:<zone|CM>",
               "gcj02", "bd09")
GPKG_NAME = "gridkit.gpkg"
#: Separator of list values (e.g. a route's street names) in formats without list fields.
LIST_SEPARATOR = "; "
#: A DBF character field holds at most 254 bytes.
DBF_TEXT_BYTES = 254
DBF_NAME_BYTES = 10
#: 3-degree Gauss-Krüger zones of CGCS2000 with an EPSG code: zone 25 (CM 75°E) to 45 (CM 135°E).
GK3_ZONES = range(25, 46)
#: Data farther than this from the zone's central meridian (degrees) does not fit the zone (scale
#: error ~ (Δλ cos φ)² / 2 reaches ~1e-3 there).
GK3_MAX_OFFSET_DEG = 3.0
#: Preferred 10-byte names of gridkit's own long column names (see docs/exports.md).
SHAPEFILE_ABBREVIATIONS = {
    "community_id": "comm_id",
    "community_name": "comm_name",
    "community_code": "comm_code",
    "community_kind": "comm_kind",
    "building_id": "bldg_id",
    "n_buildings": "n_bldgs",
    "polsby_popper": "polsby_pp",
    "street_names": "streets",
    "street_length_m": "str_len_m",
    "deadhead_ratio": "deadhead",
    "n_households": "n_hh",
    "max_abs_deviation": "max_absdev",
    "share_within_tolerance": "share_tol",
    "mean_polsby_popper": "mean_pp",
    "street_alignment": "street_aln",
    "coverage_gap": "cover_gap",
    "n_noncontiguous": "n_noncont",
    "lower_bound_m": "lower_bd_m",
    "station_snap_m": "snap_m",
    "unreachable_m": "unreach_m",
    "warden_names": "wardens",
    "hours_to_close": "hrs_close",
    "median_hours_to_close": "med_hrs",
    "on_time_share": "on_time",
    "households_covered": "hh_covered",
    "buildings_covered": "bldg_cov",
    "assigned_station": "station",
}
_LAYER_NAME = re.compile(r"^[^\\/:*?\"<>|.\s][^\\/:*?\"<>|\s]*$")


@dataclass(frozen=True)
class ExportCRS:
    """The CRS an export is written in.

    Attributes
    ----------
    label
        What the output says it is in (``coord_sys`` values, messages): ``"EPSG:4326"``,
        ``"EPSG:4523"``, ``"GCJ-02"``...
    crs
        The registered CRS of the written coordinates (EPSG:4326 for GCJ-02/BD-09).
    shift
        For GCJ-02/BD-09, the function that shifts WGS 84 longitude/latitude; else None.
    """

    label: str
    crs: pyproj.CRS
    shift: Callable[[Any, Any], tuple[Any, Any]] | None = None

    @property
    def is_wgs84(self) -> bool:
        """True for plain EPSG:4326 (the only CRS RFC 7946 GeoJSON allows)."""
        return self.shift is None and self.crs.to_epsg() == 4326


# --------------------------------------------------------------------------------------------- CRS


def gk3_zone(lon: float) -> int:
    """Return the CGCS2000 3-degree Gauss-Krüger zone number whose central meridian is nearest ``lon``.

    Parameters
    ----------
    lon
        Longitude, degrees east.

    Returns
    -------
    int
        Zone ``n`` with central meridian ``3n`` °E (zone 35: 103.5-106.5 °E, CM 105 °E).
    """
    return int(np.floor(lon / 3.0 + 0.5))


def gk3_epsg(zone: int, *, cm_only: bool = False) -> int:
    """Return the EPSG code of CGCS2000 3-degree Gauss-Krüger zone ``zone`` (25-45).

    ``cm_only=False`` gives the zone-prefixed variant (false easting ``zone * 1e6 + 500000`` m,
    EPSG:4513-4533); ``cm_only=True`` the central-meridian variant (false easting 500000 m,
    EPSG:4534-4554).
    """
    if zone not in GK3_ZONES:
        raise GridkitError(f"3-degree Gauss-Krüger zone {zone} (CM {3 * zone}°E) has no CGCS2000 EPSG code; "
                           f"zones {GK3_ZONES.start}-{GK3_ZONES.stop - 1} (75°E-135°E) do")
    return (4534 if cm_only else 4513) + zone - GK3_ZONES.start


def _lon_extent(layers: Mapping[str, pd.DataFrame]) -> tuple[float, float]:
    bounds = [
        frame.to_crs(WGS84).total_bounds
        for frame in layers.values()
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and len(frame) and
        frame.geometry.notna().any()
    ]
    if not bounds:
        raise GridkitError("no layer has geometries to choose a Gauss-Krüger zone from; name the zone "
                           "(e.g. cgcs2000-gk3:35)")
    arr = np.array(bounds)
    return float(np.nanmin(arr[:, 0])), float(np.nanmax(arr[:, 2]))


def _gk3_from_spec(spec: str, layers: Mapping[str, pd.DataFrame]) -> int:
    """EPSG code for a ``cgcs2000-gk3...`` or ``EPSG:45xx`` spec, checked against the data's longitudes."""
    key = spec.strip().lower()
    lo, hi = _lon_extent(layers) if layers else (np.nan, np.nan)
    if key.startswith("epsg:"):
        epsg = int(key[5:])
        cm_only = epsg >= 4534
        zone = epsg - (4534 if cm_only else 4513) + GK3_ZONES.start
    elif key in {"cgcs2000-gk3", "cgcs2000-gk3-cm"}:
        zone = gk3_zone((lo + hi) / 2.0)
        cm_only = key.endswith("-cm")
        if zone not in GK3_ZONES:
            raise GridkitError(f"the data (longitudes {lo:.3f}°-{hi:.3f}°E) lies outside the CGCS2000 "
                               "3-degree Gauss-Krüger zones (73.5°E-136.5°E); use EPSG:4326 or EPSG:4490")
    else:
        value = key.split(":", 1)[1].strip().removesuffix("e")
        if not value.isdigit():
            raise GridkitError(f"cannot read zone or central meridian from CRS {spec!r}; "
                               "write e.g. cgcs2000-gk3:35 (zone) or cgcs2000-gk3:105 (central meridian)")
        number = int(value)
        if number in GK3_ZONES:
            zone, cm_only = number, False
        elif number % 3 == 0 and number // 3 in GK3_ZONES:
            zone, cm_only = number // 3, True
        else:
            raise GridkitError(f"{number} in CRS {spec!r} is neither a 3-degree zone (25-45) nor a central "
                               "meridian (75, 78, ... 135 °E)")
    epsg = gk3_epsg(zone, cm_only=cm_only)
    if layers:
        cm = 3.0 * zone
        off = max(abs(lo - cm), abs(hi - cm))
        if off > GK3_MAX_OFFSET_DEG:
            raise GridkitError(
                f"3-degree Gauss-Krüger zone {zone} (CM {cm:.0f}°E, EPSG:{epsg}) does not fit the data: "
                f"longitudes {lo:.3f}°-{hi:.3f}°E lie up to {off:.2f}° from its central meridian "
                f"(at most {GK3_MAX_OFFSET_DEG:.0f}°); the data's own zone is {gk3_zone((lo + hi) / 2.0)} "
                "(crs 'cgcs2000-gk3' picks it)"
            )
    return epsg


def resolve_crs(spec: str, layers: Mapping[str, pd.DataFrame] | None = None) -> ExportCRS:
    """Turn a CRS name of :data:`CRS_CHOICES` (or ``EPSG:<code>``) into an :class:`ExportCRS`.

    Parameters
    ----------
    spec
        ``"EPSG:4326"``, ``"EPSG:4490"``, ``"cgcs2000-gk3"``, ``"cgcs2000-gk3-cm"``,
        ``"cgcs2000-gk3:35"``, ``"cgcs2000-gk3:105"``, ``"EPSG:4523"``, ``"gcj02"``, ``"bd09"``, ...
    layers
        The layers to export: the Gauss-Krüger zone is chosen from (and checked against) them.

    Returns
    -------
    ExportCRS
    """
    key = str(spec).strip().lower()
    layers = layers or {}
    aliases = {"wgs84": "epsg:4326", "4326": "epsg:4326", "cgcs2000": "epsg:4490", "4490": "epsg:4490"}
    key = aliases.get(key, key)
    if key in {"gcj02", "gcj-02"}:
        return ExportCRS("GCJ-02", WGS84, wgs84_to_gcj02)
    if key in {"bd09", "bd-09"}:
        return ExportCRS("BD-09", WGS84, wgs84_to_bd09)
    if key.startswith("cgcs2000-gk3") or re.fullmatch(r"epsg:45(1[3-9]|[2-4]\d|5[0-4])", key):
        epsg = _gk3_from_spec(key, layers)
        return ExportCRS(f"EPSG:{epsg}", pyproj.CRS.from_epsg(epsg))
    if key.startswith("epsg:"):
        try:
            crs = pyproj.CRS.from_user_input(key.upper())
        except pyproj.exceptions.CRSError as exc:
            raise GridkitError(f"unknown CRS {spec!r}: {exc}") from exc
        return ExportCRS(key.upper(), crs)
    raise GridkitError(f"unknown CRS {spec!r}; use one of {', '.join(CRS_CHOICES)} or EPSG:<code>")


# ---------------------------------------------------------------------------------------- layers


def _check_layers(layers: Mapping[str, Any]) -> None:
    if not layers:
        raise GridkitError("nothing to export: no layers given")
    for name, frame in layers.items():
        if not isinstance(name, str) or not _LAYER_NAME.match(name):
            raise GridkitError(f"layer name {name!r} cannot be a file name "
                               "(no spaces, no leading dot, none of / \\ : * ? \" < > |)")
        if not isinstance(frame, pd.DataFrame):
            raise GridkitError(f"layer {name!r} is a {type(frame).__name__}, not a DataFrame or GeoDataFrame")
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None and frame.geometry.notna().any():
            raise GridkitError(f"layer {name!r} has geometries but no CRS; set one (e.g. EPSG:4326)",
                               source=frame.attrs.get("source"))


def _is_spatial(frame: pd.DataFrame) -> bool:
    return isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns


def prepare_layer(frame: pd.DataFrame, target: ExportCRS) -> pd.DataFrame:
    """Return ``frame`` in ``target``: projected (or shifted to GCJ-02/BD-09), polygons repaired.

    Tables without geometry are returned as a copy. Shifted layers get a ``coord_sys`` column.
    """
    if not _is_spatial(frame):
        return pd.DataFrame(frame).copy()
    gdf = frame.copy()
    if target.shift is not None:
        gdf = transform_geometries(gdf.to_crs(WGS84), target.shift)
        gdf["coord_sys"] = target.label
    else:
        gdf = gdf.to_crs(target.crs)
    geoms = repair_polygons(gdf.geometry.to_numpy())
    gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return gdf


def _is_listlike(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, set))


def _flatten_values(table: pd.DataFrame, *, datetimes_as_text: bool) -> pd.DataFrame:
    """Join list values with :data:`LIST_SEPARATOR`, dicts to JSON; optionally datetimes to ISO text."""
    out = table.copy()
    geom = out._geometry_column_name if isinstance(out, gpd.GeoDataFrame) else None
    for col in out.columns:
        if col == geom:
            continue
        series = out[col]
        if series.dtype == object:
            has_list = series.map(_is_listlike).any()
            has_dict = series.map(lambda v: isinstance(v, dict)).any()
            if has_list or has_dict:
                out[col] = series.map(_flatten_one)
        elif datetimes_as_text and pd.api.types.is_datetime64_any_dtype(series):
            out[col] = series.map(lambda v: None if pd.isna(v) else v.isoformat())
    return out


def _flatten_one(value: Any) -> Any:
    if _is_listlike(value):
        return LIST_SEPARATOR.join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


# ------------------------------------------------------------------------------------- writers


def write_geojson_layers(layers: Mapping[str, pd.DataFrame], folder: str | os.PathLike[str], target: ExportCRS,
                         *, crs_member: bool = False) -> list[Path]:
    """Write each layer (already prepared in ``target``) as ``folder/<name>.geojson``.

    RFC 7946 for EPSG:4326 (and GCJ-02/BD-09 longitude/latitude); another CRS only with
    ``crs_member=True``, as a pre-RFC 7946 GeoJSON with a ``crs`` member.
    """
    if not (target.is_wgs84 or target.shift is not None or crs_member):
        raise GridkitError(
            f"GeoJSON is EPSG:4326 by RFC 7946 and cannot be written in {target.label}; export GeoJSON in "
            "EPSG:4326 (CGCS2000 EPSG:4490 coincides with it to a few cm), use gpkg/shp for "
            f"{target.label}, or ask for a non-standard file with a crs member (--geojson-crs-member)"
        )
    written = []
    for name, frame in layers.items():
        path = Path(folder) / f"{name}.geojson"
        gdf = frame if _is_spatial(frame) else gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=WGS84)
        if target.is_wgs84 or target.shift is not None:
            written.append(write_geojson(gdf, path))
            continue
        with atomic_path(path) as tmp:
            pyogrio.write_dataframe(gdf, tmp, driver="GeoJSON",
                                    layer_options={"RFC7946": "NO", "WRITE_NAME": "NO"})
        written.append(path)
    return written


def write_gpkg_layers(layers: Mapping[str, pd.DataFrame], path: str | os.PathLike[str],
                      target: ExportCRS) -> list[Path]:
    """Write all layers (prepared in ``target``) into one new GeoPackage at ``path``, atomically.

    The file replaces any earlier one as a whole (layers of an earlier export do not linger).
    """
    description = f"gridkit export, coordinates in {target.label}"
    with atomic_path(path) as tmp:
        for name, frame in layers.items():
            table = _flatten_values(frame, datetimes_as_text=False)
            options = {"DESCRIPTION": description}
            # GeoPackage 1.2: what GDAL 3.x, QGIS 3 and ArcGIS 10.x/Pro all read without a warning
            pyogrio.write_dataframe(table, tmp, layer=name, driver="GPKG", layer_options=options,
                                    dataset_options={"VERSION": "1.2"})
    return [Path(path)]


def write_parquet_layers(layers: Mapping[str, pd.DataFrame], folder: str | os.PathLike[str],
                         target: ExportCRS) -> list[Path]:
    """Write each layer (prepared in ``target``) as ``folder/<name>.parquet``, atomically.

    Spatial layers as GeoParquet 1.1 (geometry as WKB, ``geo`` metadata with the CRS, a ``bbox``
    covering column so readers can skip row groups by area); tables as plain Parquet.
    """
    try:
        import pyarrow  # noqa: F401, PLC0415 - only for this format
    except ImportError as exc:
        raise GridkitError('GeoParquet needs pyarrow: pip install "gridkit[scale]" (or pip install pyarrow)') from exc
    written = []
    for name, frame in layers.items():
        table = _flatten_values(frame, datetimes_as_text=False)
        path = Path(folder) / f"{name}.parquet"
        with atomic_path(path) as tmp:
            if _is_spatial(table):
                gpd.GeoDataFrame(table).to_parquet(tmp, index=False, schema_version="1.1.0", write_covering_bbox=True)
            else:
                pd.DataFrame(table).to_parquet(tmp, index=False)
        written.append(path)
    return written


def write_csv_layers(layers: Mapping[str, pd.DataFrame], folder: str | os.PathLike[str],
                     target: ExportCRS, *, excel: bool = False) -> list[Path]:
    """Write each layer as ``folder/<name>.csv`` (UTF-8).

    Points become ``lon``/``lat`` columns (``x``/``y`` for a projected CRS), other geometries a ``wkt``
    column (10 decimals for degrees, 4 for metres); spatial layers get a ``coord_sys`` column.
    """
    written = []
    for name, frame in layers.items():
        table = _flatten_values(frame, datetimes_as_text=False)
        if _is_spatial(table):
            table = _geometry_to_columns(table, target)
        # ids quoted as text, counts as integers, no "nan" (gridkit.tables); GIS layers keep area_m2
        written.append(write_table(table, Path(folder) / f"{name}.csv", excel=excel, hectares=False))
    return written


#: coordinate columns a spatial layer may carry beside its geometry (a roster's lon/lat): in a CSV they
#: would be stale next to the coordinates written from the geometry in the target CRS, and GDAL would
#: not know which pair to read
_COORDINATE_NAMES = frozenset({"lon", "lat", "lng", "longitude", "latitude", "x", "y", "wkt"})


def _geometry_to_columns(gdf: gpd.GeoDataFrame, target: ExportCRS) -> pd.DataFrame:
    geoms = gdf.geometry.to_numpy()
    present = geoms[~shapely.is_missing(geoms)]
    stale = [c for c in gdf.columns if str(c).lower() in _COORDINATE_NAMES]
    table = pd.DataFrame(gdf.drop(columns=[gdf._geometry_column_name, *stale]))
    geographic = target.crs.is_geographic
    if len(present) and (shapely.get_type_id(present) == 0).all():
        xname, yname = ("lon", "lat") if geographic else ("x", "y")
        table[xname] = shapely.get_x(geoms)
        table[yname] = shapely.get_y(geoms)
    else:
        table["wkt"] = shapely.to_wkt(geoms, rounding_precision=10 if geographic else 4, trim=True)
    if "coord_sys" not in table.columns:
        table["coord_sys"] = target.label
    return table


# ------------------------------------------------------------------------------------ shapefile


def _cut_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``limit`` bytes."""
    raw = text.encode("utf-8")[:limit]
    return raw.decode("utf-8", errors="ignore")


def shapefile_field_names(columns: list[str]) -> dict[str, str]:
    """Map column names to unique DBF field names of at most 10 bytes (UTF-8), deterministically.

    Rules, in order (documented in ``docs/exports.md``):

    1. A name that fits (≤ 10 bytes) is kept; these are reserved first, so a cut name never takes
       a name that already exists.
    2. A long name with an entry in :data:`SHAPEFILE_ABBREVIATIONS` takes that abbreviation if free.
    3. Otherwise the name is cut to 10 bytes (never inside a multi-byte character).
    4. If that is taken, ``_2``, ``_3``, ... replace its end until the name is free.

    Names are compared case-insensitively (as DBF readers do). Earlier columns win.
    """
    return dict(zip(columns, _field_names(list(columns)), strict=True))


def _field_names(columns: list[str]) -> list[str]:
    """Positional form of :func:`shapefile_field_names` (repeated input names get distinct fields)."""
    names: list[str] = [""] * len(columns)
    used: set[str] = set()
    for i, col in enumerate(columns):
        if len(col.encode("utf-8")) <= DBF_NAME_BYTES and col.lower() not in used:
            names[i] = col
            used.add(col.lower())
    for i, col in enumerate(columns):
        if names[i]:
            continue
        candidates = [SHAPEFILE_ABBREVIATIONS.get(col, ""), _cut_bytes(col, DBF_NAME_BYTES)]
        name = next((c for c in candidates if c and c.lower() not in used), "")
        k = 2
        while not name:
            suffix = f"_{k}"
            trial = _cut_bytes(col, DBF_NAME_BYTES - len(suffix)) + suffix
            name = trial if trial.lower() not in used else ""
            k += 1
        names[i] = name
        used.add(name.lower())
    return names


def _split_text(value: Any, parts: int) -> list[Any]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return [None] * parts
    text, out = str(value), []
    for _ in range(parts):
        piece = _cut_bytes(text, DBF_TEXT_BYTES)
        out.append(piece if piece else None)
        text = text[len(piece):]
    return out


def _shapefile_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the frame with DBF-sized fields and the field mapping table."""
    table = _flatten_values(frame, datetimes_as_text=True)
    geom = table._geometry_column_name if _is_spatial(table) else None
    pieces: list[tuple[str, int, int]] = []  # (column, part, parts)
    columns: dict[str, list[Any] | pd.Series] = {}
    for col in (c for c in table.columns if c != geom):
        parts = _text_parts(table[col])
        if parts == 1:
            pieces.append((col, 1, 1))
            columns[f"{col}\0{1}"] = table[col]
            continue
        split = [_split_text(v, parts) for v in table[col]]
        for p in range(1, parts + 1):
            pieces.append((col, p, parts))
            columns[f"{col}\0{p}"] = [row[p - 1] for row in split]
    fields = _continued_names(pieces)
    out = pd.DataFrame({field: columns[f"{col}\0{p}"] for field, (col, p, _) in zip(fields, pieces, strict=True)},
                       index=table.index)
    mapping = pd.DataFrame([(f, c, p, n) for f, (c, p, n) in zip(fields, pieces, strict=True)],
                           columns=["shapefile_field", "column", "part", "parts"])
    if geom is not None:
        out = gpd.GeoDataFrame(out, geometry=table.geometry.to_numpy(), crs=table.crs)
    return out, mapping


def _continued_names(pieces: list[tuple[str, int, int]]) -> list[str]:
    """Field names for ``(column, part, parts)``: part 1 by :func:`_field_names`, part p as ``<field>_p``."""
    firsts = _field_names([col for col, p, _ in pieces if p == 1])
    first_of = dict(zip([col for col, p, _ in pieces if p == 1], firsts, strict=True))
    used = {f.lower() for f in firsts}
    names = []
    for col, p, _ in pieces:
        if p == 1:
            names.append(first_of[col])
            continue
        base, k, name = first_of[col], p, ""
        while not name:
            trial = _cut_bytes(base, DBF_NAME_BYTES - len(f"_{k}")) + f"_{k}"
            name = trial if trial.lower() not in used else ""
            k += 100  # a clash (rare) moves to _102, _202, ... away from the other parts
        names.append(name)
        used.add(name.lower())
    return names


def _text_parts(series: pd.Series) -> int:
    """How many 254-byte DBF fields the longest text of ``series`` needs (1 for non-text)."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return 1
    nbytes = series.dropna().map(lambda v: len(str(v).encode("utf-8")))
    longest = int(nbytes.max()) if len(nbytes) else 0
    if longest <= DBF_TEXT_BYTES:
        return 1
    # pieces are cut at character boundaries: allow up to 3 bytes of slack per piece
    return int(np.ceil(longest / (DBF_TEXT_BYTES - 3)))


def _shapefile_parts(folder: Path, name: str) -> list[Path]:
    """Every existing file of the Shapefile ``name`` in ``folder`` (any GDAL/ESRI sidecar)."""
    exts = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qpj", ".shp.xml", ".fields.csv"}
    return [folder / f"{name}{ext}" for ext in sorted(exts) if (folder / f"{name}{ext}").exists()]


def _commit_files(staging: Path, folder: Path, new_files: list[str], old: list[Path]) -> None:
    """Move ``old`` files aside, the staged ``new_files`` in; roll back on any failure."""
    backup = staging / ".previous"
    backup.mkdir()
    moved_old: list[Path] = []
    moved_new: list[Path] = []
    try:
        for path in old:
            os.replace(path, backup / path.name)
            moved_old.append(path)
        for fname in new_files:
            os.replace(staging / fname, folder / fname)
            moved_new.append(folder / fname)
    except BaseException:
        for path in moved_new:
            with contextlib.suppress(OSError):
                path.unlink()
        for path in moved_old:
            os.replace(backup / path.name, path)
        raise


def write_shapefile_layers(layers: Mapping[str, pd.DataFrame], folder: str | os.PathLike[str],
                           target: ExportCRS) -> list[Path]:
    """Write each layer as a UTF-8 Shapefile ``folder/<name>.shp`` (+ ``.fields.csv`` mapping).

    Each layer's files are written complete into a hidden staging folder inside ``folder``, read back,
    and only then moved over the previous set (whose files, including stale spatial indexes, are
    removed). Tables without geometry are written as ``<name>.dbf`` (+ ``.cpg``) only.
    """
    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in layers.items():
        table, mapping = _shapefile_table(frame)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.shp-", dir=out_dir))
        try:
            main = staging / (f"{name}.shp" if _is_spatial(table) else f"{name}.dbf")
            pyogrio.write_dataframe(table, main, driver="ESRI Shapefile", layer_options={"ENCODING": "UTF-8"})
            mapping.to_csv(staging / f"{name}.fields.csv", index=False, encoding="utf-8")
            check = pyogrio.read_info(main)
            if check["features"] != len(table):
                raise GridkitError(f"Shapefile {name!r} has {check['features']} features, expected {len(table)}")
            new_files = sorted(p.name for p in staging.iterdir() if p.is_file())
            _commit_files(staging, out_dir, new_files, _shapefile_parts(out_dir, name))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        written.append(out_dir / main.name)
    return written


# ----------------------------------------------------------------------------------------- export


def export(
    layers: Mapping[str, pd.DataFrame],
    path_or_folder: str | os.PathLike[str],
    *,
    format: str = "geojson",
    crs: str = "EPSG:4326",
    geojson_crs_member: bool = False,
    excel: bool = False,
) -> list[Path]:
    """Export named layers for a city GIS in one format (or ``"all"``) and one CRS.

    Parameters
    ----------
    layers
        ``{"grids": grids, "assignment": assignment, "routes": routes, ...}``: GeoDataFrames (any
        CRS) or plain tables. Names become file or layer names.
    path_or_folder
        The output folder (created if needed); for ``format="gpkg"`` also a ``.gpkg`` file path.
    format
        ``"geojson"``, ``"gpkg"``, ``"shp"``, ``"csv"``, ``"parquet"`` (GeoParquet) or ``"all"``
        (GeoPackage, GeoJSON, Shapefile and CSV; see the module docstring for the files each writes).
    crs
        ``"EPSG:4326"`` (default), ``"EPSG:4490"``, ``"cgcs2000-gk3"``, ``"cgcs2000-gk3-cm"``,
        ``"cgcs2000-gk3:<zone or CM>"``, ``"gcj02"``, ``"bd09"`` or ``"EPSG:<code>"``.
    geojson_crs_member
        Allow GeoJSON in a CRS other than EPSG:4326 as a non-RFC 7946 file with a ``crs`` member.
        With ``format="all"`` and such a CRS, GeoJSON is skipped with a warning unless this is set.
    excel
        Start CSV files with a UTF-8 byte-order mark so that Excel shows Chinese text.

    Returns
    -------
    list of pathlib.Path
        Every file written (for Shapefiles the ``.shp``, or ``.dbf`` for tables).
    """
    fmt = str(format).strip().lower()
    if fmt not in (*FORMATS, "all"):
        raise GridkitError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)} or all")
    _check_layers(layers)
    target = resolve_crs(crs, layers)
    prepared = {name: prepare_layer(frame, target) for name, frame in layers.items()}
    out = Path(path_or_folder)
    if fmt == "gpkg":
        return write_gpkg_layers(prepared, out if out.suffix.lower() == ".gpkg" else out / GPKG_NAME, target)
    if out.suffix.lower() in {".gpkg", ".geojson", ".json", ".shp", ".csv", ".parquet"}:
        raise GridkitError(f"format {fmt} writes one file per layer: give a folder, not {out.name!r}", source=out)
    if fmt == "geojson":
        return write_geojson_layers(prepared, out, target, crs_member=geojson_crs_member)
    if fmt == "shp":
        return write_shapefile_layers(prepared, out, target)
    if fmt == "csv":
        return write_csv_layers(prepared, out, target, excel=excel)
    if fmt == "parquet":
        return write_parquet_layers(prepared, out, target)
    written = write_gpkg_layers(prepared, out / GPKG_NAME, target)
    if target.is_wgs84 or target.shift is not None or geojson_crs_member:
        written += write_geojson_layers(prepared, out / "geojson", target, crs_member=geojson_crs_member)
    else:
        warnings.warn(f"GeoJSON not written: RFC 7946 allows only EPSG:4326, not {target.label}",
                      GridkitWarning, stacklevel=2)
    written += write_shapefile_layers(prepared, out / "shp", target)
    written += write_csv_layers(prepared, out / "csv", target, excel=excel)
    return written
