"""Loaders for the real data beside the repository (``../shared/data``, see its README).

The folder is ``<repo>/../shared/data`` unless the environment variable ``GRIDKIT_SHARED_DATA``
names another. Every loader raises :class:`FileNotFoundError` naming the missing file when the data
is absent, so tests and benchmarks can skip.

* :func:`load_moabit` - Moabit, Berlin: the district as one community, the district cut along its
  main roads into communities, building footprints with estimated households, OSM roads.
  EPSG:25833 (ETRS89 / UTM 33N, metres). The files themselves are EPSG:4326.
* :func:`load_osm_district` - Monaco (9 wards) or Liechtenstein (11 municipalities) from the OSM
  PBFs: communities from the administrative boundaries, building footprints with households
  estimated from footprint × storeys, every highway line as a street; in the local UTM zone.
* :func:`load_walnut_hills` - 457 census blocks of Walnut Hills, Cincinnati, with households and
  population, in EPSG:32616 (WGS 84 / UTM 16N, metres), to be used directly as atoms.

Run ``python scripts/realdata.py`` to print what the loaders return.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "MOABIT_CRS",
    "MOABIT_RESIDENTIAL_USES",
    "WALNUT_HILLS_CRS",
    "load_moabit",
    "load_osm_district",
    "load_walnut_hills",
    "shared_data_dir",
]

MOABIT_CRS = "EPSG:25833"
WALNUT_HILLS_CRS = "EPSG:32616"

#: ALKIS building functions (``Gebaeude_1``) counted as residential in Moabit, with their counts
#: among the 3,834 footprints. All other functions get 0 households (garages, sheds, offices,
#: schools, hotels, hospitals, the prison, ...). Collective dwellings (student/worker hostels,
#: old people's and children's homes) are in: a grid warden looks after their residents too.
MOABIT_RESIDENTIAL_USES: frozenset[str] = frozenset(
    {
        "Wohnhaus",  # 2,389 dwelling house
        "Wohngebäude",  # 3 residential building
        "Wohngebäude mit Handel und Dienstleistungen",  # 31 residential with shops/services
        "Wohngebäude mit Gewerbe und Industrie",  # 8 residential with trade/industry
        "Wohngebäude mit Gemeinbedarf",  # 4 residential with public facilities
        "Gemischt genutztes Gebäude mit Wohnen",  # 1 mixed use with dwellings
        "Gebäude für Handel und Dienstleistung mit Wohnen",  # 3 commercial with dwellings
        "Wohnheim",  # 2 hostel / dormitory
        "Seniorenheim",  # 11 old people's home
        "Kinderheim",  # 2 children's home
    }
)

#: Share of gross floor area that is dwellings, m² gross per dwelling, persons per household
#: (GUIDE §5; 1.8 is about Berlin's mean household size).
RESIDENTIAL_SHARE = 0.8
M2_PER_DWELLING = 75.0
PERSONS_PER_HOUSEHOLD = 1.8

#: Road classes the Moabit communities are cut along.
MOABIT_CUT_CLASSES = ("primary", "primary_link", "secondary", "secondary_link")
#: Faces of the cut smaller than this (m²) are merged into a neighbour.
MOABIT_MIN_COMMUNITY_M2 = 50_000.0


def shared_data_dir() -> Path:
    """The shared data folder: ``$GRIDKIT_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("GRIDKIT_SHARED_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def _require(*relative: str) -> list[Path]:
    base = shared_data_dir()
    paths = [base / r for r in relative]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        msg = (
            f"real data not found: {', '.join(str(p) for p in missing)} "
            f"(set GRIDKIT_SHARED_DATA to the shared data folder, the one holding moabit/ and geoda/)"
        )
        raise FileNotFoundError(msg)
    return paths


# --------------------------------------------------------------------------------------------
# Moabit


def _moabit_buildings(path: Path) -> gpd.GeoDataFrame:
    raw = gpd.read_file(path).to_crs(MOABIT_CRS)
    geometry = shapely.make_valid(raw.geometry.to_numpy())
    ids = raw["OBJECTID"] if "OBJECTID" in raw.columns and raw["OBJECTID"].is_unique else pd.Series(
        np.arange(len(raw)))
    levels = pd.to_numeric(raw["AnzahlDerO"], errors="coerce").fillna(1).clip(lower=1).astype(int)
    use = raw["Gebaeude_1"].fillna("").astype(str)
    footprint = shapely.area(geometry)
    residential = use.isin(MOABIT_RESIDENTIAL_USES).to_numpy()
    households = np.where(
        residential, np.rint(footprint * levels.to_numpy() * RESIDENTIAL_SHARE / M2_PER_DWELLING), 0
    ).astype(np.int64)
    population = np.rint(households * PERSONS_PER_HOUSEHOLD).astype(np.int64)
    return gpd.GeoDataFrame(
        {
            "building_id": ids.astype(np.int64).astype(str).to_numpy(),
            "levels": levels.to_numpy(),
            "use": use.to_numpy(),
            "footprint_m2": footprint,
            "households": households,
            "population": population,
        },
        geometry=geometry,
        crs=MOABIT_CRS,
    )


def _merge_small_faces(faces: list[shapely.Geometry], min_area: float) -> list[shapely.Geometry]:
    """Merge faces below ``min_area`` (smallest first) into the neighbour sharing the longest border."""
    faces = list(faces)
    while len(faces) > 1:
        areas = np.array([f.area for f in faces])
        small = np.flatnonzero(areas < min_area)
        if not len(small):
            break
        i = int(small[np.argmin(areas[small])])
        borders = np.array(
            [0.0 if j == i else shapely.length(shapely.intersection(faces[i].boundary, faces[j].boundary))
             for j in range(len(faces))]
        )
        if borders.max() <= 0:  # isolated: nearest face instead
            borders = -np.array([np.inf if j == i else faces[i].distance(faces[j]) for j in range(len(faces))])
        j = int(np.argmax(borders))
        faces[j] = shapely.union(faces[j], faces[i])
        del faces[i]
    return faces


def _largest_polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    polys = parts[np.isin(shapely.get_type_id(parts), [3, 6])]
    merged = shapely.union_all(polys)
    if merged.geom_type == "MultiPolygon":  # drop crumbs of the re-clip, keep real parts
        keep = [p for p in merged.geoms if p.area > 1.0]
        merged = keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
    return shapely.normalize(merged)


def _cut_communities(district: shapely.Geometry, roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    major = roads[roads["fclass"].isin(MOABIT_CUT_CLASSES)].geometry.to_numpy()
    clipped = shapely.intersection(major, district)
    # union on a 1 mm grid nodes the lines: the clipped road ends are not exactly on the boundary
    # and an exact union leaves them dangling (7 faces instead of 15)
    lines = shapely.union_all(np.concatenate([clipped, [district.boundary]]), grid_size=0.001)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    inside = shapely.contains_properly(district.buffer(1e-6), shapely.point_on_surface(faces))
    faces = _merge_small_faces(list(faces[inside]), MOABIT_MIN_COMMUNITY_M2)
    # back onto the exact district outline (the 1 mm grid moved it by < 1e-7 of its area)
    faces = [_largest_polygonal(shapely.intersection(shapely.make_valid(f), district)) for f in faces]
    centres = shapely.centroid(np.array(faces))
    # north to south in 500 m bands, west to east inside a band
    order = np.lexsort((shapely.get_x(centres), -np.floor(shapely.get_y(centres) / 500.0)))
    ids = [f"M{n:02d}" for n in range(1, len(faces) + 1)]
    return gpd.GeoDataFrame(
        {"community_id": ids, "name": [f"Moabit {i}" for i in ids]},
        geometry=[faces[o] for o in order],
        crs=MOABIT_CRS,
    )


def load_moabit(*, verbose: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """Moabit, Berlin, ready for ``gridkit.partition`` (EPSG:25833, metres).

    Returns
    -------
    dict
        ``communities_whole``: the district boundary as one community (``community_id`` "moabit",
        ``name`` "Moabit"). ``communities_cut``: the district cut along its primary and
        secondary roads (and their ``_link`` ramps): the district boundary and those roads
        (clipped to it) are noded and polygonized; faces under 5 ha are merged, smallest first,
        into the neighbour with the longest shared border; ids "M01", ... north to south, west
        to east. ``buildings``: the 3,834 ALKIS footprints with ``building_id`` (OBJECTID),
        ``levels`` (``AnzahlDerO``, storeys above ground), ``use`` (``Gebaeude_1``),
        ``footprint_m2``, ``households`` = round(footprint m² x levels x 0.8 / 75) for the uses in
        :data:`MOABIT_RESIDENTIAL_USES` and 0 otherwise, ``population`` = round(households x
        1.8). ``streets``: all 2,857 OSM road lines (every ``fclass``, footways and service
        roads included; not noded).

    Notes
    -----
    The estimate gives 45,774 households in 2,450 residential footprints (largest 326) and
    82,354 people, i.e. about 153 grids of 300; Moabit's registered population is about 80,000,
    so the order is right. Nothing was tuned to hit a number. The cut gives 15 communities of
    7-155 ha; the industrial north and the east bank hold few or no households (M01 and M09
    none, M02 4, M03 76, M13 117), the largest holds 10,838. Footprints are measured in
    EPSG:25833; the file's ``Shape__Are`` is in Web Mercator units (x 2.7) and is not used.
    """
    build_path, roads_path, district_path = _require(
        "moabit/moabit_build.gpkg", "moabit/moabit_roads.gpkg", "moabit/moabit_district.gpkg"
    )
    district_raw = gpd.read_file(district_path).to_crs(MOABIT_CRS)
    district = shapely.make_valid(shapely.union_all(district_raw.geometry.to_numpy()))
    if district.geom_type == "MultiPolygon" and len(district.geoms) == 1:
        district = district.geoms[0]
    whole = gpd.GeoDataFrame(
        {"community_id": ["moabit"], "name": ["Moabit"]}, geometry=[district], crs=MOABIT_CRS
    )
    roads = gpd.read_file(roads_path).to_crs(MOABIT_CRS)
    streets = roads[["osm_id", "fclass", "name", "geometry"]].reset_index(drop=True)
    buildings = _moabit_buildings(build_path)
    cut = _cut_communities(district, roads)
    if verbose:
        _print_moabit(whole, cut, buildings, streets)
    return {"communities_whole": whole, "communities_cut": cut, "buildings": buildings, "streets": streets}


def _print_moabit(whole: gpd.GeoDataFrame, cut: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                  streets: gpd.GeoDataFrame) -> None:
    hh = int(buildings["households"].sum())
    print(f"Moabit: district {whole.area.iloc[0] / 1e4:.0f} ha, {len(buildings)} buildings "
          f"({(buildings['households'] > 0).sum()} residential), {hh} households, "
          f"{int(buildings['population'].sum())} people -> ~{hh / 300:.0f} grids of 300; "
          f"largest building {int(buildings['households'].max())} households; {len(streets)} street lines")
    points = gpd.GeoDataFrame(geometry=buildings.representative_point(), crs=buildings.crs)
    joined = gpd.sjoin(points.assign(hh=buildings["households"].to_numpy()), cut, predicate="within")
    per = joined.groupby("community_id")["hh"].agg(["size", "sum"])
    print(f"Moabit cut: {len(cut)} communities, {len(joined)} of {len(buildings)} buildings inside one")
    for row in cut.itertuples():
        n, s = per.loc[row.community_id] if row.community_id in per.index else (0, 0)
        print(f"  {row.community_id}: {row.geometry.area / 1e4:6.1f} ha {n:5d} buildings {s:6d} households")


# --------------------------------------------------------------------------------------------
# Monaco and Liechtenstein from OSM PBF

#: File, administrative level of the communities, storeys assumed where ``building:levels`` is
#: not tagged (Monaco is mostly mid-rise flats, Liechtenstein detached houses), and UTM CRS.
OSM_DISTRICTS: dict[str, tuple[str, str, float, str]] = {
    "monaco": ("osm/monaco.osm.pbf", "10", 5.0, "EPSG:32632"),
    "liechtenstein": ("osm/liechtenstein-2013-08-03.osm.pbf", "8", 2.0, "EPSG:32632"),
}
#: OSM ``building`` values counted as housing (``yes``, the untyped default, included).
OSM_RESIDENTIAL = frozenset({"yes", "residential", "apartments", "house", "detached", "semidetached_house",
                             "terrace", "dormitory", "bungalow", "farm"})
_LEVELS = re.compile(r'"building:levels"=>"([0-9.]+)"')


def load_osm_district(name: str) -> dict[str, gpd.GeoDataFrame]:
    """Monaco or Liechtenstein from its OSM PBF, ready for ``gridkit.partition`` (UTM 32N, metres).

    Returns
    -------
    dict
        ``communities``: the administrative areas of the level in :data:`OSM_DISTRICTS`
        (``community_id`` "A01", ... by OSM id, ``name``). ``buildings``: footprints whose
        representative point lies in a community, ``building_id`` (OSM id), ``levels``
        (``building:levels``, else the default storeys), ``use`` (the ``building`` tag),
        ``households`` = round(footprint m² × levels × 0.8 / 75) for the uses in
        :data:`OSM_RESIDENTIAL`, else 0; ``population`` = round(households × 2.1).
        ``streets``: every ``highway`` line (footways, steps, service roads and paths included).
    """
    if name not in OSM_DISTRICTS:
        msg = f"unknown OSM district {name!r}; one of {sorted(OSM_DISTRICTS)}"
        raise ValueError(msg)
    relative, level, default_levels, crs = OSM_DISTRICTS[name]
    (path,) = _require(relative)
    polygons = gpd.read_file(path, layer="multipolygons", engine="pyogrio").to_crs(crs)
    admin = polygons[(polygons["admin_level"].astype(str) == level) & polygons["boundary"].notna()]
    admin = admin.sort_values("osm_id", kind="stable").reset_index(drop=True)
    communities = gpd.GeoDataFrame(
        {"community_id": [f"A{i + 1:02d}" for i in range(len(admin))], "name": admin["name"].fillna("").to_numpy()},
        geometry=shapely.make_valid(admin.geometry.to_numpy()), crs=crs)
    raw = polygons[polygons["building"].notna()].reset_index(drop=True)
    geoms = shapely.make_valid(raw.geometry.to_numpy())
    points = shapely.point_on_surface(geoms)
    inside = np.zeros(len(raw), dtype=bool)
    hit, _ = shapely.STRtree(communities.geometry.to_numpy()).query(points, predicate="within")
    inside[hit] = True
    tags = raw["other_tags"].fillna("")
    levels = pd.to_numeric(tags.str.extract(_LEVELS, expand=False), errors="coerce").fillna(default_levels)
    use = raw["building"].astype(str).str.lower()
    footprint = shapely.area(geoms)
    households = np.rint(footprint * levels.to_numpy() * RESIDENTIAL_SHARE / M2_PER_DWELLING)
    households = np.where(use.isin(OSM_RESIDENTIAL).to_numpy(), households, 0).astype(np.int64)
    ids = raw["osm_id"].fillna(raw["osm_way_id"]).astype(str)
    buildings = gpd.GeoDataFrame({
        "building_id": ids.to_numpy(), "levels": levels.to_numpy(), "use": use.to_numpy(),
        "households": households, "population": np.rint(households * 2.1).astype(np.int64),
    }, geometry=geoms, crs=crs)[inside].reset_index(drop=True)
    buildings = buildings[shapely.get_type_id(buildings.geometry.to_numpy()) >= 3]
    buildings = buildings.drop_duplicates("building_id").reset_index(drop=True)
    lines = gpd.read_file(path, layer="lines", engine="pyogrio")
    lines = lines[lines["highway"].notna()].to_crs(crs)
    streets = gpd.GeoDataFrame({"osm_id": lines["osm_id"].to_numpy(), "highway": lines["highway"].to_numpy()},
                               geometry=lines.geometry.to_numpy(), crs=crs).reset_index(drop=True)
    return {"communities": communities, "buildings": buildings, "streets": streets}


# --------------------------------------------------------------------------------------------
# Walnut Hills


def load_walnut_hills() -> gpd.GeoDataFrame:
    """The 457 census blocks of Walnut Hills, Cincinnati, as atoms (EPSG:32616, metres).

    Columns: ``atom_id`` (15-digit census block code), ``households`` (HOUSEHOLDS),
    ``population`` (POPULATION), ``housing_units`` (HSNG_UNITS), ``area_m2``, geometry.
    Three blocks have self-intersecting rings ("nested shells") and are repaired with
    ``make_valid``; three are multipart. 16,766 households in all, 83 blocks with none, the
    largest 745: coarse against a target of 300. The rook graph is connected.
    """
    (path,) = _require("geoda/walnut_hills.geojson")
    raw = gpd.read_file(path).to_crs(WALNUT_HILLS_CRS)
    geometry = shapely.make_valid(raw.geometry.to_numpy())
    atoms = gpd.GeoDataFrame(
        {
            "atom_id": raw["BLOCK"].astype(str).to_numpy(),
            "households": raw["HOUSEHOLDS"].astype(np.int64).to_numpy(),
            "population": raw["POPULATION"].astype(np.int64).to_numpy(),
            "housing_units": raw["HSNG_UNITS"].astype(np.int64).to_numpy(),
        },
        geometry=geometry,
        crs=WALNUT_HILLS_CRS,
    )
    atoms["area_m2"] = atoms.area
    return atoms


if __name__ == "__main__":
    data = load_moabit(verbose=True)
    walnut = load_walnut_hills()
    print(f"Walnut Hills: {len(walnut)} blocks, {walnut['households'].sum()} households, "
          f"{walnut['population'].sum()} people, {walnut.area.sum() / 1e6:.2f} km² -> k = "
          f"{round(walnut['households'].sum() / 300)}")
