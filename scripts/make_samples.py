"""Generate the embedded sample district of gridkit (``data/samples/``).

The sample is a fictional street office (街道), 锦官街道, in Chengdu (district code 510107, street
code 003), with five communities of different kinds: an old quarter of alleys and courtyard houses,
a high-rise compound area, a mixed block area, a work-unit compound with a park, and a village on
the urban fringe.  Run ``python scripts/make_samples.py`` from anywhere; every run writes
byte-identical files (fixed seeds, no dependence on time, hashing or dict/set ordering, files
written by hand with ``json`` and ``csv`` rather than through GDAL).

Method
------
Everything is built in EPSG:32648 (UTM 48N) metres, shifted by a constant offset so that the plan
coordinates read as metres east and north of the district's south-west corner; only the final
write moves to EPSG:4326 (coordinates rounded to 7 decimals, about 1 cm).

1. The outer boundary and the arterial roads; their faces are the five communities.
2. Per community, streets, alleys and compound paths.  Every junction is a vertex shared by the
   lines that meet there (``StreetNetwork.add`` inserts it into both), so the lines form closed
   street blocks with ``polygonize(node(...))`` and stay connected after rounding, although the
   ways themselves are not split at junctions (real data is not noded either).
3. Street blocks are the faces of the lines clipped to a community plus its boundary.  Buildings
   are placed in each block on a grid of cells, one building per cell, inside the block minus a
   setback buffer around every street centreline (3 m for paths, up to 16 m for arterials), so
   no two buildings overlap and none crosses a street.
4. Households and population per building, a warden roster, and one year of incidents.

Planted data-quality problems in ``incidents.csv`` (on purpose, so that validation can be tested):

- 3 rows have status ``closed`` and a ``closed_at`` but no ``verified_at`` (closed without the
  on-site verification that the lifecycle requires);
- 2 rows are exact duplicates of the row just before them (same ``incident_id``);
- 2 rows lie outside the street office (about 330-450 m beyond its boundary);
- 1 row has the unknown category ``traffic``.

Nothing else in the sample is deliberately wrong.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

SEED = 20250101
OUT_DIR = Path(__file__).resolve().parents[1] / "data" / "samples"
METRIC_CRS = "EPSG:32648"
CENTRE_LONLAT = (104.05, 30.64)  # where the plan point CENTRE_LOCAL lands
CENTRE_LOCAL = (1150.0, 900.0)
SNAP = 0.05  # m: a junction closer than this to an existing vertex reuses that vertex

STREET_OFFICE = ("锦官街道", "Jinguan Subdistrict", "510107003")

# Building setback from a street centreline (m), by OSM highway class.
SETBACK = {
    "primary": 16.0,
    "secondary": 11.0,
    "tertiary": 8.0,
    "residential": 6.0,
    "living_street": 4.0,
    "service": 3.5,
    "footway": 3.0,
    "path": 3.0,
}
EDGE_MARGIN = 2.0  # m between a building and a community boundary that is not a street

# community_id, name, name_en, kind, target (households per grid), a plan point inside it
COMMUNITIES = [
    ("C01", "锦里社区", "Jinli Community", "old_quarter", 300, (300.0, 1400.0)),
    ("C02", "天府花园社区", "Tianfu Huayuan Community", "high_rise", 300, (900.0, 1400.0)),
    ("C03", "新华路社区", "Xinhualu Community", "mixed", 300, (300.0, 450.0)),
    ("C04", "红星社区", "Hongxing Community", "work_unit", 300, (1800.0, 1400.0)),
    ("C05", "青杠村", "Qinggang Village", "village", 200, (1500.0, 500.0)),
]

ALLEY_WORDS = [
    ("柿子", "Shizi"), ("槐树", "Huaishu"), ("铜井", "Tongjing"), ("石灰", "Shihui"), ("板桥", "Banqiao"),
    ("竹林", "Zhulin"), ("金丝", "Jinsi"), ("玉带", "Yudai"), ("仓房", "Cangfang"), ("书院", "Shuyuan"),
    ("桂花", "Guihua"), ("染房", "Ranfang"), ("蜡烛", "Lazhu"), ("水井", "Shuijing"), ("鼓楼", "Gulou"),
    ("梓潼", "Zitong"), ("棉花", "Mianhua"), ("烟袋", "Yandai"), ("磨子", "Mozi"), ("马道", "Madao"),
    ("盐井", "Yanjing"), ("纱帽", "Shamao"), ("石狮", "Shishi"), ("文殊", "Wenshu"), ("红墙", "Hongqiang"),
    ("白果", "Baiguo"), ("青石", "Qingshi"), ("丝棉", "Simian"), ("银杏", "Yinxing"), ("古井", "Gujing"),
    ("花牌", "Huapai"), ("草市", "Caoshi"), ("油篓", "Youlou"), ("笔帖", "Bitie"), ("如意", "Ruyi"),
    ("福德", "Fude"), ("长发", "Changfa"), ("安仁", "Anren"), ("永兴", "Yongxing"), ("太平", "Taiping"),
    ("吉祥", "Jixiang"), ("和顺", "Heshun"), ("书房", "Shufang"), ("瓦窑", "Wayao"), ("柳荫", "Liuyin"),
    ("芦席", "Luxi"), ("线香", "Xianxiang"), ("纸房", "Zhifang"), ("打金", "Dajin"), ("铁门", "Tiemen"),
    ("三道", "Sandao"), ("四圣", "Sisheng"), ("灯笼", "Denglong"), ("糖房", "Tangfang"), ("米市", "Mishi"),
    ("豆腐", "Doufu"), ("酱园", "Jiangyuan"), ("荷花", "Hehua"), ("杏花", "Xinghua"), ("梅花", "Meihua"),
]
ALLEY_SUFFIXES = [
    ("巷", "Alley"), ("北巷", "North Alley"), ("南巷", "South Alley"), ("横巷", "Cross Alley"),
    ("后巷", "Back Alley"), ("东巷", "East Alley"), ("西巷", "West Alley"),
]
LANE_SURNAMES = [
    ("张", "Zhang"), ("李", "Li"), ("王", "Wang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("罗", "Luo"), ("何", "He"), ("曾", "Zeng"), ("邓", "Deng"), ("廖", "Liao"), ("谢", "Xie"),
    ("吴", "Wu"), ("周", "Zhou"), ("赵", "Zhao"), ("黄", "Huang"), ("徐", "Xu"), ("胡", "Hu"),
    ("郭", "Guo"), ("彭", "Peng"), ("蒋", "Jiang"), ("唐", "Tang"), ("钟", "Zhong"), ("袁", "Yuan"),
    ("冯", "Feng"), ("高", "Gao"), ("林", "Lin"), ("宋", "Song"), ("龚", "Gong"), ("付", "Fu"),
]
CN_DIGITS = "〇一二三四五六七八九"

PERSON_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢廖钟谭"
)
PERSON_GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅玉志"
    "文斌海燕晓东春德小丹凤浩宇欣怡子涵雨婷俊"
)

CATEGORIES = ["dispute", "safety_hazard", "fire", "public_order", "sanitation", "other"]
STAGES = ["reported", "registered", "dispatched", "handled", "verified", "closed"]


def rng_for(stream: int) -> np.random.Generator:
    """Return the random generator of one part of the sample (independent of the other parts)."""
    return np.random.default_rng([SEED, stream])


# ----------------------------------------------------------------------------- geometry helpers


def rotate_xy(xy: np.ndarray, angle: float, pivot: np.ndarray) -> np.ndarray:
    """Rotate coordinates counter-clockwise by ``angle`` degrees about ``pivot`` (m)."""
    a = math.radians(angle)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    return pivot + (np.asarray(xy, float) - pivot) @ rot


def rotate_geom(geom: shapely.Geometry, angle: float, pivot: np.ndarray) -> shapely.Geometry:
    """Rotate a geometry by ``angle`` degrees about ``pivot``."""
    return shapely.transform(geom, lambda xy: rotate_xy(xy, angle, pivot))


def block_angle(poly: shapely.Geometry) -> float:
    """Direction (degrees, -90..90) of the long side of a polygon's minimum rotated rectangle."""
    c = shapely.get_coordinates(shapely.oriented_envelope(poly))[:4]
    edges = np.diff(np.vstack([c, c[:1]]), axis=0)
    k = int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))
    angle = math.degrees(math.atan2(edges[k, 1], edges[k, 0])) % 180.0
    return angle - 180.0 if angle > 90.0 else angle


def facing_south(poly: shapely.Geometry) -> float:
    """Direction (degrees, -45..45) of the block side nearest east-west: rows of homes face south."""
    angle = block_angle(poly)
    return angle - math.copysign(90.0, angle) if abs(angle) > 45.0 else angle


def blob(centre: tuple[float, float], radii: tuple[float, float], rng: np.random.Generator) -> shapely.Polygon:
    """Irregular, smooth, roughly elliptical polygon (a village settlement outline)."""
    theta = np.linspace(0.0, 2.0 * np.pi, 48, endpoint=False)
    phase = rng.uniform(0, 2 * np.pi, 3)
    harmonics = np.array([2, 3, 5])[:, None] * theta + phase[:, None]
    r = 1.0 + np.array([0.10, 0.07, 0.04]) @ np.sin(harmonics)
    xy = np.column_stack([centre[0] + radii[0] * r * np.cos(theta), centre[1] + radii[1] * r * np.sin(theta)])
    return shapely.Polygon(xy)


def sort_polygons(polys: np.ndarray) -> np.ndarray:
    """Order polygons north to south, then west to east (by representative point, 1 m bins)."""
    pts = shapely.get_coordinates(shapely.point_on_surface(polys))
    order = np.lexsort((np.round(pts[:, 0]), -np.round(pts[:, 1])))
    return polys[order]


# ----------------------------------------------------------------------------- street network


class StreetNetwork:
    """Street and boundary lines whose junctions are vertices shared by the lines that meet there.

    Each line keeps its coordinates (plan metres) and attributes: ``highway`` (None for a boundary
    edge that is not a street), ``name``, ``name_en`` and ``role`` (boundary, arterial, street).
    """

    def __init__(self) -> None:
        self.coords: list[np.ndarray] = []
        self.attrs: list[dict] = []
        self.geoms: list[shapely.LineString] = []

    def _set(self, i: int, coords: np.ndarray) -> None:
        self.coords[i] = coords
        self.geoms[i] = shapely.linestrings(coords)

    def insert_vertex(self, i: int, point: np.ndarray) -> np.ndarray:
        """Insert the projection of ``point`` into line ``i`` as a vertex and return it.

        An existing vertex within ``SNAP`` metres is reused instead.
        """
        c = self.coords[i]
        p = np.asarray(point, float)
        dist_v = np.hypot(*(c - p).T)
        k = int(np.argmin(dist_v))
        if dist_v[k] <= SNAP:
            return c[k].copy()
        q, seg = _project(c, p)
        self._set(i, np.insert(c, seg + 1, q, axis=0))
        return q

    def add(self, coords: np.ndarray, *, tol: float = 1e-5, **attrs: object) -> int:
        """Add a line; endpoints lying on other lines and crossings become shared vertices.

        Parameters
        ----------
        coords : array of shape (n, 2)
            Plan coordinates (m).
        tol : float
            An endpoint within ``tol`` metres of an existing line is a T-junction on it.
        **attrs
            ``highway``, ``name``, ``name_en``, ``role``.

        Returns
        -------
        int
            Index of the new line.
        """
        coords = np.array(coords, float)
        if self.geoms:
            lines = np.array(self.geoms, dtype=object)
            for end in (0, -1):
                near = np.flatnonzero(shapely.distance(lines, shapely.points(coords[end])) <= tol)
                for i in near:
                    coords[end] = self.insert_vertex(int(i), coords[end])
            line = shapely.linestrings(coords)
            lines = np.array(self.geoms, dtype=object)
            for i in np.flatnonzero(shapely.intersects(lines, line)):
                inter = shapely.intersection(self.geoms[i], line)
                if shapely.length(inter) > 1e-6:
                    msg = f"line {attrs.get('name')} overlaps line {self.attrs[i].get('name')}"
                    raise ValueError(msg)
                for p in shapely.get_coordinates(inter):
                    if min(np.hypot(*(p - coords[0])), np.hypot(*(p - coords[-1]))) <= SNAP:
                        continue
                    q = self.insert_vertex(int(i), p)
                    coords = _insert_own(coords, q)
                line = shapely.linestrings(coords)
        self.coords.append(coords)
        self.geoms.append(shapely.linestrings(coords))
        self.attrs.append(dict(attrs))
        return len(self.coords) - 1

    def add_clipped(self, coords: np.ndarray, region: shapely.Geometry, **attrs: object) -> list[int]:
        """Add the parts (longer than 2 m) of a line that lie inside ``region``.

        Where a part ends on the region's boundary it joins the boundary line found there.
        """
        inter = shapely.intersection(shapely.linestrings(np.asarray(coords, float)), region)
        parts = [g for g in shapely.get_parts(inter) if g.geom_type == "LineString"]
        if not parts:
            return []
        merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(parts)))
        return [self.add(shapely.get_coordinates(g), **attrs) for g in merged if g.length >= 2.0]

    def array(self) -> np.ndarray:
        """All lines as a shapely array."""
        return np.array(self.geoms, dtype=object)

    def streets(self) -> np.ndarray:
        """Indices of the lines that are streets (not bare boundary edges)."""
        return np.array([i for i, a in enumerate(self.attrs) if a.get("highway")], dtype=int)


def _project(c: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, int]:
    """Closest point to ``p`` on polyline ``c`` and the index of its segment."""
    a, b = c[:-1], c[1:]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(1) / np.maximum((ab * ab).sum(1), 1e-12), 0.0, 1.0)
    q = a + t[:, None] * ab
    seg = int(np.argmin(np.hypot(*(q - p).T)))
    return q[seg], seg


def _insert_own(coords: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Insert vertex ``q`` (already on the line to within rounding) into ``coords``."""
    dist_v = np.hypot(*(coords - q).T)
    k = int(np.argmin(dist_v))
    if dist_v[k] <= SNAP:
        coords = coords.copy()
        coords[k] = q
        return coords
    _, seg = _project(coords, q)
    return np.insert(coords, seg + 1, q, axis=0)


def faces_within(net: StreetNetwork, polygon: shapely.Geometry) -> np.ndarray:
    """Faces of the network lines clipped to ``polygon`` plus its boundary (street blocks), sorted."""
    lines = net.array()
    hit = shapely.intersects(lines, polygon)
    clipped = shapely.get_parts(shapely.intersection(lines[hit], polygon))
    clipped = clipped[shapely.get_type_id(clipped) == 1]
    noded = shapely.node(shapely.geometrycollections([*clipped, polygon.boundary]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return sort_polygons(faces[shapely.area(faces) > 1.0])


def buildable_area(net: StreetNetwork, polygon: shapely.Geometry) -> shapely.Geometry:
    """Part of ``polygon`` outside every street's setback buffer and off its bare edges."""
    idx = net.streets()
    lines = net.array()[idx]
    near = shapely.intersects(lines, shapely.buffer(polygon, 40.0))
    setbacks = np.array([SETBACK[net.attrs[i]["highway"]] for i in idx[near]])
    barrier = shapely.union_all(shapely.buffer(lines[near], setbacks, quad_segs=4))
    return shapely.difference(shapely.buffer(polygon, -EDGE_MARGIN, quad_segs=4), barrier)


class NamePool:
    """Unique street names drawn in a seeded order from word x suffix pairs."""

    def __init__(self, words: list[tuple[str, str]], suffixes: list[tuple[str, str]], rng: np.random.Generator):
        self.names: list[tuple[str, str]] = []
        for suffix, suffix_en in suffixes:  # plain "X巷" names first, variants after
            for k in rng.permutation(len(words)):
                self.names.append((words[k][0] + suffix, f"{words[k][1]} {suffix_en}"))
        self.next = 0

    def take(self) -> tuple[str, str]:
        """Return the next unused (name, name_en)."""
        name = self.names[self.next]
        self.next += 1
        return name


def lattice_streets(
    net: StreetNetwork,
    region: shapely.Geometry,
    *,
    spacing: tuple[float, float],
    angle: float,
    jitter: float,
    drop: Callable[[str, int], float],
    style: Callable[[str, int], dict],
    rng: np.random.Generator,
    clear: float = 12.0,
    axes: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Fill ``region`` with a jittered, rotated lattice of streets and add them to ``net``.

    Lattice nodes closer than ``clear`` metres to the region boundary are bypassed (no slivers);
    then segments are dropped at random with probability ``drop(orientation, line)`` where both
    of their nodes keep at least two other segments, so blocks merge into irregular shapes
    without creating dead ends.  Runs of kept segments become one way each, named by
    ``style(orientation, line)``; orientation "h" runs along the lattice x axis, "v" along y.

    Parameters
    ----------
    spacing : (float, float)
        Node spacing along x and y (m), used when ``axes`` is None.
    angle : float
        Rotation of the lattice (degrees, counter-clockwise).
    jitter : float
        Largest node displacement as a share of the spacing.
    axes : (array, array), optional
        Explicit node positions along x and y in the rotated frame (m from the region centroid).
    """
    pivot = np.array(region.centroid.coords[0])
    if axes is None:
        minx, miny, maxx, maxy = rotate_geom(region, -angle, pivot).bounds
        phase = rng.uniform(0, 1, 2) * spacing
        xs = np.arange(minx - spacing[0] - phase[0], maxx + 2 * spacing[0], spacing[0])
        ys = np.arange(miny - spacing[1] - phase[1], maxy + 2 * spacing[1], spacing[1])
    else:
        xs, ys = pivot[0] + np.asarray(axes[0]), pivot[1] + np.asarray(axes[1])
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    gx = gx + rng.uniform(-1, 1, gx.shape) * jitter * spacing[0]
    gy = gy + rng.uniform(-1, 1, gy.shape) * jitter * spacing[1]
    nodes = rotate_xy(np.column_stack([gx.ravel(), gy.ravel()]), angle, pivot).reshape(*gx.shape, 2)
    pts = shapely.points(nodes.reshape(-1, 2))
    inside = shapely.contains_properly(region, pts)
    near = shapely.distance(region.boundary, pts) < clear
    state = np.where(inside & ~near, 0, np.where(inside, 1, 2)).reshape(gx.shape)  # 0 in, 1 bypass, 2 out

    segments = _lattice_segments(state)
    degree = Counter()
    for _, _, a, b in segments:
        degree[a] += 1
        degree[b] += 1
    keep = np.ones(len(segments), bool)
    for s in rng.permutation(len(segments)):
        orient, line, a, b = segments[s]
        if state[a] or state[b]:
            continue
        if rng.random() < drop(orient, line) and degree[a] >= 3 and degree[b] >= 3:
            keep[s] = False
            degree[a] -= 1
            degree[b] -= 1
    for orient, line, chain in _chains(segments, keep):
        net.add_clipped(nodes[tuple(np.array(chain).T)], region, **style(orient, line))


def _lattice_segments(state: np.ndarray) -> list[tuple[str, int, tuple[int, int], tuple[int, int]]]:
    """Segments between consecutive non-bypassed lattice nodes with at least one node inside."""
    segments = []
    nx, ny = state.shape
    for orient, n_lines, n_nodes in (("h", ny, nx), ("v", nx, ny)):
        for line in range(n_lines):
            seq = [(k, line) if orient == "h" else (line, k) for k in range(n_nodes)]
            seq = [node for node in seq if state[node] != 1]
            for a, b in itertools.pairwise(seq):
                if state[a] == 0 or state[b] == 0:
                    segments.append((orient, line, a, b))
    return segments


def _chains(segments: list, keep: np.ndarray) -> list[tuple[str, int, list]]:
    """Group consecutive kept segments of one lattice line into chains of nodes."""
    chains: list[tuple[str, int, list]] = []
    current = None
    for s, (orient, line, a, b) in enumerate(segments):
        if not keep[s]:
            current = None
            continue
        if current is not None and current[0] == orient and current[1] == line and current[2][-1] == a:
            current[2].append(b)
        else:
            current = (orient, line, [a, b])
            chains.append(current)
    return chains


def add_dead_ends(
    net: StreetNetwork,
    region: shapely.Geometry,
    count: int,
    rng: np.random.Generator,
    highways: tuple[str, ...],
    names: NamePool,
) -> None:
    """Add ``count`` short dead-end alleys branching off alleys inside ``region``."""
    candidates = [
        i for i, a in enumerate(net.attrs)
        if a.get("highway") in highways and shapely.contains(region, net.geoms[i])
    ]
    added = tries = 0
    while added < count and tries < 60 * count:
        tries += 1
        i = candidates[int(rng.integers(len(candidates)))]
        c = net.coords[i]
        k = int(rng.integers(len(c) - 1))
        direction = c[k + 1] - c[k]
        seg_len = float(np.hypot(*direction))
        if seg_len < 20:
            continue
        start = c[k] + rng.uniform(0.3, 0.7) * direction
        normal = np.array([-direction[1], direction[0]]) / seg_len * rng.choice([-1.0, 1.0])
        end = start + rng.uniform(18.0, 30.0) * normal
        stub = shapely.linestrings([start + 2.0 * normal, end])
        others = np.delete(net.array(), i)
        if not shapely.contains(region, stub) or shapely.distance(others, stub).min() < 9.0:
            continue
        name, name_en = names.take()
        net.add([start, end], highway="service", name=name, name_en=name_en, role="street")
        added += 1


# ----------------------------------------------------------------------------- buildings


def fill_cells(
    region: shapely.Geometry,
    *,
    angle: float,
    cell: tuple[float, float],
    width: tuple[float, float],
    depth: tuple[float, float],
    rng: np.random.Generator,
    gap: float = 1.5,
    keep: float = 1.0,
    notch: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Rectangular (a few L-shaped) footprints on a rotated grid of cells inside ``region``.

    Each footprint lies inside its own cell, at least ``gap`` metres from the cell's neighbours,
    so footprints never overlap; only those wholly inside ``region`` are kept.

    Parameters
    ----------
    angle : float
        Direction of the cell rows (degrees).
    cell : (float, float)
        Cell size along and across the rows (m).
    width, depth : (float, float)
        Ranges of the footprint size along and across the rows (m).
    keep : float
        Share of the fitting cells that receive a building.
    notch : float
        Share of footprints that lose a corner (L shape).

    Returns
    -------
    polygons : array of Polygon
    widths : array of float
        Footprint width along the rows (m), e.g. to count stairwells of a slab.
    """
    if region.is_empty:
        return np.empty(0, dtype=object), np.empty(0)
    pivot = np.array(region.centroid.coords[0])
    minx, miny, maxx, maxy = rotate_geom(region, -angle, pivot).bounds
    cw, ch = cell
    # centre the grid on the region (a rectangular block then holds as many cells as fit), shifted a little
    x0 = minx + ((maxx - minx) % cw) * rng.uniform(0.3, 0.7) - cw
    y0 = miny + ((maxy - miny) % ch) * rng.uniform(0.3, 0.7) - ch
    gx, gy = np.meshgrid(np.arange(x0, maxx, cw), np.arange(y0, maxy, ch), indexing="ij")
    gx, gy = gx.ravel(), gy.ravel()
    n = gx.size
    w = np.minimum(rng.uniform(*width, n), cw - gap)
    d = np.minimum(rng.uniform(*depth, n), ch - gap)
    ox = gx + gap / 2 + rng.random(n) * (cw - gap - w)
    oy = gy + gap / 2 + rng.random(n) * (ch - gap - d)
    corners = np.stack([
        np.column_stack([ox, oy]), np.column_stack([ox + w, oy]),
        np.column_stack([ox + w, oy + d]), np.column_stack([ox, oy + d]),
    ], axis=1)
    is_l = rng.random(n) < notch
    corner = rng.integers(0, 4, n)
    frac = rng.uniform(0.3, 0.5, (n, 2))
    polys = np.empty(n, dtype=object)
    plain = np.flatnonzero(~is_l)
    polys[plain] = shapely.polygons(rotate_xy(corners[plain].reshape(-1, 2), angle, pivot).reshape(-1, 4, 2))
    ls = np.flatnonzero(is_l)
    if ls.size:
        rolled = corners[ls[:, None], (corner[ls, None] + np.arange(4)) % 4]  # notched corner first
        r0, r1, r2, r3 = (rolled[:, k] for k in range(4))
        a = r0 + (r3 - r0) * frac[ls, :1]
        b = r0 + (r1 - r0) * frac[ls, 1:]
        inner = a + (b - r0)
        rings = np.stack([a, inner, b, r1, r2, r3], axis=1)
        polys[ls] = shapely.polygons(rotate_xy(rings.reshape(-1, 2), angle, pivot).reshape(-1, 6, 2))
    shapely.prepare(region)
    ok = shapely.contains_properly(region, polys) & (rng.random(n) < keep)
    return polys[ok], w[ok]


def place_rect(region: shapely.Geometry, centre: tuple[float, float], size: tuple[float, float], angle: float = 0.0):
    """A ``size`` rectangle as near ``centre`` as fits wholly inside ``region`` (spiral search)."""
    w, d = size
    base = np.array([[-w / 2, -d / 2], [w / 2, -d / 2], [w / 2, d / 2], [-w / 2, d / 2]])
    base = rotate_xy(base, angle, np.zeros(2))
    for r in np.arange(0.0, 80.0, 4.0):
        for t in np.arange(0, 360, 30 if r else 360):
            c = np.asarray(centre) + r * np.array([math.cos(math.radians(t)), math.sin(math.radians(t))])
            rect = shapely.Polygon(base + c)
            if shapely.contains_properly(region, rect):
                return rect
    msg = f"no room for a {w}x{d} m building near {centre}"
    raise ValueError(msg)


class Buildings:
    """Collects building footprints and attributes of one community."""

    def __init__(self, community_id: str) -> None:
        self.community_id = community_id
        self.rows: list[dict] = []

    def add(self, geoms, use, levels, households, names=None) -> None:
        """Append buildings; scalar attributes are broadcast."""
        n = len(geoms)
        use = np.broadcast_to(np.asarray(use, dtype=object), (n,))
        levels = np.broadcast_to(np.asarray(levels, int), (n,))
        households = np.broadcast_to(np.asarray(households, int), (n,))
        names = [""] * n if names is None else names
        for k in range(n):
            self.rows.append({
                "geometry": geoms[k], "use": str(use[k]), "levels": int(levels[k]),
                "households": int(households[k]), "name": names[k], "community_id": self.community_id,
            })


def reserve(region: shapely.Geometry, rect: shapely.Geometry, gap: float = 3.0) -> shapely.Geometry:
    """Remove a placed building (and a gap around it) from the area still free for others."""
    return shapely.difference(region, shapely.buffer(rect, gap, quad_segs=2, join_style="mitre"))


def slab_households(levels: np.ndarray, widths: np.ndarray, rng: np.random.Generator, span: float = 14.0) -> np.ndarray:
    """Households of slab blocks: one stairwell per ``span`` metres, two flats per landing."""
    stairs = np.maximum(1, np.round(widths / span)).astype(int)
    return levels * stairs * rng.choice([2, 2, 2, 3], size=levels.size)


def small_house_households(polys, levels, rng, m2_per_household, low, high) -> np.ndarray:
    """Households of a small house from its floor area, clipped to [low, high]."""
    floor = shapely.area(polys) * levels * rng.uniform(0.6, 1.0, len(polys))
    return np.clip(np.round(floor / m2_per_household), low, high).astype(int)


def compound_names(polys: np.ndarray, prefix: str) -> list[str]:
    """Number buildings of a compound 1栋, 2栋 ... north to south, west to east."""
    pts = shapely.get_coordinates(shapely.centroid(polys))
    order = np.lexsort((pts[:, 0], -np.round(pts[:, 1] / 25.0)))
    names = [""] * len(polys)
    for number, k in enumerate(order, start=1):
        names[k] = f"{prefix}{number}栋"
    return names


# ----------------------------------------------------------------------------- district frame


def district_frame(net: StreetNetwork) -> shapely.Polygon:
    """Add the outer boundary and the arterials; return the street office polygon.

    The north and west edges are boundary roads; the east edge follows a field ditch and the
    south edge a river, which are community boundaries but not streets.
    """
    west = [(0, 0), (-12, 480), (-6, 960), (8, 1420), (0, 1800)]
    north = [(0, 1800), (600, 1815), (1250, 1830), (1800, 1818), (2300, 1800)]
    east = [(2300, 1800), (2335, 1550), (2310, 1290), (2280, 1040), (2330, 780), (2355, 520), (2310, 260), (2270, 0)]
    south = [(2270, 0), (1900, -30), (1500, -10), (1100, -45), (700, -20), (300, -35), (0, 0)]
    net.add(west, highway="secondary", name="西城路", name_en="Xicheng Road", role="boundary")
    net.add(north, highway="primary", name="北环路", name_en="North Ring Road", role="boundary")
    net.add(east, highway=None, name="东风渠", name_en="Dongfeng Ditch", role="boundary")
    net.add(south, highway=None, name="沙河", name_en="Sha River", role="boundary")
    outer = shapely.Polygon(west + north[1:] + east[1:] + south[1:])

    j2, j3 = (650.0, 945.0), (1300.0, 958.0)  # arterial junctions, shared vertices
    artery = {"highway": "primary", "role": "arterial"}
    net.add_clipped([(-50, 925), j2], outer, name="蜀锦路", name_en="Shujin Road", **artery)
    net.add_clipped([j2, (975, 952), j3], outer, name="蜀锦路", name_en="Shujin Road", **artery)
    net.add_clipped([j3, (1850, 972), (2450, 1000)], outer, name="蜀锦路", name_en="Shujin Road", **artery)
    net.add_clipped([(655, -100), (652, 470), j2], outer, name="芙蓉大道", name_en="Furong Avenue", **artery)
    net.add_clipped([j2, (656, 1380), (662, 1900)], outer, name="芙蓉大道", name_en="Furong Avenue", **artery)
    net.add_clipped([j3, (1303, 1390), (1308, 1900)], outer, name="金沙路", name_en="Jinsha Road", **artery)
    return outer


def community_faces(net: StreetNetwork) -> dict[str, shapely.Polygon]:
    """Faces of the boundary and arterial lines, keyed by community id."""
    frame = [g for g, a in zip(net.geoms, net.attrs, strict=True) if a["role"] in ("boundary", "arterial")]
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.node(shapely.multilinestrings(frame)))))
    out = {}
    for cid, *_, point in COMMUNITIES:
        (k,) = np.flatnonzero(shapely.contains_xy(faces, *point))
        out[cid] = faces[k]
    return out


# ----------------------------------------------------------------------------- C01 old quarter


def streets_old_quarter(net: StreetNetwork, face: shapely.Polygon, alleys: NamePool, rng: np.random.Generator) -> dict:
    """Old quarter: two through streets, then irregular hutong-like alleys in each quadrant.

    East-west alleys (living streets) are long; north-south connectors (service) are short and
    staggered because about half of them are dropped.
    """
    net.add_clipped([(332, 880), (326, 1370), (334, 1900)], face,
                    highway="tertiary", name="文庙街", name_en="Wenmiao Street", role="street")
    net.add_clipped([(-60, 1375), (326, 1370), (720, 1366)], face,
                    highway="residential", name="槐树街", name_en="Huaishu Street", role="street")
    for quadrant in faces_within(net, face):
        row_names: dict[int, tuple[str, str]] = {}

        def style(orient: str, line: int, row_names=row_names) -> dict:
            if orient == "h":  # one name per lattice row, even where the row is broken
                if line not in row_names:
                    row_names[line] = alleys.take()
                name = row_names[line]
                return {"highway": "living_street", "name": name[0], "name_en": name[1], "role": "street"}
            name = alleys.take()
            return {"highway": "service", "name": name[0], "name_en": name[1], "role": "street"}

        lattice_streets(net, quadrant, spacing=(70.0, 50.0), angle=float(rng.uniform(-5, 5)), jitter=0.16,
                        drop=lambda o, _: 0.08 if o == "h" else 0.45, style=style, rng=rng, clear=11.0)
    add_dead_ends(net, face, 9, rng, ("living_street", "service"), alleys)
    return {}


def buildings_old_quarter(ctx: dict, rng: np.random.Generator) -> Buildings:
    """Courtyard houses of 1-3 levels and 2-12 households, shop houses on 文庙街, a market."""
    out = Buildings(ctx["id"])
    free = ctx["buildable"]
    specials = [
        ((430, 1215), (46, 34), "commercial", 1, "锦里菜市场"),
        ((165, 1310), (32, 18), "public", 2, "锦里社区党群服务中心"),
        ((205, 1640), (40, 26), "public", 1, "文庙"),
        ((520, 1560), (26, 16), "public", 2, "锦里派出所警务室"),
    ]
    for centre, size, use, levels, name in specials:
        rect = place_rect(free, centre, size)
        out.add([rect], use, levels, 0, [name])
        free = reserve(free, rect)
        ctx.setdefault("landmarks", {})[name] = np.array(rect.centroid.coords[0])
    main_street = ctx["named"]("文庙街")
    for block in ctx["blocks"]:
        region = shapely.intersection(block, free)
        polys, _ = fill_cells(region, angle=facing_south(block), cell=(16.0, 17.0), width=(9.0, 14.5),
                              depth=(9.0, 15.5), rng=rng, gap=1.4, keep=0.85, notch=0.3)
        if not len(polys):
            continue
        shop = shapely.distance(main_street, polys) < 26.0
        levels = rng.choice([1, 2, 3], size=len(polys), p=[0.3, 0.5, 0.2])
        levels[shop] = rng.choice([2, 3], size=int(shop.sum()))
        households = small_house_households(polys, levels, rng, 40.0, 2, 12)
        households[shop] = np.clip(households[shop] // 2, 1, 6)
        out.add(polys, np.where(shop, "mixed", "residential"), levels, households)
    return out


# ----------------------------------------------------------------------------- C02 high-rise compounds

HIGH_RISE_COMPOUNDS = {  # position -> name, name_en, style
    "NW": ("天府花园一期", "Tianfu Huayuan Phase I", "point_towers"),
    "NE": ("天府花园二期", "Tianfu Huayuan Phase II", "slab_towers"),
    "SW": ("紫荆苑", "Zijing Yuan", "slabs"),
    "SE": ("锦绣华庭", "Jinxiu Huating", "mixed"),
}


def streets_high_rise(net: StreetNetwork, face: shapely.Polygon, rng: np.random.Generator) -> dict:
    """Four gated compounds between two streets, each cut by internal footways."""
    net.add_clipped([(975, 900), (971, 1390), (977, 1900)], face,
                    highway="tertiary", name="桂溪路", name_en="Guixi Road", role="street")
    net.add_clipped([(600, 1386), (971, 1390), (1350, 1394)], face,
                    highway="residential", name="紫荆路", name_en="Zijing Road", role="street")
    compounds = {}
    for block in faces_within(net, face):
        cx, cy = block.centroid.coords[0]
        key = ("N" if cy > 1390 else "S") + ("W" if cx < 971 else "E")
        name, name_en, _ = HIGH_RISE_COMPOUNDS[key]
        compounds[key] = block
        minx, miny, maxx, maxy = block.bounds
        n_ns, n_ew = {"NW": (1, 2), "NE": (2, 1), "SW": (1, 2), "SE": (1, 1)}[key]
        number = 0
        for k in range(1, n_ns + 1):
            x = minx + (maxx - minx) * (k / (n_ns + 1) + rng.uniform(-0.06, 0.06))
            ys = np.linspace(miny - 30, maxy + 30, 7)
            number += 1
            net.add_clipped(np.column_stack([x + rng.uniform(-5, 5, 7), ys]), block, highway="footway",
                            name=f"{name}{number}号步道", name_en=f"{name_en} Footway {number}", role="street")
        for k in range(1, n_ew + 1):
            y = miny + (maxy - miny) * (k / (n_ew + 1) + rng.uniform(-0.06, 0.06))
            xs = np.linspace(minx - 30, maxx + 30, 7)
            number += 1
            net.add_clipped(np.column_stack([xs, y + rng.uniform(-5, 5, 7)]), block, highway="path",
                            name=f"{name}{number}号步道", name_en=f"{name_en} Footway {number}", role="street")
    return {"compounds": compounds}


def buildings_high_rise(ctx: dict, rng: np.random.Generator) -> Buildings:
    """Towers of 18-33 levels (150-400 households), mid-rise slabs, shops and a kindergarten."""
    out = Buildings(ctx["id"])
    free = ctx["buildable"]
    for centre, size, use, levels, name in [
        ((1190, 1240), (34, 20), "public", 3, "天府花园社区党群服务中心"),
        ((1080, 1280), (48, 30), "school", 3, "天府花园幼儿园"),
    ]:
        rect = place_rect(free, centre, size)
        out.add([rect], use, levels, 0, [name])
        free = reserve(free, rect, 8.0)
        ctx.setdefault("landmarks", {})[name] = np.array(rect.centroid.coords[0])
    compounds = ctx["plan"]["compounds"]
    n_towers = {"NW": 12, "NE": 10, "SE": 5}
    for key in ("NW", "NE", "SW", "SE"):
        name, _, style = HIGH_RISE_COMPOUNDS[key]
        compound = compounds[key]
        blocks = [b for b in ctx["blocks"] if shapely.contains(compound, b.point_on_surface())]
        towers, slabs, shops = [], [], []
        for block in blocks:
            region = shapely.buffer(shapely.intersection(block, free), -4.0)
            if style == "slabs":
                polys, w = fill_cells(region, angle=0.0, cell=(62.0, 40.0), width=(40.0, 56.0), depth=(12.0, 14.0),
                                      rng=rng, gap=6.0)
                slabs.append((polys, w))
            elif style == "mixed" and block.centroid.y < 1120:
                polys, _ = fill_cells(region, angle=0.0, cell=(36.0, 26.0), width=(18.0, 30.0), depth=(12.0, 18.0),
                                      rng=rng, gap=5.0, keep=0.7)
                shops.append(polys)
            else:
                point = style != "slab_towers"
                polys, w = fill_cells(region, angle=0.0, cell=(58.0, 76.0),
                                      width=(24.0, 30.0) if point else (42.0, 54.0),
                                      depth=(17.0, 21.0) if point else (15.0, 18.0), rng=rng, gap=8.0)
                towers.append((polys, w))
        if towers:
            polys = np.concatenate([p for p, _ in towers])
            w = np.concatenate([w for _, w in towers])
            pick = np.sort(rng.choice(len(polys), size=min(n_towers[key], len(polys)), replace=False))
            polys, w = polys[pick], w[pick]
            levels = rng.integers(18, 34, len(polys))
            per_floor = np.where(w > 36, rng.integers(8, 13, len(polys)), rng.integers(6, 9, len(polys)))
            households = np.clip(levels * per_floor, 150, 400)
            out.add(polys, "residential", levels, households, compound_names(polys, name))
        if slabs:
            polys = np.concatenate([p for p, _ in slabs])
            w = np.concatenate([w for _, w in slabs])
            pick = np.sort(rng.choice(len(polys), size=min(14, len(polys)), replace=False))
            polys, w = polys[pick], w[pick]
            levels = rng.integers(7, 12, len(polys))
            out.add(polys, "residential", levels, slab_households(levels, w, rng), compound_names(polys, name))
        if shops:
            polys = np.concatenate(shops)
            out.add(polys, "commercial", rng.integers(1, 4, len(polys)), 0)
    return out


# ----------------------------------------------------------------------------- C03 mixed blocks

MIXED_COLUMNS = {1: ("长寿路", "Changshou Road"), 2: ("友谊路", "Youyi Road"), 3: ("新华路", "Xinhua Road"),
                 4: ("文化路", "Wenhua Road"), 5: ("育才路", "Yucai Road")}
MIXED_ROWS = {3: ("东风街", "Dongfeng Street"), 7: ("光华街", "Guanghua Street"), 11: ("建设街", "Jianshe Street")}


def streets_mixed(net: StreetNetwork, face: shapely.Polygon, alleys: NamePool, rng: np.random.Generator) -> dict:
    """A regular grid: one secondary street, tertiary and residential streets, service lanes."""
    pivot = np.array(face.centroid.coords[0])
    xs = np.array([-60, 115, 225, 335, 445, 550, 720]) - pivot[0]
    ys = np.array([-80, 75, 145, 215, 285, 355, 425, 495, 565, 635, 705, 775, 845, 1010]) - pivot[1]
    lanes: dict[int, tuple[str, str]] = {}

    def style(orient: str, line: int) -> dict:
        if orient == "v":
            name, name_en = MIXED_COLUMNS[line]
            return {"highway": "secondary" if line == 3 else "residential", "name": name, "name_en": name_en,
                    "role": "street"}
        if line in MIXED_ROWS:
            name, name_en = MIXED_ROWS[line]
            return {"highway": "tertiary", "name": name, "name_en": name_en, "role": "street"}
        if line not in lanes:
            lanes[line] = alleys.take()
        name, name_en = lanes[line]
        return {"highway": "service", "name": name, "name_en": name_en, "role": "street"}

    def drop(orient: str, line: int) -> float:
        if orient == "v":
            return 0.0 if line == 3 else 0.1
        return 0.0 if line in MIXED_ROWS else 0.15

    lattice_streets(net, face, spacing=(110.0, 70.0), angle=0.0, jitter=0.02, drop=drop, style=style, rng=rng,
                    clear=20.0, axes=(xs, ys))
    return {}


def buildings_mixed(ctx: dict, rng: np.random.Generator) -> Buildings:
    """Mid-rise housing (5-9 levels), shop houses on 新华路, shops, a school, offices."""
    out = Buildings(ctx["id"])
    free = ctx["buildable"]
    blocks = ctx["blocks"]

    def block_at(x: float, y: float) -> shapely.Geometry:
        return blocks[int(np.flatnonzero(shapely.contains_xy(blocks, x, y))[0])]

    school = block_at(170, 330)
    offices = block_at(600, 880)
    specials = [
        ((170, 352), (62, 16), "school", 4, "新华路小学教学楼"),
        ((150, 305), (30, 14), "school", 3, "新华路小学综合楼"),
        ((585, 905), (38, 24), "office", 18, "蜀锦大厦"),
        ((590, 840), (34, 22), "office", 12, "新华商务楼"),
        ((400, 620), (30, 16), "public", 3, "新华路社区党群服务中心"),
        ((400, 585), (34, 14), "public", 4, "新华路社区卫生服务中心"),
    ]
    for centre, size, use, levels, name in specials:
        rect = place_rect(free, centre, size)
        out.add([rect], use, levels, 0, [name])
        free = reserve(free, rect, 6.0)
        ctx.setdefault("landmarks", {})[name] = np.array(rect.centroid.coords[0])
    main_street = ctx["named"]("新华路")
    arterial = ctx["named"]("蜀锦路")
    for block in blocks:
        if block.equals(school) or block.equals(offices):
            continue
        region = shapely.intersection(block, free)
        polys, w = fill_cells(region, angle=facing_south(block), cell=(45.0, 29.0), width=(26.0, 40.0),
                              depth=(11.0, 13.5), rng=rng, gap=6.0, keep=0.7)
        if not len(polys):
            continue
        n = len(polys)
        levels = rng.integers(5, 10, n)
        households = slab_households(levels, w, rng)
        use = np.full(n, "residential", dtype=object)
        shop_house = shapely.distance(main_street, polys) < 40.0
        use[shop_house] = "mixed"
        households[shop_house] = slab_households(levels[shop_house] - 1, w[shop_house], rng)
        shops = (shapely.distance(arterial, polys) < 40.0) | (rng.random(n) < 0.1)
        use[shops] = "commercial"
        levels[shops] = rng.integers(1, 4, int(shops.sum()))
        households[shops] = 0
        out.add(polys, use, levels, households)
    return out


# ----------------------------------------------------------------------------- C04 work unit and park


def streets_work_unit(net: StreetNetwork, face: shapely.Polygon, rng: np.random.Generator) -> dict:
    """A factory's housing compound (单位大院), newer mid-rise estates, a creative park and a park."""
    net.add_clipped([(1800, 900), (1797, 1400), (1803, 1900)], face,
                    highway="residential", name="红星路", name_en="Hongxing Road", role="street")
    net.add_clipped([(1250, 1398), (1797, 1400), (2400, 1405)], face,
                    highway="tertiary", name="厂前路", name_en="Changqian Road", role="street")
    quarters = {}
    for block in faces_within(net, face):
        cx, cy = block.centroid.coords[0]
        quarters[("N" if cy > 1400 else "S") + ("W" if cx < 1797 else "E")] = block
    net.add_clipped([(2050, 1300), (2052, 1900)], quarters["NE"],
                    highway="residential", name="公园路", name_en="Gongyuan Road", role="street")
    for block in faces_within(net, quarters["NE"]):
        quarters["NE-W" if block.centroid.x < 2050 else "park"] = block

    def numbered(prefix: str, prefix_en: str, highway_h: str, highway_v: str) -> Callable[[str, int], dict]:
        numbers: dict[tuple[str, int], int] = {}

        def style(orient: str, line: int) -> dict:
            k = numbers.setdefault((orient, line), len(numbers) + 1)
            return {"highway": highway_h if orient == "h" else highway_v, "name": f"{prefix}{k}号路",
                    "name_en": f"{prefix_en} Road {k}", "role": "street"}
        return style

    for key, prefix, prefix_en, spacing, drop_p, highways in [
        ("NW", "红星大院", "Hongxing Compound", (72.0, 104.0), 0.1, ("service", "service")),
        ("NE-W", "红星新村", "Hongxing Xincun", (82.0, 68.0), 0.1, ("residential", "service")),
        ("SW", "红星创意园", "Hongxing Creative Park", (125.0, 110.0), 0.0, ("service", "service")),
        ("SE", "红星东苑", "Hongxing Dongyuan", (95.0, 78.0), 0.15, ("residential", "service")),
    ]:
        lattice_streets(net, quarters[key], spacing=spacing, angle=0.0, jitter=0.03,
                        drop=lambda _o, _l, p=drop_p: p, style=numbered(prefix, prefix_en, *highways), rng=rng,
                        clear=18.0)
    park_paths(net, quarters["park"], rng)
    return {"quarters": quarters}


def park_paths(net: StreetNetwork, park: shapely.Polygon, rng: np.random.Generator) -> None:
    """A loop footway round the park's lawn and four paths from it to the streets outside."""
    minx, miny, maxx, maxy = park.bounds
    centre = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    theta = np.linspace(0, 2 * np.pi, 37)[:-1]
    radii = np.array([0.28 * (maxx - minx), 0.3 * (maxy - miny)]) * (1 + 0.06 * np.sin(3 * theta + 1.0))[:, None]
    ring = centre + radii * np.column_stack([np.cos(theta), np.sin(theta)])
    ring = np.vstack([ring, ring[:1]])
    net.add(ring, highway="footway", name="红星公园环道", name_en="Hongxing Park Loop", role="street")
    for k, vertex in enumerate((0, 9, 18, 27), start=1):
        start = ring[vertex]
        direction = (start - centre) / np.hypot(*(start - centre))
        bend = rotate_xy(direction, float(rng.uniform(-15, 15)), np.zeros(2))
        coords = [start, start + 60 * direction, start + 60 * direction + 400 * bend]
        net.add_clipped(coords, park, highway="footway", name=f"红星公园{k}号步道",
                        name_en=f"Hongxing Park Footway {k}", role="street")


def buildings_work_unit(ctx: dict, rng: np.random.Generator) -> Buildings:
    """Six-storey walk-ups of a factory compound, newer mid-rise estates, offices, a school; a park."""
    out = Buildings(ctx["id"])
    free = ctx["buildable"]
    quarters = ctx["plan"]["quarters"]
    free = shapely.difference(free, quarters["park"])  # the park stays free of buildings
    specials = [
        ((1560, 1440), (50, 16), "office", 4, "红星机械厂办公楼"),
        ((1660, 1600), (34, 20), "public", 2, "红星社区党群服务中心"),
        ((1380, 1505), (48, 18), "public", 4, "红星职工医院"),
        ((1390, 1320), (64, 16), "school", 4, "红星小学教学楼"),
        ((1400, 1255), (40, 14), "school", 3, "红星小学综合楼"),
    ]
    for centre, size, use, levels, name in specials:
        rect = place_rect(free, centre, size)
        out.add([rect], use, levels, 0, [name])
        free = reserve(free, rect, 6.0)
        ctx.setdefault("landmarks", {})[name] = np.array(rect.centroid.coords[0])
    playground = shapely.box(1330, 1150, 1450, 1230)  # the school's sports ground
    free = shapely.difference(free, playground)
    estates: dict[str, list] = {"红星大院": [], "红星新村": [], "红星东苑": []}
    for block in ctx["blocks"]:
        region = shapely.intersection(block, free)
        here = block.point_on_surface()
        if shapely.contains(quarters["NW"], here):  # 1960s walk-ups, 5-7 levels
            polys, w = fill_cells(region, angle=0.0, cell=(64.0, 32.0), width=(44.0, 58.0), depth=(10.5, 12.5),
                                  rng=rng, gap=5.0, keep=0.95)
            levels = rng.choice([5, 6, 6, 6, 7], size=len(polys))
            estates["红星大院"].append((polys, levels, slab_households(levels, w, rng, 15.0)))
        elif shapely.contains(quarters["NE-W"], here) or shapely.contains(quarters["SE"], here):
            estate = "红星新村" if shapely.contains(quarters["NE-W"], here) else "红星东苑"
            polys, w = fill_cells(region, angle=0.0, cell=(60.0, 36.0), width=(36.0, 52.0), depth=(11.5, 13.5),
                                  rng=rng, gap=6.0, keep=0.85 if estate == "红星新村" else 0.6)
            levels = rng.integers(6, 10, len(polys))
            estates[estate].append((polys, levels, slab_households(levels, w, rng)))
        elif shapely.contains(quarters["SW"], here):  # the old factory, now offices and shops
            polys, _ = fill_cells(region, angle=0.0, cell=(54.0, 46.0), width=(26.0, 44.0), depth=(16.0, 28.0),
                                  rng=rng, gap=8.0, keep=0.6)
            office = rng.random(len(polys)) < 0.6
            levels = np.where(office, rng.integers(3, 9, len(polys)), rng.integers(1, 4, len(polys)))
            out.add(polys, np.where(office, "office", "commercial"), levels, 0)
    for estate, parts in estates.items():
        polys = np.concatenate([p for p, _, _ in parts])
        out.add(polys, "residential", np.concatenate([lv for _, lv, _ in parts]),
                np.concatenate([h for _, _, h in parts]), compound_names(polys, estate))
    return out


# ----------------------------------------------------------------------------- C05 village


VILLAGE_GROUPS = [  # centre, radii, group number (the first straddles 青杠路: groups 1 and 2)
    ((1040.0, 722.0), (290.0, 168.0), 1),
    ((1750.0, 335.0), (200.0, 108.0), 3),
    ((2130.0, 760.0), (150.0, 108.0), 4),
]


def streets_village(net: StreetNetwork, face: shapely.Polygon, rng: np.random.Generator) -> dict:
    """Village roads and field paths across the fields, then irregular lanes in each settlement.

    Each settlement (村民小组) is ringed by a lane; inside it a jittered lattice of lanes with
    many segments dropped gives irregular blocks.
    """
    street = {"role": "street"}
    net.add_clipped([(1000, 1000), (990, 800), (1020, 560), (980, 300), (1010, -100)], face,
                    highway="tertiary", name="青杠路", name_en="Qinggang Road", **street)
    (yangliu,) = net.add_clipped([(600, 480), (1000, 500), (1400, 470), (1800, 505), (2200, 475), (2450, 490)],
                                 face, highway="residential", name="杨柳路", name_en="Yangliu Road", **street)
    on_yangliu = shapely.intersection(net.geoms[yangliu], shapely.linestrings([(2060, 0), (2060, 1000)]))
    for k, coords in enumerate([
        [(1450, 1000), (1440, 700), (1460, 300), (1445, -100)],
        [shapely.get_coordinates(on_yangliu)[0], (2050, 300), (2065, -100)],
        [(600, 190), (1000, 202), (1500, 180), (2000, 195), (2450, 185)],
    ], start=1):
        net.add_clipped(coords, face, highway="path", name=f"青杠村{k}号机耕道",
                        name_en=f"Qinggang Farm Track {k}", **street)
    lane_suffixes = [("家巷", "jia Lane"), ("家院巷", "jiayuan Lane"), ("家湾巷", "jiawan Lane")]
    surnames = NamePool(LANE_SURNAMES, lane_suffixes, rng)
    settlements = []
    for centre, radii, group in VILLAGE_GROUPS:
        outline = blob(centre, radii, rng)
        settlements.append(outline)
        for part, coarse in enumerate(f for f in faces_within(net, face) if f.intersection(outline).area > 1000):
            g = group + part
            ring = shapely.get_coordinates(outline.exterior)
            net.add_clipped(ring, coarse, highway="service", name=f"{CN_DIGITS[g]}组环村路",
                            name_en=f"Group {g} Ring Lane", **street)
            row_names: dict[int, tuple[str, str]] = {}
            lanes = [0]

            def style(orient: str, line: int, g=g, row_names=row_names, lanes=lanes) -> dict:
                if orient == "h":  # long lanes carry a family name, cross lanes a number
                    if line not in row_names:
                        row_names[line] = surnames.take()
                    name, name_en = row_names[line]
                else:
                    lanes[0] += 1
                    name, name_en = f"{CN_DIGITS[g]}组{lanes[0]}巷", f"Group {g} Lane {lanes[0]}"
                return {"highway": "service", "name": name, "name_en": name_en, "role": "street"}

            for region in faces_within(net, coarse):
                if shapely.contains(outline, region.point_on_surface()):
                    lattice_streets(net, region, spacing=(50.0, 42.0), angle=float(rng.uniform(-12, 12)),
                                    jitter=0.22, drop=lambda _o, _l: 0.3, style=style, rng=rng, clear=9.0)
            # access lanes: from the settlement's northmost and southmost points to the next road
            ring = ring[shapely.distance(coarse.boundary, shapely.points(ring)) > 30.0]
            for k, vertex in ((1, ring[np.argmax(ring[:, 1])]), (2, ring[np.argmin(ring[:, 1])])):
                ahead = vertex + np.array([0.0, 600.0 if k == 1 else -600.0])
                net.add_clipped([vertex, ahead], coarse, highway="service", name=f"{CN_DIGITS[g]}组进村路{k}",
                                name_en=f"Group {g} Access Lane {k}", **street)
    return {"settlements": settlements}


def buildings_village(ctx: dict, rng: np.random.Generator) -> Buildings:
    """Small village houses (2-4 levels, 1-6 households), a market, workshops; empty fields."""
    out = Buildings(ctx["id"])
    free = ctx["buildable"]
    specials = [
        ((935, 610), (40, 26), "commercial", 1, "青杠农贸市场"),
        ((1060, 650), (30, 16), "public", 2, "青杠村村民委员会"),
        ((1320, 580), (46, 22), "commercial", 1, "青杠村1号厂房"),
        ((1380, 460), (40, 20), "commercial", 1, "青杠村2号厂房"),
        ((2180, 580), (50, 24), "commercial", 1, "青杠村3号厂房"),
        ((1650, 580), (36, 18), "commercial", 1, "青杠村4号厂房"),
        ((2150, 455), (44, 20), "commercial", 1, "青杠村5号厂房"),
    ]
    for centre, size, use, levels, name in specials:
        rect = place_rect(free, centre, size)
        out.add([rect], use, levels, 0, [name])
        free = reserve(free, rect, 4.0)
        ctx.setdefault("landmarks", {})[name] = np.array(rect.centroid.coords[0])
    settled = shapely.union_all(ctx["plan"]["settlements"])
    for block in ctx["blocks"]:
        if not shapely.contains(settled, block.point_on_surface()):
            continue  # fields
        region = shapely.intersection(block, free)
        polys, _ = fill_cells(region, angle=block_angle(block) + float(rng.uniform(-6, 6)), cell=(14.5, 13.5),
                              width=(8.5, 13.0), depth=(8.0, 12.0), rng=rng, gap=1.5, keep=0.9, notch=0.25)
        levels = rng.choice([2, 3, 4], size=len(polys), p=[0.35, 0.45, 0.2])
        households = small_house_households(polys, levels, rng, 50.0, 1, 6)
        out.add(polys, "residential", levels, households)
    return out


# ----------------------------------------------------------------------------- people and events


def add_population(buildings: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Population from households: about 2.3-3.0 persons per household, varying by community."""
    persons = {"old_quarter": 2.35, "high_rise": 2.65, "mixed": 2.5, "work_unit": 2.4, "village": 2.95}
    mean = buildings["kind"].map(persons).to_numpy(float)
    ratio = np.clip(rng.normal(mean, 0.25), 1.6, 4.0)
    hh = buildings["households"].to_numpy()
    return np.where(hh > 0, np.maximum(hh, np.round(hh * ratio)), 0).astype(int)


def person_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct Chinese personal names."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        given = "".join(rng.choice(PERSON_GIVEN, size=int(rng.choice([1, 2], p=[0.3, 0.7]))))
        name = str(rng.choice(PERSON_SURNAMES)) + given
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def make_wardens(buildings: pd.DataFrame, landmarks: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Warden roster: full-time per ~target households, part-time, police, volunteers.

    Full-time, part-time wardens and volunteers live at a residential building of their
    community; police officers sit at the community's police office or service centre.
    """
    rows = []
    for cid, _, _, _, target, _ in COMMUNITIES:
        mine = buildings[(buildings["community_id"] == cid) & (buildings["households"] > 0)]
        n_full = round(mine["households"].sum() / target)
        counts = {"full_time": n_full, "part_time": max(1, round(0.3 * n_full)),
                  "police": max(2, round(n_full / 6)), "volunteer": max(2, round(0.5 * n_full))}
        station = landmarks[cid]
        for role, count in counts.items():
            if role == "police":
                xy = station + rng.normal(0, 3.0, (count, 2))
            else:
                w = mine["households"].to_numpy(float)
                pick = rng.choice(len(mine), size=count, p=w / w.sum())
                xy = mine[["x", "y"]].to_numpy()[pick]
            capacity = 2 if role == "police" else 1
            rows += [{"role": role, "capacity": capacity, "community_id": cid, "x": p[0], "y": p[1]} for p in xy]
    table = pd.DataFrame(rows)
    table.insert(0, "warden_id", [f"W{k:03d}" for k in range(1, len(table) + 1)])
    table.insert(1, "name", person_names(len(table), rng))
    return table


CATEGORY_MIX = {  # shares by community kind, in the order of CATEGORIES
    "old_quarter": [0.22, 0.20, 0.12, 0.14, 0.24, 0.08],
    "high_rise": [0.30, 0.22, 0.06, 0.12, 0.18, 0.12],
    "mixed": [0.18, 0.16, 0.05, 0.22, 0.27, 0.12],
    "work_unit": [0.24, 0.24, 0.06, 0.10, 0.22, 0.14],
    "village": [0.20, 0.20, 0.10, 0.12, 0.30, 0.08],
    "market": [0.20, 0.10, 0.03, 0.30, 0.35, 0.02],
}
HANDLE_HOURS = {"dispute": 30.0, "safety_hazard": 8.0, "fire": 2.0, "public_order": 3.0, "sanitation": 10.0,
                "other": 12.0, "traffic": 6.0}
MONTH_WEIGHT = np.array([0.8, 0.7, 0.9, 1.0, 1.05, 1.15, 1.2, 1.2, 1.05, 1.0, 0.95, 0.9])
HOUR_WEIGHT = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.1, 1.8,
                        1.4, 1.5, 1.8, 1.9, 1.8, 1.6, 1.4, 1.3, 1.2, 1.0, 0.7, 0.5])


def incident_places(buildings: pd.DataFrame, landmarks: dict, outer: shapely.Polygon, rng: np.random.Generator):
    """Where incidents happen: near buildings (by households and use), plus two hot spots."""
    kind = buildings["kind"].to_numpy()
    hh = buildings["households"].to_numpy(float)
    busier = np.where(kind == "village", 1.8, np.where(kind == "old_quarter", 1.4, 1.0))
    weight = np.where(hh > 0, hh**0.85, 0.0) * busier
    by_use = {"commercial": 12.0, "school": 8.0, "office": 5.0, "public": 5.0}
    weight += buildings["use"].map(by_use).fillna(0).to_numpy()
    n_base, n_market, n_village = 9400, 700, 600
    pick = rng.choice(len(buildings), size=n_base, p=weight / weight.sum())
    anchor = buildings[["x", "y"]].to_numpy()[pick]
    xy = anchor + rng.normal(0, 7.0, (n_base, 2))
    mix = [kind[pick]]
    hot_spots = [("锦里菜市场", n_market, 35.0, "market"), ("青杠农贸市场", n_village, 60.0, "village")]
    for name, n, sigma, mix_key in hot_spots:
        centre = landmarks[name]
        anchor = np.vstack([anchor, np.repeat(centre[None], n, 0)])
        xy = np.vstack([xy, centre + rng.normal(0, sigma, (n, 2))])
        mix.append(np.full(n, mix_key, dtype=object))
    outside = ~shapely.contains_xy(outer, xy[:, 0], xy[:, 1])
    xy[outside] = anchor[outside]
    return xy, np.concatenate(mix)


def make_incidents(buildings: pd.DataFrame, landmarks: dict, outer: shapely.Polygon, rng: np.random.Generator):
    """One year of incidents with lifecycle timestamps (see the module docstring for planted errors)."""
    xy, mix = incident_places(buildings, landmarks, outer, rng)
    n = len(xy)
    month_of_day = pd.date_range("2025-01-01", "2025-12-31", freq="D").month.to_numpy() - 1
    day_weight = MONTH_WEIGHT[month_of_day]
    day = rng.choice(365, size=n, p=day_weight / day_weight.sum())
    hour = rng.choice(24, size=n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    reported = day * 86400.0 + hour * 3600.0 + rng.integers(0, 3600, n)
    month = month_of_day[day]
    category = np.empty(n, dtype=object)
    for key, shares in CATEGORY_MIX.items():
        rows = np.flatnonzero(mix == key)
        p = np.tile(shares, (rows.size, 1))
        p[:, 2] *= np.where(np.isin(month[rows], [0, 1, 11]), 1.8, 1.0)  # fires peak in winter
        p[:, 4] *= np.where(np.isin(month[rows], [5, 6, 7]), 1.4, 1.0)  # sanitation in summer
        u = rng.random(rows.size)[:, None]
        category[rows] = np.array(CATEGORIES)[(u > np.cumsum(p / p.sum(1, keepdims=True), 1)).sum(1)]
    handle = np.array([HANDLE_HOURS[c] for c in category])
    median_hours = np.column_stack([np.full(n, 0.4), np.full(n, 0.8), handle, np.full(n, 10.0), np.full(n, 3.0)])
    hours = median_hours * np.exp(rng.normal(0, 0.85, (n, 5)))
    times = reported[:, None] + np.cumsum(np.column_stack([np.zeros(n), np.floor(hours * 3600.0)]), 1)
    last_stage = np.full(n, 5)
    stalled = rng.random(n) < 0.035
    last_stage[stalled] = rng.integers(0, 5, int(stalled.sum()))
    snapshot = 365 * 86400.0  # 2026-01-01 00:00 +08:00
    reached = (times < snapshot) & (np.arange(6)[None] <= last_stage[:, None])
    reached = np.cumprod(reached, axis=1).astype(bool)
    status = np.array(STAGES)[reached.sum(1) - 1]

    order = np.argsort(reported, kind="stable")
    table = pd.DataFrame({"x": xy[order, 0], "y": xy[order, 1], "category": category[order], "status": status[order]})
    base = pd.Timestamp("2025-01-01 00:00:00")
    for k, stage in enumerate(STAGES):
        stamps = (base + pd.to_timedelta(times[order, k], unit="s")).strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"
        table[f"{stage}_at"] = np.where(reached[order, k], stamps, "")
    table.insert(0, "incident_id", [f"INC{k:06d}" for k in range(1, n + 1)])
    return plant_problems(table, rng)


def plant_problems(table: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Plant the data-quality problems listed in the module docstring."""
    closed = np.flatnonzero(table["status"].to_numpy() == "closed")
    rows = rng.choice(closed, size=8, replace=False)
    table.loc[rows[:3], "verified_at"] = ""
    table.loc[rows[3], "category"] = "traffic"
    table.loc[rows[4], ["x", "y"]] = [2740.0, 1330.0]  # east of the district, across the ditch
    table.loc[rows[5], ["x", "y"]] = [480.0, 2150.0]  # north of the North Ring Road
    dup = np.sort(rows[6:])
    parts, start = [], 0
    for r in dup:
        parts += [table.iloc[start:r + 1], table.iloc[r:r + 1]]
        start = r + 1
    parts.append(table.iloc[start:])
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- output


class LonLat:
    """Plan metres to rounded WGS84 lon/lat."""

    def __init__(self) -> None:
        to_metric = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
        x, y = to_metric.transform(*CENTRE_LONLAT)
        self.offset = np.array([round(x) - CENTRE_LOCAL[0], round(y) - CENTRE_LOCAL[1]])
        self.to_lonlat = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

    def xy(self, xy: np.ndarray) -> np.ndarray:
        """Transform an (n, 2) array of plan coordinates."""
        xy = np.asarray(xy, float) + self.offset
        lon, lat = self.to_lonlat.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), 7)

    def geoms(self, geoms: np.ndarray) -> np.ndarray:
        """Transform shapely geometries."""
        return shapely.transform(np.asarray(geoms, dtype=object), self.xy)


def geojson_geometry(geom: shapely.Geometry) -> dict:
    """GeoJSON geometry dict of a LineString or Polygon (coordinates already rounded)."""
    if geom.geom_type == "LineString":
        return {"type": "LineString", "coordinates": shapely.get_coordinates(geom).tolist()}
    rings = [geom.exterior, *geom.interiors]
    return {"type": "Polygon", "coordinates": [shapely.get_coordinates(r).tolist() for r in rings]}


def write_geojson(path: Path, name: str, properties: pd.DataFrame, geoms: np.ndarray) -> None:
    """Write an RFC 7946 FeatureCollection, one feature per line (counter-clockwise exteriors)."""
    geoms = np.asarray(geoms, dtype=object)
    if shapely.get_type_id(geoms[0]) == 3:
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    features = []
    for record, geom in zip(properties.to_dict("records"), geoms, strict=True):
        props = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in record.items()}
        feature = {"type": "Feature", "properties": props, "geometry": geojson_geometry(geom)}
        features.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    body = ",\n".join(features)
    text = f'{{"type":"FeatureCollection","name":"{name}","features":[\n{body}\n]}}\n'
    path.write_text(text, encoding="utf-8", newline="\n")


def write_csv(path: Path, table: pd.DataFrame) -> None:
    """Write a UTF-8 CSV with Unix line ends."""
    table.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


# ----------------------------------------------------------------------------- main


def build_streets() -> tuple[StreetNetwork, shapely.Polygon, dict]:
    """Lay out the whole street network; return it, the outer boundary and per-community plans."""
    net = StreetNetwork()
    outer = district_frame(net)
    faces = community_faces(net)
    alleys = NamePool(ALLEY_WORDS, ALLEY_SUFFIXES, rng_for(1))
    plans = {
        "C01": streets_old_quarter(net, faces["C01"], alleys, rng_for(11)),
        "C02": streets_high_rise(net, faces["C02"], rng_for(12)),
        "C03": streets_mixed(net, faces["C03"], alleys, rng_for(13)),
        "C04": streets_work_unit(net, faces["C04"], rng_for(14)),
        "C05": streets_village(net, faces["C05"], rng_for(15)),
    }
    return net, outer, plans


BUILDERS = {"old_quarter": buildings_old_quarter, "high_rise": buildings_high_rise, "mixed": buildings_mixed,
            "work_unit": buildings_work_unit, "village": buildings_village}
COMMUNITY_CENTRES = {"C01": "锦里派出所警务室", "C02": "天府花园社区党群服务中心", "C03": "新华路社区党群服务中心",
                     "C04": "红星社区党群服务中心", "C05": "青杠村村民委员会"}


def build_buildings(net: StreetNetwork, faces: dict, plans: dict) -> tuple[pd.DataFrame, dict, dict]:
    """Buildings of every community; also the street blocks and the named landmarks."""
    street_ids = net.streets()
    lines = net.array()

    def named(name: str) -> shapely.Geometry:
        return shapely.union_all(lines[[i for i in street_ids if net.attrs[i]["name"] == name]])

    rows, landmarks, blocks = [], {}, {}
    for k, (cid, _, _, kind, _, _) in enumerate(COMMUNITIES):
        face = faces[cid]
        ctx = {"id": cid, "plan": plans[cid], "blocks": faces_within(net, face), "named": named,
               "buildable": buildable_area(net, face)}
        rows += BUILDERS[kind](ctx, rng_for(21 + k)).rows
        blocks[cid] = ctx["blocks"]
        landmarks.update(ctx.get("landmarks", {}))
        landmarks[cid] = ctx["landmarks"][COMMUNITY_CENTRES[cid]]
    table = pd.DataFrame(rows)
    table["kind"] = table["community_id"].map({c[0]: c[3] for c in COMMUNITIES})
    rep = shapely.get_coordinates(shapely.point_on_surface(table["geometry"].to_numpy()))
    table["x"], table["y"] = rep[:, 0], rep[:, 1]
    table = table.sort_values(["community_id", "y", "x"], ascending=[True, False, True], kind="stable")
    table = table.reset_index(drop=True)
    table.insert(0, "building_id", [f"B{k:06d}" for k in range(1, len(table) + 1)])
    name_by_address(table, net)
    return table, landmarks, blocks


def name_by_address(table: pd.DataFrame, net: StreetNetwork) -> None:
    """Give unnamed homes and shops an address: nearest named street and a number along it."""
    street_ids = np.array([i for i in net.streets() if net.attrs[i]["highway"] not in ("footway", "path", "primary")])
    tree = shapely.STRtree(net.array()[street_ids])
    todo = np.flatnonzero(table["name"].to_numpy() == "")
    points = shapely.points(table.loc[todo, ["x", "y"]].to_numpy())
    nearest = tree.query_nearest(points, all_matches=False)[1]
    lines = net.array()[street_ids[nearest]]
    along = shapely.line_locate_point(lines, points)
    names = np.array([net.attrs[i]["name"] for i in street_ids[nearest]], dtype=object)
    frame = pd.DataFrame({"street": names, "along": along, "row": todo})
    frame["number"] = frame.sort_values(["street", "along", "row"]).groupby("street").cumcount() + 1
    table.loc[todo, "name"] = (frame["street"] + frame["number"].astype(str) + "号").to_numpy()


def street_table(net: StreetNetwork) -> tuple[pd.DataFrame, np.ndarray]:
    """Streets layer rows (boundary edges that are not streets are left out)."""
    ids = net.streets()
    table = pd.DataFrame({
        "street_id": [f"S{k:04d}" for k in range(1, len(ids) + 1)],
        "name": [net.attrs[i]["name"] for i in ids],
        "name_en": [net.attrs[i]["name_en"] for i in ids],
        "highway": [net.attrs[i]["highway"] for i in ids],
    })
    return table, net.array()[ids]


def summary(buildings: pd.DataFrame, streets: np.ndarray, faces: dict, blocks: dict) -> tuple[pd.DataFrame, int]:
    """Per-community totals for the README and the console.

    ``streets`` counts the features whose midpoint lies inside the community; ``street_km`` is the
    street length inside it, streets on its boundary counted half.  Households per street block
    count the buildings by representative point.
    """
    mid = shapely.line_interpolate_point(streets, 0.5, normalized=True)
    edges = shapely.union_all([face.boundary for face in faces.values()])
    on_edge = shapely.distance(edges, mid) < 0.01
    rows = []
    for cid, name, name_en, kind, target, _ in COMMUNITIES:
        b = buildings[buildings["community_id"] == cid]
        face = faces[cid]
        inside = shapely.contains(face, mid) & ~on_edge
        length = shapely.length(shapely.intersection(streets, face)).sum()
        length -= 0.5 * shapely.length(shapely.intersection(streets, face.boundary)).sum()
        hit = shapely.STRtree(blocks[cid]).query(shapely.points(b[["x", "y"]].to_numpy()), predicate="within")
        per_block = np.bincount(hit[1], weights=b["households"].to_numpy()[hit[0]], minlength=len(blocks[cid]))
        homes = per_block[per_block > 0]
        rows.append({
            "community_id": cid, "name": name, "name_en": name_en, "kind": kind, "target": target,
            "households": int(b["households"].sum()), "population": int(b["population"].sum()),
            "buildings": len(b), "residential": int((b["households"] > 0).sum()),
            "streets": int(inside.sum()), "street_km": round(float(length) / 1000, 1),
            "blocks": len(blocks[cid]), "blocks_with_homes": len(homes),
            "median_per_block": int(np.median(homes)), "max_per_block": int(homes.max()),
            "share_under_150": round(float(np.mean(homes < 150)), 2), "area_km2": round(face.area / 1e6, 2),
        })
    return pd.DataFrame(rows), int(on_edge.sum())


README_TEMPLATE = """# Sample district: {office} ({office_en}), fictional

A small, **fictional** street office (街道) in Chengdu for tutorials, tests and benchmarks of gridkit.
Every file here is generated by `scripts/make_samples.py` (fixed seed {seed}); do not edit by hand,
rerun the script (it writes byte-identical files).  Real places, names and people are not depicted:
the street names are made up from common Chengdu words, the people's names are random.

Code prefix {code} (510107 district + 003 street).  Communities tile the street office exactly; their
boundaries run along the arterials (蜀锦路, 芙蓉大道, 金沙路), the boundary roads (北环路, 西城路),
a ditch (east) and a river (south).

| id | name | kind | target | households | population | buildings | homes | streets | street km | km² |
|---|---|---|---|---|---|---|---|---|---|---|
{rows}

"homes" counts buildings with households; "streets" counts the features whose midpoint lies inside
the community ({boundary} more, the arterials and boundary roads, lie on community boundaries);
"street km" is the street length inside the community, boundary streets counted half.

Street blocks are the faces of `polygonize(node(streets clipped to the community + its boundary))`;
households per block count buildings by representative point.  Blocks of C02 hold gated compounds of
towers (150-400 households each), so they are large; elsewhere most blocks hold under 150 households.

| id | blocks | blocks with homes | median households per block | largest | share under 150 |
|---|---|---|---|---|---|
{block_rows}

## Layers (GeoJSON in EPSG:4326, coordinates rounded to 7 decimals; CSV in UTF-8)

- `communities.geojson` (5 polygons): `community_id`, `name`, `name_en`, `code` (12 digits),
  `kind` (old_quarter, high_rise, mixed, work_unit, village), `target` (households per grid:
  300 urban, 200 for the village).
- `buildings.geojson` ({buildings} polygons): `building_id`, `name` (building number in a compound,
  an address such as 柿子巷12号, or the name of a school, market, office), `use` (residential,
  mixed, commercial, school, office, public), `levels`, `households`, `population`.  Non-residential
  buildings have 0 households and 0 population.  Buildings never overlap and keep at least 3 m
  (alleys and paths) to 16 m (arterials) from every street centreline.
- `streets.geojson` ({n_streets} lines, one per way, not noded; junctions are shared vertices):
  `street_id`, `name`, `name_en`, `highway` ({highways}).
- `wardens.csv` ({n_wardens} rows): `warden_id`, `name`, `role` (full_time, part_time, police,
  volunteer), `capacity` (grids: police 2, others 1), `community_id`, `lon`, `lat` (home, or the
  police office / service centre for police).
- `incidents.csv` ({n_incidents} rows, reported 2025-01-01 to 2025-12-31, snapshot at 2026-01-01 00:00):
  `incident_id`, `lon`, `lat`, `category` (dispute 矛盾纠纷, safety_hazard 安全隐患, fire 消防,
  public_order 治安, sanitation 环境卫生, other 其他), `status` (reported, registered,
  dispatched, handled, verified, closed; {closed_share} closed), and ISO 8601 (+08:00) timestamps
  `reported_at`, `registered_at`, `dispatched_at`, `handled_at`, `verified_at`, `closed_at`,
  empty for stages not reached.  Hot spots: around 锦里菜市场 (C01) and 青杠农贸市场 (C05).

## Planted data-quality problems (incidents.csv only)

- 3 rows are `closed` without `verified_at` (closed without verification);
- 2 rows are exact duplicates of the row before them (same `incident_id`);
- 2 rows lie outside the street office (330-450 m beyond its boundary);
- 1 row has the unknown category `traffic`.

## Programme extras (for `gridkit init --preset ...`)

Written by `python scripts/make_samples.py --extras` from the files above (own random streams 41-43):

- `staff.csv` (310 rows): the people the programme rules name beside the warden roster: `community_cadre`
  (one per ~500 households, capacity 3 grids), `township_official` (~900, 2), `medic` and `teacher`
  (~1,500, 4), `mediator` (~260, 1), `assistant` (~320, 1) and `supervisor` (one per 12 × 10,000 m² of
  the community, 1); columns as `wardens.csv`; ids `S001`...
- `key_persons.csv` (158 rows): key persons (重点人员) by `building_id`, `category`
  (community_correction, mental_health, drug_rehabilitation, petitioner, released_prisoner), `since`.
- `incident_events.csv` (5,999 rows): events after closure: `reopened` (3 % of closed cases, 6 % of
  disputes, 1-10 days after closure) and `rated` (55 % of closed cases, `value` 1-5, faster closures
  rated higher); `incident_id`, `event`, `at`, `value`.

## Licence

Generated data, dedicated to the public domain under CC0 1.0
(https://creativecommons.org/publicdomain/zero/1.0/).
"""


def write_readme(table: pd.DataFrame, boundary: int, highways: pd.Series, counts: dict) -> None:
    """Write data/samples/README.md from the totals."""
    lines = [
        f"| {r.community_id} | {r.name} ({r.name_en}) | {r.kind} | {r.target} | {r.households:,} | {r.population:,} "
        f"| {r.buildings:,} | {r.residential:,} | {r.streets} | {r.street_km} | {r.area_km2} |"
        for r in table.itertuples()
    ]
    block_rows = [
        f"| {r.community_id} | {r.blocks} | {r.blocks_with_homes} | {r.median_per_block} | {r.max_per_block} "
        f"| {r.share_under_150:.0%} |"
        for r in table.itertuples()
    ]
    lines.append(
        f"| | **total** | | | **{table['households'].sum():,}** | **{table['population'].sum():,}** "
        f"| **{table['buildings'].sum():,}** | {table['residential'].sum():,} | {table['streets'].sum() + boundary} "
        f"| {table['street_km'].sum():.1f} | {table['area_km2'].sum():.2f} |"
    )
    text = README_TEMPLATE.format(
        office=STREET_OFFICE[0], office_en=STREET_OFFICE[1], code=STREET_OFFICE[2], seed=SEED,
        rows="\n".join(lines), block_rows="\n".join(block_rows), buildings=f"{table['buildings'].sum():,}",
        boundary=boundary, highways=", ".join(f"{k} {v}" for k, v in highways.items()), **counts,
    )
    (OUT_DIR / "README.md").write_text(text, encoding="utf-8", newline="\n")



# ----------------------------------------------------------------------------- programme extras
# People, key persons and case events that the programme presets (gridkit init --preset) need and the
# first sample did not carry. Each comes from its own random stream (41-43), so the files above stay
# byte-identical.

#: programme roster: role -> (households per person, capacity in grids, at the service centre)
STAFF_ROLES = {"community_cadre": (500, 3, False), "township_official": (900, 2, True), "medic": (1500, 4, True),
               "teacher": (1500, 4, False), "mediator": (260, 1, False), "assistant": (320, 1, False)}
SUPERVISOR_M2 = 12 * 10_000  # a Dongcheng city supervisor patrols about 12 unit cells of 10,000 m²
KEY_PERSON_KINDS = ["community_correction", "mental_health", "drug_rehabilitation", "petitioner",
                    "released_prisoner"]


def _sample_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The written sample (buildings with plan x/y and kind, communities with area, wardens, incidents)."""
    import geopandas as gpd  # noqa: PLC0415 - reading back the written files only

    communities = gpd.read_file(OUT_DIR / "communities.geojson").to_crs(METRIC_CRS)
    buildings = gpd.read_file(OUT_DIR / "buildings.geojson").to_crs(METRIC_CRS)
    points = buildings.geometry.representative_point()
    holder = gpd.sjoin(gpd.GeoDataFrame(geometry=points, crs=METRIC_CRS), communities, predicate="within")
    holder = holder[~holder.index.duplicated()]
    frame = pd.DataFrame({"building_id": buildings["building_id"], "households": buildings["households"],
                          "x": points.x, "y": points.y})
    frame["community_id"] = holder["community_id"].reindex(frame.index).to_numpy()
    frame["kind"] = holder["kind"].reindex(frame.index).to_numpy()
    area = pd.DataFrame({"community_id": communities["community_id"], "area": communities.area})
    wardens = pd.read_csv(OUT_DIR / "wardens.csv")
    incidents = pd.read_csv(OUT_DIR / "incidents.csv", dtype=str)
    return frame, area, wardens, incidents


def make_staff(buildings: pd.DataFrame, area: pd.DataFrame, wardens: pd.DataFrame,
               rng: np.random.Generator) -> pd.DataFrame:
    """The programme roster (staff.csv): cadres, officials, medics, teachers, supervisors, mediators, assistants.

    People at the service centre sit where the community's police do (wardens.csv); the others live at a
    residential building of their community, picked by households.
    """
    to_plan = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    rows = []
    for cid, *_ in COMMUNITIES:
        mine = buildings[(buildings["community_id"] == cid) & (buildings["households"] > 0)]
        police = wardens[(wardens["community_id"] == cid) & (wardens["role"] == "police")]
        centre = np.array(to_plan.transform(police["lon"].mean(), police["lat"].mean()))
        counts = {role: (max(1, round(mine["households"].sum() / per)), cap, at_centre)
                  for role, (per, cap, at_centre) in STAFF_ROLES.items()}
        m2 = float(area.loc[area["community_id"] == cid, "area"].iloc[0])
        counts["supervisor"] = (max(1, round(m2 / SUPERVISOR_M2)), 1, True)
        w = mine["households"].to_numpy(float)
        for role, (count, capacity, at_centre) in counts.items():
            if at_centre:
                xy = centre + rng.normal(0, 3.0, (count, 2))
            else:
                xy = mine[["x", "y"]].to_numpy()[rng.choice(len(mine), size=count, p=w / w.sum())]
            rows += [{"role": role, "capacity": capacity, "community_id": cid, "x": p[0], "y": p[1]} for p in xy]
    table = pd.DataFrame(rows)
    table.insert(0, "warden_id", [f"S{k:03d}" for k in range(1, len(table) + 1)])
    table.insert(1, "name", person_names(len(table), rng))
    to_wgs = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(table["x"].to_numpy(), table["y"].to_numpy())
    return table.drop(columns=["x", "y"]).assign(lon=np.round(lon, 7), lat=np.round(lat, 7))


def make_key_persons(buildings: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Key persons (重点人员, key_persons.csv): about one per 150 households, more in the old quarter and village."""
    homes = buildings[buildings["households"] > 0]
    busier = homes["kind"].map({"old_quarter": 1.5, "village": 1.4}).fillna(1.0).to_numpy()
    w = homes["households"].to_numpy(float) * busier
    n = round(homes["households"].sum() / 150)
    pick = rng.choice(len(homes), size=n, p=w / w.sum())
    kind = rng.choice(KEY_PERSON_KINDS, size=n, p=[0.3, 0.25, 0.15, 0.2, 0.1])
    since = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365, n), unit="D")
    return pd.DataFrame({"key_person_id": [f"K{k:04d}" for k in range(1, n + 1)],
                         "building_id": homes["building_id"].to_numpy()[pick], "category": kind,
                         "since": since.strftime("%Y-%m-%d")})


def make_incident_events(incidents: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Case events after closure (incident_events.csv): reopened (返工) and public ratings (1-5).

    A closed case is reopened with probability 3 % (6 % for disputes), 1-10 days after its closure; 55 %
    of closed cases are rated, faster closures rated higher.
    """
    closed = incidents[incidents["closed_at"].notna() & (incidents["status"] == "closed")].drop_duplicates(
        "incident_id")
    at = pd.to_datetime(closed["closed_at"].str.slice(0, 19))
    hours = (at - pd.to_datetime(closed["reported_at"].str.slice(0, 19))).dt.total_seconds().to_numpy() / 3600
    p_reopen = np.where(closed["category"].to_numpy() == "dispute", 0.06, 0.03)
    reopen = rng.random(len(closed)) < p_reopen
    rated = rng.random(len(closed)) < 0.55
    mean = np.clip(4.6 - hours / 48.0, 2.0, 4.8)
    score = np.clip(np.round(mean + rng.normal(0, 0.7, len(closed))), 1, 5).astype(int)
    later = pd.to_timedelta(rng.integers(86_400, 10 * 86_400, len(closed)), unit="s")
    rate_at = pd.to_timedelta(rng.integers(600, 3 * 86_400, len(closed)), unit="s")
    stamp = "%Y-%m-%dT%H:%M:%S+08:00"
    events = pd.concat([
        pd.DataFrame({"incident_id": closed["incident_id"].to_numpy()[reopen], "event": "reopened",
                      "at": (at[reopen] + later[reopen]).dt.strftime(stamp).to_numpy(), "value": ""}),
        pd.DataFrame({"incident_id": closed["incident_id"].to_numpy()[rated], "event": "rated",
                      "at": (at[rated] + rate_at[rated]).dt.strftime(stamp).to_numpy(),
                      "value": score[rated].astype(str)}),
    ], ignore_index=True)
    return events.sort_values(["at", "incident_id"], kind="stable", ignore_index=True)


def write_programme_extras() -> None:
    """Write staff.csv, key_persons.csv and incident_events.csv from the written sample files.

    They are derived from the files in data/samples/ (not from the generator's memory), so that
    ``python scripts/make_samples.py --extras`` adds them to the committed sample as it is.
    """
    buildings, area, wardens, incidents = _sample_frames()
    write_csv(OUT_DIR / "staff.csv", make_staff(buildings, area, wardens, rng_for(41)))
    write_csv(OUT_DIR / "key_persons.csv", make_key_persons(buildings, rng_for(42)))
    write_csv(OUT_DIR / "incident_events.csv", make_incident_events(incidents, rng_for(43)))


def main() -> None:
    """Generate every file of data/samples/."""
    net, outer, plans = build_streets()
    faces = community_faces(net)
    buildings, landmarks, blocks = build_buildings(net, faces, plans)
    buildings["population"] = add_population(buildings, rng_for(31))
    wardens = make_wardens(buildings, landmarks, rng_for(32))
    incidents = make_incidents(buildings, landmarks, outer, rng_for(33))

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    wgs = LonLat()
    communities = pd.DataFrame([
        {"community_id": cid, "name": name, "name_en": name_en, "code": f"{STREET_OFFICE[2]}{k:03d}", "kind": kind,
         "target": target}
        for k, (cid, name, name_en, kind, target, _) in enumerate(COMMUNITIES, start=1)
    ])
    write_geojson(OUT_DIR / "communities.geojson", "communities", communities,
                  wgs.geoms([faces[c] for c in communities["community_id"]]))
    columns = ["building_id", "name", "use", "levels", "households", "population"]
    write_geojson(OUT_DIR / "buildings.geojson", "buildings", buildings[columns], wgs.geoms(buildings["geometry"]))
    street_rows, street_geoms = street_table(net)
    write_geojson(OUT_DIR / "streets.geojson", "streets", street_rows, wgs.geoms(street_geoms))
    for plan, name in ((wardens, "wardens"), (incidents, "incidents")):
        lonlat = wgs.xy(plan[["x", "y"]].to_numpy())
        table = plan.drop(columns=["x", "y"])
        table.insert(table.columns.get_loc("community_id") + 1 if name == "wardens" else 1, "lon", lonlat[:, 0])
        table.insert(table.columns.get_loc("lon") + 1, "lat", lonlat[:, 1])
        write_csv(OUT_DIR / f"{name}.csv", table)

    write_programme_extras()

    totals, boundary = summary(buildings, street_geoms, faces, blocks)
    highways = street_rows["highway"].value_counts().sort_index()
    counts = {"n_streets": len(street_rows), "n_wardens": len(wardens), "n_incidents": f"{len(incidents):,}",
              "closed_share": f"{(incidents['status'] == 'closed').mean():.1%}"}
    write_readme(totals, boundary, highways, counts)
    print(totals.to_string(index=False))
    print(f"total households {totals['households'].sum():,}, population {totals['population'].sum():,}, "
          f"buildings {len(buildings):,}, streets {len(street_rows):,}, wardens {len(wardens)}, "
          f"incidents {len(incidents):,} ({counts['closed_share']} closed)")


if __name__ == "__main__":
    import sys

    if "--extras" in sys.argv[1:]:
        write_programme_extras()
    else:
        main()
