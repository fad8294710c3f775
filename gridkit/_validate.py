"""Check input layers once, at the boundary, and bring them to gridkit's standard columns.

Every function here takes a GeoDataFrame as read by :func:`gridkit.io.read_layer` and returns a new
frame with the standard column names of GUIDE §3 (``community_id``, ``building_id``, ``households``,
``population`` …), or raises :class:`~gridkit.errors.InputDataError` naming the file, the feature
and the column at fault. Nothing is dropped silently.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal, TypeVar, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.columns import COLUMN_ALIASES, COLUMN_KEYS, check_column_names, resolve_column, suggest_column
from gridkit.crs import local_metric_crs
from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.households import estimate_households
from gridkit.io import check_lonlat, source_name

__all__ = [
    "CHOICES", "COLUMN_ALIASES", "COLUMN_KEYS", "MAX_COUNT", "Coords", "Lang", "Measure", "Outside", "Overlapping",
    "Period", "RouteMode", "buildings", "buildings_outside", "check_column_names", "check_coordinates",
    "check_not_empty", "communities", "counts", "fraction", "option", "positive", "repair_geometry",
    "require_columns", "resolve_column", "streets", "suggest_column", "warn_defaults",
]

POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")

# ------------------------------------------------------------------------------------------ options
#: Buildings outside every community: an error naming them, or reported and left out.
Outside = Literal["error", "report"]
#: Communities that overlap: an error naming both, or clipped in input order (earlier rows keep the overlap).
Overlapping = Literal["error", "clip"]
#: Balanced measures.
Measure = Literal["households", "population", "area"]
#: Language of messages, map labels and reports.
Lang = Literal["zh", "en"]
#: Coordinate system of incident lon/lat: WGS 84, GCJ-02 (Gaode/Tencent) or BD-09 (Baidu).
Coords = Literal["wgs84", "gcj02", "bd09"]
#: Periods of incident statistics.
Period = Literal["month", "week", "quarter", "year", "day"]
#: Patrol route modes: every street, or door to door.
RouteMode = Literal["streets", "buildings"]

#: The one list of choices of every option: option name → its allowed values (from the Literal types).
CHOICES: dict[str, tuple[str, ...]] = {
    "outside": get_args(Outside), "overlapping": get_args(Overlapping), "by": get_args(Measure),
    "lang": get_args(Lang), "coords": get_args(Coords), "period": get_args(Period), "mode": get_args(RouteMode),
    "paper": ("A3", "A4"), "tiles_crs": ("wgs84", "gcj02"),  # the meeting report's paper, basemap tiles' CRS
}

_T = TypeVar("_T")


def option(name: str, value: _T, choices: Sequence[str] | None = None) -> _T:
    """Check one option against its choices (:data:`CHOICES`) and return it unchanged.

    Parameters
    ----------
    name
        The option (``"outside"``); names its choices in :data:`CHOICES` unless ``choices`` is given.
    value
        The value given.
    choices
        Allowed values, where the option is not in :data:`CHOICES`.

    Raises
    ------
    GridkitError
        ``value`` is not one of the choices; the message suggests the closest.

    Examples
    --------
    >>> option("outside", "report")
    'report'
    >>> option("outside", "eror")
    Traceback (most recent call last):
    ...
    gridkit.errors.GridkitError: outside must be one of error, report; got 'eror'; did you mean 'error'?
    """
    allowed = tuple(choices) if choices is not None else CHOICES[name]
    if isinstance(value, str) and value in allowed:
        return value
    text = str(value).strip().lower()
    near = [c for c in allowed if text and (c.startswith(text) or c == text)] or \
        difflib.get_close_matches(text, list(allowed), n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise GridkitError(f"{name} must be one of {', '.join(allowed)}; got {value!r}{hint}")


def fraction(name: str, value: float, *, low: float = 0.0, high: float = 1.0) -> float:
    """Check that a share lies strictly between ``low`` and ``high`` (``tolerance=0.1`` is ±10 %)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < float(value) < high:
        raise GridkitError(f"{name} must be a number between {low:g} and {high:g} (a share: 0.1 = ±10 %); "
                           f"got {value!r}")
    return float(value)


def positive(name: str, value: float | None, *, allow_none: bool = True) -> float | None:
    """Check that a number is positive (and finite); None passes when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise GridkitError(f"{name} must be a positive number; got {value!r}")
    return float(value)


def check_not_empty(gdf: pd.DataFrame, label: str) -> None:
    """An empty layer is an error naming the file and the layer."""
    if len(gdf) == 0:
        layer = gdf.attrs.get("layer")
        named = f" {layer!r}" if layer else ""
        raise InputDataError(f"the {label} layer{named} has no features", source=source_name(gdf))


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
            raise InputDataError(f"{label} has no column {col!r}{suggest_column(col, gdf, col)}",
                                 source=source_name(gdf), column=col)


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
    rows = invalid.nonzero()[0]
    reasons = [shapely.is_valid_reason(geoms[row]) for row in rows]
    for row in rows:
        fixed[row] = _repair_one(gdf, int(row), geoms[row], id_col=id_col, kinds=kinds)
    first = int(rows[0])
    named = f"feature {gdf[id_col].iloc[first]!r}" if id_col and id_col in gdf.columns else f"row {first}"
    warnings.warn(f"{source_name(gdf)}: repaired {len(rows)} invalid polygon(s), area unchanged (first: {named}, "
                  f"{reasons[0]})", GridkitWarning, stacklevel=3)
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


#: Largest count (households or persons) accepted for one building or community; beyond is a mistake
#: (and sums of such values could overflow 64-bit integers).
MAX_COUNT = 1_000_000


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
    absurd = ~missing & (values > MAX_COUNT)
    if absurd.any():
        row = int(absurd.nonzero()[0][0])
        raise _fail(gdf, f"value {raw.iloc[row]} is not plausible for one feature (more than {MAX_COUNT:,}); "
                    "a typing or unit mistake?", row=row, id_col=id_col, column=column)
    return values


def communities(
    gdf: gpd.GeoDataFrame,
    *,
    id_col: str | None = None,
    name_col: str | None = None,
    code_col: str | None = None,
    target_col: str | None = None,
    overlapping: Overlapping = "error",
    check_overlap: bool = True,
) -> gpd.GeoDataFrame:
    """Validate communities: unique ids, valid polygons, 12-digit codes, positive targets, no overlaps.

    A column named here (not None) must exist (an error with "did you mean" otherwise); a column not
    named is looked up by its standard name, then by common names (:data:`COLUMN_ALIASES`).
    Communities that overlap are an error naming both, unless ``overlapping="clip"``: each
    community then loses what earlier rows already hold (with a warning naming them).
    ``check_overlap=False`` leaves overlaps as they are, for a caller that measures them itself
    (:func:`gridkit.validate.validate_plan` reports them as problems of the plan).
    """
    option("overlapping", overlapping)
    check_not_empty(gdf, "communities")
    label = "communities"
    id_col = resolve_column(gdf, "community_id", id_col, label=label, required=True)
    assert id_col is not None
    name_col = resolve_column(gdf, "name", name_col, label=label)
    code_col = resolve_column(gdf, "code", code_col, label=label)
    target_col = resolve_column(gdf, "target", target_col, label=label)
    check_ids(gdf, id_col)
    check_coordinates(gdf, label)
    geometry = repair_geometry(gdf, id_col=id_col, kinds=POLYGONAL)
    if check_overlap:
        geometry = _overlaps(gdf, geometry, id_col=id_col, overlapping=overlapping)
    out = gpd.GeoDataFrame(
        {"community_id": gdf[id_col].to_numpy()}, geometry=geometry.to_numpy(), crs=gdf.crs, index=gdf.index
    )
    names = gdf[name_col] if name_col is not None else out["community_id"]
    out["name"] = names.astype("string").to_numpy()
    out["code"] = _codes(gdf, code_col, id_col=id_col)
    if target_col is not None:
        target = pd.to_numeric(gdf[target_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = (target <= 0) | (np.isnan(target) & gdf[target_col].notna().to_numpy()) | np.isinf(target)
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise _fail(gdf, "target must be a positive number", row=row, id_col=id_col, column=target_col)
        out["target"] = target
    else:
        out["target"] = np.nan
    out.attrs["source"] = source_name(gdf)
    return out.reset_index(drop=True)


#: Overlap between two communities (share of the smaller one's area) above which they overlap.
OVERLAP_SHARE = 1e-6


def _overlaps(gdf: gpd.GeoDataFrame, geometry: gpd.GeoSeries, *, id_col: str, overlapping: str) -> gpd.GeoSeries:
    """Communities must not overlap (beyond a rounding sliver); clip them in input order when asked."""
    if gdf.crs is None or len(geometry) < 2:
        return geometry
    metric = local_metric_crs(gpd.GeoDataFrame(geometry=geometry, crs=gdf.crs))
    geoms = geometry.to_crs(metric).to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return geometry
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    over = shared > OVERLAP_SHARE * smaller
    if not over.any():
        return geometry
    ids = gdf[id_col].to_numpy()
    pairs = [(int(a), int(b), float(m2)) for a, b, m2 in zip(left[over], right[over], shared[over], strict=True)]
    shown = "; ".join(f"{ids[a]!r} and {ids[b]!r} overlap by {m2:,.0f} m²" for a, b, m2 in pairs[:5])
    more = f" (and {len(pairs) - 5} more pairs)" if len(pairs) > 5 else ""
    if overlapping == "error":
        first = pairs[0]
        raise _fail(gdf, f"communities overlap: {shown}{more}; a building there would be counted in grids of "
                    "both. Fix the boundaries, or pass overlapping='clip' (--overlapping clip) to give each "
                    "overlap to the community listed first", row=first[1], id_col=id_col, column="geometry")
    fixed = geoms.copy()
    for b in sorted({b for _, b, _ in pairs}):
        earlier = [a for a, bb, _ in pairs if bb == b]
        piece = shapely.difference(fixed[b], shapely.union_all(fixed[earlier]))
        polygons = [g for g in shapely.get_parts(piece) if g.geom_type in POLYGONAL and g.area > 0]
        if not polygons:
            raise _fail(gdf, "community lies wholly inside communities listed before it; nothing is left after "
                        "clipping", row=b, id_col=id_col, column="geometry")
        fixed[b] = polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
    warnings.warn(f"{source_name(gdf)}: overlapping communities clipped in input order (the first listed keeps the "
                  f"overlap): {shown}{more}", GridkitWarning, stacklevel=3)
    return gpd.GeoSeries(fixed, index=geometry.index, crs=metric).to_crs(gdf.crs)


def _codes(gdf: pd.DataFrame, code_col: str | None, *, id_col: str) -> pd.Series:
    if code_col is None or code_col not in gdf.columns:
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
    id_col: str | None = None,
    households_col: str | None = None,
    population_col: str | None = None,
    levels_col: str | None = None,
    use_col: str | None = None,
    persons_per_household: float = 2.62,
) -> gpd.GeoDataFrame:
    """Validate buildings and fill missing counts by estimation (never silently).

    A column named here (not None) must exist: a misspelt households column is an error with
    "did you mean", never a silent switch to estimates. A column not named is looked up by its
    standard name, then by common names (``户数``, ``人口``, ``层数`` …: :data:`COLUMN_ALIASES`).

    Missing ``households`` are estimated from footprint × levels (:mod:`gridkit.households`) where
    ``levels`` is known, and a warning says how many; missing ``population`` is households ×
    ``persons_per_household``. The column ``estimated`` marks the rows filled in.
    """
    check_not_empty(gdf, "buildings")
    label = "buildings"
    id_col = resolve_column(gdf, "building_id", id_col, label=label, required=True)
    assert id_col is not None
    households_col = resolve_column(gdf, "households", households_col, label=label)
    population_col = resolve_column(gdf, "population", population_col, label=label)
    levels_col = resolve_column(gdf, "levels", levels_col, label=label)
    use_col = resolve_column(gdf, "use", use_col, label=label)
    check_ids(gdf, id_col)
    check_coordinates(gdf, label)
    geometry = repair_geometry(gdf, id_col=id_col, kinds=(*POLYGONAL, "Point"))
    work = gdf.set_geometry(geometry.to_numpy())
    households = _fill_households(work, households_col, id_col=id_col, levels_col=levels_col, use_col=use_col)
    estimated = np.isnan(households.raw)
    if population_col is not None:
        population = counts(gdf, population_col, id_col=id_col, allow_missing=True)
    else:
        population = np.full(len(gdf), np.nan)
    pop_missing = np.isnan(population)
    if pop_missing.any():
        what = (f"population missing for all {len(gdf)} buildings (no population column)" if population_col is None
                else f"population missing for {int(pop_missing.sum())} buildings")
        warnings.warn(
            f"{source_name(gdf)}: {what}; estimated as households × {persons_per_household}",
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
        if extra is not None:
            out[name] = gdf[extra].to_numpy()
    out.attrs["source"] = source_name(gdf)
    out.attrs["columns"] = {"building_id": id_col, "households": households_col, "population": population_col,
                            "levels": levels_col, "use": use_col}
    return out


class _Households:
    def __init__(self, raw: np.ndarray, filled: np.ndarray) -> None:
        self.raw, self.filled = raw, filled


def _fill_households(gdf: gpd.GeoDataFrame, column: str | None, *, id_col: str, levels_col: str | None,
                     use_col: str | None) -> _Households:
    present = column is not None
    raw = counts(gdf, column, id_col=id_col, allow_missing=True) if column is not None else np.full(len(gdf), np.nan)
    missing = np.isnan(raw)
    if not missing.any():
        return _Households(raw, raw)
    if levels_col is None:
        row = int(missing.nonzero()[0][0])
        if not present:
            raise InputDataError(
                f"buildings have no households column{suggest_column('households', gdf, 'households')} "
                "(name it with columns={'households': ...} or --households-col), and no 'levels' column to "
                "estimate households from", source=source_name(gdf), column="households")
        raise _fail(gdf, "households missing and no 'levels' column to estimate them from",
                    row=row, id_col=id_col, column=column)
    subset = gdf.iloc[missing.nonzero()[0]]
    estimate = estimate_households(subset, levels_col=levels_col, use_col=use_col)
    what = (f"households missing for {int(missing.sum())} buildings (of {len(gdf)})" if present else
            f"households missing for all {len(gdf)} buildings (no households column)")
    warnings.warn(
        f"{source_name(gdf)}: {what} estimated from footprint × levels (gridkit.households)",
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


# ------------------------------------------------------------------------------------- coordinates
def check_coordinates(gdf: gpd.GeoDataFrame, label: str) -> None:
    """In a geographic CRS every coordinate must be a longitude/latitude; swapped axes are named as such."""
    if gdf.crs is None or not gdf.crs.is_geographic or len(gdf) == 0:
        return
    bounds = shapely.bounds(gdf.geometry.to_numpy())
    usable = np.isfinite(bounds).all(axis=1)
    b = bounds[usable]
    if not len(b):
        return
    xs = np.where(np.abs(b[:, 0]) > np.abs(b[:, 2]), b[:, 0], b[:, 2])
    ys = np.where(np.abs(b[:, 1]) > np.abs(b[:, 3]), b[:, 1], b[:, 3])
    rows = np.flatnonzero(usable)
    try:
        check_lonlat(xs, ys, crs=gdf.crs, columns=("x", "y"), source=source_name(gdf))
    except InputDataError as exc:
        row = int(rows[exc.row]) if exc.row is not None else None
        message = exc.message.replace("latitude in 'x' and longitude in 'y'; swap the two columns",
                                      "latitude first; swap the axes")
        raise InputDataError(f"{label}: {message}", source=source_name(gdf), row=row, column="geometry") from None


def buildings_outside(communities_m: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, buildings_m: gpd.GeoDataFrame,
                      holding: np.ndarray, *, outside: Outside) -> None:
    """Raise for buildings outside every community (``outside="error"``), diagnosing swapped axes.

    Parameters
    ----------
    communities_m, buildings_m
        Validated layers in the metric CRS the work is done in.
    buildings
        The buildings in their own CRS (to try the axes the other way round).
    holding
        Community row of each building, -1 outside (:func:`gridkit.spatial.polygon_holding`).
    outside
        ``"report"`` returns quietly (the caller reports them).
    """
    missing = np.flatnonzero(holding < 0)
    if not len(missing) or option("outside", outside) == "report":
        return
    row = int(missing[0])
    swapped = _swap_share(communities_m, buildings.iloc[missing], buildings_m.crs)
    if swapped >= 0.5:
        raise InputDataError(
            f"building lies outside every community, and so do {len(missing)} buildings in all; with x and y "
            f"swapped {swapped:.0%} of them fall inside: the coordinates look swapped (latitude given first). "
            "Swap the axes (or the lon/lat columns) of the buildings file",
            source=source_name(buildings), row=row, feature=buildings["building_id"].iloc[row], column="geometry")
    raise InputDataError(
        f"building lies outside every community ({len(missing)} of {len(holding)} buildings in all). Check that "
        "the buildings and communities cover the same area and CRS; to partition anyway and list them in the "
        "assignment, pass outside='report' (--outside report)",
        source=source_name(buildings), row=row, feature=buildings["building_id"].iloc[row], column="geometry")


def _swap_share(communities_m: gpd.GeoDataFrame, outside: gpd.GeoDataFrame, metric: object) -> float:
    """Share of ``outside`` buildings that fall inside a community with their x and y swapped."""
    from gridkit.spatial import polygon_holding, representative_points  # noqa: PLC0415

    if outside.crs is None or not len(outside):
        return 0.0
    points = representative_points(outside.geometry.to_numpy())
    coords = shapely.get_coordinates(points)
    if outside.crs.is_geographic and ((np.abs(coords[:, 0]) > 90).any() or (np.abs(coords[:, 1]) > 180).any()):
        return 0.0
    flipped = gpd.GeoSeries(shapely.points(coords[:, 1], coords[:, 0]), crs=outside.crs)
    with np.errstate(all="ignore"):
        moved = flipped.to_crs(metric).to_numpy()
    return float((polygon_holding(moved, communities_m.geometry.to_numpy()) >= 0).mean())


def warn_defaults(*, streets: object, target: object, n_grids: object, by: object,
                  communities: gpd.GeoDataFrame) -> None:
    """Say what a partition assumes when it is not told: no streets, the default target."""
    if streets is None:
        warnings.warn("no streets given: grids will not follow streets, their borders cut through blocks "
                      "between buildings; pass streets= (--streets, or osm in gridkit.toml)", GridkitWarning,
                      stacklevel=3)
    own_targets = "target" in communities.columns and communities["target"].notna().all()
    if target is None and n_grids is None and not own_targets:
        from gridkit.atom_partition import DEFAULT_TARGETS  # noqa: PLC0415

        measures = [by] if isinstance(by, str) else list(by) if isinstance(by, Mapping) else []
        shown = ", ".join(f"{DEFAULT_TARGETS[m]:g} {m if m != 'area' else 'm²'}" for m in measures
                          if m in DEFAULT_TARGETS)
        warnings.warn(f"no target given: the default of {shown} per grid is used; pass target= (--target) for "
                      "your district", GridkitWarning, stacklevel=3)
