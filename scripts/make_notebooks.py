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

MOABIT = [
    ("md", """# A real district: Moabit, Berlin, against METIS

Moabit has 3,834 official building footprints with storey counts (Berlin ALKIS) and the OSM street
network. Households are estimated from floor area (footprint × storeys × 0.8 / 75 m², residential uses
only), about 45,800 in all, so ~153 grids of 300 households. We partition the district with gridkit and
hand the *same atoms* to METIS (pymetis, contiguous k-way), the usual general-purpose tool, and compare
balance, compactness and how much of each grid border runs along a street.

The data sits beside the repository in `../shared/data` (set `GRIDKIT_SHARED_DATA` to move it); the
loaders are the ones the benchmark uses (`scripts/realdata.py`)."""),
    ("code", """import sys
from pathlib import Path

import numpy as np
import pandas as pd

import gridkit
from gridkit.blocks import atom_adjacency
from gridkit.maps import grids_map
from gridkit.metrics import deviations, polsby_popper, street_alignment

sys.path.insert(0, str(Path.cwd().parent / "scripts"))
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


NOTEBOOKS = {"02_moabit_vs_peers.ipynb": MOABIT}

if __name__ == "__main__":
    for filename, cells in NOTEBOOKS.items():
        print(write(filename, cells))
