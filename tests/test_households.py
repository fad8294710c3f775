"""households.estimate_households: round(footprint × levels × 0.8 / 75) households, × 2.62 persons."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from synthetic import CHENGDU_ORIGIN, CHENGDU_UTM

from gridkit.errors import InputDataError
from gridkit.households import estimate_households


def _squares(levels, uses=None, *, side=10.0, crs=CHENGDU_UTM) -> gpd.GeoDataFrame:
    """10 m × 10 m footprints near Chengdu, 50 m apart, in UTM 48N (metres)."""
    x, y = CHENGDU_ORIGIN
    geoms = [shapely.box(x + 50 * i, y, x + 50 * i + side, y + side) for i in range(len(levels))]
    data = {"building_id": [f"B{i}" for i in range(len(levels))], "levels": levels}
    if uses is not None:
        data["use"] = uses
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


@pytest.mark.parametrize(("levels", "households", "population"), [
    (1, 1, 3),     # 100 m² × 1 × 0.8 / 75 = 1.07 → 1; 1 × 2.62 = 2.62 → 3
    (6, 6, 16),    # 6.4 → 6; 15.72 → 16
    (10, 11, 29),  # 10.67 → 11; 28.82 → 29
    (30, 32, 84),  # 32.0 → 32; 83.84 → 84
    (0, 0, 0),
])
def test_formula_on_a_10m_square(levels, households, population):
    out = estimate_households(_squares([levels]))
    assert out["households"].tolist() == [households]
    assert out["population"].tolist() == [population]
    assert str(out["households"].dtype) == "int64"


def test_same_estimate_in_lonlat():
    metric = _squares([1, 6, 10, 30])
    lonlat = metric.to_crs("EPSG:4326")
    assert lonlat.crs.to_epsg() == 4326
    assert estimate_households(lonlat)["households"].tolist() == [1, 6, 11, 32]
    assert estimate_households(lonlat)["population"].tolist() == [3, 16, 29, 84]


def test_result_is_indexed_like_the_input():
    buildings = _squares([6, 10]).set_index("building_id")
    out = estimate_households(buildings)
    assert out.index.tolist() == ["B0", "B1"]


def test_use_decides_residential():
    uses = ["residential", "commercial", "住宅", "Apartments", None, "school"]
    out = estimate_households(_squares([6] * 6, uses))
    assert out["households"].tolist() == [6, 0, 6, 6, 0, 0]
    assert out["population"].tolist() == [16, 0, 16, 16, 0, 0]


def test_use_col_none_counts_every_building():
    out = estimate_households(_squares([6, 6], ["school", "office"]), use_col=None)
    assert out["households"].tolist() == [6, 6]


def test_parameters_change_the_estimate():
    out = estimate_households(_squares([6]), residential_share=1.0, m2_per_dwelling=50.0, persons_per_household=3)
    assert out["households"].tolist() == [12]  # 100 × 6 × 1.0 / 50
    assert out["population"].tolist() == [36]


def test_missing_levels_is_an_error_naming_the_row():
    buildings = _squares([6, None, 3])
    with pytest.raises(InputDataError) as info:
        estimate_households(buildings)
    assert info.value.row == 1
    assert info.value.column == "levels"
    assert "row 1" in str(info.value)
    assert "column 'levels'" in str(info.value)


def test_negative_levels_is_an_error():
    with pytest.raises(InputDataError, match="row 0"):
        estimate_households(_squares([-1, 3]))


def test_default_levels_fills_missing():
    out = estimate_households(_squares([None, 10]), default_levels=6)
    assert out["households"].tolist() == [6, 11]


def test_no_levels_column_is_an_error():
    with pytest.raises(InputDataError, match="levels"):
        estimate_households(_squares([6]).drop(columns="levels"))


def test_points_cannot_be_estimated():
    buildings = _squares([6, 6])
    buildings.loc[1, "geometry"] = buildings.geometry.iloc[1].centroid
    with pytest.raises(InputDataError) as info:
        estimate_households(buildings)
    assert info.value.row == 1
    assert "Point" in str(info.value)
