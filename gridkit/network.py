"""Street networks as lines.

This module turns a street layer (lines in any CRS) into the plain, noded line work that the other
modules build on, and into the undirected walking graph (osmnx-style networkx MultiGraph in a metric
CRS, lengths in metres) that patrol routes and coverage use. Streets come from line layers, OSM XML
(.osm, .osm.bz2, parsed here) or OSM PBF (GDAL's OSM driver through pyogrio).
"""

from __future__ import annotations

import bz2
import itertools
import os
import re
import weakref
from pathlib import Path
from xml.etree import ElementTree

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from shapely.ops import substring

from gridkit.crs import local_metric_crs
from gridkit.errors import InputDataError
from gridkit.io import source_name

__all__ = [
    "StreetNetwork",
    "clear_node_index",
    "edges_frame",
    "graph_from_osm",
    "nearest_nodes",
    "node_lines",
    "read_osm",
    "street_graph",
    "street_lines",
    "undirected",
]


def street_lines(streets: gpd.GeoDataFrame | None, crs: object) -> np.ndarray:
    """Return the street centrelines of ``streets`` in ``crs`` as an array of single LineStrings.

    Parameters
    ----------
    streets
        Street lines (LineString or MultiLineString) in any CRS, or None for no streets.
    crs
        The (metric) CRS to project to.

    Returns
    -------
    numpy.ndarray
        Object array of LineStrings; empty when there are no streets.
    """
    if streets is None or len(streets) == 0:
        return np.empty(0, dtype=object)
    geoms = streets.to_crs(crs).geometry.to_numpy()
    parts = shapely.get_parts(geoms)
    parts = parts[shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING]
    return parts[~shapely.is_empty(parts) & (shapely.length(parts) > 0)]


def node_lines(lines: np.ndarray) -> np.ndarray:
    """Split ``lines`` at every crossing and shared point (noding), returning single LineStrings.

    Real street data is rarely noded (OSM roads cross without a shared vertex at bridges and in
    exports that cut ways); polygonizing or routing needs every crossing to be a vertex.
    """
    lines = lines[~shapely.is_empty(lines)] if len(lines) else lines
    if len(lines) == 0:
        return np.empty(0, dtype=object)
    # a unary union of line work nodes it and merges duplicated segments; GEOS's node() crashes on
    # some real inputs (GEOS 3.14), the union does not
    return shapely.get_parts(shapely.union_all(lines))


# --------------------------------------------------------------------------------------------------
# walking graph


_WALK_EXCLUDED = frozenset({
    "abandoned", "bus_guideway", "construction", "cycleway", "motor", "motorway", "motorway_link", "no",
    "planned", "platform", "proposed", "raceway", "razed",
})
_OSM_TAGS = ("name", "highway", "bridge", "tunnel", "layer", "foot", "access", "service", "area")
_HSTORE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def _is_yes(value: object) -> bool:
    """True when an OSM tag value means "yes" (anything but empty, ``no`` or ``false``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return False
    return str(value).strip().lower() not in {"", "no", "false", "0", "none", "nan"}


def _levels(table: pd.DataFrame) -> np.ndarray:
    """Vertical level of each street: the OSM ``layer`` tag, else +1 on a bridge, -1 in a tunnel, else 0."""
    n = len(table)
    level = np.zeros(n, dtype=np.int64)
    if "bridge" in table:
        level[[_is_yes(v) for v in table["bridge"]]] = 1
    if "tunnel" in table:
        level[[_is_yes(v) for v in table["tunnel"]]] = -1
    if "layer" in table:
        layer = pd.to_numeric(table["layer"], errors="coerce").to_numpy(dtype=float)
        known = np.isfinite(layer)
        level[known] = layer[known].astype(np.int64)
    return level


def _street_table(streets: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    """Single LineStrings in ``crs`` with the columns the graph keeps (name, highway, osmid, level)."""
    if streets.crs is None:
        raise InputDataError("streets have no CRS; set one (e.g. EPSG:4326)", source=source_name(streets))
    table = streets.to_crs(crs).explode(index_parts=False, ignore_index=True)
    geom = table.geometry.to_numpy()
    keep = (shapely.get_type_id(geom) == shapely.GeometryType.LINESTRING) & ~shapely.is_empty(geom)
    table = table[keep].reset_index(drop=True)
    table = table[shapely.length(table.geometry.to_numpy()) > 0].reset_index(drop=True)
    out = gpd.GeoDataFrame(
        {"name": _text_column(table, "name"), "highway": _text_column(table, "highway"),
         "osmid": _osmid_column(table), "level": _levels(table)},
        geometry=table.geometry.to_numpy(), crs=crs,
    )
    return out


def _text_column(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table:
        return np.full(len(table), None, dtype=object)
    values = table[column].astype(object).to_numpy()
    return np.array([None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v == "")
                     else str(v) for v in values], dtype=object)


def _osmid_column(table: pd.DataFrame) -> np.ndarray:
    for column in ("osmid", "osm_id", "osm_way_id"):
        if column in table:
            ids = pd.to_numeric(table[column], errors="coerce")
            return np.array([None if pd.isna(v) else int(v) for v in ids], dtype=object)
    return np.full(len(table), None, dtype=object)


def _cut_points(geoms: np.ndarray, level: np.ndarray, snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each line must be cut: (line index, point xy) for crossings and snapped ends.

    Lines on one level are cut where they cross or touch; lines on different levels (a bridge over a
    street) only where an end of one meets the other. An end within ``snap_m`` of another line cuts that
    line at the nearest point.
    """
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=snap_m)
    pair = left < right
    left, right = left[pair], right[pair]
    inter = shapely.intersection(geoms[left], geoms[right])
    parts, which = shapely.get_parts(inter, return_index=True)
    linear = np.isin(shapely.get_type_id(parts), [1, 2])
    if linear.any():  # overlapping stretches: cut at their ends
        ends, end_which = shapely.get_parts(shapely.boundary(parts[linear]), return_index=True)
        parts = np.concatenate([parts[~linear], ends])
        which = np.concatenate([which[~linear], which[linear][end_which]])
    points = shapely.get_coordinates(parts) if len(parts) else np.empty((0, 2))
    if len(parts):
        points = shapely.get_coordinates(parts[shapely.get_type_id(parts) == 0])
        which = which[shapely.get_type_id(parts) == 0]
    a, b = left[which], right[which]
    pts = shapely.points(points)
    other_level = level[a] != level[b]
    if other_level.any():
        ends_a = np.minimum(shapely.distance(pts, shapely.get_point(geoms[a], 0)),
                            shapely.distance(pts, shapely.get_point(geoms[a], -1)))
        ends_b = np.minimum(shapely.distance(pts, shapely.get_point(geoms[b], 0)),
                            shapely.distance(pts, shapely.get_point(geoms[b], -1)))
        keep = ~other_level | (np.minimum(ends_a, ends_b) <= snap_m)
        a, b, points, pts = a[keep], b[keep], points[keep], pts[keep]
    # ends within snap_m of another line: cut that line at the nearest point
    ends = np.concatenate([shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)])
    owner = np.concatenate([np.arange(len(geoms)), np.arange(len(geoms))])
    end_idx, line_idx = tree.query(ends, predicate="dwithin", distance=snap_m)
    other = owner[end_idx] != line_idx
    end_idx, line_idx = end_idx[other], line_idx[other]
    snapped = shapely.line_interpolate_point(geoms[line_idx], shapely.line_locate_point(geoms[line_idx],
                                                                                      ends[end_idx]))
    line = np.concatenate([a, b, line_idx])
    xy = np.concatenate([points, points, shapely.get_coordinates(snapped)]).reshape(-1, 2)
    return line, xy


def _split_lines(geoms: np.ndarray, line: np.ndarray, xy: np.ndarray, snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``geoms[line[i]]`` at ``xy[i]``; return the pieces and the index of the line each came from."""
    dist = shapely.line_locate_point(geoms[line], shapely.points(xy)) if len(line) else np.empty(0)
    lengths = shapely.length(geoms)
    order = np.lexsort((dist, line))
    line, dist = line[order], dist[order]
    bounds = np.searchsorted(line, np.arange(len(geoms) + 1))
    pieces, source = [], []
    eps = min(1e-6, snap_m)
    for i, geom in enumerate(geoms):
        cuts = dist[bounds[i]:bounds[i + 1]]
        cuts = np.unique(cuts[(cuts > eps) & (cuts < lengths[i] - eps)])
        if len(cuts) == 0:
            pieces.append(geom)
            source.append(i)
            continue
        stops = np.concatenate([[0.0], cuts, [lengths[i]]])
        for start, end in itertools.pairwise(stops):
            pieces.append(substring(geom, start, end))
            source.append(i)
    return np.array(pieces, dtype=object), np.array(source, dtype=np.int64)


def _node_ends(pieces: np.ndarray, snap_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cluster the ends of ``pieces`` within ``snap_m``; return node xy, end nodes u, v and moved pieces."""
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(pieces, 0)),
                           shapely.get_coordinates(shapely.get_point(pieces, -1))])
    pairs = cKDTree(ends).query_pairs(snap_m, output_type="ndarray") if snap_m > 0 else np.empty((0, 2), int)
    # exact coincidences always join, also with snap_m == 0
    n = len(ends)
    _, first = np.unique(np.round(ends, 9), axis=0, return_inverse=True)
    first = first.ravel()
    rows = np.concatenate([pairs[:, 0], np.arange(n)])
    cols = np.concatenate([pairs[:, 1], n + first])
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(2 * n, 2 * n))
    _, label = connected_components(adj, directed=False)
    _, node = np.unique(label[:n], return_inverse=True)
    node = node.ravel()
    n_nodes = int(node.max()) + 1 if n else 0
    xy = np.zeros((n_nodes, 2))
    np.add.at(xy, node, ends)
    xy /= np.bincount(node, minlength=n_nodes)[:, None]
    m = len(pieces)
    u, v = node[:m], node[m:]
    coords, index = shapely.get_coordinates(pieces, return_index=True)
    starts = np.searchsorted(index, np.arange(m))
    stops = np.searchsorted(index, np.arange(m), side="right") - 1
    coords[starts] = xy[u]
    coords[stops] = xy[v]
    return xy, u, v, shapely.linestrings(coords, indices=index)


def street_graph(streets: gpd.GeoDataFrame, *, crs: object = None, snap_m: float = 0.5) -> nx.MultiGraph:
    """Build the undirected walking graph of a street layer.

    Lines are noded where they cross or touch on one vertical level; a bridge or tunnel (OSM ``bridge``,
    ``tunnel`` or ``layer`` tags) joins other streets only at its ends. Ends closer than ``snap_m`` to
    another line or end are snapped to it. Exact duplicate segments are kept once.

    Parameters
    ----------
    streets
        Street centrelines (LineString or MultiLineString) in any CRS, with optional columns ``name``,
        ``highway``, ``osmid`` (or ``osm_id``), ``bridge``, ``tunnel``, ``layer``.
    crs
        Metric CRS of the graph; default :func:`gridkit.crs.local_metric_crs` of ``streets``.
    snap_m
        Snapping tolerance in metres.

    Returns
    -------
    networkx.MultiGraph
        osmnx-style: graph attribute ``crs`` (pyproj CRS, metres); nodes 0..n-1 with ``x``, ``y`` (in
        ``crs``) and ``street_count``; edges with ``length`` (m), ``name``, ``highway``, ``osmid`` (None
        where unknown), ``level``, ``geometry`` (LineString in ``crs``; its ends are exactly the nodes'
        coordinates) and ``from_node`` (the node the geometry starts at).
    """
    if crs is None:
        crs = local_metric_crs(streets)
    crs = pyproj.CRS.from_user_input(crs)
    graph = nx.MultiGraph(crs=crs, simplified=False, created_by="gridkit")
    if streets is None or len(streets) == 0:
        return graph
    table = _street_table(streets, crs)
    if len(table) == 0:
        return graph
    geoms = table.geometry.to_numpy()
    line, xy = _cut_points(geoms, table["level"].to_numpy(), snap_m)
    pieces, source = _split_lines(geoms, line, xy, snap_m)
    node_xy, u, v, pieces = _node_ends(pieces, snap_m)
    length = shapely.length(pieces)
    keep = ~((u == v) & (length <= 2 * snap_m)) & (length > 0)
    keep &= _first_copies(u, v, length, pieces)
    for i, (x, y) in enumerate(node_xy):
        graph.add_node(i, x=float(x), y=float(y))
    cols = {c: table[c].to_numpy() for c in ("name", "highway", "osmid", "level")}
    for j in np.flatnonzero(keep):
        s = source[j]
        graph.add_edge(int(u[j]), int(v[j]), length=float(length[j]), name=cols["name"][s],
                       highway=cols["highway"][s], osmid=cols["osmid"][s], level=int(cols["level"][s]),
                       geometry=pieces[j], from_node=int(u[j]))
    graph.remove_nodes_from([n for n, d in graph.degree() if d == 0])
    graph = nx.convert_node_labels_to_integers(graph, ordering="sorted")
    for edge_u, edge_v, data in graph.edges(data=True):  # labels moved: re-derive from_node by position
        start = shapely.get_coordinates(shapely.get_point(data["geometry"], 0))[0]
        nu = graph.nodes[edge_u]
        data["from_node"] = edge_u if (nu["x"], nu["y"]) == (start[0], start[1]) else edge_v
    nx.set_node_attributes(graph, dict(graph.degree()), "street_count")
    return graph


def _first_copies(u: np.ndarray, v: np.ndarray, length: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """False for a piece that repeats an earlier one (same end nodes, same shape within 1 cm)."""
    keep = np.ones(len(u), dtype=bool)
    key = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "len": np.round(length, 1)})
    dup = key.duplicated(keep=False).to_numpy()
    seen: dict[tuple, list[int]] = {}
    for j in np.flatnonzero(dup):
        k = tuple(key.iloc[j])
        for i in seen.get(k, []):
            if shapely.hausdorff_distance(pieces[i], pieces[j]) < 0.01:
                keep[j] = False
                break
        else:
            seen.setdefault(k, []).append(j)
    return keep


def edges_frame(graph: nx.MultiGraph) -> gpd.GeoDataFrame:
    """Return the edges of ``graph`` as a GeoDataFrame (``u``, ``v``, ``key``, attributes, geometry).

    Edges without a geometry get the straight line between their nodes. CRS is ``graph.graph['crs']``.
    """
    rows = []
    for u, v, key, data in graph.edges(keys=True, data=True):
        geom = data.get("geometry")
        if geom is None:
            a, b = graph.nodes[u], graph.nodes[v]
            geom = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
        rows.append({"u": u, "v": v, "key": key, "length": float(data.get("length", shapely.length(geom))),
                     "name": data.get("name"), "highway": data.get("highway"), "osmid": data.get("osmid"),
                     "geometry": geom})
    columns = ["u", "v", "key", "length", "name", "highway", "osmid", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=graph.graph.get("crs"))


def nearest_nodes(graph: nx.MultiGraph, points_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snap points to the nearest graph nodes (straight-line distance).

    The :class:`StreetNetwork` of the graph (with its KD-tree over the nodes) is built once per graph
    and cached (a weak cache keyed by the graph object, so it goes with the graph); adding or removing
    nodes rebuilds it. Moving nodes in place (changing ``x``/``y``) is not detected: call
    :func:`clear_node_index` after that.

    Parameters
    ----------
    graph
        Graph with node attributes ``x``, ``y`` in a metric CRS (``graph.graph['crs']``).
    points_xy
        Array of shape (n, 2) of x, y in the graph's CRS (metres).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Node ids (object array when ids are not integers) and the distances in metres.
    """
    points_xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    net = _cached_network(graph)
    idx, dist = net.snap(points_xy)
    return net.node_ids[idx], dist


_NODE_INDEX: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached_network(graph: nx.Graph) -> StreetNetwork:
    """The graph's :class:`StreetNetwork`, cached per graph object (rebuilt when its nodes change)."""
    n = graph.number_of_nodes()
    if n == 0:
        raise InputDataError("the street graph has no nodes to snap to")
    key = (n, graph.number_of_edges(), hash(tuple(graph.nodes)))
    cached = _NODE_INDEX.get(graph)
    if cached is not None and cached[0] == key:
        return cached[1]
    net = StreetNetwork.from_graph(graph)
    _NODE_INDEX[graph] = (key, net)
    return net


def clear_node_index(graph: nx.Graph) -> None:
    """Forget the cached :class:`StreetNetwork` (and node KD-tree) of ``graph`` (after moving its nodes)."""
    _NODE_INDEX.pop(graph, None)


# --------------------------------------------------------------------------------------------------
# OSM readers


def _walkable(tags: pd.DataFrame) -> np.ndarray:
    """Filter like osmnx's "walk" network: a highway, not an area, not excluded, foot/access/service not private."""
    highway = tags["highway"].astype(object)
    ok = highway.notna().to_numpy() & ~highway.isin(_WALK_EXCLUDED).to_numpy()
    for column, banned in (("area", {"yes"}), ("foot", {"no"}), ("access", {"private"}), ("service", {"private"})):
        if column in tags:
            ok &= ~tags[column].astype(object).isin(banned).to_numpy()
    return ok


def read_osm(path: str | os.PathLike[str], *, crs: object = None) -> gpd.GeoDataFrame:
    """Read the walkable streets of an OSM file.

    Parameters
    ----------
    path
        ``.osm`` or ``.osm.bz2`` (OSM XML, parsed here) or ``.osm.pbf`` (GDAL's OSM driver through
        pyogrio).
    crs
        CRS of the result; default EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        One LineString per OSM way with ``osmid``, ``name``, ``highway``, ``bridge``, ``tunnel``,
        ``layer``, ``foot``, ``access``, ``service``, filtered like osmnx's ``network_type="walk"``.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError("OSM file does not exist", source=path)
    name = path.name.lower()
    if name.endswith(".pbf"):
        table = _read_pbf(path)
    elif name.endswith((".osm", ".osm.bz2", ".xml", ".osm.xml")):
        table = _read_osm_xml(path)
    else:
        raise InputDataError("unknown OSM format; use .osm, .osm.bz2 or .osm.pbf", source=path)
    table = table[_walkable(table)].reset_index(drop=True)
    table.attrs["source"] = str(path)
    return table if crs is None else table.to_crs(crs)


def _read_pbf(path: Path) -> gpd.GeoDataFrame:
    try:
        raw = pyogrio.read_dataframe(path, layer="lines")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputDataError(f"cannot read OSM PBF: {exc}", source=path) from exc
    tags = [dict(_HSTORE.findall(t)) if isinstance(t, str) else {} for t in raw.get("other_tags", [None] * len(raw))]
    data = {"osmid": pd.to_numeric(raw["osm_id"], errors="coerce").astype("Int64"),
            "name": raw.get("name"), "highway": raw.get("highway")}
    for tag in _OSM_TAGS[2:]:
        data[tag] = [t.get(tag) for t in tags]
    return gpd.GeoDataFrame(data, geometry=raw.geometry.to_numpy(), crs=raw.crs or "EPSG:4326")


def _read_osm_xml(path: Path) -> gpd.GeoDataFrame:
    opener = bz2.open if path.name.lower().endswith(".bz2") else open
    nodes: dict[int, tuple[float, float]] = {}
    ways = []
    try:
        with opener(path, "rb") as handle:
            for _, elem in ElementTree.iterparse(handle, events=("end",)):
                if elem.tag == "node":
                    nodes[int(elem.get("id"))] = (float(elem.get("lon")), float(elem.get("lat")))
                    elem.clear()
                elif elem.tag == "way":
                    tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                    if "highway" in tags:
                        ways.append((int(elem.get("id")), [int(n.get("ref")) for n in elem.iter("nd")], tags))
                    elem.clear()
    except (ElementTree.ParseError, OSError, EOFError) as exc:
        raise InputDataError(f"cannot read OSM XML: {exc}", source=path) from exc
    rows, geoms = [], []
    for osmid, refs, tags in ways:
        coords = [nodes[r] for r in refs if r in nodes]
        if len(coords) < 2:
            continue
        geoms.append(shapely.LineString(coords))
        rows.append({"osmid": osmid, **{t: tags.get(t) for t in _OSM_TAGS}})
    frame = pd.DataFrame(rows, columns=["osmid", *_OSM_TAGS])
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def graph_from_osm(path: str | os.PathLike[str], *, crs: object = None, snap_m: float = 0.5) -> nx.MultiGraph:
    """Walking graph of an OSM file: ``street_graph(read_osm(path), crs=crs, snap_m=snap_m)``."""
    return street_graph(read_osm(path), crs=crs, snap_m=snap_m)


# --------------------------------------------------------------------------------------------------
# the street graph as arrays


def undirected(graph: nx.Graph) -> nx.Graph:
    """Walking view of a graph: a directed (osmnx) graph's two directions of one street become one edge.

    Reciprocal edges with the same length (to 0.1 m) are merged; an undirected graph is returned as is.
    """
    if not graph.is_directed():
        return graph
    out = nx.MultiGraph(**graph.graph)
    out.add_nodes_from(graph.nodes(data=True))
    seen: set[tuple] = set()
    for u, v, data in graph.edges(data=True):
        key = (min(u, v), max(u, v), round(float(data.get("length", 0.0)), 1))
        if key in seen:
            continue
        seen.add(key)
        out.add_edge(u, v, **{**data, "from_node": u})
    return out


def metric_crs_of(graph: nx.Graph) -> pyproj.CRS:
    """The graph's CRS (``graph.graph['crs']``), refused unless it is projected (metres)."""
    value = graph.graph.get("crs")
    if value is None:
        raise InputDataError("street graph has no graph['crs']; build it with gridkit.network.street_graph")
    crs = pyproj.CRS.from_user_input(value)
    if not crs.is_projected:
        raise InputDataError(f"street graph CRS {crs.to_string()} is not metric (lengths would be degrees); "
                             "project it first, e.g. street_graph(streets) picks a local metric CRS")
    return crs


class StreetNetwork:
    """A walking graph as arrays: one CSR matrix of edge lengths, node coordinates and a KD-tree.

    The one street-graph-as-arrays type of gridkit: coverage and wardens search distances on
    :attr:`matrix`, routing walks edge indices (:attr:`eu`, :attr:`ev`, :attr:`length`,
    :attr:`geoms`). A graph whose CRS is not metric is refused.

    Attributes
    ----------
    crs
        The metric CRS (pyproj).
    node_ids, xy
        Node ids of the graph (object array) and their ``n × 2`` coordinates (metres, ``crs``).
    eu, ev, length, geoms, names
        Per edge: end node indices, length (m), LineString oriented ``eu → ev`` (``crs``) and name.
    matrix
        ``n × n`` CSR matrix, entry ``(min(i, j), max(i, j))`` the shortest parallel edge between
        nodes ``i`` and ``j`` (m, at least 1e-9); search it with ``directed=False``.
    component
        Connected component label of every node.
    """

    def __init__(self, crs: object, node_ids: np.ndarray, xy: np.ndarray, eu: np.ndarray, ev: np.ndarray,
                 length: np.ndarray, geoms: np.ndarray, names: np.ndarray) -> None:
        self.crs = crs
        self.node_ids = np.asarray(node_ids, dtype=object)
        self.xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        self.eu, self.ev = np.asarray(eu, dtype=np.int64), np.asarray(ev, dtype=np.int64)
        self.length = np.asarray(length, dtype=float)
        self.geoms, self.names = np.asarray(geoms, dtype=object), np.asarray(names, dtype=object)
        n = len(self.node_ids)
        a, b = np.minimum(self.eu, self.ev), np.maximum(self.eu, self.ev)
        order = np.lexsort((np.arange(len(a)), self.length, b, a))
        first = np.ones(len(order), dtype=bool)
        first[1:] = (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])
        best = order[first & (a[order] != b[order])]  # the shortest of parallel edges, no loops
        self.best_edges = best
        self._best = dict(zip(zip(a[best].tolist(), b[best].tolist(), strict=True), best.tolist(), strict=True))
        self.matrix = sp.csr_matrix((np.maximum(self.length[best], 1e-9), (a[best], b[best])), shape=(n, n))
        _, self.component = connected_components(self.matrix, directed=False)
        self._tree: cKDTree | None = None
        self._trees: dict[int, tuple[cKDTree, np.ndarray]] = {}
        self._edge_trees: dict[int, tuple[shapely.STRtree, np.ndarray]] = {}
        self.cache: dict[str, object] = {}  # derived structures (e.g. a matching graph), built once

    @classmethod
    def from_graph(cls, graph: nx.Graph) -> StreetNetwork:
        """Arrays of an osmnx-style graph (node ``x``/``y``, edge ``length``, optional ``geometry``/``name``).

        Direction is ignored (a directed graph's two directions of a street become one edge); edges
        without ``length`` get their geometry's length, edges without geometry the straight line.

        Raises
        ------
        InputDataError
            The graph has no nodes, no metric CRS, or a node without coordinates.
        """
        if graph.number_of_nodes() == 0:
            raise InputDataError("street graph has no nodes")
        crs = metric_crs_of(graph)
        graph = undirected(graph)
        node_ids = np.empty(graph.number_of_nodes(), dtype=object)
        node_ids[:] = list(graph.nodes)
        index = {node: i for i, node in enumerate(node_ids)}
        try:
            xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)], dtype=float).reshape(-1, 2)
        except KeyError as exc:
            raise InputDataError(f"street graph node without coordinate {exc}") from exc
        eu, ev, length, geoms, names = [], [], [], [], []
        for u, v, data in graph.edges(data=True):
            a, b = index[u], index[v]
            geom = data.get("geometry")
            if geom is None:
                geom = shapely.LineString([xy[a], xy[b]])
            elif data.get("from_node", u) != u or (
                    "from_node" not in data and _starts_at(geom, xy[b]) and not _starts_at(geom, xy[a])):
                geom = geom.reverse()
            eu.append(a)
            ev.append(b)
            value = data.get("length")
            length.append(float(geom.length if value is None else value))
            geoms.append(geom)
            name = data.get("name")
            names.append(" / ".join(map(str, name)) if isinstance(name, list) else name)
        geo = np.empty(len(geoms), dtype=object)
        geo[:] = geoms
        nam = np.empty(len(names), dtype=object)
        nam[:] = names
        return cls(crs, node_ids, xy, np.array(eu, dtype=np.int64), np.array(ev, dtype=np.int64),
                   np.array(length, dtype=float), geo, nam)

    # kept for callers written against the earlier routing type
    @property
    def nodes(self) -> np.ndarray:
        """Node ids (same as :attr:`node_ids`)."""
        return self.node_ids

    @property
    def csr(self) -> sp.csr_matrix:
        """The length matrix (same as :attr:`matrix`)."""
        return self.matrix

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index of each point (metres, ``crs``) and its straight distance (m)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(xy) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        if self._tree is None:
            self._tree = cKDTree(self.xy)
        dist, idx = self._tree.query(xy)
        return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)

    def nearest(self, points_xy: np.ndarray, *, component: int | None = None,
                among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node index (of one network component, or among given nodes) and distance (m)."""
        points_xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        if among is not None:
            dist, idx = cKDTree(self.xy[among]).query(points_xy)
            return among[idx], np.asarray(dist)
        if component is None:
            return self.snap(points_xy)
        if component not in self._trees:
            nodes = np.flatnonzero(self.component == component)
            self._trees[component] = (cKDTree(self.xy[nodes]), nodes)
        tree, nodes = self._trees[component]
        dist, idx = tree.query(points_xy)
        return nodes[idx], np.asarray(dist)

    def edge_tree(self, component: int | None = None) -> tuple[shapely.STRtree, np.ndarray]:
        """STRtree over the edges (of one network component) and their edge indices, cached."""
        key = -1 if component is None else component
        if key not in self._edge_trees:
            edges = (np.arange(len(self.eu)) if component is None
                     else np.flatnonzero(self.component[self.eu] == component))
            self._edge_trees[key] = (shapely.STRtree(self.geoms[edges]), edges)
        return self._edge_trees[key]

    def shortest(self, sources: np.ndarray, *, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Distances (m) and predecessors from each of ``sources`` (node indices) to every node."""
        dist, pred = dijkstra(self.matrix, directed=False, indices=np.asarray(sources, dtype=np.int64),
                              return_predecessors=True, limit=limit)
        return np.atleast_2d(dist), np.atleast_2d(pred)

    def path(self, pred_row: np.ndarray, source: int, target: int) -> list[tuple[int, bool]]:
        """The walk (edge index, forward) from ``source`` to ``target`` along a predecessor row."""
        nodes = [target]
        while nodes[-1] != source:
            prev = int(pred_row[nodes[-1]])
            if prev < 0:
                raise InputDataError("no path between two nodes of one network component")
            nodes.append(prev)
        nodes.reverse()
        return [self.step(a, b) for a, b in itertools.pairwise(nodes)]

    def step(self, a: int, b: int) -> tuple[int, bool]:
        """The shortest edge between adjacent nodes ``a`` and ``b``, as (edge index, forward)."""
        e = self._best[(min(a, b), max(a, b))]
        return int(e), bool(self.eu[e] == a)

    def walk_nodes(self, walk: list[tuple[int, bool]], start: int) -> np.ndarray:
        """Node index sequence of a walk starting at ``start`` (length len(walk) + 1)."""
        if not walk:
            return np.array([start], dtype=np.int64)
        e = np.fromiter((s[0] for s in walk), dtype=np.int64, count=len(walk))
        fwd = np.fromiter((s[1] for s in walk), dtype=bool, count=len(walk))
        return np.concatenate([[start], np.where(fwd, self.ev[e], self.eu[e])]).astype(np.int64)

    def walk_line(self, walk: list[tuple[int, bool]]) -> shapely.LineString | None:
        """The walk as one continuous LineString (metric CRS), or None for an empty walk."""
        if not walk:
            return None
        parts = []
        for i, (e, fwd) in enumerate(walk):
            coords = shapely.get_coordinates(self.geoms[e])
            if not fwd:
                coords = coords[::-1]
            parts.append(coords if i == 0 else coords[1:])
        return shapely.LineString(np.concatenate(parts))

    def walk_names(self, walk: list[tuple[int, bool]]) -> list[str]:
        """Street names in walking order, consecutive repeats and unnamed edges left out."""
        names: list[str] = []
        for e, _ in walk:
            name = self.names[e]
            if name and (not names or names[-1] != name):
                names.append(str(name))
        return names


def _starts_at(geom: shapely.LineString, xy: np.ndarray) -> bool:
    start = shapely.get_coordinates(shapely.get_point(geom, 0))[0]
    return bool(np.hypot(*(start - xy)) < 1e-6)
