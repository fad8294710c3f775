"""Street graphs: noding, snapping, bridges, OSM readers and nearest nodes (gridkit.network)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from gridkit.errors import InputDataError
from gridkit.network import (
    _NODE_INDEX,
    clear_node_index,
    edges_frame,
    graph_from_osm,
    nearest_nodes,
    node_lines,
    read_osm,
    street_graph,
    street_lines,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
UTM = "EPSG:32650"


def lines(*coords, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=[shapely.LineString(c) for c in coords], crs=UTM)


def total_length(graph) -> float:
    return sum(d["length"] for *_, d in graph.edges(data=True))


def test_crossing_is_noded_and_lengths_kept():
    g = street_graph(lines([(0, 0), (100, 0)], [(50, -50), (50, 50)], name=["东街", "北路"]))
    assert g.number_of_nodes() == 5
    assert g.number_of_edges() == 4
    assert total_length(g) == pytest.approx(200.0)
    centre = [n for n, d in g.degree() if d == 4]
    assert len(centre) == 1
    assert (g.nodes[centre[0]]["x"], g.nodes[centre[0]]["y"]) == pytest.approx((50.0, 0.0))
    assert {d["name"] for *_, d in g.edges(data=True)} == {"东街", "北路"}
    assert g.graph["crs"].to_epsg() == 32650


def test_edge_geometry_ends_are_its_nodes():
    g = street_graph(lines([(0, 0), (40, 10), (100, 0)], [(50, -50), (50, 60)], [(0, 0), (0, 80)]))
    for _u, _v, d in g.edges(data=True):
        start, end = shapely.get_coordinates(d["geometry"])[[0, -1]]
        a = g.nodes[d["from_node"]]
        assert tuple(start) == (a["x"], a["y"])
        assert d["length"] == pytest.approx(d["geometry"].length)
        assert any(tuple(end) == (g.nodes[n]["x"], g.nodes[n]["y"]) for n in (_u, _v))


def test_bridge_is_not_joined_to_the_street_it_crosses():
    streets = lines([(0, 0), (100, 0)], [(50, -50), (50, 50)], bridge=[None, "yes"])
    g = street_graph(streets)
    assert g.number_of_nodes() == 4
    assert nx.number_connected_components(g) == 2
    layered = lines([(0, 0), (100, 0)], [(50, -50), (50, 50)], layer=["0", "-1"])
    assert nx.number_connected_components(street_graph(layered)) == 2


def test_bridge_joins_at_its_ends():
    # a bridge from (50, 0) (on the street) to (50, 80); another street passes under it at y=40
    streets = lines([(0, 0), (100, 0)], [(50, 0), (50, 80)], [(0, 40), (100, 40)], bridge=[None, "yes", None])
    g = street_graph(streets)
    assert nx.number_connected_components(g) == 2  # the street at y=40 stays apart
    big = max(nx.connected_components(g), key=len)
    assert len(big) == 4  # (0,0), (50,0), (100,0), (50,80)


def test_ends_snap_within_tolerance_only():
    near = lines([(0, 0), (100, 0)], [(50, 0.3), (50, 50)])
    assert nx.is_connected(street_graph(near, snap_m=0.5))
    assert not nx.is_connected(street_graph(near, snap_m=0.1))
    ends = lines([(0, 0), (50, 0)], [(50.2, 0.1), (90, 0)])
    g = street_graph(ends, snap_m=0.5)
    assert nx.is_connected(g)
    assert g.number_of_nodes() == 3


def test_duplicate_segments_kept_once_and_multilines_split():
    streets = lines([(0, 0), (100, 0)], [(100, 0), (0, 0)])
    assert street_graph(streets).number_of_edges() == 1
    multi = gpd.GeoDataFrame(geometry=[shapely.MultiLineString([[(0, 0), (10, 0)], [(20, 0), (30, 0)]])], crs=UTM)
    assert street_graph(multi).number_of_edges() == 2


def test_loop_street_kept_and_empty_input():
    ring = lines([(0, 0), (50, 0), (50, 50), (0, 50), (0, 0)], [(0, 0), (-40, 0)])
    g = street_graph(ring)
    assert total_length(g) == pytest.approx(240.0)
    assert nx.number_of_selfloops(g) == 1
    empty = street_graph(gpd.GeoDataFrame(geometry=[], crs=UTM), crs=UTM)
    assert empty.number_of_nodes() == 0


def test_lonlat_input_gets_a_utm_graph(sample):
    g = street_graph(sample.streets)
    assert g.graph["crs"].is_projected
    assert nx.is_connected(g)
    edges = edges_frame(g)
    metric = sample.streets.to_crs(g.graph["crs"]).length.sum()
    # noding keeps the line work; only duplicated stretches and snapped ends change the total
    assert edges.length.sum() == pytest.approx(metric, rel=0.02)
    assert edges["name"].notna().mean() > 0.9


def test_street_lines_and_node_lines_unchanged(sample):
    arr = street_lines(sample.streets, "EPSG:32648")
    assert len(arr) == len(sample.streets)
    noded = node_lines(arr)
    assert len(noded) > len(arr)
    assert shapely.length(noded).sum() == pytest.approx(shapely.length(arr).sum(), rel=1e-3)


@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(0, 8), st.integers(0, 8)),
                min_size=1, max_size=12))
def test_noding_keeps_total_length(segments):
    segs = [((x0 * 10.0, y0 * 10.0), (x1 * 10.0 + 0.001, y1 * 10.0)) for x0, y0, x1, y1 in segments
            if (x0, y0) != (x1, y1)]
    if not segs:
        return
    streets = lines(*segs)
    union = shapely.union_all(streets.geometry.to_numpy()).length  # overlaps counted once
    g = street_graph(streets, snap_m=0.0)
    assert total_length(g) == pytest.approx(union, rel=1e-6, abs=1e-6)


def test_nearest_nodes_returns_ids_and_metres():
    g = street_graph(lines([(0, 0), (100, 0)], [(50, -50), (50, 50)]))
    ids, dist = nearest_nodes(g, np.array([[52.0, 3.0], [100.0, 500.0]]))
    assert (g.nodes[ids[0]]["x"], g.nodes[ids[0]]["y"]) == pytest.approx((50.0, 0.0))
    assert dist == pytest.approx([np.hypot(2, 3), np.hypot(50, 450)])


def test_osmnx_can_read_the_graph():
    ox = pytest.importorskip("osmnx")
    g = street_graph(lines([(0, 0), (100, 0)], [(50, -50), (50, 50)], name=["a", "b"]))
    nodes, edges = ox.graph_to_gdfs(g)
    assert len(nodes) == 5
    assert edges["length"].sum() == pytest.approx(200.0)


@pytest.mark.parametrize("name", ["West-Oakland.osm.bz2", "planet_10.068,48.135_10.071,48.137.osm"])
def test_read_osm_xml(name):
    path = DATA / "osmnx" / name
    if not path.exists():
        pytest.skip("osmnx test files absent")
    streets = read_osm(path)
    assert len(streets) > 0
    assert streets.crs.to_epsg() == 4326
    assert streets["highway"].notna().all()
    assert not streets["highway"].isin(["motorway", "construction"]).any()
    g = graph_from_osm(path)
    assert g.graph["crs"].is_projected
    assert g.number_of_edges() >= len(streets)
    osmids = {d["osmid"] for *_, d in g.edges(data=True)}
    assert osmids <= set(streets["osmid"])


@pytest.mark.slow
def test_read_osm_pbf_monaco():
    path = DATA / "osm" / "monaco.osm.pbf"
    if not path.exists():
        pytest.skip("Monaco PBF absent")
    streets = read_osm(path)
    assert len(streets) > 1000
    assert streets["name"].notna().sum() > 500
    assert (streets["bridge"] == "yes").any()
    g = street_graph(streets)
    largest = max(nx.connected_components(g), key=len)
    assert len(largest) > 0.8 * g.number_of_nodes()


def test_bad_osm_input(tmp_path):
    with pytest.raises(InputDataError, match="does not exist"):
        read_osm(tmp_path / "missing.osm")
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1' lat='1' lon='2'></osm>")
    with pytest.raises(InputDataError, match="cannot read OSM XML"):
        read_osm(broken)
    other = tmp_path / "x.shp"
    other.write_text("")
    with pytest.raises(InputDataError, match="unknown OSM format"):
        read_osm(other)


@pytest.mark.parametrize("name", ["West-Oakland.osm.bz2", "planet_10.068,48.135_10.071,48.137.osm"])
def test_osm_street_lengths_match_osmnx(name):
    """Per street class, the walking graph read from OSM XML has osmnx's lengths (within 0.5 %).

    osmnx's ``graph_from_xml`` keeps every way; the comparison takes its ways with a ``highway`` tag
    that a pedestrian may use (not ``access=private``, not cycleways, as osmnx's own "walk" filter).
    """
    ox = pytest.importorskip("osmnx")
    path = DATA / "osmnx" / name
    if not path.exists():
        pytest.skip("osmnx test files absent")
    theirs = ox.graph_to_gdfs(ox.convert.to_undirected(ox.graph_from_xml(path, simplify=False, retain_all=True)),
                              nodes=False)
    walkable = theirs["highway"].notna() & (theirs["access"].astype(str) != "private") if "access" in theirs else (
        theirs["highway"].notna())
    theirs = theirs[walkable & (theirs["highway"].astype(str) != "cycleway")]
    expected = theirs.groupby(theirs["highway"].astype(str))["length"].sum()
    ours = edges_frame(graph_from_osm(path)).groupby("highway")["length"].sum()
    for highway, length in ours.items():
        assert length == pytest.approx(expected[highway], rel=0.005), highway
    assert ours.sum() >= 0.8 * expected.sum(), "most of osmnx's walkable length is in the graph"


def test_nearest_nodes_caches_its_tree_and_sees_new_nodes():
    g = street_graph(lines([(0, 0), (100, 0)], [(50, -50), (50, 50)]))
    nearest_nodes(g, np.array([[1.0, 1.0]]))
    net = _NODE_INDEX[g][1]
    nearest_nodes(g, np.array([[99.0, 1.0]]))
    assert _NODE_INDEX[g][1] is net  # built once
    g.add_node("far", x=1000.0, y=1000.0)
    ids, dist = nearest_nodes(g, np.array([[1001.0, 1000.0]]))
    assert ids[0] == "far"
    assert dist[0] == pytest.approx(1.0)
    g.nodes["far"]["x"] = 5000.0  # moved in place: cached until cleared
    clear_node_index(g)
    assert nearest_nodes(g, np.array([[5000.0, 1000.0]]))[1][0] == pytest.approx(0.0)
