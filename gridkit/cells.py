"""Unit cells (万米单元网格) nested exactly inside household grids: the second layer.

Beijing Dongcheng's city-management grid divides the city into unit cells of about 10,000 m²,
patrolled by city supervisors, beside the social-management grids drawn by households. gridkit draws
them *inside* each household grid with the same partition engine (:func:`gridkit.partition.partition`
with ``by="area"``, each grid taken as the region to tile), so every cell lies in one grid, the cells
of a grid tile it exactly, and the cell code extends the grid code by a 3-digit sequence (reading
order, north→south in rows, west→east; ``510107003001007`` → ``510107003001007003``).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd

from gridkit.errors import GridkitWarning, InputDataError
from gridkit.partition import partition

__all__ = ["CELL_M2", "cell_counts", "unit_cells"]

#: Target area of a unit cell, m² (万米单元网格).
CELL_M2 = 10_000.0


def unit_cells(
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame | None = None,
    *,
    cell_m2: float = CELL_M2,
    tolerance: float = 0.3,
    seed: int = 0,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Divide each grid into unit cells of about ``cell_m2`` square metres.

    Parameters
    ----------
    grids
        Household grids (``grid_id``, ``community_id``), any CRS; they are the regions tiled.
    buildings
        The buildings the grids were drawn from (``building_id``, ``households``, ``population``); a
        building is never split between cells.
    streets
        Street lines; cell boundaries follow them wherever the balance allows.
    cell_m2
        Target cell area, m².
    tolerance
        Two-sided tolerance around each grid's mean cell area.
    seed
        Seed of the partition's local search.

    Returns
    -------
    (cells, assignment)
        ``cells``: one polygon per cell (grids' CRS): ``cell_id`` (grid code + 3 digits), ``grid_id``,
        ``community_id``, ``seq``, ``area_m2``, ``households``, ``population``, ``n_buildings``,
        ``deviation``, ``oversize``; ``assignment``: ``building_id`` → ``cell_id``, ``grid_id``.

    Examples
    --------
    >>> cells, where = unit_cells(grids, buildings, streets)  # doctest: +SKIP
    >>> cells.groupby("grid_id").size().describe()  # doctest: +SKIP
    """
    if "grid_id" not in grids.columns:
        raise InputDataError("grids have no column 'grid_id'", column="grid_id")
    if cell_m2 <= 0:
        raise InputDataError(f"cell area must be positive, got {cell_m2}", column="cell_m2")
    regions = gpd.GeoDataFrame({"community_id": grids["grid_id"].astype(str).to_numpy()},
                               geometry=grids.geometry.to_numpy(), crs=grids.crs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridkitWarning)
        result = partition(regions, buildings, streets, by="area", target=cell_m2, tolerance=tolerance, seed=seed,
                           outside="report")
    outside = result.assignment["status"].astype(str).eq("outside_communities").sum() \
        if "status" in result.assignment.columns else 0
    if outside:
        warnings.warn(f"{outside} buildings lie outside every grid and are in no unit cell", GridkitWarning,
                      stacklevel=2)
    hard = [w for w in caught if "oversize" in str(w.message)]
    if hard:
        warnings.warn(f"unit cells: {len(hard)} grid(s) hold a block larger than a cell's upper bound "
                      "(an oversize cell of its own)", GridkitWarning, stacklevel=2)
    cells = result.grids.rename(columns={"community_id": "grid_id", "grid_id": "_code"})
    cells["cell_id"] = cells["grid_id"].astype(str) + cells["seq"].astype(int).map("{:03d}".format)
    community = grids.set_index(grids["grid_id"].astype(str))["community_id"] if "community_id" in grids.columns \
        else None
    cells["community_id"] = cells["grid_id"].map(community) if community is not None else None
    keep = ["cell_id", "grid_id", "community_id", "seq", "area_m2", "households", "population", "n_buildings",
            "deviation", "oversize"]
    cells = gpd.GeoDataFrame(cells[[c for c in keep if c in cells.columns]], geometry=cells.geometry.to_numpy(),
                             crs=cells.crs)
    code = dict(zip(result.grids["grid_id"].astype(str), cells["cell_id"], strict=True))
    where = result.assignment.rename(columns={"grid_id": "_code", "community_id": "grid_id"})
    where["cell_id"] = where["_code"].astype(str).map(code)
    return cells.reset_index(drop=True), where[["building_id", "cell_id", "grid_id"]].reset_index(drop=True)


def cell_counts(cells: pd.DataFrame) -> pd.Series:
    """Unit cells per grid (``grid_id → n``), for staffing posts counted per cells."""
    return cells.groupby(cells["grid_id"].astype(str)).size()
