"""Check input layers once, at the boundary, and bring them to gridkit's standard columns.

Every function here takes a GeoDataFrame as read by :func:`gridkit.io.read_layer` and returns a new
frame with the standard column names of GUIDE §3 (``community_id``, ``building_id``, ``households``,
``population`` …), or raises :class:`~gridkit.errors.InputDataError` naming the file, the feature
and the column at fault. Nothing is dropped silently.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.errors import GridkitWarning, InputDataError
from gridkit.households import estimate_households
from gridkit.io import source_name

POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")


def _fail(gdf: pd.DataFrame, message: str, *, row: int | None = None, id_col: str | None = None,
          column: str | None = None) -> InputDataError:
    feature = None
    if row is not None and id_col is not None and id_col in gdf.columns:
        feature = gdf[id_col].iloc[row]
    return InputDataError(message, source=source_name(gdf), row=row, feature=feature, column=column)


def require_columns(gdf: pd.DataFrame, columns: Sequence[str], *, label: str) -> None:
    """Raise if any of ``columns`` is missing, suggesting the closest existing name."""
    for col in columns:
        if col not in gdf.columns:
            near = difflib.get_close_matches(col, [str(c) for c in gdf.columns], n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; columns are {list(gdf.columns)}"
            raise InputDataError(f"{label} has no column {col!r}{hint}", source=source_name(gdf), column=col)


def check_ids(gdf: pd.DataFrame, id_col: str) -> None:
    """Ids must be present and unique."""
    ids = gdf[id_col]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise _fail(gdf, "missing id", row=int(missing.nonzero()[0][0]), column=id_col)
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        row = int(dup.nonzero()[0][0])
        first = int((ids == ids.iloc[row]).to_numpy().nonzero()[0][0])
        raise _fail(gdf, f"duplicate id (first seen at row {first})", row=row, id_col=id_col, column=id_col)


def repair_geometry(gdf: gpd.GeoDataFrame, *, id_col: str, kinds: Sequence[str]) -> gpd.GeoSeries:
    """Return valid geometries of the allowed ``kinds``; repair what can be repaired unambiguously.

    An invalid polygon is repaired when ``make_valid`` and ``buffer(0)`` agree on its area to 1e-6
    (a ring touching itself, a duplicated vertex); when they disagree (a bow-tie, a ring crossing
    itself) the intended shape is ambiguous and the row is an error.
    """
    geoms = gdf.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise _fail(gdf, "missing or empty geometry", row=int(empty.nonzero()[0][0]), id_col=id_col, column="geometry")
    types = shapely.get_type_id(geoms)
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                      "MultiPolygon", "GeometryCollection"])[types]
    wrong = ~np.isin(names, list(kinds))
    if wrong.any():
        row = int(wrong.nonzero()[0][0])
        raise _fail(gdf, f"geometry is a {names[row]}; expected {' or '.join(kinds)}", row=row, id_col=id_col,
                    column="geometry")
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf.geometry
    fixed = geoms.copy()
    for row in invalid.nonzero()[0]:
        fixed[row] = _repair_one(gdf, int(row), geoms[row], id_col=id_col, kinds=kinds)
    return gpd.GeoSeries(fixed, index=gdf.index, crs=gdf.crs)


def _repair_one(gdf: gpd.GeoDataFrame, row: int, geom: shapely.Geometry, *, id_col: str,
                kinds: Sequence[str]) -> shapely.Geometry:
    reason = shapely.is_valid_reason(geom)
    if geom.geom_type not in POLYGONAL:
        raise _fail(gdf, f"invalid geometry ({reason})", row=row, id_col=id_col, column="geometry")
    made = shapely.make_valid(geom)
    polygonal = shapely.union_all([g for g in shapely.get_parts(made) if g.geom_type in POLYGONAL]) \
        if made.geom_type == "GeometryCollection" else made
    buffered = geom.buffer(0)
    area = max(polygonal.area, buffered.area)
    if area == 0 or abs(polygonal.area - buffered.area) > 1e-6 * area or polygonal.geom_type not in kinds:
        raise _fail(gdf, f"invalid geometry that cannot be repaired unambiguously ({reason})",
                    row=row, id_col=id_col, column="geometry")
    return polygonal


def counts(gdf: pd.DataFrame, column: str, *, id_col: str, allow_missing: bool) -> np.ndarray:
    """Return a non-negative integer count column as float (NaN where missing and allowed)."""
    raw = gdf[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    non_numeric = np.isnan(values) & raw.notna().to_numpy()
    if non_numeric.any():
        row = int(non_numeric.nonzero()[0][0])
        raise _fail(gdf, f"non-numeric value {raw.iloc[row]!r}", row=row, id_col=id_col, column=column)
    missing = np.isnan(values)
    if missing.any() and not allow_missing:
        raise _fail(gdf, "missing value", row=int(missing.nonzero()[0][0]), id_col=id_col, column=column)
    bad = ~missing & ((values < 0) | (values != np.round(values)) | ~np.isfinite(values))
    if bad.any():
        row = int(bad.nonzero()[0][0])
        raise _fail(gdf, f"value {raw.iloc[row]} is not a non-negative integer", row=row, id_col=id_col,
                    column=column)
    return values


def communities(
    gdf: gpd.GeoDataFrame,
    *,
    id_col: str = "community_id",
    name_col: str = "name",
    code_col: str = "code",
    target_col: str = "target",
) -> gpd.GeoDataFrame:
    """Validate communities: unique ids, valid polygons, 12-digit codes, positive targets."""
    require_columns(gdf, [id_col], label="communities")
    check_ids(gdf, id_col)
    geometry = repair_geometry(gdf, id_col=id_col, kinds=POLYGONAL)
    out = gpd.GeoDataFrame(
        {"community_id": gdf[id_col].to_numpy()}, geometry=geometry.to_numpy(), crs=gdf.crs, index=gdf.index
    )
    names = gdf[name_col] if name_col in gdf.columns else out["community_id"]
    out["name"] = names.astype("string").to_numpy()
    out["code"] = _codes(gdf, code_col, id_col=id_col)
    if target_col in gdf.columns:
        target = pd.to_numeric(gdf[target_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = (target <= 0) | (np.isnan(target) & gdf[target_col].notna().to_numpy())
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise _fail(gdf, "target must be a positive number", row=row, id_col=id_col, column=target_col)
        out["target"] = target
    else:
        out["target"] = np.nan
    out.attrs["source"] = source_name(gdf)
    return out.reset_index(drop=True)


def _codes(gdf: pd.DataFrame, code_col: str, *, id_col: str) -> pd.Series:
    if code_col not in gdf.columns:
        return pd.Series(pd.NA, index=gdf.index, dtype="string")
    codes = gdf[code_col].astype("string").str.strip()
    codes = codes.where(codes != "", pd.NA)
    bad = codes.notna() & ~codes.str.fullmatch(r"\d{12}").fillna(value=False)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise _fail(gdf, f"community code {codes.iloc[row]!r} is not 12 digits", row=row, id_col=id_col,
                    column=code_col)
    dup = codes.notna() & codes.duplicated(keep="first")
    if dup.any():
        row = int(dup.to_numpy().nonzero()[0][0])
        raise _fail(gdf, "duplicate community code", row=row, id_col=id_col, column=code_col)
    return codes


def buildings(
    gdf: gpd.GeoDataFrame,
    *,
    id_col: str = "building_id",
    households_col: str = "households",
    population_col: str = "population",
    levels_col: str = "levels",
    use_col: str = "use",
    persons_per_household: float = 2.62,
) -> gpd.GeoDataFrame:
    """Validate buildings and fill missing counts by estimation (never silently).

    Missing ``households`` are estimated from footprint × levels (:mod:`gridkit.households`) where
    ``levels`` is known, and a warning says how many; missing ``population`` is households ×
    ``persons_per_household``. The column ``estimated`` marks the rows filled in.
    """
    require_columns(gdf, [id_col], label="buildings")
    check_ids(gdf, id_col)
    geometry = repair_geometry(gdf, id_col=id_col, kinds=(*POLYGONAL, "Point"))
    work = gdf.set_geometry(geometry.to_numpy())
    households = _fill_households(work, households_col, id_col=id_col, levels_col=levels_col, use_col=use_col)
    estimated = np.isnan(households.raw)
    if population_col in gdf.columns:
        population = counts(gdf, population_col, id_col=id_col, allow_missing=True)
    else:
        population = np.full(len(gdf), np.nan)
    pop_missing = np.isnan(population)
    if pop_missing.any():
        warnings.warn(
            f"{source_name(gdf)}: population missing for {int(pop_missing.sum())} buildings; "
            f"estimated as households × {persons_per_household}",
            GridkitWarning,
            stacklevel=3,
        )
        population = np.where(pop_missing, np.rint(households.filled * persons_per_household), population)
    out = gpd.GeoDataFrame(
        {"building_id": gdf[id_col].to_numpy(), "households": households.filled.astype(np.int64),
         "population": population.astype(np.int64), "estimated": estimated | pop_missing},
        geometry=geometry.to_numpy(), crs=gdf.crs,
    )
    for extra, name in ((levels_col, "levels"), (use_col, "use")):
        if extra in gdf.columns:
            out[name] = gdf[extra].to_numpy()
    out.attrs["source"] = source_name(gdf)
    return out


class _Households:
    def __init__(self, raw: np.ndarray, filled: np.ndarray) -> None:
        self.raw, self.filled = raw, filled


def _fill_households(gdf: gpd.GeoDataFrame, column: str, *, id_col: str, levels_col: str,
                     use_col: str) -> _Households:
    present = column in gdf.columns
    raw = counts(gdf, column, id_col=id_col, allow_missing=True) if present else np.full(len(gdf), np.nan)
    missing = np.isnan(raw)
    if not missing.any():
        return _Households(raw, raw)
    if levels_col not in gdf.columns:
        row = int(missing.nonzero()[0][0])
        raise _fail(gdf, f"households missing and no {levels_col!r} column to estimate them from",
                    row=row, id_col=id_col, column=column)
    subset = gdf.iloc[missing.nonzero()[0]]
    estimate = estimate_households(subset, levels_col=levels_col,
                                   use_col=use_col if use_col in gdf.columns else None)
    warnings.warn(
        f"{source_name(gdf)}: households missing for {int(missing.sum())} buildings; estimated from "
        "footprint × levels (gridkit.households)",
        GridkitWarning,
        stacklevel=4,
    )
    filled = raw.copy()
    filled[missing] = estimate["households"].to_numpy(float)
    return _Households(raw, filled)


def streets(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Validate street lines: linear geometries only; other rows are an error naming them."""
    id_col = next((c for c in ("street_id", "osm_id", "osmid", "id") if c in gdf.columns), "")
    geometry = repair_geometry(gdf, id_col=id_col, kinds=LINEAR)
    out = gdf.set_geometry(geometry.to_numpy())
    out.attrs["source"] = source_name(gdf)
    return out
