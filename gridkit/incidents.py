"""Incidents: the case lifecycle, a data-quality table, and per-grid statistics with tiers.

Wardens report incidents (矛盾纠纷, 安全隐患, 消防, 治安, 环境卫生, ...) that move through the lifecycle
发现 → 立案 → 派遣 → 处置 → 核查 → 结案 (``reported → registered → dispatched → handled → verified →
closed``); a case closes only after on-site verification (核查).

:func:`read_incidents` reads a CSV (``lon``/``lat``) or GeoJSON, converts GCJ-02 or BD-09 coordinates
(as Chinese map apps record them) to WGS 84, parses the timestamp per stage and checks every row.
:func:`prepare_incidents` also places each incident in its grid and returns the incidents, a
data-quality table (one row per problem) and the counts, which always add up:
``read = in_grids + outside + rejected``. :func:`grid_stats` counts by grid, category and period, per
100 households, the median hours to close, the on-time share against a time limit per category
(configurable, ``sla.toml``), overdue open cases and a green/orange/red tier.

Hot spots (Getis-Ord Gi*) and kernel density surfaces are in :mod:`gridkit.hotspots`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.crs import WGS84, to_metric
from gridkit.errors import GridkitWarning, InputDataError
from gridkit.io import points_from_table, read_layer, read_table, source_name
from gridkit.spatial import polygon_holding

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_TIERS",
    "DEFAULT_TIME_LIMITS_HOURS",
    "STAGES",
    "STAGE_NAMES",
    "IncidentResult",
    "grid_stats",
    "join_grids",
    "load_sla",
    "prepare_incidents",
    "read_incidents",
]

#: Lifecycle stages in order, and their timestamp columns ``<stage>_at``.
STAGES = ("reported", "registered", "dispatched", "handled", "verified", "closed")
#: Stage names in Chinese and English.
STAGE_NAMES = {
    "zh": dict(zip(STAGES, ("发现", "立案", "派遣", "处置", "核查", "结案"), strict=True)),
    "en": dict(zip(STAGES, ("Reported", "Registered", "Dispatched", "Handled", "Verified", "Closed"), strict=True)),
}
#: Default incident categories: code -> (Chinese name, English name).
DEFAULT_CATEGORIES: dict[str, tuple[str, str]] = {
    "dispute": ("矛盾纠纷", "Dispute"),
    "safety_hazard": ("安全隐患", "Safety hazard"),
    "fire": ("消防", "Fire"),
    "public_order": ("治安", "Public order"),
    "sanitation": ("环境卫生", "Sanitation"),
    "other": ("其他", "Other"),
}
#: Default time limits (hours from 发现 to 结案) per category. Places set their own: these are
#: configuration, not a standard (``sla.toml``, see :func:`load_sla`).
DEFAULT_TIME_LIMITS_HOURS: dict[str, float] = {
    "fire": 24.0, "public_order": 48.0, "safety_hazard": 72.0, "dispute": 120.0, "sanitation": 72.0,
    "other": 168.0, "default": 120.0,
}
#: Default tiers: by incidents per 100 households, orange from the 75th and red from the 90th
#: percentile of the grids (relative, so that they suit any period); give numbers for fixed limits.
DEFAULT_TIERS: dict[str, Any] = {"by": "per_100_households", "orange": "p75", "red": "p90"}

_COORDS = ("wgs84", "gcj02", "bd09")
_PERIODS = {"month": "M", "week": "W-SUN", "quarter": "Q", "year": "Y", "day": "D"}
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})$|Z$")


@dataclass
class IncidentResult:
    """What :func:`prepare_incidents` returns.

    Attributes
    ----------
    incidents
        The incidents kept (not rejected), EPSG:4326, with ``grid_id`` (missing where the point lies
        outside every grid), the stage timestamps (timezone-aware), ``closed_valid``,
        ``hours_to_close``, ``period`` columns and ``row`` (0-based row of the input).
    quality
        One row per problem found: ``row``, ``incident_id``, ``problem``, ``detail``, ``action``
        (``rejected``, ``outside`` or ``kept``).
    counts
        ``read``, ``in_grids``, ``outside``, ``rejected`` (``read = in_grids + outside + rejected``)
        and ``flagged`` (kept rows with at least one problem).
    """

    incidents: gpd.GeoDataFrame
    quality: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)

    def __iter__(self):
        """Unpack as ``incidents, quality``."""
        return iter((self.incidents, self.quality))


# ----------------------------------------------------------------------------------------------
# reading


def _category_table(categories: Mapping[str, Any] | Sequence[str] | None) -> dict[str, tuple[str, str]]:
    """Normalise the ``categories`` option to ``code -> (zh, en)``."""
    if categories is None:
        return dict(DEFAULT_CATEGORIES)
    if isinstance(categories, Mapping):
        table = {}
        for code, names in categories.items():
            if isinstance(names, Mapping):
                table[str(code)] = (str(names.get("zh", code)), str(names.get("en", code)))
            elif isinstance(names, str):
                table[str(code)] = (names, str(code))
            else:
                zh, en = names
                table[str(code)] = (str(zh), str(en))
        return table
    return {str(c): DEFAULT_CATEGORIES.get(str(c), (str(c), str(c))) for c in categories}


def _to_frame(source: Any, crs: Any) -> gpd.GeoDataFrame:
    """Read ``source`` into a GeoDataFrame; bad coordinates become empty points (checked later)."""
    if isinstance(source, gpd.GeoDataFrame):
        return read_layer(source, crs=crs, label="incidents")
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        frame.attrs.setdefault("source", "<incidents DataFrame>")
        return _points_from_table(frame, crs)
    path = Path(os.fspath(source))
    if not path.exists():
        raise InputDataError("incidents file does not exist", source=path)
    if path.suffix.lower() in {".csv", ".tsv", ".txt"}:
        frame = read_table(path, label="incidents", dtype=str, keep_default_na=False, na_values=[""])
        return _points_from_table(frame, crs)
    return read_layer(path, crs=crs, label="incidents")


def _points_from_table(frame: pd.DataFrame, crs: Any) -> gpd.GeoDataFrame:
    out = points_from_table(frame, crs=crs)
    if out is None:
        raise InputDataError("incidents have no coordinates: give lon/lat (or x/y) columns",
                             source=frame.attrs.get("source"))
    out.attrs["source"] = frame.attrs.get("source")
    return out


def _local_timezone(values: pd.Series) -> dt.tzinfo:
    """The UTC offset written on the first timestamp (``+08:00``), or UTC when none is written."""
    sample = values.dropna().astype(str).head(50)
    for text in sample:
        match = _OFFSET.search(text.strip())
        if match and match.group(0) != "Z":
            sign = 1 if match.group(1) == "+" else -1
            return dt.timezone(sign * dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    return dt.UTC


def _parse_text_times(raw: pd.Series, zone: Any) -> tuple[pd.Series, pd.Series]:
    """Parse ISO 8601 text; naive times are local (``zone``). Returns ``(UTC-aware times, unparseable)``."""
    text = raw.astype(object).where(raw.notna(), None)
    text = text.where(text != "", None)
    try:  # fast path: one offset everywhere, or none
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        parsed = None
    if parsed is not None and pd.api.types.is_datetime64_any_dtype(parsed):
        if getattr(parsed.dt, "tz", None) is None:
            parsed = parsed.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        parsed = parsed.dt.tz_convert("UTC")
    else:  # mixed offsets, or offsets on some rows only
        text = pd.Series(text, dtype="string").str.strip()
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        naive = text.notna() & ~text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True, na=False)
        if naive.any():
            local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
            parsed.loc[naive] = local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward") \
                .dt.tz_convert("UTC")
    return parsed, pd.Series(text.notna().to_numpy() & parsed.isna().to_numpy(), index=raw.index)


def _parse_times(frame: pd.DataFrame, tz: dt.tzinfo | str | None) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Parse every ``<stage>_at`` column: ``(times, unparseable mask)`` per stage."""
    present = [f"{s}_at" for s in STAGES if f"{s}_at" in frame.columns]
    zone = tz if tz is not None else _local_timezone(frame[present[0]]) if present else dt.UTC
    times, bad = {}, {}
    for stage in STAGES:
        col = f"{stage}_at"
        if col not in frame.columns:
            times[stage] = pd.Series(pd.NaT, index=frame.index, dtype=f"datetime64[ns, {zone}]")
            bad[stage] = pd.Series(False, index=frame.index)
            continue
        raw = frame[col]
        if pd.api.types.is_datetime64_any_dtype(raw):
            parsed = raw if getattr(raw.dt, "tz", None) is not None else \
                raw.dt.tz_localize(zone, ambiguous="NaT", nonexistent="shift_forward")
        else:
            parsed, bad[stage] = _parse_text_times(raw, zone)
        times[stage] = parsed.dt.tz_convert(zone)
        bad.setdefault(stage, pd.Series(False, index=frame.index))
    return times, bad


def read_incidents(
    path_or_df: Any,
    *,
    coords: str = "wgs84",
    categories: Mapping[str, Any] | Sequence[str] | None = None,
    crs: Any = None,
    tz: dt.tzinfo | str | None = None,
    id_col: str = "incident_id",
    category_col: str = "category",
    status_col: str = "status",
) -> gpd.GeoDataFrame:
    """Read incidents and keep the rows that pass the checks (the others are warned about).

    Use :func:`prepare_incidents` to get the data-quality table and the counts as well.

    Parameters
    ----------
    path_or_df
        A CSV (``lon``/``lat`` columns, UTF-8) or GeoJSON/GeoPackage path, a DataFrame with
        ``lon``/``lat`` or a GeoDataFrame.
    coords
        ``"wgs84"`` (default), ``"gcj02"`` (Amap/高德, Tencent) or ``"bd09"`` (Baidu/百度): the system
        the longitude/latitude are written in; converted to WGS 84.
    categories
        Known categories: ``{code: (zh, en)}``, ``{code: {"zh": .., "en": ..}}`` or a list of codes;
        the default is :data:`DEFAULT_CATEGORIES`. Values may be the code or its Chinese or English
        name. Other values are rejected as ``unknown_category``.
    crs
        CRS of the coordinates when the file carries none (CSV defaults to EPSG:4326).
    tz
        Time zone of timestamps written without an offset; by default the offset written on the
        first timestamp (``+08:00`` in the sample), else UTC.
    id_col, category_col, status_col
        Column names. ``status`` is optional: without it, the last stage reached is the status.

    Returns
    -------
    geopandas.GeoDataFrame
        Incidents in EPSG:4326 with ``incident_id``, ``category`` (code), ``status``, the six
        ``<stage>_at`` timestamps, ``closed_valid`` (closed after verification), ``hours_to_close``
        and ``row`` (0-based input row).
    """
    kept, quality, _ = _read_checked(path_or_df, coords=coords, categories=categories, crs=crs, tz=tz,
                                     id_col=id_col, category_col=category_col, status_col=status_col)
    rejected = int((quality["action"] == "rejected").sum()) if len(quality) else 0
    if rejected:
        warnings.warn(f"{source_name(kept)}: {rejected} incidents rejected "
                      f"({', '.join(sorted(set(quality.loc[quality.action == 'rejected', 'problem'])))}); "
                      "prepare_incidents() lists them", GridkitWarning, stacklevel=2)
    return kept


def _convert_coords(gdf: gpd.GeoDataFrame, coords: str) -> gpd.GeoDataFrame:
    coords = coords.lower().replace("-", "").replace("_", "")
    if coords not in _COORDS:
        raise InputDataError(f"coords must be one of {', '.join(_COORDS)}, not {coords!r}")
    gdf = gdf.to_crs(WGS84) if gdf.crs is not None and not gdf.crs.equals(WGS84) else gdf
    if coords == "wgs84":
        return gdf
    from gridkit import chinacoords  # noqa: PLC0415  (optional path, imported when asked for)

    func = chinacoords.gcj02_to_wgs84 if coords == "gcj02" else chinacoords.bd09_to_wgs84
    ok = ~gdf.geometry.is_empty.to_numpy()
    xs, ys = gdf.geometry.x.to_numpy().copy(), gdf.geometry.y.to_numpy().copy()
    lon, lat = func(xs[ok], ys[ok])
    xs[ok], ys[ok] = np.asarray(lon, float), np.asarray(lat, float)
    geometry = shapely.points(xs, ys)
    geometry[~ok] = shapely.Point()
    return gdf.set_geometry(gpd.GeoSeries(geometry, index=gdf.index, crs=WGS84))


class _Checks:
    """Collects problems row by row; a row is rejected once, with its first reason."""

    def __init__(self, ids: pd.Series) -> None:
        self.ids = ids
        self.rejected = np.zeros(len(ids), bool)
        self.problems: list[pd.DataFrame] = []

    def _add(self, mask: np.ndarray, problem: str, detail: Any, action: str) -> np.ndarray:
        rows = np.flatnonzero(np.asarray(mask, bool) & ~self.rejected)
        if len(rows):
            if isinstance(detail, (np.ndarray, pd.Series)):
                detail = np.asarray(detail, dtype=object)[rows]
            self.problems.append(pd.DataFrame({"row": rows.astype(int), "incident_id": self.ids.to_numpy()[rows],
                                               "problem": problem, "detail": detail, "action": action}))
        return rows

    def reject(self, mask: np.ndarray, problem: str, detail: Any) -> None:
        self.rejected[self._add(mask, problem, detail, "rejected")] = True

    def flag(self, mask: np.ndarray, problem: str, detail: Any) -> None:
        self._add(mask, problem, detail, "kept")


def _check_identity(gdf: gpd.GeoDataFrame, checks: _Checks, id_col: str) -> None:
    """Missing ids, missing coordinates, exact duplicates, and ids reused with other values."""
    ids = checks.ids
    checks.reject(ids.isna().to_numpy(), "missing_id", f"empty {id_col}")
    empty = gdf.geometry.is_empty.to_numpy() | gdf.geometry.isna().to_numpy()
    checks.reject(empty, "bad_coordinates", "missing or non-numeric coordinates")
    repeated = np.flatnonzero(ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy())
    exact = np.zeros(len(ids), bool)
    if len(repeated):
        plain = gdf.iloc[repeated].drop(columns=gdf.geometry.name).astype("string").fillna("")
        plain["_wkb"] = shapely.to_wkb(gdf.geometry.to_numpy()[repeated])
        exact[repeated] = plain.duplicated(keep="first").to_numpy()
    checks.reject(exact, "duplicate", "exact duplicate of an earlier row (same incident_id)")
    same_id = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    checks.reject(same_id, "duplicate_id", "incident_id seen on an earlier row with other values")


def _check_category(gdf: gpd.GeoDataFrame, checks: _Checks, categories: Any) -> pd.Series:
    """Category codes (the code, the Chinese or the English name are accepted); others rejected."""
    table = _category_table(categories)
    names = {code: code for code in table}
    for code, (zh, en) in table.items():
        names.setdefault(zh, code)
        names.setdefault(en, code)
        names.setdefault(en.lower(), code)
    raw = gdf["category"].astype(object)
    lookup = {v: names.get(str(v).strip(), names.get(str(v).strip().lower())) for v in pd.unique(raw.dropna())}
    code = raw.map(lookup)
    unknown = code.isna().to_numpy()
    checks.reject(unknown, "unknown_category", ("category " + raw.fillna("<empty>").astype(str)).to_numpy())
    return code.astype("string")


def _check_status(gdf: gpd.GeoDataFrame, checks: _Checks, last: np.ndarray) -> np.ndarray:
    """Position of the status in :data:`STAGES` (English or Chinese names).

    Without a status column, the last stage reached is the status.
    """
    if "status" not in gdf.columns:
        return last
    raw = gdf["status"].astype(object)
    zh_names = {v: k for k, v in STAGE_NAMES["zh"].items()}
    position = {s: i for i, s in enumerate(STAGES)}
    lookup = {}
    for value in pd.unique(raw.dropna()):
        text = str(value).strip().lower()
        lookup[value] = position.get(zh_names.get(text, text), -1)
    pos = raw.map(lookup).fillna(-1).to_numpy(int)
    checks.reject(pos < 0, "unknown_status", ("status " + raw.fillna("<empty>").astype(str)).to_numpy())
    return pos


def _check_lifecycle(checks: _Checks, stamp: np.ndarray, reached: np.ndarray, status_pos: np.ndarray,
                     last: np.ndarray) -> np.ndarray:
    """Flag (keep) lifecycle problems; return the rows whose stages run backwards.

    Stages out of order, closure without verification, skipped stages and a status that disagrees
    with the timestamps.
    """
    idx = {s: i for i, s in enumerate(STAGES)}
    running = np.fmax.accumulate(np.where(np.isnan(stamp), -np.inf, stamp), axis=1)
    backwards = (reached[:, 1:] & (stamp[:, 1:] < running[:, :-1])).any(axis=1)
    checks.flag(backwards, "stages_out_of_order", "a later stage is timed before an earlier one")
    unverified = (reached[:, idx["closed"]] | (status_pos == idx["closed"])) & ~reached[:, idx["verified"]]
    checks.flag(unverified, "closed_without_verification",
                "closed (结案) without verified_at (核查): not counted as closed")
    skipped = np.zeros(len(stamp), bool)
    for k in range(1, len(STAGES) - 1):  # a stage missing below one reached (verification is above)
        if k != idx["verified"]:
            skipped |= ~reached[:, k] & reached[:, k + 1:].any(axis=1)
    checks.flag(skipped, "stage_missing", "an earlier stage has no timestamp")
    checks.flag(status_pos > last, "status_ahead_of_times", "status is a stage whose timestamp is missing")
    checks.flag((status_pos >= 0) & (status_pos < last), "status_behind_times",
                "timestamps exist for stages after the status")
    return backwards


def _read_checked(
    source: Any, *, coords: str, categories: Any, crs: Any, tz: Any, id_col: str, category_col: str,
    status_col: str,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, int]:
    """Read and check: ``(kept rows, quality table, rows read)``."""
    gdf = _to_frame(source, crs)
    where = source_name(gdf, "<incidents>")
    for col in (id_col, category_col):
        if col not in gdf.columns:
            raise InputDataError(f"incidents need a {col!r} column", source=where, column=col)
    if "reported_at" not in gdf.columns:
        raise InputDataError("incidents need a 'reported_at' timestamp column", source=where, column="reported_at")
    gdf = gdf.reset_index(drop=True).rename(columns={id_col: "incident_id", category_col: "category"})
    if status_col in gdf.columns and status_col != "status":
        gdf = gdf.rename(columns={status_col: "status"})
    gdf = _convert_coords(gdf, coords)
    gdf["incident_id"] = gdf["incident_id"].astype("string")
    checks = _Checks(gdf["incident_id"])
    _check_identity(gdf, checks, id_col)
    gdf["category"] = _check_category(gdf, checks, categories)
    times, bad = _parse_times(gdf, tz)
    for stage in STAGES:
        checks.reject(bad[stage].to_numpy(), "bad_timestamp", f"{stage}_at is not an ISO 8601 time")
    checks.reject(times["reported"].isna().to_numpy(), "missing_reported_at", "no reported_at (发现) time")
    reached = np.column_stack([times[s].notna().to_numpy() for s in STAGES])
    last = np.where(reached.any(axis=1), len(STAGES) - 1 - np.argmax(reached[:, ::-1], axis=1), -1)
    status_pos = _check_status(gdf, checks, last)
    gdf["status"] = pd.Series(np.array(STAGES, dtype=object)[np.clip(status_pos, 0, None)], index=gdf.index,
                              dtype="string")
    stamp = np.column_stack([times[s].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
                             .astype("int64").astype(float) for s in STAGES])
    stamp[~reached] = np.nan
    backwards = _check_lifecycle(checks, stamp, reached, status_pos, last)
    for stage in STAGES:
        gdf[f"{stage}_at"] = times[stage]
    closed_pos, verified_pos = STAGES.index("closed"), STAGES.index("verified")
    closed = (status_pos == closed_pos) & reached[:, closed_pos] & reached[:, verified_pos] & ~backwards
    gdf["closed_valid"] = closed
    gdf["hours_to_close"] = np.where(closed, (stamp[:, closed_pos] - stamp[:, 0]) / 3.6e12, np.nan)
    gdf["row"] = np.arange(len(gdf))
    kept = gdf.loc[~checks.rejected].copy()
    kept.attrs["source"] = where
    return kept, _concat(checks.problems), len(gdf)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns = ["row", "incident_id", "problem", "detail", "action"]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "object") for c in columns})
    return pd.concat(frames, ignore_index=True)[columns].sort_values(["row", "problem"], kind="stable",
                                                                       ignore_index=True)


# ----------------------------------------------------------------------------------------------
# grids


def join_grids(
    incidents: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, grid_id: str = "grid_id"
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Place each incident in the grid that holds it.

    Parameters
    ----------
    incidents
        Points in any CRS (as :func:`read_incidents` returns them).
    grids
        Grid polygons with ``grid_id`` (any CRS). A point on a boundary shared by two grids goes to
        the first of them in ``grids`` order.
    grid_id
        The grids' id column.

    Returns
    -------
    (geopandas.GeoDataFrame, pandas.DataFrame)
        The incidents with a ``grid_id`` column (missing for points outside every grid), and the
        data-quality rows of those outside (problem ``outside_grids``, action ``outside``).
    """
    if grid_id not in grids.columns:
        raise InputDataError(f"grids need a {grid_id!r} column", source=source_name(grids, "<grids>"),
                             column=grid_id)
    points = incidents.geometry.to_crs(grids.crs).to_numpy()
    polygons = grids.geometry.to_numpy()
    first = polygon_holding(points, polygons)
    out = incidents.copy()
    codes = grids[grid_id].astype("string").to_numpy()
    out["grid_id"] = pd.array(np.where(first >= 0, codes[np.clip(first, 0, None)], None), dtype="string")
    outside = np.flatnonzero(first < 0)
    rows = out["row"].to_numpy()[outside] if "row" in out.columns else outside
    quality = pd.DataFrame({"row": rows.astype(int), "incident_id": out["incident_id"].to_numpy()[outside],
                            "problem": "outside_grids", "detail": "point lies outside every grid",
                            "action": "outside"})
    return out, quality


def prepare_incidents(
    incidents: Any,
    grids: gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    coords: str = "wgs84",
    categories: Mapping[str, Any] | Sequence[str] | None = None,
    crs: Any = None,
    tz: dt.tzinfo | str | None = None,
    period: str | None = "month",
    id_col: str = "incident_id",
    category_col: str = "category",
    status_col: str = "status",
) -> IncidentResult:
    """Read, check and place incidents in grids, with the data-quality table and the counts.

    Parameters
    ----------
    incidents
        Path (CSV/GeoJSON), DataFrame with ``lon``/``lat`` or GeoDataFrame (see :func:`read_incidents`).
    grids
        Grid polygons with ``grid_id`` (GeoDataFrame or path).
    coords, categories, crs, tz, id_col, category_col, status_col
        As in :func:`read_incidents`.
    period
        Adds a ``period`` column (``month``, ``week``, ``quarter``, ``year``, ``day``) of the local
        reporting time, or None.

    Returns
    -------
    IncidentResult
        ``incidents``, ``quality`` and ``counts`` (``read = in_grids + outside + rejected``).
    """
    grids = read_layer(grids, label="grids")
    kept, quality, n_read = _read_checked(incidents, coords=coords, categories=categories, crs=crs, tz=tz,
                                          id_col=id_col, category_col=category_col, status_col=status_col)
    placed, outside = join_grids(kept, grids)
    if period:
        placed["period"] = period_labels(placed["reported_at"], period)
    quality = _concat([quality, outside])
    n_rejected = n_read - len(kept)
    n_outside = int(placed["grid_id"].isna().sum())
    flagged = quality.loc[quality["action"] == "kept", "row"].nunique() if len(quality) else 0
    counts = {"read": n_read, "in_grids": len(placed) - n_outside, "outside": n_outside, "rejected": n_rejected,
              "flagged": int(flagged)}
    if counts["in_grids"] + counts["outside"] + counts["rejected"] != counts["read"]:  # pragma: no cover
        raise AssertionError(f"incident counts do not add up: {counts}")
    placed.attrs["source"] = kept.attrs.get("source")
    return IncidentResult(placed, quality, counts)


def period_labels(times: pd.Series, period: str) -> pd.Series:
    """Label timestamps by calendar period in their own (local) time: ``2025-03``, ``2025-W10`` ...

    Weeks are ISO weeks (Monday first) labelled by their Monday, ``2025-03-03``.
    """
    if period not in _PERIODS:
        raise InputDataError(f"period must be one of {', '.join(_PERIODS)}, not {period!r}")
    local = times.dt.tz_localize(None) if getattr(times.dt, "tz", None) is not None else times
    if period == "month":
        return local.dt.strftime("%Y-%m").astype("string")
    if period == "week":
        return (local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d") \
            .astype("string")
    if period == "day":
        return local.dt.strftime("%Y-%m-%d").astype("string")
    if period == "quarter":
        return (local.dt.year.astype("string") + "-Q" + local.dt.quarter.astype("string")).astype("string")
    return local.dt.year.astype("string")


# ----------------------------------------------------------------------------------------------
# statistics


def _limit_key(key: object, sla: object) -> str:
    """Return a time-limit key as a category code.

    Chinese and English names of the default categories map to their code (矛盾纠纷 → dispute); a near
    miss of a code or name (``disputes``) is an error that names the closest one; any other key is kept
    as a custom category's code.
    """
    text = str(key).strip()
    names = {code: code for code in DEFAULT_TIME_LIMITS_HOURS}
    for code, (zh, en) in DEFAULT_CATEGORIES.items():
        names[zh] = code
        names[en.lower()] = code
    if text in names or text.lower() in names:
        return names.get(text, names.get(text.lower(), text))
    close = difflib.get_close_matches(text.lower(), list(names), n=1, cutoff=0.8)
    if close:
        raise InputDataError(f"unknown category {text!r} in the time limits; did you mean {close[0]!r}?",
                             source=str(sla), column=f"time_limits_hours.{text}")
    return text


def load_sla(sla: Mapping[str, Any] | str | os.PathLike[str] | None) -> dict[str, Any]:
    """Read time limits and tier thresholds from a mapping or an ``sla.toml`` file.

    The file looks like::

        [time_limits_hours]      # 时限: hours from 发现 (reported) to 结案 (closed)
        default = 120
        fire = 24
        public_order = 48

        [tiers]                  # 分级: green below orange, red from red
        by = "per_100_households"   # or "count", "overdue_open", any column of grid_stats
        orange = 30              # numbers, or percentiles of the grids such as "p75"
        red = 60

    Returns
    -------
    dict
        ``{"time_limits_hours": {...}, "tiers": {...}}`` with the defaults filled in.
    """
    given: Mapping[str, Any]
    if sla is None:
        given = {}
    elif isinstance(sla, Mapping):
        given = sla
    else:
        path = Path(os.fspath(sla))
        if not path.exists():
            raise InputDataError("SLA file does not exist", source=path)
        try:
            given = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InputDataError(f"cannot read TOML: {exc}", source=path) from exc
    limits = dict(DEFAULT_TIME_LIMITS_HOURS)
    where = "[time_limits_hours]" if isinstance(sla, Mapping) else sla
    limits.update({_limit_key(k, where): v for k, v in dict(given.get("time_limits_hours", {})).items()})
    for key, value in limits.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise InputDataError(f"time limit must be a positive number of hours, not {value!r}",
                                 source=str(sla), column=f"time_limits_hours.{key}")
    tiers = dict(DEFAULT_TIERS)
    tiers.update(dict(given.get("tiers", {})))
    return {"time_limits_hours": {k: float(v) for k, v in limits.items()}, "tiers": tiers}


def _threshold(value: Any, metric: pd.Series, name: str) -> float:
    if isinstance(value, str) and value.lower().startswith("p"):
        share = float(value[1:]) / 100.0
        finite = metric.dropna()
        return float(finite.quantile(share)) if len(finite) else np.inf
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InputDataError(f"tier threshold {name} must be a number or a percentile like 'p75', "
                             f"not {value!r}", column=f"tiers.{name}") from exc


def assign_tiers(stats: pd.DataFrame, thresholds: Mapping[str, Any] | None = None) -> pd.Series:
    """Green / orange / red per row of ``stats`` (``none`` where the metric is undefined).

    ``thresholds``: ``{"by": column, "orange": x, "red": y}``; a value ``x`` is a number or a
    percentile of the rows, ``"p75"`` (within each period when there is a ``period`` column).
    A row is red when ``metric >= red``, orange when ``metric >= orange``, else green.
    """
    spec = dict(DEFAULT_TIERS)
    spec.update(dict(thresholds or {}))
    by = spec["by"]
    if by not in stats.columns:
        raise InputDataError(f"tiers by {by!r}: no such column in the statistics", column="tiers.by")
    groups = stats.groupby("period", sort=False) if "period" in stats.columns else [(None, stats)]
    tier = pd.Series("none", index=stats.index, dtype=object)
    for _, part in groups:
        metric = part[by].astype(float)
        orange, red = _threshold(spec["orange"], metric, "orange"), _threshold(spec["red"], metric, "red")
        level = np.where(metric >= red, "red", np.where(metric >= orange, "orange", "green"))
        level = np.where(metric.isna(), "none", level)
        # percentile limits must not paint a quiet district orange: a grid with no incident is green
        if "count" in part.columns:
            level = np.where(part["count"].to_numpy() == 0, "green", level)
        tier.loc[part.index] = level
    return tier.astype("string")


def grid_stats(
    incidents: IncidentResult | gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    sla: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    period: str | None = None,
    thresholds: Mapping[str, Any] | None = None,
    as_of: Any = None,
    categories: Mapping[str, Any] | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-grid incident statistics and tiers (one row per grid, or per grid and period).

    Parameters
    ----------
    incidents
        :class:`IncidentResult` or incidents with ``grid_id`` (points without are joined to ``grids``).
    grids
        Grids with ``grid_id`` and ``households`` (per-100-households rates need them).
    sla
        Time limits per category and tier thresholds: a mapping or an ``sla.toml`` path (see
        :func:`load_sla`); defaults :data:`DEFAULT_TIME_LIMITS_HOURS` and :data:`DEFAULT_TIERS`.
    period
        None (whole span), ``"month"``, ``"week"``, ``"quarter"``, ``"year"`` or ``"day"``: group by
        the local reporting period as well; every grid appears in every period of the data.
    thresholds
        Overrides the ``[tiers]`` of ``sla``.
    as_of
        The time open cases are judged overdue at (default: the latest timestamp in the data).
    categories
        Categories to count (default: the default set plus any other seen).

    Returns
    -------
    pandas.DataFrame
        ``grid_id``, [``period``], ``households``, ``count``, ``count_<category>`` per category,
        ``per_100_households``, ``closed`` (closed after verification), ``median_hours_to_close``,
        ``on_time`` and ``on_time_share`` (closed within the category's limit / closed),
        ``open``, ``overdue_open`` (open and older than the limit at ``as_of``), ``tier``.
    """
    frame = incidents.incidents if isinstance(incidents, IncidentResult) else incidents
    if "grid_id" not in frame.columns:
        frame, _ = join_grids(frame, grids)
    config = load_sla(sla)
    limits = config["time_limits_hours"]
    tiers = dict(config["tiers"])
    tiers.update(dict(thresholds or {}))
    data = pd.DataFrame(frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) else frame)
    data = data[data["grid_id"].notna()].copy()
    if period:
        data["period"] = period_labels(data["reported_at"], period)
    keys = ["grid_id", "period"] if period else ["grid_id"]
    limit_h = data["category"].map(limits).fillna(limits["default"]).astype(float)
    when = _as_of(data, as_of)
    age_h = (when - data["reported_at"]).dt.total_seconds() / 3600.0
    data["on_time"] = data["closed_valid"] & (data["hours_to_close"] <= limit_h)
    data["open"] = ~data["closed_valid"].astype(bool)
    data["overdue_open"] = data["open"] & (age_h > limit_h)
    data["_one"] = 1
    grouped = data.groupby(keys, sort=True, observed=True)
    stats = pd.DataFrame({
        "count": grouped["_one"].sum(),
        "closed": grouped["closed_valid"].sum(),
        "median_hours_to_close": grouped["hours_to_close"].median(),
        "on_time": grouped["on_time"].sum(),
        "open": grouped["open"].sum(),
        "overdue_open": grouped["overdue_open"].sum(),
    })
    cats = list(_category_table(categories))
    cats += sorted(set(data["category"].dropna()) - set(cats))
    by_cat = data.pivot_table(index=keys, columns="category", values="_one", aggfunc="sum", fill_value=0,
                              observed=True).reindex(columns=cats, fill_value=0)
    by_cat.columns = [f"count_{c}" for c in by_cat.columns]
    stats = stats.join(by_cat, how="left")
    full = _all_keys(grids, data, period)
    stats = full.join(stats, on=keys, how="left")
    count_cols = ["count", "closed", "on_time", "open", "overdue_open", *by_cat.columns]
    stats[count_cols] = stats[count_cols].fillna(0).astype("int64")
    households = grids.set_index(grids["grid_id"].astype("string"))["households"] \
        if "households" in grids.columns else None
    if households is not None:
        stats.insert(len(keys), "households", stats["grid_id"].map(households).astype(float))
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = 100.0 * stats["count"] / stats["households"].where(stats["households"] > 0)
        stats["per_100_households"] = rate
    else:
        stats["per_100_households"] = np.nan
    stats["on_time_share"] = stats["on_time"] / stats["closed"].where(stats["closed"] > 0)
    ordered = [*keys, *(["households"] if households is not None else []), "count", *by_cat.columns,
               "per_100_households", "closed", "median_hours_to_close", "on_time", "on_time_share", "open",
               "overdue_open"]
    stats = stats[ordered]
    if households is None and tiers.get("by") == "per_100_households":
        warnings.warn("grids have no households column: tiers by incident count instead of per 100 households",
                      GridkitWarning, stacklevel=2)
        tiers["by"] = "count"
    stats["tier"] = assign_tiers(stats, tiers)
    return stats.reset_index(drop=True)


def _as_of(data: pd.DataFrame, as_of: Any) -> pd.Timestamp:
    zone = data["reported_at"].dt.tz if len(data) else dt.UTC
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        return stamp.tz_localize(zone) if stamp.tzinfo is None else stamp
    latest = [data[f"{s}_at"].max() for s in STAGES if f"{s}_at" in data.columns]
    latest = [t for t in latest if pd.notna(t)]
    return max(latest) if latest else pd.Timestamp.now(tz=zone)


def _all_keys(grids: gpd.GeoDataFrame, data: pd.DataFrame, period: str | None) -> pd.DataFrame:
    ids = pd.Series(grids["grid_id"].astype("string").unique(), name="grid_id")
    if not period:
        return ids.to_frame()
    periods = pd.Series(sorted(data["period"].dropna().unique()), name="period", dtype="string")
    if periods.empty:
        return pd.DataFrame({"grid_id": pd.Series(dtype="string"), "period": pd.Series(dtype="string")})
    full = ids.to_frame().merge(periods.to_frame(), how="cross")
    return full.sort_values(["grid_id", "period"], ignore_index=True)


def to_metric_points(incidents: gpd.GeoDataFrame, crs: Any = None) -> gpd.GeoDataFrame:
    """Incidents in a local metric CRS (helper for hot spots and density surfaces)."""
    return to_metric(incidents, crs)
