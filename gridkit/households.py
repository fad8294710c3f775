"""Household and population estimates from building footprints where counts are missing.

The estimate is the usual one of planning practice::

    households = round(footprint_m2 × levels × residential_share / m2_per_dwelling)
    population = round(households × persons_per_household)

for residential buildings, and 0 for the others. Defaults: ``residential_share`` 0.8 (share of the
gross floor area that is dwellings; the rest is walls, stairs, corridors), ``m2_per_dwelling`` 75 m²
gross per dwelling, ``persons_per_household`` 2.62 (China, 7th census 2020). Footprints are measured
in a local metric CRS, whatever the CRS of the input.
"""

from __future__ import annotations

from collections.abc import Collection

import geopandas as gpd
import numpy as np
import pandas as pd

from gridkit.crs import to_metric
from gridkit.errors import InputDataError
from gridkit.io import source_name

__all__ = ["RESIDENTIAL_USES", "estimate_households"]

#: ``use`` values treated as residential (lower-case comparison). Anything else counts 0 households.
RESIDENTIAL_USES: frozenset[str] = frozenset(
    {"residential", "mixed", "house", "apartments", "detached", "terrace", "dormitory", "yes",
     "住宅", "居住", "商住", "wohnhaus", "wohngebäude", "wohn- und geschäftsgebäude",
     "wohn- und bürogebäude", "wohngebäude mit handel und dienstleistungen"}
)


def estimate_households(
    buildings: gpd.GeoDataFrame,
    *,
    levels_col: str = "levels",
    use_col: str | None = "use",
    residential_uses: Collection[str] = RESIDENTIAL_USES,
    residential_share: float = 0.8,
    m2_per_dwelling: float = 75.0,
    persons_per_household: float = 2.62,
    default_levels: float | None = None,
) -> pd.DataFrame:
    """Estimate households and population of building footprints.

    Parameters
    ----------
    buildings
        Building footprints (polygons) in any CRS; areas are taken in a local metric CRS (m²).
    levels_col
        Column with the number of storeys above ground.
    use_col
        Column with the building use; rows whose lower-cased use is not in ``residential_uses``
        get 0. ``None`` treats every building as residential.
    residential_uses
        Use values counted as residential.
    residential_share
        Share of gross floor area that is dwellings (0–1).
    m2_per_dwelling
        Gross floor area per dwelling, m².
    persons_per_household
        Average household size, persons.
    default_levels
        Storeys to assume where ``levels_col`` is missing; ``None`` makes a missing value an error.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``buildings`` with integer columns ``households`` and ``population``.
    """
    source = source_name(buildings, "<buildings>")
    if levels_col not in buildings.columns:
        raise InputDataError("cannot estimate households: no levels column", source=source, column=levels_col)
    geom_types = buildings.geom_type.to_numpy()
    not_polygon = ~np.isin(geom_types, ["Polygon", "MultiPolygon"])
    if not_polygon.any():
        row = int(not_polygon.nonzero()[0][0])
        raise InputDataError(
            f"cannot estimate households of a {geom_types[row]}: a footprint polygon is needed",
            source=source, row=row, column="geometry",
        )
    levels = pd.to_numeric(buildings[levels_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if default_levels is not None:
        levels = np.where(np.isnan(levels), default_levels, levels)
    bad = np.isnan(levels) | (levels < 0)
    if bad.any():
        row = int(bad.nonzero()[0][0])
        raise InputDataError(
            f"cannot estimate households: levels missing or negative ({int(bad.sum())} rows)",
            source=source, row=row, column=levels_col,
        )
    footprint = to_metric(buildings).geometry.area.to_numpy()
    residential = np.ones(len(buildings), dtype=bool)
    if use_col is not None and use_col in buildings.columns:
        uses = {u.lower() for u in residential_uses}
        residential = buildings[use_col].astype("string").str.lower().isin(uses).fillna(value=False).to_numpy(bool)
    households = np.rint(footprint * levels * residential_share / m2_per_dwelling) * residential
    population = np.rint(households * persons_per_household)
    return pd.DataFrame(
        {"households": households.astype(np.int64), "population": population.astype(np.int64)},
        index=buildings.index,
    )
