"""Write the notebooks in ``notebooks/`` (without outputs) from the cell lists below.

The notebooks are generated so that their code stays reviewable as plain Python in one place;
``python scripts/make_notebooks.py`` rewrites them. CI executes every notebook top to bottom
(``tests/test_notebooks.py``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parents[1] / "notebooks"

QUICKSTART = [
    ("md", """# gridkit quickstart: the sample district

Partition the embedded sample street office (锦官街道, five fictional communities in Chengdu) into balanced,
street-bounded grids of about 300 households, check them against the rules of practice, and draw them.

Runs from a fresh install of the README's first command (`pip install -e .`) with the embedded sample: no
extra, no data, no network (the maps are offline pages)."""),
    ("code", """import gridkit
from gridkit.samples import load_sample

s = load_sample()
s.communities[["community_id", "name", "code", "kind", "target"]]"""),
    ("code", """result = gridkit.partition(s.communities, s.buildings, s.streets, by="households", target=300,
                           tolerance=0.1)
grids, assignment = result
result.report[["community_id", "name", "n_grids", "households", "max_abs_deviation", "status", "message"]]"""),
    ("md", """Every building is in exactly one grid; the metrics table follows GUIDE §4 (conservation, coverage gap
and overlap, contiguity, balance, Polsby-Popper compactness, street alignment)."""),
    ("code", """gridkit.evaluate(grids, s.communities, s.buildings, assignment, streets=s.streets)"""),
    ("code", """columns = ["grid_id", "community_id", "households", "population", "area_m2", "deviation", "oversize"]
grids[columns].head(10)"""),
    ("md", """The map draws the grids over the district's own streets, building outlines and community boundaries
(no basemap, no network); grid labels read "锦里 07" (community and number) and the full code is in the
tooltip. Zoom in for street names."""),
    ("code", """gridkit.map(grids, communities=s.communities, streets=s.streets, buildings=s.buildings,
            column="deviation", title="锦官街道")"""),
    ("md", """## Everything at once

`gridkit run gridkit.toml` runs the whole pipeline from a district configuration; the same from Python:"""),
    ("code", """import tempfile
from pathlib import Path

from typer.testing import CliRunner

from gridkit.cli import app
from gridkit.config import load_config
from gridkit.pipeline import run_pipeline

folder = Path(tempfile.mkdtemp())
CliRunner().invoke(app, ["init", str(folder / "gridkit.toml"), "--lang", "en"])
run = run_pipeline(load_config(folder / "gridkit.toml"))
run.summary"""),
]

WARDENS = [
    ("md", """# Wardens, coverage and patrol routes

Staff the sample district's grids from its roster (一格一员), check that every household is within a
ten-minute walk of its warden, site stations exactly, and give each grid its shortest patrol route (an
exact Chinese Postman tour over the street network).

Runs from a fresh install of the README's first command (`pip install -e .`) with the embedded sample."""),
    ("code", """import warnings

import gridkit
from gridkit.coverage import coverage, site_stations
from gridkit.maps import map as district_map
from gridkit.network import street_graph
from gridkit.routing import patrol_routes
from gridkit.samples import load_sample
from gridkit.wardens import assign_wardens, building_wardens, read_roster

s = load_sample()
grids, assignment = gridkit.partition(s.communities, s.buildings, s.streets, target=300)
graph = street_graph(s.streets)
print(graph)"""),
    ("code", """roster = read_roster(s.wardens, district=s.communities)
plan = assign_wardens(grids, roster, rule="one_per_grid", graph=graph, streets=s.streets)
print(f"optimal={plan.optimal}, total walk {plan.objective / 1000:.1f} km, method: {plan.method}")
plan.per_warden.describe().round(1)"""),
    ("md", """A stricter rule shows shortages instead of hiding them: under "1+1+2" each grid also needs a grid police
officer, shared by at most two neighbouring grids."""),
    ("code", """with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    team = assign_wardens(grids, roster, rule="1+1+2", graph=graph)
team.shortage"""),
    ("code", """reach = coverage(s.buildings, roster, graph, minutes=10, assignment=building_wardens(assignment, plan))
{k: v for k, v in reach.summary.items() if k.startswith("share")}"""),
    ("code", """siting = site_stations(s.buildings, roster.drop_duplicates("community_id"), graph, p=3, minutes=10)
print(siting.status, "objective", siting.objective, "bound", siting.bound)
siting.selected[["warden_id", "community_id"]]"""),
    ("code", """stations = roster.drop(columns=["grid_id"], errors="ignore").merge(
    plan.links.loc[plan.links["role"] != "police", ["warden_id", "grid_id"]], on="warden_id")
routes = patrol_routes(grids, graph, stations=stations)
routes[["grid_id", "warden_id", "length_m", "minutes", "street_length_m", "deadhead_ratio"]].describe().round(2)"""),
    ("md", """Per-warden workload: households, street km, route minutes and incidents, split by each warden's share of
a grid, with the overloaded flagged (workload index above 1.25 × the median of their role)."""),
    ("code", """from gridkit.workload import warden_workload

load = warden_workload(plan, grids, routes=routes, streets=s.streets)
load.sort_values("workload", ascending=False).head(10)"""),
    ("code", """district_map(grids=grids, routes=routes, wardens=plan.assignment, communities=s.communities,
             streets=s.streets, lang="en")"""),
]

INCIDENTS = [
    ("md", """# Incidents: lifecycle, grid statistics, hot spots and heat maps

The sample district's 10,702 incidents of 2025 go through 发现 → 立案 → 派遣 → 处置 → 核查 → 结案. A few
rows carry planted problems (unknown categories, stages out of order, closed without verification,
duplicates, points outside every grid); they are listed, never dropped silently.

Runs from a fresh install of the README's first command (`pip install -e .`) with the embedded sample."""),
    ("code", """import gridkit
from gridkit.hotspots import hotspots, kde_surface
from gridkit.incidents import grid_stats, prepare_incidents
from gridkit.maps import map as district_map
from gridkit.samples import load_sample

s = load_sample()
grids, assignment = gridkit.partition(s.communities, s.buildings, s.streets, target=300)
prepared = prepare_incidents(s.incidents, grids, period="month")
prepared.counts"""),
    ("code", """prepared.quality"""),
    ("code", """stats = grid_stats(prepared, grids)
stats.sort_values("per_100_households", ascending=False).head(10)"""),
    ("md", """Getis-Ord Gi* on grid counts, with a Benjamini-Hochberg false discovery rate: bins ±3/±2/±1 are hot or
cold spots at 99/95/90 % after the correction. The heat layer is a picture; the hot-spot layer is the
statistic."""),
    ("code", """spots = hotspots(grids.merge(stats[["grid_id", "count"]], on="grid_id"), "count")
spots["gi_bin"].value_counts().sort_index()"""),
    ("code", """surface = kde_surface(prepared.incidents)
district_map(grids=grids.merge(stats.drop(columns=["households"]), on="grid_id"), incidents=prepared,
             hotspots=spots, kde=surface, communities=s.communities, streets=s.streets, buildings=s.buildings,
             lang="zh", time_slider="month")"""),
    ("md", """The legend says how the tiers are set: by default relative (the top 10 % of grids are red, so every
period has red grids); fixed thresholds from the configuration (`[tiers] orange = 30, red = 60`) say so.
The meeting report (`gridkit.report.meeting_report`, `gridkit report`) prints the same as a PDF; it needs
a Chinese font on the machine (Debian `fonts-noto-cjk`)."""),
]

MOABIT = [
    ("md", """# A real district: Moabit, Berlin, against METIS

Moabit has 3,834 official building footprints with storey counts (Berlin ALKIS) and the OSM street
network. Households are estimated from floor area (footprint × storeys × 0.8 / 75 m², residential uses
only), about 45,800 in all, so ~153 grids of 300 households. We partition the district with gridkit and
hand the *same atoms* to METIS (pymetis, contiguous k-way), the usual general-purpose tool, and compare
balance, compactness and how much of each grid border runs along a street.

**Needs more than the first install command:** the bench extra for METIS
(`pip install -e ".[bench]"`, which brings `pymetis`), the repository's `scripts/` folder (the peers and the
real-data loaders, found from the notebook's folder upwards) and the real data beside the repository in
`../shared/data` (set `GRIDKIT_SHARED_DATA` to move it)."""),
    ("code", """import sys
from pathlib import Path

import numpy as np
import pandas as pd

import gridkit
from gridkit.blocks import atom_adjacency
from gridkit.maps import grids_map
from gridkit.metrics import deviations, polsby_popper, street_alignment

scripts = next((p / "scripts" for p in [Path.cwd(), *Path.cwd().parents] if (p / "scripts" / "peers.py").exists()),
               None)
if scripts is None:
    raise RuntimeError("run this notebook from the gridkit repository (it needs scripts/peers.py)")
try:
    import pymetis  # noqa: F401
except ImportError as exc:
    raise RuntimeError('this notebook needs the bench extra: pip install -e ".[bench]"') from exc
sys.path.insert(0, str(scripts))
from peers import metis_contig  # noqa: E402
from realdata import load_moabit  # noqa: E402

moabit = load_moabit()
communities, buildings, streets = moabit["communities_whole"], moabit["buildings"], moabit["streets"]
print(f"{len(buildings):,} buildings, {buildings.households.sum():,} households, {len(streets):,} street lines")"""),
    ("code", """result = gridkit.partition(communities, buildings, streets, by="households", target=300, tolerance=0.1)
grids, assignment = result
metrics = gridkit.evaluate(grids, communities, buildings, assignment, streets=streets)
metrics[["n_grids", "conserved", "n_noncontiguous", "max_abs_deviation", "share_within_tolerance",
         "mean_polsby_popper", "street_alignment"]]"""),
    ("md", """## The same atoms through METIS

gridkit's atoms are street blocks, and building cells inside heavy blocks. METIS gets the atom graph
with shared border lengths as edge weights and households as vertex weights, and the same number of
parts."""),
    ("code", """atoms = result.atoms.reset_index(drop=True)
labels = metis_contig(atoms, atom_adjacency(atoms), atoms["households"].to_numpy(float), len(grids),
                      tolerance=0.1, seed=0)
metis = atoms.assign(part=labels).dissolve("part", aggfunc={"households": "sum"}).reset_index()


community = communities.to_crs(atoms.crs).geometry.iloc[0]
street_lines = streets.to_crs(atoms.crs).geometry.explode().to_numpy()


def summary(name, polygons, households):
    # the GUIDE §4 metrics, computed the same way for both plans
    geoms = polygons.geometry.to_numpy()
    dev = np.abs(deviations(households))
    on_street = street_alignment(geoms, community, street_lines)[0]
    return {"method": name, "grids": len(polygons), "max |dev|": dev.max(), "in ±10 %": (dev <= 0.1).mean(),
            "mean Polsby-Popper": polsby_popper(geoms).mean(), "inner borders on streets": on_street}


normal = grids[~grids["oversize"]].to_crs(atoms.crs)
pd.DataFrame([summary("gridkit", normal, normal["households"].to_numpy(float)),
              summary("METIS (pymetis, contig)", metis, metis["households"].to_numpy(float))]).round(3)"""),
    ("md", """(Oversize grids — a single building above the upper bound — are left out of gridkit's row; Moabit has
none.) gridkit keeps every grid within ±10 % and puts far more of the
grid borders on streets, at the same compactness. The full comparison, with GerryChain, spopt max-p and
H3 hexagons, is `scripts/bench_partition.py` (table in `docs/benchmarks.md`)."""),
    ("code", """grids_map(grids, lang="en")"""),
]


def _cells(spec: list[tuple[str, str]]) -> list[nbformat.NotebookNode]:
    return [new_markdown_cell(text) if kind == "md" else new_code_cell(text) for kind, text in spec]


def write(name: str, spec: list[tuple[str, str]]) -> Path:
    """Write ``notebooks/<name>`` with no outputs."""
    nb = new_notebook(cells=_cells(spec), metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    path = HERE / name
    nbformat.write(nb, path)
    return path


NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_moabit_vs_peers.ipynb": MOABIT,
    "03_wardens_coverage_routes.ipynb": WARDENS,
    "04_incidents_heat_maps.ipynb": INCIDENTS,
}

if __name__ == "__main__":
    for filename, cells in NOTEBOOKS.items():
        print(write(filename, cells))
