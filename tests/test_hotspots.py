"""Hot spots (Gi* with FDR) and kernel density surfaces."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from scipy.stats import false_discovery_control

from gridkit.errors import InputDataError
from gridkit.hotspots import (
    bandwidth_rule,
    benjamini_hochberg,
    contiguity_weights,
    getis_ord_star,
    hotspots,
    kde_bands,
    kde_surface,
)
from gridkit.incidents import grid_stats, prepare_incidents


@pytest.fixture(scope="module")
def grids(sample_result):
    return sample_result.grids


@pytest.fixture(scope="module")
def prepared(sample, grids):
    return prepare_incidents(sample.folder / "incidents.csv", grids)


@pytest.fixture(scope="module")
def grid_spots(prepared, grids):
    return hotspots(grids, grid_stats(prepared, grids))


def _lattice(n: int, size: float = 100.0) -> gpd.GeoDataFrame:
    """n × n squares of ``size`` metres in UTM 48N (Chengdu)."""
    xs, ys = np.meshgrid(np.arange(n) * size, np.arange(n) * size)
    x0, y0 = 400_000 + xs.ravel(), 3_390_000 + ys.ravel()
    return gpd.GeoDataFrame({"grid_id": [f"G{k:03d}" for k in range(n * n)]},
                            geometry=shapely.box(x0, y0, x0 + size, y0 + size), crs=32648)


def test_gi_star_equals_esda(grid_spots, grids):
    esda = pytest.importorskip("esda")
    libpysal = pytest.importorskip("libpysal")
    w = libpysal.weights.WSP(contiguity_weights(grids)).to_W(silence_warnings=True)
    ref = esda.G_Local(grid_spots["count"].to_numpy(float), w, transform="B", star=True, permutations=0)
    assert np.allclose(grid_spots["gi_z"].to_numpy(), ref.Zs, atol=1e-9)


def test_gi_star_on_hexagons_equals_esda(prepared, grids):
    esda = pytest.importorskip("esda")
    libpysal = pytest.importorskip("libpysal")
    hexes = hotspots(prepared.incidents, lattice="hex", area=grids, size_m=120)
    centres = hexes.to_crs(32648).geometry.centroid
    w = libpysal.weights.DistanceBand.from_array(np.column_stack([centres.x, centres.y]), threshold=120 * 1.75,
                                                 binary=True, silence_warnings=True)
    ref = esda.G_Local(hexes["count"].to_numpy(float), w, transform="B", star=True, permutations=0)
    assert np.allclose(hexes["gi_z"].to_numpy(), ref.Zs, atol=1e-9)
    # every incident inside the grids lies in a hexagon of the lattice laid over them
    assert prepared.counts["in_grids"] <= hexes["count"].sum() <= len(prepared.incidents)


def test_planted_hot_spots_are_found(grid_spots):
    # README: hot spots around the markets of C01 (锦里菜市场) and C05 (青杠农贸市场)
    hot = grid_spots[(grid_spots["gi_bin"] >= 2)]
    assert {"C01", "C05"} <= set(hot["community_id"])
    assert (hot["gi_z"] > 1.96).all()
    assert (grid_spots.loc[grid_spots["significant"], "gi_q"] <= 0.05).all()


def test_a_planted_block_is_a_99_percent_hot_spot():
    lattice = _lattice(12)
    rng = np.random.default_rng(1)
    counts = rng.poisson(5, len(lattice)).astype(float)
    centre = (np.arange(144) // 12 >= 5) & (np.arange(144) // 12 <= 6) & (np.arange(144) % 12 >= 5) & \
        (np.arange(144) % 12 <= 6)
    counts[centre] += 40
    spots = hotspots(lattice, counts)
    assert (spots.loc[centre, "gi_bin"] == 3).all()
    assert spots.loc[~centre, "gi_bin"].abs().mean() < 0.5
    assert spots["significant"].sum() >= 4


def test_flat_counts_have_no_hot_spot():
    spots = hotspots(_lattice(5), np.full(25, 7.0))
    assert spots["gi_z"].isna().all()
    assert (spots["gi_bin"] == 0).all()
    assert not spots["significant"].any()


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=60))
def test_benjamini_hochberg_equals_scipy(p):
    assert np.allclose(benjamini_hochberg(np.array(p)), false_discovery_control(p, method="bh"))


def test_gi_star_self_weight_and_symmetry():
    rng = np.random.default_rng(3)
    x = rng.poisson(4, 30).astype(float)
    a = sparse.random(30, 30, density=0.2, random_state=4)
    w = ((a + a.T) > 0).astype(float)
    z1, p1 = getis_ord_star(x, w)
    z2, _ = getis_ord_star(x, w + sparse.identity(30))  # a self-link given or not: the same Gi*
    assert np.allclose(z1, z2)
    assert ((p1 >= 0) & (p1 <= 1)).all()


def test_counts_per_grid_are_checked(grids):
    with pytest.raises(InputDataError, match="counts"):
        hotspots(grids, np.ones(3))
    with pytest.raises(InputDataError, match="lattice"):
        hotspots(grids, "households", lattice="triangles")


def test_kde_integrates_to_the_number_of_incidents(prepared):
    pts = prepared.incidents
    surface = kde_surface(pts, min_share=0.0)
    cell_km2 = surface.attrs["cell_m"] ** 2 / 1e6
    assert surface["density"].sum() * cell_km2 == pytest.approx(len(pts), rel=1e-3)
    assert surface.crs == pts.crs
    assert 10 <= surface.attrs["bandwidth_m"] <= 500
    peak = surface.loc[surface["density"].idxmax()].geometry.centroid
    assert pts.to_crs(32648).distance(gpd.GeoSeries([peak], crs=4326).to_crs(32648).iloc[0]).min() < 100


def test_bandwidth_rule_is_in_metres_and_scales():
    rng = np.random.default_rng(0)
    xy = rng.normal(0, 200, size=(1000, 2))
    h = bandwidth_rule(xy)
    assert h == pytest.approx(0.9 * 200 * 1000 ** -0.2, rel=0.1)
    assert bandwidth_rule(xy * 3) == pytest.approx(3 * h)
    assert bandwidth_rule(np.vstack([xy, [[1e6, 1e6]]])) == pytest.approx(h, rel=0.05)  # robust to an outlier


def test_kde_bands_nest(prepared):
    bands = kde_bands(kde_surface(prepared.incidents))
    assert list(bands["band"]) == sorted(bands["band"])
    areas = bands.to_crs(32648).area.to_numpy()
    assert (np.diff(areas) < 0).all()
    assert (np.diff(bands["density"]) > 0).all()
