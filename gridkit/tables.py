"""Tables that open cleanly in Excel, WPS, QGIS and pandas: one writer for every CSV gridkit writes.

:func:`write_table` writes a CSV with every text value quoted (ids such as ``510107003005001`` stay
text: Excel shows them as written, not ``5.10107E+14``) and a GDAL/QGIS ``.csvt`` beside it naming
each column's type; optionally with the byte-order mark Excel needs for Chinese (``excel=True``).
Both files are written atomically.

:func:`planner_table` makes a table readable by a person first: ids as text, counts as integers
(``7``, not ``7.0``), shares and deviations rounded to 3 places, lengths to 0.1 m, areas in
hectares (``area_ha``, 2 places) instead of square metres, and no ``nan``/``None`` strings (an
empty cell). GIS layers keep ``area_m2`` (``hectares=False``).

pandas infers numbers from digits whatever the quoting: read ids back with :func:`read_table` (it
takes the ``.csvt`` types) or ``pd.read_csv(path, dtype={"grid_id": str})``.

Examples
--------
>>> import pandas as pd
>>> table = planner_table(pd.DataFrame({"grid_id": [510107003005001], "households": [7.0],
...                                     "share_within_tolerance": [0.09729729729729733], "area_m2": [752269.5]}))
>>> table.to_dict("records")
[{'grid_id': '510107003005001', 'households': 7, 'share_within_tolerance': 0.097, 'area_ha': 75.23}]
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["csvt_type", "is_id_column", "planner_table", "read_table", "write_table"]

_COUNT = re.compile(r"^(n_.*|count(_.*)?|households(_.*)?|population|closed|open|on_time|overdue_open|capacity|"
                    r"incidents|buildings|uncovered|grids(_staffed)?|k_planned|n|seq|rows|read|in_grids|outside|"
                    r"rejected|flagged|wardens|level_count)$")
_SHARE = re.compile(r"(share|deviation|polsby|ratio|gini|on_time_share|alignment|churn|coverage_gap|overlap|gi_q)")
_LENGTH = re.compile(r"(_m|_metres|distance)$")
_KM_MIN = re.compile(r"(_km|minutes|hours(_.*)?|median_hours_to_close|per_100_households|gi_z|load)$")
_ID = re.compile(r"(^|_)(id|code)$|^grids$|^related$")
_COORDS = frozenset({"lon", "lat", "x", "y", "lng", "longitude", "latitude"})
_MISSING_TEXT = frozenset({"nan", "none", "null", "<na>", "nat"})

_CSVT_BY_NAME = {"wkt": "WKT", "lon": "CoordX", "x": "CoordX", "lat": "CoordY", "y": "CoordY"}
_CSVT_BY_DTYPE = (
    (pd.api.types.is_bool_dtype, "String"),
    (pd.api.types.is_integer_dtype, "Integer64"),
    (pd.api.types.is_float_dtype, "Real"),
    (pd.api.types.is_datetime64_any_dtype, "DateTime"),
)


def is_id_column(name: object) -> bool:
    """Whether a column holds identifiers or codes (kept as text)."""
    return bool(_ID.search(str(name)))


def csvt_type(series: pd.Series) -> str:
    """GDAL/QGIS ``.csvt`` column type: ids stay text, coordinates are recognised as such."""
    if series.name in _CSVT_BY_NAME:
        return _CSVT_BY_NAME[str(series.name)]
    if is_id_column(series.name):
        return "String"
    return next((kind for test, kind in _CSVT_BY_DTYPE if test(series)), "String")


def _as_text(series: pd.Series) -> pd.Series:
    """Values as text, integral floats without ``.0``, missing as None (never ``"nan"``)."""
    def one(value: object) -> object:
        if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        text = str(value)
        return None if text.strip().lower() in _MISSING_TEXT else text

    return series.astype(object).map(one).astype(object)


def _integral(series: pd.Series) -> bool:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    return bool(np.all(finite == np.round(finite)))


def planner_table(frame: pd.DataFrame, *, hectares: bool = True) -> pd.DataFrame:
    """``frame`` formatted for a person (see the module docstring); geometry columns dropped."""
    geometry = getattr(frame, "_geometry_column_name", None)
    table = pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c in {"geometry", geometry}]))
    out = {}
    for col in table.columns:
        series = table[col]
        name = str(col)
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if is_id_column(name):
            out[name] = _as_text(series)
        elif name in _COORDS or not numeric:
            out[name] = _as_text(series) if series.dtype == object else series
        elif name == "area_m2" and hectares:
            out["area_ha"] = (series.astype(float) / 10_000).round(2)
        elif _COUNT.match(name) and _integral(series):
            out[name] = pd.to_numeric(series, errors="coerce").round().astype("Int64")
        elif _SHARE.search(name):
            out[name] = series.astype(float).round(3)
        elif _LENGTH.search(name):
            out[name] = series.astype(float).round(1)
        elif _KM_MIN.search(name):
            out[name] = series.astype(float).round(2)
        else:
            out[name] = series
    return pd.DataFrame(out, index=table.index)


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str], *, excel: bool = False, planner: bool = True,
                hectares: bool = True) -> Path:
    """Write ``frame`` as a CSV with text quoted and a ``.csvt`` beside it, atomically.

    Parameters
    ----------
    frame
        Any table (a geometry column is dropped).
    path
        The ``.csv`` to write; ``<stem>.csvt`` is written beside it.
    excel
        Start the file with a UTF-8 byte-order mark so Excel shows Chinese (GDAL, QGIS and pandas
        with ``encoding="utf-8-sig"`` read it either way).
    planner, hectares
        Format for a person first (:func:`planner_table`); ``hectares=False`` keeps ``area_m2``.

    Returns
    -------
    pathlib.Path
        The CSV written.
    """
    from gridkit.io import atomic_path  # noqa: PLC0415

    geometry = getattr(frame, "_geometry_column_name", None)
    table = planner_table(frame, hectares=hectares) if planner else \
        pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c in {"geometry", geometry}]))
    for col in table.columns:  # text quoted; ids as text even where they were numbers
        if is_id_column(col) or table[col].dtype == object:
            table[col] = _as_text(table[col])
    target = Path(path)
    types = ",".join(f'"{csvt_type(table[col])}"' for col in table.columns)
    with atomic_path(target.with_suffix(".csvt")) as tmp:
        tmp.write_text(types + "\n", encoding="utf-8")
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8-sig" if excel else "utf-8", quoting=csv.QUOTE_NONNUMERIC,
                     na_rep="")
    return target


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV written by :func:`write_table`, with text columns (ids) as text per its ``.csvt``."""
    target = Path(path)
    csvt = target.with_suffix(".csvt")
    header = pd.read_csv(target, nrows=0, encoding="utf-8-sig").columns
    dtype: dict[str, str] = {}
    if csvt.exists():
        kinds = next(csv.reader([csvt.read_text(encoding="utf-8").strip()]))
        dtype = {col: "string" for col, kind in zip(header, kinds, strict=False) if kind == "String"}
    else:
        dtype = {col: "string" for col in header if is_id_column(col)}
    return pd.read_csv(target, dtype=dtype, encoding="utf-8-sig", keep_default_na=True)
