"""Patrol routes (gridkit.routing): exact Chinese Postman, rural postman, k wardens, door-to-door tours."""

from __future__ import annotations

import heapq
import itertools
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import assume, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from gridkit.cli import app
from gridkit.errors import GridkitWarning, InputDataError
from gridkit.network import read_osm, street_graph
from gridkit.routing import (
    Network,
    access_points,
    building_tour,
    held_karp_bound,
    patrol_routes,
    postman_tour,
    required_edges,
    round_trip_bound,
    routes_for_export,
    rpp_lp_bound,
    split_tour,
    split_tour_depots,
    subtour_bound,
    tjoin_bound,
    tsp_tour,
)
from gridkit.routing import exact_tsp as _tsp_exact

UTM = "EPSG:32650"


def lattice(nx_: int, ny: int, step: float = 100.0, *, jitter: int = 0) -> nx.MultiGraph:
    """A street lattice of nx_ × ny nodes; with ``jitter`` the streets get uneven lengths (bent lines)."""
    rng = np.random.default_rng(jitter)
    segs = []
    for i in range(nx_):
        for j in range(ny):
            if i + 1 < nx_:
                mid = (i * step + step / 2, j * step + rng.uniform(0, 30) * bool(jitter))
                segs.append(shapely.LineString([(i * step, j * step), mid, ((i + 1) * step, j * step)]))
            if j + 1 < ny:
                mid = (i * step + rng.uniform(0, 30) * bool(jitter), j * step + step / 2)
                segs.append(shapely.LineString([(i * step, j * step), mid, (i * step, (j + 1) * step)]))
    return street_graph(gpd.GeoDataFrame(geometry=segs, crs=UTM))


def brute_force(net: Network, required, depot: int) -> float:
    """Shortest closed walk from ``depot`` covering ``required``: Dijkstra over (node, covered set) states."""
    req = {int(e): i for i, e in enumerate(required)}
    full = (1 << len(req)) - 1
    adj = [[] for _ in range(len(net.nodes))]
    for e in range(len(net.eu)):
        adj[int(net.eu[e])].append((int(net.ev[e]), e))
        adj[int(net.ev[e])].append((int(net.eu[e]), e))
    best = {(depot, 0): 0.0}
    heap = [(0.0, depot, 0)]
    while heap:
        d, n, m = heapq.heappop(heap)
        if n == depot and m == full:
            return d
        if d > best[(n, m)]:
            continue
        for nb, e in adj[n]:
            m2 = m | (1 << req[e]) if e in req else m
            if d + net.length[e] < best.get((nb, m2), np.inf):
                best[(nb, m2)] = d + net.length[e]
                heapq.heappush(heap, (d + net.length[e], nb, m2))
    return np.inf


def assert_closed_walk(net: Network, walk, depot: int, required) -> None:
    nodes = net.walk_nodes(walk, depot)
    for (e, fwd), a, b in zip(walk, nodes[:-1], nodes[1:], strict=True):
        assert {int(net.eu[e]), int(net.ev[e])} == {int(a), int(b)}
        assert int(net.eu[e] if fwd else net.ev[e]) == a
    assert nodes[-1] == depot
    assert set(map(int, required)) <= {e for e, _ in walk}
    line = net.walk_line(walk)
    assert line.is_closed
    assert line.length == pytest.approx(sum(net.length[e] for e, _ in walk))


def pieces_count(net: Network, required) -> int:
    h = nx.MultiGraph()
    h.add_edges_from((int(net.eu[e]), int(net.ev[e])) for e in required)
    return nx.number_connected_components(h)


@pytest.fixture(scope="module")
def small_net():
    return Network.from_graph(lattice(4, 3, jitter=7))


@given(st.sets(st.integers(0, 16), min_size=1, max_size=8), st.integers(0, 11))
def test_postman_equals_brute_force(small_net, chosen, depot):
    net = small_net
    required = np.array(sorted(chosen))
    tour = postman_tour(net, required, depot)
    assert_closed_walk(net, tour.walk, depot, required)
    best = brute_force(net, required, depot)
    length = tour.length(net)
    assert length >= best - 1e-6
    assert tour.lower_bound_m <= best + 1e-6
    # connected: Chinese Postman; disconnected and few edges: the exact rural postman recursion
    assert tour.exact
    assert length == pytest.approx(best, rel=1e-9)
    assert tour.method == ("cpp" if pieces_count(net, required) == 1 else "rpp")
    heuristic = postman_tour(net, required, depot, exact_up_to=0)
    assert_closed_walk(net, heuristic.walk, depot, required)
    assert heuristic.length(net) >= best - 1e-6
    assert heuristic.lower_bound_m <= best + 1e-6


def test_classic_cpp_on_a_square_with_diagonal():
    # square 100 m with one diagonal: two odd corners joined by the diagonal, so the optimum adds it
    segs = [[(0, 0), (100, 0)], [(100, 0), (100, 100)], [(100, 100), (0, 100)], [(0, 100), (0, 0)],
            [(0, 0), (100, 100)]]
    g = street_graph(gpd.GeoDataFrame(geometry=[shapely.LineString(s) for s in segs], crs=UTM))
    net = Network.from_graph(g)
    tour = postman_tour(net, np.arange(len(net.eu)), 0)
    diag = 100 * np.sqrt(2)
    assert tour.length(net) == pytest.approx(400 + 2 * diag)
    assert tour.exact


def test_networkx_eulerize_is_not_length_optimal():
    # the only odd nodes a=(0,0) and b=(100,0) are joined by one long street (1 hop, 400 m), two
    # middling ones (2 hops, 189 m) and a chain of short ones (3 hops, 100 m)
    segs = [[(0, 0), (0, 150), (100, 150), (100, 0)],
            [(0, 0), (50, -80)], [(50, -80), (100, 0)],
            [(0, 0), (33, 0)], [(33, 0), (66, 0)], [(66, 0), (100, 0)]]
    g = street_graph(gpd.GeoDataFrame(geometry=[shapely.LineString(s) for s in segs], crs=UTM))
    net = Network.from_graph(g)
    everything = np.arange(len(net.eu))
    ours = postman_tour(net, everything, 0).length(net)
    simple = nx.Graph((u, v, {"length": d["length"]}) for u, v, d in g.edges(data=True))
    euler = nx.eulerize(simple)
    theirs = sum(simple[u][v]["length"] for u, v in euler.edges())
    assert ours == pytest.approx(sum(net.length) + 100.0)
    assert ours == pytest.approx(brute_force(net, everything, 0))
    assert theirs > ours + 100


def test_disconnected_required_streets_are_joined(small_net):
    net = small_net
    far = [0, 16]
    tour = postman_tour(net, np.array(far), 5, exact_up_to=0)
    assert_closed_walk(net, tour.walk, 5, far)
    assert not tour.exact
    assert tour.lower_bound_m <= tour.length(net) + 1e-9
    assert tour.lower_bound_m <= brute_force(net, far, 5) + 1e-9


def _first_passes(tour, chosen) -> np.ndarray:
    """True at the first pass of the walk over each chosen edge (the pass that serves it)."""
    serving = np.zeros(len(tour.walk), dtype=bool)
    seen = set()
    for i, (e, _) in enumerate(tour.walk):
        if e in chosen and e not in seen:
            seen.add(e)
            serving[i] = True
    return serving


@given(st.sets(st.integers(0, 16), min_size=2, max_size=10), st.integers(2, 4), st.integers(0, 11))
def test_k_routes_cover_and_respect_the_bound(small_net, chosen, k, depot):
    net = small_net
    required = np.array(sorted(chosen))
    tour = postman_tour(net, required, depot)
    serving = _first_passes(tour, chosen)
    walks = split_tour(net, tour, k, serving)
    assert 1 <= len(walks) <= k
    covered = set()
    for walk in walks:
        nodes = net.walk_nodes(walk, depot)
        assert nodes[-1] == depot
        covered |= {e for e, _ in walk}
    assert set(chosen) <= covered
    longest = max(sum(net.length[e] for e, _ in w) for w in walks)
    assert longest <= tour.length(net) + 1e-6 + 2 * net.shortest([depot])[0].max()


def test_tsp_and_held_karp_against_brute_force():
    rng = np.random.default_rng(4)
    for n in range(3, 8):
        pts = rng.uniform(0, 1000, size=(n, 2))
        dist = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
        best = min(sum(dist[a, b] for a, b in zip((0, *p), (*p, 0), strict=True))
                   for p in itertools.permutations(range(1, n)))
        order = tsp_tour(dist)
        assert sorted(order) == list(range(n))
        length = sum(dist[a, b] for a, b in zip(order, [*order[1:], order[0]], strict=True))
        assert length >= best - 1e-9
        assert length <= 1.3 * best
        assert held_karp_bound(dist) <= best + 1e-6
        assert held_karp_bound(dist) >= 0.7 * best
        lp = subtour_bound(dist)  # the Held–Karp LP itself: at least any 1-tree iterate, at most the optimum
        assert held_karp_bound(dist, upper=length) - 1e-6 <= lp <= best + 1e-6


# --------------------------------------------------------------------------------------------------
# patrol_routes on the sample district


@pytest.fixture(scope="module")
def sample_graph(sample):
    return street_graph(sample.streets)


@pytest.fixture(scope="module")
def sample_routes(sample_result, sample_graph):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return patrol_routes(sample_result.grids, sample_graph)


def test_every_grid_gets_a_closed_route_covering_its_streets(sample_result, sample_graph, sample_routes):
    routes = sample_routes
    assert list(routes["grid_id"]) == list(sample_result.grids["grid_id"].astype(str))
    net = Network.from_graph(sample_graph)
    grids_m = sample_result.grids.to_crs(net.crs)
    required, _ = required_edges(net, grids_m.geometry)
    metric = routes.to_crs(net.crs)
    for line, req, row in zip(metric.geometry, required, routes.itertuples(), strict=True):
        if len(req) == 0:
            assert line is None or line.is_empty
            assert row.note
            continue
        assert line.geom_type == "LineString"
        assert line.is_closed
        assert line.length == pytest.approx(row.length_m, rel=1e-6)
        assert row.length_m >= row.street_length_m - 1e-6
        assert row.length_m >= row.lower_bound_m - 1e-6
        cover = line.buffer(0.05)
        assert shapely.covered_by(net.geoms[req], cover).all()
    walked = routes[routes.length_m > 0]
    assert (walked["deadhead_ratio"] >= 1.0 - 1e-9).all()
    assert walked["minutes"].to_numpy() == pytest.approx(walked["length_m"].to_numpy() / 75.0)
    assert (walked["method"].isin(["cpp", "rpp"])).all()
    assert walked.loc[walked.method == "cpp", "gap"].max() == pytest.approx(0.0)


def test_boundary_option_changes_the_streets(sample_result, sample_graph, sample_routes):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        inner = patrol_routes(sample_result.grids, sample_graph, include_boundary=False)
    assert inner["street_length_m"].sum() < sample_routes["street_length_m"].sum()


def test_grid_without_streets_gets_a_message_not_a_crash(sample_graph):
    far = shapely.box(104.20, 30.80, 104.201, 30.801)  # a field far from every street
    grids = gpd.GeoDataFrame({"grid_id": ["G1"]}, geometry=[far], crs="EPSG:4326")
    with pytest.warns(GridkitWarning, match="no street"):
        routes = patrol_routes(grids, sample_graph)
    assert len(routes) == 1
    assert routes.geometry.iloc[0] is None
    assert routes["length_m"].iloc[0] == 0
    assert "no street" in routes["note"].iloc[0]


def test_far_station_is_snapped_and_reported(sample_result, sample_graph, sample_routes):
    grid = sample_result.grids.iloc[[0]]
    centre = grid.to_crs(sample_graph.graph["crs"]).geometry.iloc[0].centroid
    station = gpd.GeoDataFrame({"warden_id": ["W9"], "grid_id": [str(grid["grid_id"].iloc[0])]},
                               geometry=[shapely.Point(centre.x + 3000, centre.y)], crs=sample_graph.graph["crs"])
    routes = patrol_routes(grid, sample_graph, stations=station)
    row = routes.iloc[0]
    assert row["warden_id"] == "W9"
    assert row["station_snap_m"] > 500
    assert row["length_m"] > sample_routes["length_m"].iloc[0]
    assert row["geometry"].is_closed


def test_several_wardens_share_the_grid(sample_result, sample_graph):
    grid = sample_result.grids.iloc[[0]]
    one = patrol_routes(grid, sample_graph)
    three = patrol_routes(grid, sample_graph, wardens_per_grid=3)
    assert list(three["route_no"]) == [1, 2, 3]
    assert (three["lower_bound_m"] >= one["length_m"].iloc[0] / 3 - 1e-6).all()
    assert three["length_m"].max() >= three["lower_bound_m"].iloc[0] - 1e-6
    assert three["length_m"].max() < one["length_m"].iloc[0]
    assert three.geometry.apply(lambda g: g.is_closed).all()
    assert three["street_length_m"].sum() == pytest.approx(one["street_length_m"].iloc[0])


def test_stations_from_the_roster(sample, sample_result, sample_graph):
    full_time = sample.wardens[sample.wardens["role"] == "full_time"]
    routes = patrol_routes(sample_result.grids, sample_graph, stations=full_time)
    assert set(routes["warden_id"].dropna()) <= set(full_time["warden_id"])
    assert routes["station_snap_m"].notna().any()


def test_door_to_door_tours(sample, sample_result, sample_graph):
    grids = sample_result.grids.iloc[:6]
    routes = patrol_routes(grids, sample_graph, mode="buildings", buildings=sample.buildings)
    walked = routes[routes.length_m > 0]
    assert len(walked) > 0
    assert (walked["method"] == "tsp").all()
    assert (walked["n_stops"] > 0).all()
    assert (walked["length_m"] >= walked["lower_bound_m"] - 1e-6).all()
    assert walked.geometry.apply(lambda g: g.is_closed).all()


def test_export_and_cli(tmp_path, sample, sample_result, sample_routes):
    out = routes_for_export(sample_routes)
    assert out["street_names"].map(type).eq(str).all()
    grids_path = tmp_path / "grids.geojson"
    sample_result.grids.to_file(grids_path)
    stations = tmp_path / "wardens.csv"
    sample.wardens.to_csv(stations, index=False)
    target = tmp_path / "routes.gpkg"
    result = CliRunner().invoke(app, ["routes", "--grids", str(grids_path), "--streets",
                                      str(sample.folder / "streets.geojson"), "--stations", str(stations),
                                      "--role", "full_time", "--out", str(target), "--lang", "en"],
                                env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    written = gpd.read_file(target, layer="routes")
    assert len(written) >= len(sample_result.grids) - 2
    assert written["street_names"].str.len().max() > 0
    usage = CliRunner().invoke(app, ["routes", "--grids", str(grids_path), "--out", str(target)])
    assert usage.exit_code == 2
    bad = CliRunner().invoke(app, ["routes", "--grids", str(tmp_path / "none.geojson"), "--streets",
                                   str(sample.folder / "streets.geojson"), "--out", str(target)])
    assert bad.exit_code == 3
    table = pd.DataFrame(written.drop(columns="geometry"))
    assert {"grid_id", "warden_id", "length_m", "minutes", "deadhead_ratio", "street_names"} <= set(table.columns)
    # without --role the grid wardens walk the routes; police and volunteers do not
    default = tmp_path / "routes_default.geojson"
    result = CliRunner().invoke(app, ["routes", "--grids", str(grids_path), "--streets",
                                      str(sample.folder / "streets.geojson"), "--stations", str(stations),
                                      "--out", str(default), "--lang", "en"], env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    walkers = set(gpd.read_file(default)["warden_id"].dropna())
    roles = sample.wardens.set_index("warden_id")["role"]
    assert walkers
    assert set(roles[list(walkers)]) <= {"full_time", "part_time"}


def test_station_without_grid_id_joins_its_grid_and_unknown_grid_warns(sample_result, sample_graph):
    grids = sample_result.grids.iloc[:3]
    inside = grids.geometry.iloc[1].representative_point()
    stations = gpd.GeoDataFrame({"warden_id": ["A", "B"], "grid_id": [None, "999999999999999"]},
                                geometry=[inside, inside], crs=grids.crs)
    with pytest.warns(GridkitWarning, match="not among the grids"):
        routes = patrol_routes(grids, sample_graph, stations=stations)
    assert routes.loc[routes.grid_id == str(grids.grid_id.iloc[1]), "warden_id"].tolist() == ["A"]
    assert routes["warden_id"].isna().sum() == 2


def test_directed_osmnx_style_graph_walks_each_street_once():
    g = lattice(3, 2)
    directed = nx.MultiDiGraph(**g.graph)
    directed.add_nodes_from(g.nodes(data=True))
    for u, v, d in g.edges(data=True):
        forward = d["from_node"] == u
        a, b = (u, v) if forward else (v, u)
        directed.add_edge(a, b, **{k: x for k, x in d.items() if k != "from_node"})
        directed.add_edge(b, a, **{**{k: x for k, x in d.items() if k != "from_node"},
                                   "geometry": d["geometry"].reverse()})
    box = shapely.box(-10, -10, 210, 110)
    grids = gpd.GeoDataFrame({"grid_id": ["G"]}, geometry=[box], crs=UTM)
    a = patrol_routes(grids, g)
    b = patrol_routes(grids, directed)
    assert b["length_m"].iloc[0] == pytest.approx(a["length_m"].iloc[0])
    assert b["street_length_m"].iloc[0] == pytest.approx(700.0)


@pytest.mark.slow
def test_monaco_wards_routes():
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "osm" / "monaco.osm.pbf"
    if not path.exists():
        pytest.skip("Monaco PBF absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp = pyogrio.read_dataframe(path, layer="multipolygons")
    wards = mp[mp["admin_level"] == "10"][["name", "geometry"]].reset_index(drop=True)
    wards["grid_id"] = [f"W{i}" for i in range(len(wards))]
    graph = street_graph(read_osm(path))
    routes = patrol_routes(wards, graph)
    assert len(routes) == 9
    net = Network.from_graph(graph)
    required, _ = required_edges(net, wards.to_crs(net.crs).geometry)
    for line, req, lost in zip(routes.to_crs(net.crs).geometry, required, routes["unreachable_m"], strict=True):
        assert line.is_closed
        reached = shapely.covered_by(net.geoms[req], line.buffer(0.05))
        assert net.length[req][~reached].sum() == pytest.approx(lost, abs=1e-6)
    assert (routes["length_m"] >= routes["lower_bound_m"] - 1e-6).all()


def test_block_without_inner_street_walks_its_boundary():
    g = lattice(3, 3)
    block = gpd.GeoDataFrame({"grid_id": ["B"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=UTM)
    routes = patrol_routes(block, g, include_boundary=False)
    row = routes.iloc[0]
    assert "boundary streets" in row["note"]
    assert row["street_length_m"] == pytest.approx(400.0)
    assert row["length_m"] == pytest.approx(400.0)
    assert row["exact"]
    assert list(routes.columns) == [
        "grid_id", "warden_id", "route_no", "mode", "method", "exact", "length_m", "minutes", "street_length_m",
        "deadhead_ratio", "lower_bound_m", "bound", "gap", "n_required", "n_stops", "station_snap_m",
        "unreachable_m", "seconds", "street_names", "note", "geometry"]


def test_bad_inputs_are_named():
    g = lattice(2, 2)
    grids = gpd.GeoDataFrame({"grid_id": ["A", "B"]}, geometry=[shapely.box(0, 0, 100, 100), None], crs=UTM)
    with pytest.raises(InputDataError, match="row 1"):
        patrol_routes(grids, g)
    with pytest.raises(InputDataError, match="grid_id"):
        patrol_routes(grids.rename(columns={"grid_id": "gid"}), g)
    with pytest.raises(InputDataError, match="mode"):
        patrol_routes(grids.iloc[:1], g, mode="bicycle")
    stations = pd.DataFrame({"warden_id": ["W1"], "lon": ["x"], "lat": [30.0]})
    with pytest.raises(InputDataError, match="lon/lat"):
        patrol_routes(grids.iloc[:1], g, stations=stations)


def test_cli_reads_osm_xml(tmp_path):
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "osmnx" / "West-Oakland.osm.bz2"
    if not path.exists():
        pytest.skip("osmnx test files absent")
    minx, miny, maxx, maxy = read_osm(path).total_bounds
    grids = gpd.GeoDataFrame({"grid_id": ["G1"]}, geometry=[shapely.box(minx, miny, maxx, maxy)], crs="EPSG:4326")
    grids.to_file(tmp_path / "grids.geojson")
    target = tmp_path / "routes.geojson"
    result = CliRunner().invoke(app, ["routes", "--grids", str(tmp_path / "grids.geojson"), "--osm", str(path),
                                      "--out", str(target), "--lang", "en"], env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    written = gpd.read_file(target)
    assert len(written) == 1
    assert written.geometry.iloc[0].is_closed
    assert written["length_m"].iloc[0] >= written["street_length_m"].iloc[0] > 0


# --------------------------------------------------------------------------------------------------
# door-to-door: access points on the street edges


def _lattice_truth(points: np.ndarray, size: int = 3, step: float = 100.0):
    """Independent access points and distances on a straight lattice: projections computed by hand."""
    segs = []
    for i in range(size):
        for j in range(size):
            if i + 1 < size:
                segs.append(((i * step, j * step), ((i + 1) * step, j * step)))
            if j + 1 < size:
                segs.append(((i * step, j * step), (i * step, (j + 1) * step)))
    access, gaps = [], []
    for x, y in points:
        best = []
        for (ax, ay), (bx, by) in segs:
            t = np.clip(((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / step ** 2, 0, 1)
            px, py = ax + t * (bx - ax), ay + t * (by - ay)
            best.append((np.hypot(x - px, y - py), (round(px, 6), round(py, 6))))
        best.sort()
        gaps.append(best[1][0] - best[0][0] if best[1][1] != best[0][1] else np.inf)
        access.append(best[0][1])
    g = nx.Graph()
    for a, b in segs:  # every segment cut at the access points lying on it
        on = sorted({p for p in access if min(a[0], b[0]) <= p[0] <= max(a[0], b[0])
                     and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])} | {a, b})
        for p, q in itertools.pairwise(on):
            g.add_edge(p, q, length=float(np.hypot(p[0] - q[0], p[1] - q[1])))
    return g, access, min(gaps)


@given(st.lists(st.tuples(st.integers(0, 39), st.integers(-9, 9)), min_size=1, max_size=6))
def test_door_to_door_tour_equals_brute_force_on_split_edges(spots):
    # buildings beside the streets of a 3 × 3 lattice; their projections lie on a 5 m raster, so no
    # two access points are merged (none lies within 1 m of another or of a node) and the
    # hand-made split graph is the truth
    pts = np.array([(5.0 * (a % 40) + (3.0 if b == 0 else 0.0), 50.0 * (a // 8 % 5) + 4.0 * b + 2.0)
                    for a, b in spots])
    truth, access, margin = _lattice_truth(pts)
    assume(margin > 1e-3)
    net = Network.from_graph(lattice(3, 3))
    split, node, dist = access_points(net, pts)
    assert np.allclose(split.xy[node], np.array(access), atol=1e-6)
    assert dist == pytest.approx(np.hypot(*(pts - np.array(access)).T), abs=1e-6)
    depot = 4  # the centre node (100, 100)
    assert tuple(net.xy[depot]) == (100.0, 100.0)
    tour = building_tour(split, node, depot)
    stops = list(dict.fromkeys(access))
    lengths = dict(nx.all_pairs_dijkstra_path_length(truth, weight="length"))
    others = [p for p in stops if p != (100.0, 100.0)]
    best = min((sum(lengths[a][b] for a, b in itertools.pairwise([(100.0, 100.0), *perm, (100.0, 100.0)]))
                for perm in itertools.permutations(others)), default=0.0)
    assert tour.length(split) == pytest.approx(best, abs=1e-6)
    assert tour.exact
    if tour.walk:
        line = split.walk_line(tour.walk)
        assert line.is_closed
        assert line.length == pytest.approx(best, abs=1e-6)
        assert shapely.dwithin(line, shapely.points(np.array(access)), 1e-6).all()


def test_buildings_on_one_street_get_a_tour_to_their_doors():
    # every building is nearest to the start node (old access-node rule: empty tour); on the edges
    # they lie 30-70 m along, so the tour walks there and back
    g = lattice(3, 3)
    grids = gpd.GeoDataFrame({"grid_id": ["G"]}, geometry=[shapely.box(-10, -10, 210, 210)], crs=UTM)
    houses = gpd.GeoDataFrame(geometry=[shapely.Point(100, 130).buffer(3), shapely.Point(108, 70).buffer(3),
                                        shapely.Point(130, 95).buffer(3)], crs=UTM)
    routes = patrol_routes(grids, g, mode="buildings", buildings=houses)
    row = routes.iloc[0]
    assert row["n_stops"] == 3
    assert row["length_m"] == pytest.approx(2 * (30 + 30 + 30))  # depot (100, 100) is the node nearest the centre
    assert row["exact"]
    assert row["geometry"].is_closed
    assert "3 access points" in row["note"]


def test_exact_tsp_recursion_against_permutations():
    rng = np.random.default_rng(11)
    for n in range(2, 9):
        pts = rng.uniform(0, 1000, size=(n, 2))
        dist = np.abs(pts[:, None, :] - pts[None, :, :]).sum(axis=2)
        best = min(sum(dist[a, b] for a, b in zip((0, *p), (*p, 0), strict=True))
                   for p in itertools.permutations(range(1, n)))
        order, length = _tsp_exact(dist)
        assert sorted(order) == list(range(n))
        assert order[0] == 0
        assert length == pytest.approx(best)
        assert sum(dist[a, b] for a, b in zip(order, [*order[1:], order[0]], strict=True)) == pytest.approx(best)


# --------------------------------------------------------------------------------------------------
# several wardens, each from their own station


@given(st.sets(st.integers(0, 16), min_size=1, max_size=5), st.integers(0, 11), st.integers(0, 11))
def test_routes_from_two_depots_against_brute_force_min_max(small_net, chosen, d0, d1):
    net = small_net
    required = np.array(sorted(chosen))
    tour = postman_tour(net, required, d0)
    serving = _first_passes(tour, chosen)
    walks = split_tour_depots(net, tour, np.array([d0, d1]), serving)
    assert len(walks) == 2
    covered = set()
    for walk, depot in zip(walks, (d0, d1), strict=True):
        if walk:
            assert_closed_walk(net, walk, depot, [])
        covered |= {e for e, _ in walk}
    assert set(chosen) <= covered
    longest = max(sum(net.length[e] for e, _ in w) for w in walks)
    # the optimum: every split of the required streets between the two depots, each part walked optimally
    req = sorted(chosen)
    optimum = total = np.inf
    for mask in range(1 << len(req)):
        mine = [e for i, e in enumerate(req) if mask >> i & 1]
        theirs = [e for i, e in enumerate(req) if not mask >> i & 1]
        a = brute_force(net, mine, d0) if mine else 0.0
        b = brute_force(net, theirs, d1) if theirs else 0.0
        optimum = min(optimum, max(a, b))
        total = min(total, a + b)
    both = np.array([d0, d1])
    assert tjoin_bound(net, required) <= total + 1e-6
    assert rpp_lp_bound(net, required, both) <= total + 1e-6  # the cut LP with the two depots as one root
    bound = max(max(tjoin_bound(net, required), rpp_lp_bound(net, required, both)) / 2,
                round_trip_bound(net, required, both))
    assert bound <= optimum + 1e-6
    assert optimum <= longest + 1e-6
    assert longest <= 2 * optimum + 2 * net.shortest([d0, d1])[0].max() + 1e-6  # sanity: not absurd


def test_each_warden_starts_from_their_own_station():
    g = lattice(4, 4)
    grids = gpd.GeoDataFrame({"grid_id": ["G"]}, geometry=[shapely.box(-10, -10, 310, 310)], crs=UTM)
    stations = gpd.GeoDataFrame({"warden_id": ["A", "B"], "grid_id": ["G", "G"]},
                                geometry=[shapely.Point(3, 4), shapely.Point(300, 296)], crs=UTM)
    routes = patrol_routes(grids, g, stations=stations)
    assert list(routes["warden_id"]) == ["A", "B"]
    starts = [tuple(shapely.get_coordinates(line)[0]) for line in routes.geometry]
    assert starts == [(0.0, 0.0), (300.0, 300.0)]
    assert routes.geometry.apply(lambda line: line.is_closed).all()
    assert routes["station_snap_m"].to_numpy() == pytest.approx([5.0, 4.0])
    net = Network.from_graph(g)
    covered = shapely.union_all(routes.geometry.buffer(0.05).to_numpy())
    assert shapely.covered_by(net.geoms, covered).all()
    one = patrol_routes(grids, g)
    assert routes["length_m"].max() < one["length_m"].iloc[0]
    assert (routes["length_m"].max() >= routes["lower_bound_m"] - 1e-6).all()
    assert routes["lower_bound_m"].iloc[0] >= tjoin_bound(net, np.arange(len(net.eu))) / 2 - 1e-6
    assert routes["street_length_m"].sum() == pytest.approx(one["street_length_m"].iloc[0])


@given(st.sets(st.integers(0, 16), min_size=2, max_size=8), st.integers(0, 11))
def test_rural_postman_lp_bound_is_a_bound(small_net, chosen, depot):
    net = small_net
    required = np.array(sorted(chosen))
    best = brute_force(net, required, depot)
    bound = rpp_lp_bound(net, required, depot)
    assert bound <= best + 1e-6
    assert bound >= net.length[required].sum() - 1e-9
    tour = postman_tour(net, required, depot, exact_up_to=0)  # the heuristic's own (cheap) bound is valid too
    assert tour.lower_bound_m <= best + 1e-6
    assert tour.length(net) >= best - 1e-6


def test_door_to_door_with_two_wardens_from_their_stations():
    g = lattice(4, 4)
    grids = gpd.GeoDataFrame({"grid_id": ["G"]}, geometry=[shapely.box(-10, -10, 310, 310)], crs=UTM)
    rng = np.random.default_rng(3)
    spots = rng.uniform(5, 295, size=(25, 2))
    houses = gpd.GeoDataFrame(geometry=shapely.points(spots).tolist(), crs=UTM)
    stations = gpd.GeoDataFrame({"warden_id": ["A", "B"], "grid_id": ["G", "G"]},
                                geometry=[shapely.Point(0, 0), shapely.Point(300, 300)], crs=UTM)
    routes = patrol_routes(grids, g, stations=stations, mode="buildings", buildings=houses)
    assert list(routes["warden_id"]) == ["A", "B"]
    assert [tuple(shapely.get_coordinates(line)[0]) for line in routes.geometry] == [(0.0, 0.0), (300.0, 300.0)]
    split, node, _ = access_points(Network.from_graph(g), spots)
    doors = shapely.points(split.xy[np.unique(node)])
    reached = shapely.union_all(routes.geometry.buffer(1e-6).to_numpy())
    assert shapely.covered_by(doors, reached).all()
    assert (routes["length_m"].max() >= routes["lower_bound_m"] - 1e-6).all()
    assert (routes["lower_bound_m"] > 0).all()
