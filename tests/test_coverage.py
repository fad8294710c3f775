"""Coverage by network distance and exact station siting, checked against brute force."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from gridkit.coverage import (
    InfeasibleCoverError,
    _own_distances,
    coverage,
    distance_matrix,
    site_stations,
    street_matrix,
    threshold_metres,
)
from gridkit.errors import GridkitError, InputDataError

CRS = "EPSG:32648"


def grid_graph(nx_: int, ny_: int, *, step: float = 100.0, seed: int | None = None, parallel: bool = False):
    """A street lattice in EPSG:32648 (nodes ``x``/``y``, edges ``length`` in m), osmnx style."""
    rng = np.random.default_rng(seed)
    graph = nx.MultiGraph(crs=CRS)
    for i, j in itertools.product(range(nx_), range(ny_)):
        graph.add_node((i, j), x=400000.0 + i * step, y=3380000.0 + j * step)
    for i, j in itertools.product(range(nx_), range(ny_)):
        for di, dj in ((1, 0), (0, 1)):
            if i + di < nx_ and j + dj < ny_:
                detour = 1.0 if seed is None else float(rng.uniform(1.0, 2.0))
                graph.add_edge((i, j), (i + di, j + dj), length=step * detour)
                if parallel:
                    graph.add_edge((i, j), (i + di, j + dj), length=step * detour * 3)
    return graph


def points(xy, **columns):
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)


def brute_distance(graph: nx.MultiGraph, a_xy, b_xy) -> float:
    """Snap both points to their nearest node (straight line) and add networkx's shortest path."""
    nodes = list(graph.nodes)
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes])
    da = np.hypot(*(xy - a_xy).T)
    db = np.hypot(*(xy - b_xy).T)
    na, nb = nodes[int(np.argmin(da))], nodes[int(np.argmin(db))]
    try:
        network = nx.shortest_path_length(graph, na, nb, weight="length")
    except nx.NetworkXNoPath:
        return np.inf
    return float(da.min() + network + db.min())


def test_threshold_from_minutes_or_metres():
    assert threshold_metres(minutes=10, metres=None, speed_kmh=4.5) == pytest.approx(750.0)
    assert threshold_metres(minutes=None, metres=None) == pytest.approx(750.0)
    assert threshold_metres(minutes=None, metres=800) == 800
    with pytest.raises(GridkitError, match="either minutes or metres"):
        threshold_metres(minutes=5, metres=400)


def test_street_matrix_takes_shortest_parallel_edge():
    graph = grid_graph(3, 3, parallel=True)
    matrix = street_matrix(graph)
    assert matrix.matrix.nnz == 12  # 12 street segments, parallel copies folded
    assert matrix.matrix.data.max() == pytest.approx(100.0)


def test_street_matrix_rejects_graph_without_metric_crs():
    graph = grid_graph(2, 2)
    graph.graph["crs"] = "EPSG:4326"
    with pytest.raises(InputDataError, match="not metric"):
        street_matrix(graph)
    del graph.graph["crs"]
    with pytest.raises(InputDataError, match="crs"):
        street_matrix(graph)


@given(seed=st.integers(0, 10_000), n_buildings=st.integers(1, 25), n_stations=st.integers(1, 5))
def test_nearest_station_distance_equals_brute_force(seed, n_buildings, n_stations):
    rng = np.random.default_rng(seed)
    graph = grid_graph(5, 4, seed=seed)
    box = ((400000.0 - 30, 400430.0), (3380000.0 - 30, 3380330.0))
    b_xy = np.column_stack([rng.uniform(*box[0], n_buildings), rng.uniform(*box[1], n_buildings)])
    s_xy = np.column_stack([rng.uniform(*box[0], n_stations), rng.uniform(*box[1], n_stations)])
    buildings = points(b_xy, building_id=[f"B{i}" for i in range(n_buildings)],
                       households=rng.integers(0, 30, n_buildings))
    stations = points(s_xy, station_id=[f"S{i}" for i in range(n_stations)])
    result = coverage(buildings, stations, graph, metres=350)
    brute = np.array([[brute_distance(graph, s, b) for s in s_xy] for b in b_xy])
    np.testing.assert_allclose(result.buildings["nearest_m"], brute.min(axis=1), rtol=1e-9, atol=1e-6)
    chosen = result.buildings["nearest_station"].str[1:].astype(int).to_numpy()
    np.testing.assert_allclose(brute[np.arange(n_buildings), chosen], brute.min(axis=1), atol=1e-6)
    covered = brute.min(axis=1) <= 350
    assert (result.buildings["covered"].to_numpy() == covered).all()
    hh = buildings["households"].to_numpy()
    assert result.summary["households_covered_any"] == hh[covered].sum()
    assert result.summary["buildings_covered_any"] + len(result.uncovered) == n_buildings


def test_own_station_distance_equals_brute_force():
    graph = grid_graph(6, 6, seed=7)
    rng = np.random.default_rng(1)
    b_xy = rng.uniform([400000, 3380000], [400500, 3380500], size=(30, 2))
    s_xy = rng.uniform([400000, 3380000], [400500, 3380500], size=(4, 2))
    buildings = points(b_xy, building_id=[f"B{i}" for i in range(30)], households=np.full(30, 10))
    stations = points(s_xy, warden_id=["W0", "W1", "W2", "W3"])
    own = pd.DataFrame({"building_id": buildings["building_id"], "warden_id": [f"W{i % 4}" for i in range(30)]})
    own.loc[0, "warden_id"] = None  # a building whose grid has no warden
    result = coverage(buildings, stations, graph, metres=300, assignment=own)
    table = result.buildings
    expected = [brute_distance(graph, s_xy[i % 4], b_xy[i]) for i in range(30)]
    np.testing.assert_allclose(table["assigned_m"].to_numpy()[1:], expected[1:], atol=1e-6)
    assert np.isinf(table["assigned_m"].iloc[0])
    assert not table["covered"].iloc[0]
    assert (table["assigned_m"] >= table["nearest_m"] - 1e-9).all()
    assert result.summary["share_households"] == pytest.approx(
        (table["assigned_m"] <= 300).sum() / 30)


def test_unreachable_buildings_are_uncovered_and_counted():
    graph = nx.union(grid_graph(2, 2), nx.relabel_nodes(grid_graph(2, 2), lambda n: ("far", n)))
    for n in graph.nodes:
        if n[0] == "far":
            graph.nodes[n]["x"] += 5000
    buildings = points([(400010, 3380010), (405010, 3380010)], building_id=["near", "far"], households=[5, 7])
    stations = points([(400000, 3380000)], station_id=["S"])
    result = coverage(buildings, stations, graph, metres=10_000)
    assert result.buildings["covered"].tolist() == [True, False]
    assert np.isinf(result.buildings["nearest_m"].iloc[1])
    assert result.uncovered["building_id"].tolist() == ["far"]
    assert result.summary["share_households"] == pytest.approx(5 / 12)


def test_straight_line_coverage_without_graph():
    buildings = points([(400000, 3380000), (400300, 3380400)], building_id=["a", "b"], households=[1, 3])
    stations = points([(400000, 3380000)], station_id=["S"])
    result = coverage(buildings, stations, metres=499)
    np.testing.assert_allclose(result.buildings["nearest_m"], [0, 500])
    assert result.summary["share_households"] == pytest.approx(0.25)


def siting_case(seed: int):
    rng = np.random.default_rng(seed)
    graph = grid_graph(5, 5, seed=seed)
    b_xy = rng.uniform([400000, 3380000], [400400, 3380400], size=(25, 2))
    c_xy = rng.uniform([400000, 3380000], [400400, 3380400], size=(7, 2))
    buildings = points(b_xy, building_id=[f"B{i}" for i in range(25)], households=rng.integers(1, 50, 25))
    candidates = points(c_xy, candidate_id=[f"C{i}" for i in range(7)])
    return graph, buildings, candidates


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_max_cover_equals_enumeration(seed, p):
    graph, buildings, candidates = siting_case(seed)
    result = site_stations(buildings, candidates, graph, p=p, metres=200)
    net = street_matrix(graph)
    xy_b = shapely.get_coordinates(buildings.geometry.to_numpy())
    xy_c = shapely.get_coordinates(candidates.geometry.to_numpy())
    reach = distance_matrix(net, xy_c, xy_b) <= 200
    hh = buildings["households"].to_numpy()
    best = max(hh[reach[list(combo)].any(axis=0)].sum() for combo in itertools.combinations(range(7), p))
    assert result.optimal
    assert result.objective == best
    assert result.bound == pytest.approx(best)
    assert len(result.selected) == p
    assert result.summary["households_covered"] == best


def test_set_cover_is_minimal():
    graph, buildings, candidates = siting_case(4)
    result = site_stations(buildings, candidates, graph, full_cover=True, metres=600)
    assert result.optimal
    assert result.buildings["covered"].all()
    net = street_matrix(graph)
    reach = distance_matrix(net, shapely.get_coordinates(candidates.geometry.to_numpy()),
                            shapely.get_coordinates(buildings.geometry.to_numpy())) <= 600
    smallest = next(k for k in range(1, 8) if any(reach[list(c)].any(axis=0).all()
                                                  for c in itertools.combinations(range(7), k)))
    assert result.objective == smallest == len(result.selected)


def test_infeasible_full_cover_names_the_buildings():
    graph, buildings, candidates = siting_case(5)
    lonely = points([(410000, 3390000)], building_id=["LONELY"], households=[3])
    everything = pd.concat([buildings, lonely], ignore_index=True)
    with pytest.raises(InfeasibleCoverError, match="LONELY") as info:
        site_stations(everything, candidates, graph, full_cover=True, metres=5000)
    assert info.value.buildings == ["LONELY"]


def test_siting_options_are_checked():
    graph, buildings, candidates = siting_case(0)
    with pytest.raises(GridkitError, match="either p"):
        site_stations(buildings, candidates, graph, p=2, full_cover=True)
    with pytest.raises(GridkitError, match="between 1"):
        site_stations(buildings, candidates, graph, p=99)


@pytest.mark.slow
def test_coverage_on_real_osm_equals_brute_force():
    """Monaco's OSM walking network (gridkit.network.graph_from_osm): 300 buildings against networkx."""
    network = pytest.importorskip("gridkit.network")
    if not hasattr(network, "graph_from_osm"):
        pytest.skip("gridkit.network.graph_from_osm not available")
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm" / "monaco.osm.pbf"
    if not path.exists():
        pytest.skip(f"{path} absent")
    graph = network.graph_from_osm(path)
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)])
    rng = np.random.default_rng(0)
    b_xy = rng.uniform(xy.min(axis=0), xy.max(axis=0), size=(300, 2))
    s_xy = rng.uniform(xy.min(axis=0), xy.max(axis=0), size=(12, 2))
    crs = graph.graph["crs"]
    buildings = gpd.GeoDataFrame({"building_id": np.arange(300), "households": np.ones(300)},
                                 geometry=gpd.points_from_xy(b_xy[:, 0], b_xy[:, 1]), crs=crs)
    stations = gpd.GeoDataFrame({"station_id": np.arange(12)}, geometry=gpd.points_from_xy(s_xy[:, 0], s_xy[:, 1]),
                                crs=crs)
    result = coverage(buildings, stations, graph, minutes=10)
    net = street_matrix(graph)
    s_node, s_snap = net.snap(s_xy)
    b_node, b_snap = net.snap(b_xy)
    expected = np.full(300, np.inf)
    for i in range(12):
        lengths = nx.single_source_dijkstra_path_length(graph, net.node_ids[s_node[i]], weight="length")
        to_nodes = np.array([lengths.get(net.node_ids[n], np.inf) for n in b_node])
        expected = np.minimum(expected, s_snap[i] + to_nodes + b_snap)
    np.testing.assert_allclose(result.buildings["nearest_m"], expected, rtol=1e-9, atol=1e-6)
    assert 0 < result.summary["share_buildings"] <= 1


@given(seed=st.integers(0, 10_000), cell_m=st.sampled_from([1.0, 60.0, 200.0, 1e6]),
       limit=st.sampled_from([40.0, 120.0, 5000.0]))
def test_own_station_distance_in_chunks_equals_brute_force(seed, cell_m, limit):
    """Stations searched one, a few or all at a time on the nearby streets give the brute-force distances.

    Past 4 × limit the distance is inf, as the walk is cut there.
    """
    graph = grid_graph(6, 6, seed=seed)
    net = street_matrix(graph)
    rng = np.random.default_rng(seed)
    b_xy = rng.uniform([400000, 3380000], [400500, 3380500], size=(25, 2))
    s_xy = rng.uniform([400000, 3380000], [400500, 3380500], size=(9, 2))
    s_ids = np.array([f"W{i}" for i in range(9)], dtype=object)
    own = rng.choice(np.append(s_ids[: rng.integers(1, 10)], None), size=25)  # some stations unused, some none
    got = _own_distances(net, s_ids, s_xy, b_xy, own, limit, cell_m=cell_m)
    for k in range(25):
        if own[k] is None:
            assert np.isinf(got[k])
            continue
        expected = brute_distance(graph, s_xy[int(own[k][1:])], b_xy[k])
        if expected > 4 * limit + 1e-6:
            assert np.isinf(got[k])
        elif expected < 4 * limit - 1e-6:
            assert got[k] == pytest.approx(expected, abs=1e-6)
