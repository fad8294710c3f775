"""Property tests: random street grids, buildings, households (zeros included) and targets.

Street positions are jittered so blocks differ in size. Every example is partitioned and checked for
conservation, seamless coverage, contiguity, valid geometry, whole buildings and a one-to-one
building → atom → grid mapping, in a metric CRS and in lon/lat (EPSG:4326 near Chengdu, as
GeoJSON files come).
The profile (conftest) is derandomized with 20 examples.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from checks import (
    assert_buildings_whole,
    assert_conserved,
    assert_points_in_assigned_grid,
    assert_single_polygons,
    per_community_coverage,
)
from conftest import run_partition
from hypothesis import given
from hypothesis import strategies as st
from synthetic import CHENGDU_UTM, METRIC_CRS, make_district


@st.composite
def districts(draw, *, lonlat: bool | None = None):
    """A random district and target; the make_district arguments come along so a failure shows them."""
    lonlat = draw(st.booleans()) if lonlat is None else lonlat
    low = draw(st.integers(0, 20))
    params = {
        "rows": draw(st.integers(2, 6)),
        "cols": draw(st.integers(2, 6)),
        "jitter": draw(st.floats(0.0, 0.3)),
        "per_side": draw(st.integers(1, 3)),
        "households": (low, low + draw(st.integers(0, 60))),
        "zero_share": draw(st.floats(0.0, 0.6)),
        "seed": draw(st.integers(0, 2**16)),
        "crs": CHENGDU_UTM if lonlat else METRIC_CRS,
        "lonlat": lonlat,  # EPSG:4326 near Chengdu, as GeoJSON files come
    }
    target = draw(st.integers(40, 600))
    return make_district(**params), target, params


def _check_atoms(result, buildings):
    """Atoms tile the community, every building's point lies in exactly one atom, atom → grid is consistent."""
    atoms = result.atoms
    assert int(atoms["n_buildings"].sum()) == len(buildings)
    assert int(atoms["households"].sum()) == int(buildings["households"].sum())
    points = shapely.point_on_surface(buildings.to_crs(result.crs).geometry.to_numpy())
    point_idx, atom_idx = shapely.STRtree(atoms.geometry.to_numpy()).query(points, predicate="within")
    assert np.array_equal(np.sort(point_idx), np.arange(len(buildings)))  # exactly one atom each
    per_atom = np.bincount(atom_idx, minlength=len(atoms))
    assert np.array_equal(per_atom, atoms["n_buildings"].to_numpy())
    assigned = result.assignment["grid_id"].to_numpy()[point_idx]
    assert (atoms["grid_id"].to_numpy()[atom_idx] == assigned).all()


@given(districts(lonlat=False))
def test_random_street_grids_keep_the_invariants(case):
    district, target, _params = case
    result, _ = run_partition(district.communities, district.buildings, district.streets, target=target, seed=1)
    assert_conserved(result, district.buildings)
    table = per_community_coverage(result, district.communities)
    assert table["gap"].iloc[0] <= 1e-6
    assert table["overlap"].iloc[0] <= 1e-6
    assert table["symdiff"].iloc[0] <= 1e-6
    assert_single_polygons(result)
    assert result.grids.is_valid.all()
    assert_points_in_assigned_grid(result, district.buildings)
    assert_buildings_whole(result, district.buildings)
    _check_atoms(result, district.buildings)
    n = len(result.grids)
    assert sorted(result.grids["seq"]) == list(range(1, n + 1))


@given(districts(lonlat=False), st.sampled_from(["population", "area"]))
def test_random_street_grids_other_measures(case, by):
    district, target, _params = case
    scaled = {"population": target * 2.5, "area": target * 100.0}[by]
    result, _ = run_partition(district.communities, district.buildings, district.streets, by=by, target=scaled)
    assert_conserved(result, district.buildings)
    table = per_community_coverage(result, district.communities)
    assert table["gap"].iloc[0] <= 1e-6
    assert table["overlap"].iloc[0] <= 1e-6
    assert_single_polygons(result)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # from hypothesis' failure report (libcst)
@given(districts(lonlat=True))
def test_random_lonlat_street_grids_keep_the_invariants(case):
    """Lon/lat input only: the plan is valid and seamless in EPSG:4326 and in the metric CRS alike."""
    district, target, _params = case
    result, caught = run_partition(district.communities, district.buildings, district.streets, target=target,
                                   seed=1)
    assert_conserved(result, district.buildings)
    assert_single_polygons(result)
    assert result.grids.is_valid.all()
    assert result.grids.to_crs(result.crs).is_valid.all()
    table = per_community_coverage(result, district.communities)
    assert table["gap"].iloc[0] <= 1e-6
    assert table["overlap"].iloc[0] <= 1e-6
    assert not any("not contiguous" in str(w.message) for w in caught)
