"""Small synthetic districts for the tests: square street grids with buildings inside the blocks.

A district is ``rows × cols`` street blocks of about ``block_m`` metres (street positions may be
jittered), built in a metric CRS and optionally reprojected to EPSG:4326. Streets are the grid
lines, including the community's outer boundary, extended 20 m beyond it. Every block holds a
``per_side × per_side`` lattice of building squares that never overlap and keep at least
``margin_m`` from every street.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: UTM 48N (Chengdu is at about 104.07 E, 30.67 N) and a point near Chengdu in it.
CHENGDU_UTM = "EPSG:32648"
CHENGDU_ORIGIN = (406_000.0, 3_393_000.0)
#: UTM 50N, an arbitrary metric CRS for purely metric tests.
METRIC_CRS = "EPSG:32650"
METRIC_ORIGIN = (500_000.0, 3_400_000.0)


@dataclass
class District:
    """Layers of a synthetic district (all in ``crs``)."""

    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    xs: np.ndarray  # street x positions (metric CRS)
    ys: np.ndarray  # street y positions (metric CRS)
    metric_crs: str

    def to_crs(self, crs: str) -> District:
        return District(self.communities.to_crs(crs), self.buildings.to_crs(crs), self.streets.to_crs(crs),
                        self.xs, self.ys, self.metric_crs)


def street_positions(n: int, block_m: float, jitter: float, rng: np.random.Generator, origin: float) -> np.ndarray:
    """``n + 1`` increasing street positions, ``block_m`` apart ± ``jitter`` × ``block_m`` (interior only)."""
    pos = origin + np.arange(n + 1) * block_m
    if jitter and n > 1:
        pos[1:-1] += rng.uniform(-jitter, jitter, n - 1) * block_m
    return pos


def make_district(  # noqa: PLR0913 - a test-data factory with many knobs
    rows: int = 4,
    cols: int = 4,
    *,
    block_m: float = 100.0,
    jitter: float = 0.0,
    per_side: int = 3,
    households: tuple[int, int] = (5, 15),
    zero_share: float = 0.0,
    size_m: tuple[float, float] = (8.0, 16.0),
    margin_m: float = 5.0,
    seed: int = 0,
    crs: str = METRIC_CRS,
    code: str | None = "510107003001",
    community_id: str = "C01",
    lonlat: bool = False,
) -> District:
    """Build one square community of ``rows × cols`` street blocks (see the module docstring).

    ``crs`` is the metric CRS the geometry is built in; with ``lonlat=True`` every layer is
    reprojected to EPSG:4326 at the end.
    """
    rng = np.random.default_rng(seed)
    origin = CHENGDU_ORIGIN if crs == CHENGDU_UTM else METRIC_ORIGIN
    xs = street_positions(cols, block_m, jitter, rng, origin[0])
    ys = street_positions(rows, block_m, jitter, rng, origin[1])
    community = shapely.box(xs[0], ys[0], xs[-1], ys[-1])
    ext = 20.0
    lines = [shapely.LineString([(x, ys[0] - ext), (x, ys[-1] + ext)]) for x in xs]
    lines += [shapely.LineString([(xs[0] - ext, y), (xs[-1] + ext, y)]) for y in ys]
    streets = gpd.GeoDataFrame({"street_id": [f"S{i:03d}" for i in range(len(lines))]}, geometry=lines, crs=crs)
    geoms, hh = [], []
    for r in range(rows):
        for c in range(cols):
            x0, x1 = xs[c] + margin_m, xs[c + 1] - margin_m
            y0, y1 = ys[r] + margin_m, ys[r + 1] - margin_m
            cw, ch = (x1 - x0) / per_side, (y1 - y0) / per_side
            for i in range(per_side):
                for j in range(per_side):
                    side = min(rng.uniform(*size_m), 0.8 * cw, 0.8 * ch)
                    cx = x0 + (i + 0.5) * cw + rng.uniform(-1, 1) * (cw - side) / 2 * 0.9
                    cy = y0 + (j + 0.5) * ch + rng.uniform(-1, 1) * (ch - side) / 2 * 0.9
                    geoms.append(shapely.box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2))
                    zero = rng.random() < zero_share
                    hh.append(0 if zero else int(rng.integers(households[0], households[1] + 1)))
    hh_arr = np.array(hh, dtype=np.int64)
    pop = np.rint(hh_arr * rng.uniform(1.5, 3.5, len(hh_arr))).astype(np.int64)
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"B{i:05d}" for i in range(len(geoms))], "households": hh_arr, "population": pop},
        geometry=geoms, crs=crs,
    )
    comm = {"community_id": [community_id], "name": [f"社区 {community_id}"]}
    if code is not None:
        comm["code"] = [code]
    communities = gpd.GeoDataFrame(comm, geometry=[community], crs=crs)
    district = District(communities, buildings, streets, xs, ys, crs)
    return district.to_crs("EPSG:4326") if lonlat else district


def two_communities(seed: int = 0, *, codes: bool = True) -> District:
    """Two side-by-side communities of 3×3 blocks each sharing one street as their boundary."""
    left = make_district(3, 3, seed=seed, community_id="C01", code="510107003001" if codes else None)
    right = make_district(3, 3, seed=seed + 1, community_id="C02", code="510107003002" if codes else None)
    shift = left.xs[-1] - left.xs[0]
    right_comm = right.communities.copy()
    right_comm["geometry"] = right_comm.geometry.translate(shift, 0)
    right_bld = right.buildings.copy()
    right_bld["geometry"] = right_bld.geometry.translate(shift, 0)
    right_bld["building_id"] = [f"R{i:05d}" for i in range(len(right_bld))]
    right_str = right.streets.copy()
    right_str["geometry"] = right_str.geometry.translate(shift, 0)
    right_str["street_id"] = [f"R{i:03d}" for i in range(len(right_str))]
    communities = gpd.GeoDataFrame(pd.concat([left.communities, right_comm], ignore_index=True), crs=METRIC_CRS)
    buildings = gpd.GeoDataFrame(pd.concat([left.buildings, right_bld], ignore_index=True), crs=METRIC_CRS)
    streets = gpd.GeoDataFrame(pd.concat([left.streets, right_str], ignore_index=True), crs=METRIC_CRS)
    xs = np.unique(np.concatenate([left.xs, right.xs + shift]))
    return District(communities, buildings, streets, xs, left.ys, METRIC_CRS)


def with_overlapping_twins(district: District, share: float, seed: int = 0, *, shift_m: float = 6.0) -> District:
    """``district`` plus a twin for about ``share`` of its buildings: a copy scaled 0.5–1.5× and moved up
    to ``shift_m`` metres, overlapping the original (and maybe its neighbours), as real data has.

    A twin stays inside its block (1 m from the streets), so each block's buildings can lie whole in its
    grids; twins are numbered ``T00000``… and carry their own households.
    """
    metric = district.buildings.to_crs(district.metric_crs)
    rng = np.random.default_rng(seed)
    pick = np.flatnonzero(rng.random(len(metric)) < share)
    geoms = metric.geometry.to_numpy()[pick]
    scale = rng.uniform(0.5, 1.5, len(pick))
    shift = rng.uniform(-shift_m, shift_m, (len(pick), 2))
    centre = shapely.get_coordinates(shapely.centroid(geoms))
    twins = [shapely.affinity.translate(shapely.affinity.scale(g, s, s), *d) for g, s, d in zip(geoms, scale, shift,
                                                                                                  strict=True)]
    col = np.searchsorted(district.xs, centre[:, 0]) - 1
    row = np.searchsorted(district.ys, centre[:, 1]) - 1
    blocks = [shapely.box(district.xs[c] + 1, district.ys[r] + 1, district.xs[c + 1] - 1, district.ys[r + 1] - 1)
              for c, r in zip(col, row, strict=True)]
    keep = np.array([shapely.within(t, b) for t, b in zip(twins, blocks, strict=True)], dtype=bool)
    extra = gpd.GeoDataFrame({
        "building_id": [f"T{i:05d}" for i in range(int(keep.sum()))],
        "households": rng.integers(0, 20, int(keep.sum())).astype(np.int64),
        "population": rng.integers(0, 50, int(keep.sum())).astype(np.int64),
    }, geometry=np.asarray(twins, dtype=object)[keep], crs=district.metric_crs)
    buildings = gpd.GeoDataFrame(pd.concat([metric, extra], ignore_index=True), crs=district.metric_crs)
    return District(district.communities, buildings.to_crs(district.buildings.crs), district.streets, district.xs,
                    district.ys, district.metric_crs)
