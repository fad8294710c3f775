"""Tests of gridkit.chinacoords: published reference points, round trips and properties."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridkit.chinacoords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    transform_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridkit.errors import GridkitError

# Test vectors of wandergis/coordtransform (as used by its ports, e.g. hutool's CoordinateUtilTest and
# coordtransform_rs): the input (116.404, 39.915) under each forward formula, full double precision.
COORDTRANSFORM = {
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
}
# Reference triples (WGS84, GCJ02, BD09) from hujiulong/gcoord's test/fixtures/china-cities.json,
# rounded there to 7 decimals. Their GCJ02/BD09 pairs follow the BD-09 formula to the 7th decimal; their
# WGS84 column comes from an independent, approximate source (it is off the GCJ-02 formula by up to
# ~1.5e-5 deg, ~1.5 m, as gcoord's own tests allow with 4 decimals), so WGS84 is checked at 2e-5 deg.
GCOORD = [
    ((114.0164322, 33.0133556), (114.022306, 33.0115324), (114.0287781, 33.0176697)),  # 驻马店
    ((92.0499619, 31.4784436), (92.0512438, 31.4762063), (92.0576832, 31.4824421)),  # 那曲
    ((102.2658401, 27.8850446), (102.2673386, 27.8816151), (102.2738428, 27.8876621)),  # 西昌
    ((104.6252411, 30.1317508), (104.6276449, 30.1289052), (104.6340814, 30.1351581)),  # 资阳
    ((123.4253306, 41.8032629), (123.4314787, 41.8057023), (123.438095, 41.8114013)),  # 沈阳
    ((105.4386655, 28.8748404), (105.4422659, 28.871815), (105.4487888, 28.8776874)),  # 泸州
    ((98.4937175, 39.7319946), (98.4943595, 39.7328234), (98.5008441, 39.7388949)),  # 酒泉
    ((116.0414035, 43.9312805), (116.0482308, 43.9334573), (116.0546232, 43.9397782)),  # 锡林浩特
]
ROUNDING = 1.5e-7  # the fixture's 7 decimals (half a unit) plus a little
APPROX_WGS = 2e-5

china_lon = st.floats(74.0, 134.5, allow_nan=False)
china_lat = st.floats(4.5, 53.0, allow_nan=False)


def test_coordtransform_vectors_exact() -> None:
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx(COORDTRANSFORM["wgs84_to_gcj02"], abs=1e-12)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx(COORDTRANSFORM["gcj02_to_bd09"], abs=1e-12)


def test_other_published_vectors() -> None:
    # gcoord's unit test (8 decimals); a geotool CLI test and a geoToolbox test, whose ports differ from
    # coordtransform in the 8th decimal (constants of other precision): agree to 1e-6 deg (~0.1 m)
    assert gcj02_to_bd09(123, 45) == pytest.approx((123.00636499, 45.00636899), abs=1e-8)
    assert wgs84_to_gcj02(121.0917077, 30.6107779) == pytest.approx((121.09626935575027, 30.608604331756705),
                                                                    abs=1e-6)
    assert wgs84_to_bd09(121.0917077, 30.6107779) == pytest.approx((121.10271732371203, 30.61484572185035),
                                                                   abs=1e-6)
    assert wgs84_to_gcj02(116.0, 40.0) == pytest.approx((116.006141221789, 40.001213650174), abs=1e-6)


def test_exact_inverse_beats_one_step_reference() -> None:
    # gcoord's GCJ02->WGS84 of (123, 45) is a one/two-step approximation (5 decimals): we agree at
    # that precision, and our answer maps forward exactly onto the input
    lon, lat = gcj02_to_wgs84(123, 45)
    assert (lon, lat) == pytest.approx((122.99395597, 44.99804071), abs=1e-5)
    assert wgs84_to_gcj02(lon, lat) == pytest.approx((123.0, 45.0), abs=1e-9)
    # the one-step inverse of coordtransform (116.39775550083061, 39.91359571849836) is off by ~1e-6 deg
    one_step = np.array([116.39775550083061, 39.91359571849836])
    exact = np.array(gcj02_to_wgs84(116.404, 39.915))
    assert 1e-8 < np.abs(exact - one_step).max() < 1e-4
    assert np.abs(np.array(wgs84_to_gcj02(*exact)) - [116.404, 39.915]).max() < 1e-9


@pytest.mark.parametrize(("wgs", "gcj", "bd"), GCOORD)
def test_gcoord_city_vectors(wgs: tuple, gcj: tuple, bd: tuple) -> None:
    assert gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=ROUNDING)
    assert bd09_to_gcj02(*bd) == pytest.approx(gcj, abs=ROUNDING)
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=APPROX_WGS)
    assert gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=APPROX_WGS)
    assert wgs84_to_bd09(*wgs) == pytest.approx(bd, abs=APPROX_WGS)
    assert bd09_to_wgs84(*bd) == pytest.approx(wgs, abs=APPROX_WGS)


def test_vectorised_matches_scalar_and_keeps_shape() -> None:
    wgs = np.array([g[0] for g in GCOORD])
    lon, lat = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    assert lon.shape == (len(GCOORD),)
    for i, (x, y) in enumerate(wgs):
        assert wgs84_to_gcj02(x, y) == (lon[i], lat[i])
    grid_lon, _grid_lat = wgs84_to_gcj02(np.full((2, 3), 104.06), np.full((2, 3), 30.66))
    assert grid_lon.shape == (2, 3)
    scalar = wgs84_to_gcj02(104.06, 30.66)
    assert isinstance(scalar[0], float)


def test_outside_china_unchanged_and_nan_kept() -> None:
    lon = np.array([13.35, -74.0, 150.0, 100.0, np.nan])  # Berlin, New York, Pacific, south of box, NaN
    lat = np.array([52.52, 40.7, 30.0, 2.0, 30.0])
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84):
        x, y = func(lon, lat)
        np.testing.assert_array_equal(x, lon)
        np.testing.assert_array_equal(y, lat)
    assert not in_china(13.35, 52.52)
    assert in_china(104.06, 30.66)


def test_shift_magnitude_in_chengdu() -> None:
    # GCJ-02 moves Chengdu by a few hundred metres (published offsets are 200-700 m across China)
    lon, lat = 104.06, 30.66
    glon, glat = wgs84_to_gcj02(lon, lat)
    metres = np.hypot((glon - lon) * 111_320 * np.cos(np.radians(lat)), (glat - lat) * 110_574)
    assert 150 < metres < 800


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_gcj_round_trip(lon: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert back == pytest.approx((lon, lat), abs=1e-7)
    forth = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert forth == pytest.approx((lon, lat), abs=1e-7)


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_bd_round_trips(lon: float, lat: float) -> None:
    assert bd09_to_gcj02(*gcj02_to_bd09(lon, lat)) == pytest.approx((lon, lat), abs=1e-7)
    assert bd09_to_wgs84(*wgs84_to_bd09(lon, lat)) == pytest.approx((lon, lat), abs=1e-7)


@settings(max_examples=100, deadline=None)
@given(china_lon, china_lat)
def test_shift_is_bounded_and_composes(lon: float, lat: float) -> None:
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert abs(glon - lon) < 0.02
    assert abs(glat - lat) < 0.02
    assert wgs84_to_bd09(lon, lat) == pytest.approx(gcj02_to_bd09(glon, glat), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(china_lon, china_lat), min_size=1, max_size=20))
def test_array_equals_elementwise(points: list) -> None:
    arr = np.array(points)
    lon, lat = gcj02_to_wgs84(arr[:, 0], arr[:, 1])
    for i, (x, y) in enumerate(points):
        assert gcj02_to_wgs84(x, y) == pytest.approx((lon[i], lat[i]), abs=1e-12)


def test_transform_geometries_series_frame_and_array() -> None:
    poly = shapely.box(104.05, 30.65, 104.07, 30.67)
    series = gpd.GeoSeries([poly, shapely.Point(104.06, 30.66)], index=[7, 9], crs="EPSG:4326")
    moved = transform_geometries(series, wgs84_to_gcj02)
    assert list(moved.index) == [7, 9]
    assert moved.crs == series.crs
    assert moved.iloc[1].coords[0] == pytest.approx(wgs84_to_gcj02(104.06, 30.66))
    frame = gpd.GeoDataFrame({"name": ["甲", "乙"]}, geometry=series, index=series.index)
    moved_frame = transform_geometries(frame, wgs84_to_gcj02)
    assert list(moved_frame["name"]) == ["甲", "乙"]
    assert moved_frame.geometry.geom_equals_exact(moved, 1e-12, align=False).all()
    back = transform_geometries(moved.to_numpy(), gcj02_to_wgs84)
    assert shapely.equals_exact(back, series.to_numpy(), 1e-9).all()
    single = transform_geometries(poly, wgs84_to_gcj02)
    assert single.is_valid
    assert abs(single.area - poly.area) / poly.area < 1e-2  # GCJ-02 stretches ~0.3 % here


def test_transform_geometries_refuses_projected() -> None:
    series = gpd.GeoSeries([shapely.Point(500000, 3390000)], crs="EPSG:32648")
    with pytest.raises(GridkitError, match="longitude/latitude"):
        transform_geometries(series, wgs84_to_gcj02)
