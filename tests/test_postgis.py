"""A real city GIS in the tests: every export of the sample district loaded into PostGIS with ogr2ogr.

Needs PostgreSQL + PostGIS and GDAL's command-line tools: run ``bash .ci/postgis.sh`` first (it prints
the connection string and writes it to /tmp/gridkit-postgis.dsn; ``GRIDKIT_PG_DSN`` overrides). When
the server or the tools are missing the tests FAIL under CI (env ``CI`` set) and skip locally, saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pytest

from gridkit.errors import GridkitWarning
from gridkit.export import export, resolve_crs
from gridkit.incidents import grid_stats, prepare_incidents
from gridkit.network import street_graph
from gridkit.partition import partition
from gridkit.routes import patrol_routes
from gridkit.samples import load_sample
from gridkit.wardens import assign_wardens

pytestmark = pytest.mark.slow

DSN_FILE = Path(os.environ.get("GRIDKIT_PG_DSN_FILE", "/tmp/gridkit-postgis.dsn"))
DEFAULT_DSN = "host=localhost port=5432 dbname=gridkit_test user=gridkit password=gridkit"
CRSS = ["EPSG:4326", "EPSG:4490", "cgcs2000-gk3", "cgcs2000-gk3-cm", "gcj02"]
FORMATS = ["geojson", "gpkg", "shp", "csv"]
CASES = [(f, c) for f in FORMATS for c in CRSS if f != "geojson" or c in {"EPSG:4326", "gcj02"}]
AREA_RTOL = 1e-5  # partition coverage is exact to 1e-6; reprojection of extra vertices adds less than this
OVERLAP_RTOL = 1e-6
SPATIAL = ("grids", "communities", "routes", "staffing")


def _dsn() -> str:
    if os.environ.get("GRIDKIT_PG_DSN"):
        return os.environ["GRIDKIT_PG_DSN"]
    if DSN_FILE.exists():
        return DSN_FILE.read_text(encoding="utf-8").strip()
    return DEFAULT_DSN


def _unavailable(reason: str) -> None:
    message = f"{reason} (run `bash .ci/postgis.sh` to install and start PostGIS and GDAL's tools)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def psql(dsn: str, sql: str) -> list[list[str]]:
    """Run ``sql`` with psql; rows as lists of text (NULL as '')."""
    done = subprocess.run(
        ["psql", dsn, "-X", "-q", "-A", "-t", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, encoding="utf-8", env={**os.environ, "PGCLIENTENCODING": "UTF8"},
        check=False,
    )
    assert done.returncode == 0, f"psql failed on {sql!r}: {done.stderr}"
    return [line.split("\x1f") for line in done.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def dsn() -> str:
    for tool in ("psql", "ogr2ogr", "ogrinfo"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} is not installed")
    value = _dsn()
    probe = subprocess.run(["psql", value, "-X", "-A", "-t", "-c", "select postgis_version()"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        shown = re.sub(r"password=\S+", "password=***", value)
        _unavailable(f"PostGIS server not reachable at {shown}: {probe.stderr.strip()}")
    return value


@pytest.fixture(scope="module")
def district() -> dict[str, pd.DataFrame]:
    """The sample district partitioned, as the layers a city GIS receives."""
    sample = load_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)  # the sample's coarse towers: expected notes
        result = partition(sample.communities, sample.buildings, sample.streets)
    buildings = sample.buildings[["building_id", "households", "population"]]
    assignment = pd.DataFrame(result.assignment).merge(buildings, on="building_id", how="left", validate="1:1")
    # the real routes and staffing of the district, as `gridkit run` makes them
    graph = street_graph(sample.streets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridkitWarning)  # two tower grids have no street to walk
        routes = patrol_routes(result.grids, graph)
    routes = routes[routes.geometry.notna()].reset_index(drop=True)
    staffing = assign_wardens(result.grids, sample.wardens, rule="one_per_grid", graph=graph).assignment
    stats = grid_stats(prepare_incidents(sample.incidents, result.grids), result.grids)
    return {"grids": result.grids, "communities": sample.communities, "assignment": assignment,
            "routes": routes, "staffing": staffing, "stats": stats}


@pytest.fixture(scope="module")
def exports(district, tmp_path_factory) -> dict[tuple[str, str], list[Path]]:
    root = tmp_path_factory.mktemp("exports")
    return {(fmt, crs): export(district, root / f"{fmt}-{crs.replace(':', '_')}", format=fmt, crs=crs)
            for fmt, crs in CASES}


def _layer_sources(fmt: str, paths: list[Path]) -> dict[str, tuple[Path, list[str]]]:
    """Layer name -> (file, extra ogr2ogr/ogrinfo arguments)."""
    if fmt == "gpkg":
        return {name: (paths[0], [name]) for name in ("grids", "communities", "assignment", "routes", "staffing",
                                                     "stats")}
    out = {}
    for path in paths:
        extra: list[str] = []
        if fmt == "csv":
            # column types come from the .csvt written beside each CSV
            extra = ["-oo", "GEOM_POSSIBLE_NAMES=wkt", "-oo",
                     "X_POSSIBLE_NAMES=lon,x", "-oo", "Y_POSSIBLE_NAMES=lat,y", "-oo", "KEEP_GEOM_COLUMNS=NO"]
        out[path.stem.split(".")[0]] = (path, extra)
    return out


def _fields(fmt: str, paths: list[Path], layer: str) -> dict[str, str]:
    """Column -> field name in the loaded table (Shapefiles: from the written mapping)."""
    if fmt != "shp":
        return {}
    folder = paths[0].parent
    mapping = pd.read_csv(folder / f"{layer}.fields.csv", dtype=str)
    first = mapping[mapping["part"] == "1"]
    return dict(zip(first["column"], first["shapefile_field"].str.lower(), strict=True))


@pytest.mark.parametrize(("fmt", "crs"), CASES)
def test_export_loads_into_postgis(dsn, district, exports, fmt, crs):
    paths = exports[(fmt, crs)]
    target = resolve_crs(crs, district)
    srid = target.crs.to_epsg()
    schema = f"x_{fmt}_{crs.lower().replace(':', '_').replace('-', '_')}"
    psql(dsn, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    sources = _layer_sources(fmt, paths)
    assert set(sources) == set(district)
    for layer, (path, extra) in sources.items():
        # ogrinfo opens every file written and counts every feature
        info = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(path), *extra], capture_output=True, text=True,
                              check=False)
        assert info.returncode == 0, info.stderr
        assert "ERROR" not in info.stderr, info.stderr
        assert f"Feature Count: {len(district[layer])}" in info.stdout, info.stdout
        srs = ["-a_srs", f"EPSG:{srid}"] if fmt == "csv" and layer in SPATIAL else []
        load = subprocess.run(
            ["ogr2ogr", "-f", "PostgreSQL", f"PG:{dsn}", str(path), *extra, *srs, "-nln", layer,
             "-lco", f"SCHEMA={schema}", "-lco", "GEOMETRY_NAME=geom", "-nlt", "PROMOTE_TO_MULTI", "-overwrite"],
            capture_output=True, text=True, check=False,
        )
        assert load.returncode == 0, load.stderr
    _check_in_sql(dsn, schema, srid, district, fmt, paths, target.label)


def _check_in_sql(dsn, schema, srid, district, fmt, paths, label):
    grids, communities = district["grids"], district["communities"]
    g = _fields(fmt, paths, "grids")
    c = _fields(fmt, paths, "communities")
    a = _fields(fmt, paths, "assignment")
    gid, gcomm = g.get("grid_id", "grid_id"), g.get("community_id", "community_id")
    ghh, gnb = g.get("households", "households"), g.get("n_buildings", "n_buildings")
    ccomm, cname = c.get("community_id", "community_id"), c.get("name", "name")
    agid, ahh = a.get("grid_id", "grid_id"), a.get("households", "households")
    # every geometry valid, in the CRS asked for
    for layer in SPATIAL:
        (bad, total, srids), = psql(dsn, f"SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)), count(geom), "
                                         f"string_agg(DISTINCT ST_SRID(geom)::text, ',') FROM {schema}.{layer}")
        assert int(bad) == 0, f"{layer}: {bad} invalid geometries"
        assert int(total) == len(district[layer])
        assert srids == str(srid)
    # the grids of each community do not overlap and their areas add up to the community's
    rows = psql(dsn, f"""
        WITH pairs AS (
          SELECT a.{gcomm}::text AS comm, sum(ST_Area(ST_Intersection(a.geom, b.geom))) AS overlap
          FROM {schema}.grids a JOIN {schema}.grids b
            ON a.{gcomm} = b.{gcomm} AND a.{gid}::text < b.{gid}::text AND ST_Intersects(a.geom, b.geom)
          GROUP BY 1),
        sums AS (SELECT {gcomm}::text AS comm, sum(ST_Area(geom)) AS grid_area, count(*) AS n
                 FROM {schema}.grids GROUP BY 1)
        SELECT c.{ccomm}::text, ST_Area(c.geom), s.grid_area, coalesce(p.overlap, 0), s.n
        FROM {schema}.communities c JOIN sums s ON s.comm = c.{ccomm}::text LEFT JOIN pairs p ON p.comm = s.comm
        ORDER BY 1""")
    assert [r[0] for r in rows] == sorted(communities["community_id"])
    for comm, area_text, grid_area_text, overlap_text, n in rows:
        area, grid_area, overlap = float(area_text), float(grid_area_text), float(overlap_text)
        assert overlap / area <= OVERLAP_RTOL, f"{label} {comm}: grids overlap by {overlap / area:.2e}"
        assert abs(grid_area - area) / area <= AREA_RTOL, f"{label} {comm}: grids {grid_area} vs {area}"
        assert int(n) == int((grids["community_id"] == comm).sum())
    # building counts and household sums of every grid match the assignment
    mismatches = psql(dsn, f"""
        SELECT g.{gid}::text, g.{gnb}, g.{ghh}, count(a.*), coalesce(sum(a.{ahh}), 0)
        FROM {schema}.grids g LEFT JOIN {schema}.assignment a ON a.{agid}::text = g.{gid}::text
        GROUP BY 1, 2, 3 HAVING count(a.*) <> g.{gnb} OR coalesce(sum(a.{ahh}), 0) <> g.{ghh}""")
    assert mismatches == []
    (n_rows, households), = psql(dsn, f"SELECT count(*), sum({ahh}) FROM {schema}.assignment")
    assert int(n_rows) == len(district["assignment"])
    assert int(households) == int(grids["households"].sum()) == int(district["assignment"]["households"].sum())
    # Chinese names survive, character for character
    names = dict(psql(dsn, f"SELECT {ccomm}::text, {cname} FROM {schema}.communities"))
    assert names == dict(zip(communities["community_id"], communities["name"], strict=True))
    s = _fields(fmt, paths, "staffing")
    wardens = dict(psql(dsn, f"SELECT {s.get('warden_id', 'warden_id')}, {s.get('name', 'name')} "
                             f"FROM {schema}.staffing"))
    assert wardens == dict(zip(district["staffing"]["warden_id"], district["staffing"]["name"], strict=True))
    r = _fields(fmt, paths, "routes")
    streets = r.get("street_names", "street_names")
    as_text = f"array_to_string({streets}, '; ')" if fmt == "geojson" else streets
    routes = dict(psql(dsn, f"SELECT {r.get('grid_id', 'grid_id')}::text, {as_text} FROM {schema}.routes"))
    expected = {str(k): "; ".join(v) for k, v in zip(district["routes"]["grid_id"],
                                                     district["routes"]["street_names"], strict=True)}
    if fmt == "shp":  # long lists continue in further fields; the first one holds the start
        assert all(expected[k].startswith(v) for k, v in routes.items())
    else:
        assert routes == expected
    if label == "GCJ-02":
        (coord_sys,) = {row[0] for row in psql(dsn, f"SELECT DISTINCT {g.get('coord_sys', 'coord_sys')} "
                                                    f"FROM {schema}.grids")}
        assert coord_sys == "GCJ-02"
