"""Alternative plans side by side, so a planner can pick one.

``gridkit.partition(..., n_alternatives=K)`` makes K plans on the same atoms with seeds
``seed, seed + 1, …`` (seed 0 is the deterministic default plan; other seeds start from other
first cuts). :func:`compare_plans` puts their metrics in one table, with the share of households
each plan places differently from the first (how different the choice really is).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from gridkit.metrics import evaluate

__all__ = ["compare_plans", "plan_difference"]


def plan_difference(first: pd.DataFrame, other: pd.DataFrame, households: pd.Series) -> float:
    """Share of households whose grid differs between two plans, grids matched by overlap.

    Grid codes are numbered per plan, so plans are compared by pairs of buildings: each grid of
    ``other`` is matched to the grid of ``first`` holding most of its households; a household in
    an unmatched part counts as moved.

    Parameters
    ----------
    first, other
        Building assignments (``building_id`` → ``grid_id``).
    households
        Households per ``building_id``.
    """
    joined = first[["building_id", "grid_id"]].merge(other[["building_id", "grid_id"]], on="building_id",
                                                     suffixes=("_a", "_b"))
    joined["hh"] = joined["building_id"].map(households).fillna(0).to_numpy(float)
    total = float(joined["hh"].sum())
    if total <= 0:
        return 0.0
    overlap = joined.groupby(["grid_id_b", "grid_id_a"], dropna=True)["hh"].sum()
    kept = float(overlap.groupby(level=0).max().sum()) if len(overlap) else 0.0
    return max(0.0, 1.0 - kept / total)


def compare_plans(plans: Sequence[object], communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                  streets: gpd.GeoDataFrame | None = None, *, tolerance: float = 0.1) -> pd.DataFrame:
    """One row per plan: grids, balance, compactness, street alignment, difference from the first.

    Parameters
    ----------
    plans
        :class:`gridkit.partition.PartitionResult` objects (``result.alternatives``).
    communities, buildings, streets
        The inputs the plans were made from (any CRS).
    tolerance
        Balance tolerance.

    Returns
    -------
    pandas.DataFrame
        ``plan`` (0 = first), ``n_grids``, ``max_abs_deviation``, ``share_within_tolerance``,
        ``mean_polsby_popper``, ``street_alignment``, ``households_elsewhere`` (share of households
        in a different grid than in plan 0).

    Examples
    --------
    >>> import gridkit
    >>> s = gridkit.samples.load_sample()  # doctest: +SKIP
    >>> result = gridkit.partition(s.communities, s.buildings, s.streets, n_alternatives=3)  # doctest: +SKIP
    >>> compare_plans(result.alternatives, s.communities, s.buildings, s.streets)  # doctest: +SKIP
    """
    households = pd.Series(buildings["households"].to_numpy(float), index=buildings["building_id"].to_numpy())
    rows = []
    for i, plan in enumerate(plans):
        table = evaluate(plan.grids, communities, buildings, plan.assignment, streets=streets, tolerance=tolerance)
        total = table.iloc[-1]
        rows.append({
            "plan": i,
            "n_grids": int(total["n_grids"]),
            "max_abs_deviation": float(total["max_abs_deviation"]),
            "share_within_tolerance": float(total["share_within_tolerance"]),
            "mean_polsby_popper": float(total["mean_polsby_popper"]),
            "street_alignment": float(total["street_alignment"]) if streets is not None else np.nan,
            "households_elsewhere": plan_difference(plans[0].assignment, plan.assignment, households),
        })
    return pd.DataFrame(rows)
