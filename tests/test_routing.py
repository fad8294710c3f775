"""gridkit.routing against independent exact answers: T-joins (networkx matching), postman tours on
random planar street graphs (networkx matching on shortest paths), and bad input named, never a hang."""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay

from gridkit.errors import GridkitWarning, InputDataError
from gridkit.network import StreetNetwork, street_graph
from gridkit.routing import (
    min_tjoin,
    odd_nodes,
    patrol_routes,
    postman_tour,
    tjoin_bound,
)

UTM = "EPSG:32650"


def planar_network(seed: int, n_edges: int, *, keep: float = 1.0) -> StreetNetwork:
    """A random planar street network: a Delaunay triangulation of random points, thinned to about
    ``n_edges`` edges, lengths the straight distance times a detour factor (ties when rounded)."""
    rng = np.random.default_rng(seed)
    n = max(8, int(n_edges / 2.2))
    pts = rng.uniform(0, 2000, size=(n, 2))
    tri = Delaunay(pts)
    sides = ((0, 1), (1, 2), (0, 2))
    pairs = {tuple(sorted((int(s[a]), int(s[b])))) for s in tri.simplices for a, b in sides}
    pairs = sorted(pairs)
    order = rng.permutation(len(pairs))[: min(len(pairs), int(n_edges / keep))]
    eu = np.array([pairs[i][0] for i in order])
    ev = np.array([pairs[i][1] for i in order])
    length = np.hypot(*(pts[eu] - pts[ev]).T) * rng.uniform(1.0, 1.4, len(eu))
    if seed % 3 == 0:
        length = np.round(length, -1) + 1.0  # many equal lengths
    geoms = shapely.linestrings(np.stack([pts[eu], pts[ev]], axis=1))
    return StreetNetwork(UTM, np.arange(n), pts, eu, ev, length, geoms, np.full(len(eu), None, dtype=object))


def exact_tjoin_length(net: StreetNetwork, terminals: np.ndarray) -> float:
    """Independent: networkx's exact min_weight_matching on the shortest-path metric of the terminals."""
    if len(terminals) == 0:
        return 0.0
    dist = dijkstra(net.matrix, directed=False, indices=terminals)[:, terminals]
    k = nx.Graph()
    for a in range(len(terminals)):
        for b in range(a + 1, len(terminals)):
            if np.isfinite(dist[a, b]):
                k.add_edge(a, b, weight=float(dist[a, b]))
    return float(sum(dist[a, b] for a, b in nx.min_weight_matching(k)))


@pytest.mark.parametrize("seed", range(40))
def test_tjoin_equals_networkx_exact_matching(seed):
    net = planar_network(seed, 40 + 4 * seed)
    rng = np.random.default_rng(seed)
    required = np.flatnonzero(rng.random(len(net.eu)) < 0.6)
    terminals = odd_nodes(net, required)
    join = min_tjoin(net, terminals)
    assert set(odd_nodes(net, join).tolist()) == set(terminals.tolist())  # a T-join
    assert len(np.unique(join)) == len(join)
    assert net.length[join].sum() == pytest.approx(exact_tjoin_length(net, terminals), rel=1e-9, abs=1e-6)


def test_tjoin_refuses_an_odd_count_in_a_component():
    net = planar_network(1, 30)
    with pytest.raises(InputDataError, match="odd number"):
        min_tjoin(net, np.array([0]))


def assert_closed_cover(net: StreetNetwork, walk, depot: int, required) -> None:
    nodes = net.walk_nodes(walk, depot)
    for (e, fwd), a, b in zip(walk, nodes[:-1], nodes[1:], strict=True):
        assert int(net.eu[e] if fwd else net.ev[e]) == a  # continuous
        assert int(net.ev[e] if fwd else net.eu[e]) == b
    assert nodes[-1] == depot  # closed
    assert set(map(int, required)) <= {e for e, _ in walk}  # covers every required edge


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(50, 300), st.floats(0.3, 1.0))
def test_postman_on_random_planar_graphs(seed, n_edges, share):
    net = planar_network(seed, n_edges)
    rng = np.random.default_rng(seed)
    comp = np.bincount(net.component).argmax()
    edges = np.flatnonzero(net.component[net.eu] == comp)
    required = edges[rng.random(len(edges)) < share] if share < 1 else edges
    if len(required) == 0:
        return
    depot = int(net.eu[required[0]])
    tour = postman_tour(net, required, depot)
    assert_closed_cover(net, tour.walk, depot, required)
    length = tour.length(net)
    exact_cpp = float(net.length[required].sum()) + exact_tjoin_length(net, odd_nodes(net, required))
    assert length >= exact_cpp - 1e-6  # nothing beats the T-join bound
    assert tour.lower_bound_m <= length + 1e-6
    pieces = nx.number_connected_components(nx.Graph([(int(net.eu[e]), int(net.ev[e])) for e in required]))
    if pieces == 1:  # connected: the exact Chinese Postman optimum
        assert tour.exact
        assert length == pytest.approx(exact_cpp, rel=1e-9)
    assert tjoin_bound(net, required) == pytest.approx(exact_cpp, rel=1e-9)


# --------------------------------------------------------------------------------------------------
# bad input: a named error or a route with its problem stated, never a hang


def square_streets(offset: float = 0.0) -> gpd.GeoDataFrame:
    lines = [shapely.LineString([(offset + x, 0), (offset + x, 300)]) for x in (0, 100, 200, 300)]
    lines += [shapely.LineString([(offset, y), (offset + 300, y)]) for y in (0, 100, 200, 300)]
    return gpd.GeoDataFrame(geometry=lines, crs=UTM)


def test_graph_in_a_geographic_crs_is_refused():
    g = street_graph(square_streets())
    g.graph["crs"] = "EPSG:4326"
    grids = gpd.GeoDataFrame({"grid_id": ["A"]}, geometry=[shapely.box(0, 0, 300, 300)], crs=UTM)
    with pytest.raises(InputDataError, match="not metric"):
        patrol_routes(grids, g)


def test_far_station_names_the_warden_and_distance():
    g = street_graph(square_streets())
    grids = gpd.GeoDataFrame({"grid_id": ["A"]}, geometry=[shapely.box(-10, -10, 310, 310)], crs=UTM)
    stations = gpd.GeoDataFrame({"warden_id": ["W7"], "grid_id": ["A"]}, geometry=[shapely.Point(2300, 100)],
                                crs=UTM)
    routes = patrol_routes(grids, g, stations=stations)
    row = routes.iloc[0]
    assert "W7" in row["note"]
    assert "2,000 m" in row["note"]
    assert row["geometry"].is_closed


def test_disconnected_network_routes_the_main_part_and_says_what_is_left():
    streets = pd.concat([square_streets(), square_streets(offset=5000)], ignore_index=True)
    g = street_graph(gpd.GeoDataFrame(streets, crs=UTM))
    grids = gpd.GeoDataFrame({"grid_id": ["A"]}, geometry=[shapely.box(-10, -10, 5310, 310)], crs=UTM)
    routes = patrol_routes(grids, g)
    assert routes["geometry"].iloc[0].is_closed
    assert routes["unreachable_m"].iloc[0] == pytest.approx(2400.0)
    assert "not connected" in routes["note"].iloc[0]


def test_grid_with_no_streets_is_stated():
    g = street_graph(square_streets())
    grids = gpd.GeoDataFrame({"grid_id": ["A", "EMPTY"]}, geometry=[shapely.box(-10, -10, 310, 310),
                                                                     shapely.box(9000, 9000, 9100, 9100)], crs=UTM)
    with pytest.warns(GridkitWarning, match="no street"):
        routes = patrol_routes(grids, g)
    assert routes.set_index("grid_id").loc["EMPTY", "length_m"] == 0
    assert "no street" in routes.set_index("grid_id").loc["EMPTY", "note"]
    assert routes.set_index("grid_id").loc["A", "geometry"].is_closed


def test_a_grid_over_its_time_budget_still_gets_its_route_and_says_so():
    g = street_graph(square_streets())
    grids = gpd.GeoDataFrame({"grid_id": ["A"]}, geometry=[shapely.box(-10, -10, 310, 310)], crs=UTM)
    stations = gpd.GeoDataFrame({"warden_id": ["W1", "W2"], "grid_id": ["A", "A"]},
                                geometry=[shapely.Point(0, 0), shapely.Point(300, 300)], crs=UTM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)
        routes = patrol_routes(grids, g, stations=stations, time_budget_s=0.0)
    assert len(routes) == 2
    assert routes.geometry.map(lambda line: line.is_closed).all()
    assert routes["note"].str.contains("time budget").all()


def test_building_on_a_shared_grid_edge_is_visited_once():
    g = street_graph(square_streets())
    grids = gpd.GeoDataFrame({"grid_id": ["L", "R"]}, geometry=[shapely.box(-10, -10, 150, 310),
                                                                 shapely.box(150, -10, 310, 310)], crs=UTM)
    buildings = gpd.GeoDataFrame(geometry=[shapely.Point(150, 50), shapely.Point(40, 250)], crs=UTM)
    routes = patrol_routes(grids, g, mode="buildings", buildings=buildings)
    stops = routes.set_index("grid_id")["n_stops"]
    assert stops.sum() == 2  # the point on the shared edge is not dropped (nor counted twice)
    assert stops["L"] == 2  # the lowest grid position holds it


# --------------------------------------------------------------------------------------------------
# published instances: rural postman against an exact integer program, k routes covering everything


def test_rural_postman_within_one_percent_of_the_exact_milp_on_gdb_graphs():
    from carp import DATA, exact_rpp, read_carp  # noqa: PLC0415 - scripts/ is on the test path

    rng = np.random.default_rng(7)
    gaps = []
    for number in range(13, 24):
        net, depot = read_carp(DATA / "carp" / f"gdb{number}.dat")
        required = np.flatnonzero(rng.random(len(net.eu)) < 0.3)
        best = exact_rpp(net, required, depot, time_limit=10.0)
        tour = postman_tour(net, required, depot, exact_up_to=0)  # the heuristic, not the small exact DP
        assert_closed_cover(net, tour.walk, depot, required)
        assert tour.lower_bound_m <= best + 1e-6
        gaps.append(tour.length(net) / best - 1)
    assert min(gaps) >= -1e-9
    assert np.mean(gaps) <= 0.01


def test_k_routes_on_a_gdb_graph_cover_every_edge_and_beat_the_plain_cut():
    from carp import DATA, read_carp  # noqa: PLC0415

    from gridkit.routing import Deadline, improve_routes, serving_steps, split_tour_depots, tour_length  # noqa: PLC0415

    net, depot = read_carp(DATA / "carp" / "gdb1.dat")
    required = np.arange(len(net.eu))
    tour = postman_tour(net, required, depot)
    for k in (2, 3, 5):
        depots = np.full(k, depot)
        walks = split_tour_depots(net, tour, depots, serving_steps(tour.walk, set(required.tolist())))
        better = improve_routes(net, walks, depots, required, deadline=Deadline(0.5))
        for walk in better:
            assert_closed_cover(net, walk, depot, [])
        assert set(required.tolist()) <= {e for w in better for e, _ in w}
        assert max(map(lambda w: tour_length(net, w), better)) <= max(map(lambda w: tour_length(net, w), walks))
