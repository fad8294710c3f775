"""Data preparation for :mod:`gridkit.maps` (no drawing: nothing here imports folium).

Layers in lon/lat, GeoJSON-ready properties, label points, community outlines, the heat radius and
the per-period statistics the time slider recolours the grids by.

Nothing here draws (no folium): :mod:`gridkit.maps` builds the layers from what these return.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit._maps_style import MISSING, TIER_ORDER, Colouring, grid_colouring, tier_codes
from gridkit.crs import WGS84, to_metric
from gridkit.errors import GridkitError, GridkitWarning
from gridkit.spatial import polygon_holding

__all__ = ["bounds", "community_outlines", "data_notices", "heat_radius_m", "json_ready", "label_geometry", "lonlat",
           "period_payload", "period_stats", "point_periods", "summary_line", "translate", "with_hotspot_z",
           "with_stats"]


#: Decimal places of the statistics in tooltips (the rest: 1).
DIGITS = {"deviation": 3, "on_time_share": 3, "gi_q": 3, "polsby_popper": 3, "gi_z": 2, "per_100_households": 2}


def lonlat(layer: Any) -> gpd.GeoDataFrame:
    """A layer in EPSG:4326; a plain table with ``lon``/``lat`` becomes points."""
    if isinstance(layer, gpd.GeoDataFrame):
        return layer.to_crs(WGS84) if layer.crs is not None else layer.set_crs(WGS84)
    frame = pd.DataFrame(layer)
    if not {"lon", "lat"} <= set(frame.columns):
        raise GridkitError("a table to map needs lon and lat columns (or pass a GeoDataFrame)")
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84)


def json_ready(frame: gpd.GeoDataFrame, fields: list[str]) -> gpd.GeoDataFrame:
    """Round floats and turn non-JSON types into plain values for GeoJSON properties."""
    out = frame[[*fields, frame.geometry.name]].copy()
    for col in fields:
        series = out[col]
        if pd.api.types.is_bool_dtype(series):
            out[col] = series.astype(object).where(series.notna(), None)
        elif pd.api.types.is_float_dtype(series):
            out[col] = series.astype(float).round(DIGITS.get(col, 1)).astype(object).where(series.notna(), None)
        elif pd.api.types.is_integer_dtype(series):
            out[col] = series.astype(object).where(series.notna(), None)
        else:
            out[col] = series.astype(object).where(series.notna(), None).map(
                lambda v: v if v is None or isinstance(v, (int, float, str)) else str(v))
    return out


def translate(values: pd.Series, labels: dict[str, str]) -> pd.Series:
    return values.astype(object).map(lambda v: labels.get(str(v), v) if v is not None and pd.notna(v) else None)


def label_geometry(data: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label point (lon, lat) of each grid and its width in metres (how much text fits across it)."""
    metric = to_metric(data[[data.geometry.name]])
    geoms = metric.geometry.to_numpy()
    bounds = shapely.bounds(geoms)
    width = np.minimum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    size = np.minimum(width, 1.2 * np.sqrt(shapely.area(geoms)))
    points = gpd.GeoSeries(shapely.point_on_surface(geoms), crs=metric.crs).to_crs(WGS84)
    empty = points.is_empty.to_numpy() | ~np.isfinite(size)
    lon = np.where(empty, np.nan, points.x.to_numpy()).round(6)
    lat = np.where(empty, np.nan, points.y.to_numpy()).round(6)
    return lon, lat, np.nan_to_num(size).round(1)


def community_outlines(data: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The outline of each community (the union of its grids), in EPSG:4326."""
    if "community_id" not in data.columns or data["community_id"].nunique() < 1:
        return None
    metric = to_metric(data[["community_id", data.geometry.name]])
    metric = metric.set_geometry(metric.geometry.buffer(0.5))
    merged = metric.dissolve("community_id", as_index=False)
    merged = merged.set_geometry(merged.geometry.buffer(-0.5).simplify(1.0))
    return merged.to_crs(WGS84)


def heat_radius_m(points: gpd.GeoDataFrame, kde: gpd.GeoDataFrame | None) -> float:
    """Heat radius in metres: the kernel density bandwidth (Silverman's rule), 25-400 m."""
    from gridkit.hotspots import bandwidth_rule  # noqa: PLC0415

    if kde is not None and "bandwidth_m" in getattr(kde, "attrs", {}):
        h = float(kde.attrs["bandwidth_m"])
    else:
        sample = points if len(points) <= 20_000 else points.sample(20_000, random_state=0)
        metric = to_metric(sample[[sample.geometry.name]])
        h = bandwidth_rule(np.column_stack([metric.geometry.x.to_numpy(), metric.geometry.y.to_numpy()]))
    return float(np.clip(1.5 * h, 25.0, 400.0))


def point_periods(points: gpd.GeoDataFrame, period: str | None) -> pd.Series | None:
    from gridkit.incidents import period_labels  # noqa: PLC0415  (maps sits beside incidents, not below it)

    if not period or "reported_at" not in points.columns or not len(points):
        return None
    times = pd.Series(points["reported_at"]).reset_index(drop=True)
    if not pd.api.types.is_datetime64_any_dtype(times):
        times = pd.to_datetime(times, errors="coerce")
    return period_labels(times, period).fillna("")


def period_stats(points: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, period: str | None,
                 sla: Any) -> pd.DataFrame | None:
    """Per grid (and period): ``count``, ``tier`` and the other statistics.

    :func:`~gridkit.incidents.grid_stats` for prepared incidents; plain points (no lifecycle) are
    counted in the grid they lie in, with ``per_100_households`` and tiers by the same thresholds.
    """
    from gridkit.incidents import grid_stats  # noqa: PLC0415

    if (period and "reported_at" not in points.columns) or "grid_id" not in grids.columns:
        return None
    plain = grids.drop(columns=[c for c in grids.columns if c not in {"grid_id", "households", grids.geometry.name}])
    if {"closed_valid", "hours_to_close", "category", "reported_at"} <= set(points.columns):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GridkitWarning)
            return grid_stats(points, plain, period=period, sla=sla)
    return _count_stats(points, plain, period, sla)


def _count_stats(points: gpd.GeoDataFrame, plain: gpd.GeoDataFrame, period: str | None, sla: Any) -> pd.DataFrame:
    from gridkit.incidents import assign_tiers, load_sla  # noqa: PLC0415

    frame = points
    if "grid_id" not in frame.columns:  # the grid each point lies in (the first, on a shared edge)
        cells = lonlat(plain)
        holding = polygon_holding(lonlat(points).geometry.to_numpy(), cells.geometry.to_numpy())
        grid_id = np.where(holding >= 0, cells["grid_id"].to_numpy()[np.maximum(holding, 0)], None)
        frame = points.reset_index(drop=True).assign(grid_id=grid_id)
    labels = point_periods(frame, period) if period else pd.Series("", index=range(len(frame)))
    data = pd.DataFrame({"grid_id": frame["grid_id"].astype("string").to_numpy(), "period": labels.to_numpy()})
    data = data[data["grid_id"].notna() & ((data["period"] != "") if period else True)]
    counts = data.groupby(["grid_id", "period"]).size().rename("count")
    ids = pd.Index(plain["grid_id"].astype("string").unique(), name="grid_id")
    full = pd.MultiIndex.from_product([ids, sorted(data["period"].unique()) if period else [""]],
                                      names=["grid_id", "period"])
    stats = counts.reindex(full, fill_value=0).reset_index()
    tiers = dict(load_sla(sla)["tiers"])
    if "households" in plain.columns:
        households = stats["grid_id"].map(plain.set_index(plain["grid_id"].astype("string"))["households"])
        stats["per_100_households"] = 100.0 * stats["count"] / households.where(households > 0)
    if tiers.get("by") not in stats.columns:
        tiers["by"] = "count"
    stats["tier"] = assign_tiers(stats, tiers)
    return stats if period else stats.drop(columns="period")


def _codes_text(codes: np.ndarray) -> str:
    """Palette indices as one character each ('0' + index; '/' is missing)."""
    return "".join(chr(48 + int(c)) if c >= 0 else "/" for c in codes)


def _rounded(frame: pd.DataFrame, column: str) -> list[list[Any]]:
    """Rows of ``frame`` as lists, rounded for the tooltips (None where missing)."""
    values = frame.to_numpy(dtype=float)
    digits = DIGITS.get(column, 1)
    integral = column in {"count", "closed", "on_time", "open", "overdue_open"} or column.startswith("count_")
    # Python's round (correctly rounded, as the tooltips of the whole span), not numpy's scaled rounding
    return [[None if not np.isfinite(v) else int(v) if integral else round(float(v), digits) for v in row]
            for row in values]


def period_payload(data: gpd.GeoDataFrame, stats: pd.DataFrame, names: list[str], colouring: Colouring,
                   labels: dict[str, str], layer: str, fields: list[str]) -> dict[str, Any]:
    """What the slider needs: per period the grids' colour classes, tiers, legend and tooltip values.

    ``values`` holds, for each statistic among the tooltip ``fields``, one row per period of one
    value per grid (in the order of ``data``); ``codes`` the colour class per grid as text (see
    :func:`_codes_text`), None when ``colouring`` is not by a statistic of the period.
    """
    ids = data["grid_id"].astype("string").to_numpy()
    stats = stats.assign(grid_id=stats["grid_id"].astype("string"), period=stats["period"].astype("string"))

    def wide(col: str) -> pd.DataFrame:
        return stats.pivot_table(index="period", columns="grid_id", values=col, aggfunc="first", dropna=False) \
            .reindex(index=names, columns=ids)

    swapped = [f for f in dict.fromkeys(["count", *fields, colouring.column or "count"])
               if f in stats.columns and f not in {"grid_id", "period", "households", "tier"}
               and pd.api.types.is_numeric_dtype(stats[f])]
    tables = {f: wide(f) for f in swapped}
    tables["count"] = tables["count"].fillna(0)
    payload: dict[str, Any] = {"layer": layer, "column": colouring.column, "missing": MISSING,
                               "values": {f: _rounded(t, f) for f, t in tables.items()},
                               "palette": list(colouring.palette), "codes": None, "tiers": None, "legends": None}
    tiers = wide("tier") if "tier" in stats.columns else None
    if tiers is not None:
        payload["tiers"] = [_codes_text(tier_codes(row)) for _, row in tiers.iterrows()]
        payload["tierNames"] = [labels.get(t, t) for t in TIER_ORDER]
    column = colouring.column
    note = labels["scale_note"]
    if colouring.kind == "tier" and tiers is not None:
        payload["codes"] = payload["tiers"]
        payload["legends"] = [replace(colouring, codes=tier_codes(row)).legend(counts=True, note=f"{period} · {note}")
                              for period, row in tiers.iterrows()]
        payload["legendAll"] = colouring.legend(counts=True)
    elif colouring.kind == "numeric" and column in tables:
        palette: list[str] = []
        codes, legends = [], []
        for period in names:
            part = grid_colouring(pd.DataFrame({column: tables[column].loc[period].to_numpy(dtype=float)}), column,
                                  labels)
            index = []
            for colour in part.palette:
                if colour not in palette:
                    palette.append(colour)
                index.append(palette.index(colour))
            codes.append(_codes_text(np.where(part.codes >= 0, np.take(index, np.maximum(part.codes, 0)), -1)))
            legends.append(part.legend(note=f"{period} · {note}"))
        payload.update(palette=palette, codes=codes, legends=legends, legendAll=colouring.legend())
    return payload


def with_stats(grids: gpd.GeoDataFrame, incidents: Any, sla: Any) -> gpd.GeoDataFrame:
    """Grids with the per-grid incident statistics when they do not carry them yet.

    Prepared incidents get :func:`~gridkit.incidents.grid_stats`; plain points ``count``,
    ``per_100_households`` and ``tier``.
    """
    if "tier" in grids.columns or incidents is None:
        return grids
    from gridkit.incidents import IncidentResult, grid_stats  # noqa: PLC0415

    frame = incidents.incidents if isinstance(incidents, IncidentResult) else incidents
    if isinstance(frame, gpd.GeoDataFrame) and "closed_valid" in frame.columns:
        stats = grid_stats(incidents, grids, sla=sla)
    elif "grid_id" in grids.columns:  # plain points: counted in their grids, tiered by the same rule
        plain = grids[[c for c in ("grid_id", "households") if c in grids.columns] + [grids.geometry.name]]
        stats = _count_stats(lonlat(frame), plain, None, sla)
        stats["grid_id"] = stats["grid_id"].astype(grids["grid_id"].dtype)
    else:
        return grids
    keep = [c for c in stats.columns if c not in grids.columns or c == "grid_id"]
    return grids.merge(stats[keep], on="grid_id", how="left")


def with_hotspot_z(grids: gpd.GeoDataFrame, spots: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Grids with ``gi_z`` and ``gi_bin`` from hot spots computed on the grids (for the tooltips)."""
    if spots is None or "grid_id" not in spots.columns or "gi_z" not in spots.columns or "gi_z" in grids.columns:
        return grids
    extra = pd.DataFrame(spots[["grid_id", "gi_z", "gi_bin"]]).drop_duplicates("grid_id")
    extra["grid_id"] = extra["grid_id"].astype(str)
    out = grids.copy()
    merged = out[["grid_id"]].astype(str).merge(extra, on="grid_id", how="left")
    out["gi_z"], out["gi_bin"] = merged["gi_z"].to_numpy(), merged["gi_bin"].to_numpy()
    return out


def bounds(layers: list[Any]) -> tuple[float, float, float, float]:
    """Lon/lat bounds of the layers given (None skipped)."""
    given = [lonlat(x) for x in layers if x is not None]
    if not given:
        raise GridkitError("nothing to map: give grids, incidents, hotspots, routes or wardens")
    bounds = np.array([x.total_bounds for x in given])
    return (float(np.nanmin(bounds[:, 0])), float(np.nanmin(bounds[:, 1])), float(np.nanmax(bounds[:, 2])),
            float(np.nanmax(bounds[:, 3])))


def summary_line(labels: dict[str, str], grids: gpd.GeoDataFrame | None, points: gpd.GeoDataFrame | None,
              spots: gpd.GeoDataFrame | None) -> str:
    """Date span and counts: ``2025-01-01 至 2025-12-31 · 82 个网格 · 10,699 起事件 · 7 个热点``."""
    parts = []
    if points is not None and "reported_at" in points.columns and len(points):
        times = pd.Series(points["reported_at"])
        times = times if pd.api.types.is_datetime64_any_dtype(times) else pd.to_datetime(times, errors="coerce")
        if times.notna().any():
            local = times.dt.tz_localize(None) if getattr(times.dt, "tz", None) is not None else times
            parts.append(labels["span"].format(start=f"{local.min():%Y-%m-%d}", end=f"{local.max():%Y-%m-%d}"))
    if grids is not None:
        communities = grids["community_id"].nunique() if "community_id" in grids.columns else 0
        if communities > 1:
            parts.append(labels["n_communities"].format(n=f"{communities:,}"))
        parts.append(labels["n_grids"].format(n=f"{len(grids):,}"))
    if points is not None:
        parts.append(labels["n_incidents"].format(n=f"{len(points):,}"))
    if spots is not None and "gi_bin" in spots.columns:  # hot spots at the FDR level, as the summaries count them
        hot = spots["gi_bin"].fillna(0) > 0
        if "significant" in spots.columns and "gi_z" in spots.columns:
            hot = spots["significant"].fillna(False).astype(bool) & (spots["gi_z"] > 0)
        parts.append(labels["n_hot"].format(n=f"{int(hot.sum()):,}"))
    return " · ".join(parts)


#: Above this share of incidents outside every grid the map warns that the coordinates look wrong.
OUTSIDE_WARNING_SHARE = 0.5


def _outside_count(incidents: Any, points: gpd.GeoDataFrame, grids: gpd.GeoDataFrame | None) -> tuple[int, int]:
    """(incidents outside every grid, incidents placed) by the reader's counts, ``grid_id`` or a join."""
    counts = getattr(incidents, "counts", None)
    if counts and "outside" in counts and "in_grids" in counts:
        return int(counts["outside"]), int(counts["outside"]) + int(counts["in_grids"])
    if "grid_id" in points.columns:
        return int(points["grid_id"].isna().sum()), len(points)
    if grids is None or not len(grids):
        return 0, 0
    inside = gpd.sjoin(points[[points.geometry.name]], lonlat(grids)[[grids.geometry.name]], how="inner",
                       predicate="intersects")
    return len(points) - int(inside.index.nunique()), len(points)


def data_notices(grids: gpd.GeoDataFrame | None, incidents: Any, points: gpd.GeoDataFrame | None,
                 labels: dict[str, str]) -> list[str]:
    """Warnings for the top of the map when the data look wrong.

    Most incidents outside every grid (swapped lon/lat, the wrong coordinate system), or none of
    them counted in any grid (every grid green only because nothing joined), or grids without
    households when tiers are per 100 households.
    """
    out: list[str] = []
    if points is None or not len(points):
        return out
    outside, placed = _outside_count(incidents, points, grids)
    if placed and outside / placed > OUTSIDE_WARNING_SHARE:
        out.append(labels["warn_outside"].format(share=f"{outside / placed:.0%}", n=f"{outside:,}"))
    if grids is not None and "count" in grids.columns and not out:
        counted = pd.to_numeric(grids["count"], errors="coerce").fillna(0).sum()
        if counted == 0:
            out.append(labels["warn_none_joined"])
    if grids is not None and {"households", "per_100_households"} <= set(grids.columns) and \
            not (pd.to_numeric(grids["households"], errors="coerce").fillna(0) > 0).any():
        out.append(labels["warn_no_households"])
    return out
