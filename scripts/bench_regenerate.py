"""Benchmark: regenerating grids after a data change against partitioning from scratch.

For each dataset (``--datasets``: ``sample`` = the embedded sample district, ``moabit`` = Moabit cut
into 15 communities, ``moabit-whole`` = Moabit as one community) the script partitions the
original data once (the previous plan), perturbs the buildings with :func:`perturb` (10 % of the
buildings change their households by up to ±30 %, new small buildings in free space inside the
communities add 5 % more households, 2 % of the buildings are demolished; seed fixed), then

* ``regenerate``: :func:`gridkit.regenerate.regenerate` from the previous plan;
* ``scratch``: :func:`gridkit.partition.partition` of the changed data, codes matched to the
  previous plan by the same rule (churn is measured on codes, so a fresh plan gets the best
  matching of its grids to the previous ones by shared households, to be fair to it).

Metrics (GUIDE §4, from :func:`gridkit.metrics.evaluate`): churn (share of the households of the
buildings present in both plans whose grid code changed), conservation, max coverage gap and overlap,
non-contiguous grids, share of grids inside ±tolerance, max |deviation|, mean Polsby-Popper, street
alignment, grids, seconds (wall clock of the call, the best of ``--repeat`` runs alternating the two
methods; the machine is shared, timings are noisy).

Usage::

    python scripts/bench_regenerate.py [--datasets sample,moabit,moabit-whole] [--seed 0] [--repeat 2]
        [--out table.md]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
for _p in (str(REPO), str(SCRIPTS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import realdata  # noqa: E402

from gridkit.crs import local_metric_crs  # noqa: E402
from gridkit.metrics import evaluate  # noqa: E402
from gridkit.partition import partition  # noqa: E402
from gridkit.regenerate import regenerate  # noqa: E402
from gridkit.samples import load_sample  # noqa: E402

#: The change of the issue: share of buildings whose households change, by up to this factor;
#: households added in new buildings (share of the total); share of buildings demolished.
CHANGED_SHARE, CHANGE_FACTOR, ADDED_SHARE, REMOVED_SHARE = 0.10, 0.30, 0.05, 0.02


def perturb(
    communities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame | None = None,
    *,
    seed: int = 0,
    changed: float = CHANGED_SHARE,
    factor: float = CHANGE_FACTOR,
    added: float = ADDED_SHARE,
    removed: float = REMOVED_SHARE,
    persons_per_household: float = 2.6,
) -> gpd.GeoDataFrame:
    """Return a changed copy of ``buildings`` (same CRS and columns), deterministic for ``seed``.

    ``changed`` of the buildings get households × (1 + u), u uniform in ±``factor`` (population
    scaled alike); ``removed`` of the others are dropped; new square footprints of 8-14 m with
    10-60 households each are placed at random in free space inside the communities (at least 3 m
    from every building and 4 m from every street, never across a community boundary) until they
    hold ``added`` × the original households; each community is drawn in proportion to its households,
    so each grows by about the same share. New ids are ``NEW000001``, ...
    """
    rng = np.random.default_rng(seed)
    metric = local_metric_crs(communities)
    bld = buildings.to_crs(metric).reset_index(drop=True).copy()
    n = len(bld)
    order = rng.permutation(n)
    change = order[: round(changed * n)]
    drop = order[round(changed * n): round(changed * n) + round(removed * n)]
    scale = 1 + rng.uniform(-factor, factor, len(change))
    hh = bld["households"].to_numpy(float)
    pop = bld["population"].to_numpy(float)
    hh[change] = np.rint(hh[change] * scale)
    pop[change] = np.rint(pop[change] * scale)
    bld["households"] = hh.astype(np.int64)
    bld["population"] = pop.astype(np.int64)
    bld = bld.drop(index=drop).reset_index(drop=True)
    new = _new_buildings(communities.to_crs(metric), bld, streets.to_crs(metric) if streets is not None else None,
                         round(added * float(buildings["households"].sum())), rng, persons_per_household)
    out = pd.concat([bld, new.reindex(columns=bld.columns)], ignore_index=True)
    for col in ("households", "population"):
        out[col] = out[col].astype(np.int64)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=metric).to_crs(buildings.crs)


def _new_buildings(comm: gpd.GeoDataFrame, bld: gpd.GeoDataFrame, streets: gpd.GeoDataFrame | None,
                   households: int, rng: np.random.Generator, persons: float) -> gpd.GeoDataFrame:
    # each community grows by about the same share: new buildings are drawn by its households
    member = shapely.STRtree(comm.geometry.to_numpy()).query(shapely.point_on_surface(bld.geometry.to_numpy()),
                                                              predicate="intersects")
    share = np.bincount(member[1], weights=bld["households"].to_numpy(float)[member[0]], minlength=len(comm))
    share = share if share.sum() > 0 else comm.geometry.area.to_numpy()
    inner = shapely.buffer(comm.geometry.to_numpy(), -10.0)
    occupied = list(shapely.buffer(bld.geometry.to_numpy(), 3.0))
    if streets is not None:
        occupied += list(shapely.buffer(shapely.get_parts(streets.geometry.to_numpy()), 4.0))
    tree = shapely.STRtree(np.array(occupied, dtype=object))
    placed: list[shapely.Geometry] = []
    counts: list[int] = []
    left, tries = households, 0
    while left > 0 and tries < 200_000:
        tries += 1
        c = int(rng.choice(len(comm), p=share / share.sum()))
        x0, y0, x1, y1 = inner[c].bounds if not inner[c].is_empty else comm.geometry.iloc[c].bounds
        side = rng.uniform(8.0, 14.0)
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        box = shapely.box(x - side / 2, y - side / 2, x + side / 2, y + side / 2)
        if not inner[c].contains(box) or len(tree.query(box, predicate="intersects")):
            continue
        if any(p.distance(box) < 3.0 for p in placed[-200:]) or any(
                p.intersects(box.buffer(3.0)) for p in placed):
            continue
        placed.append(box)
        k = int(min(left, rng.integers(10, 61)))
        counts.append(k)
        left -= k
    return gpd.GeoDataFrame({
        "building_id": [f"NEW{i + 1:06d}" for i in range(len(placed))],
        "households": np.array(counts, dtype=np.int64),
        "population": np.rint(np.array(counts) * persons).astype(np.int64),
    }, geometry=placed, crs=comm.crs)


def matched_churn(previous: pd.DataFrame, assignment: pd.DataFrame, buildings: pd.DataFrame) -> float:
    """Churn of a plan drawn from scratch after giving its grids the previous codes by best overlap."""
    hh = pd.Series(buildings["households"].to_numpy(), index=buildings["building_id"].astype(str).to_numpy())
    both = previous[["building_id", "grid_id"]].astype(str).merge(
        assignment[["building_id", "grid_id"]].astype(str), on="building_id", suffixes=("_old", "_new"))
    both["hh"] = hh.reindex(both["building_id"]).to_numpy()
    table = both.pivot_table(index="grid_id_new", columns="grid_id_old", values="hh", aggfunc="sum", fill_value=0)
    rows, cols = linear_sum_assignment(table.to_numpy(), maximize=True)
    kept = table.to_numpy()[rows, cols].sum()
    return float(1 - kept / both["hh"].sum()) if both["hh"].sum() else 0.0


def _datasets(names: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name in names:
        if name == "sample":
            s = load_sample()
            out[name] = {"communities": s.communities, "buildings": s.buildings, "streets": s.streets, "target": None}
        elif name in ("moabit", "moabit-whole"):
            try:
                m = realdata.load_moabit()
            except FileNotFoundError as exc:
                print(f"skipping {name}: {exc}", file=sys.stderr)
                continue
            key = "communities_cut" if name == "moabit" else "communities_whole"
            out[name] = {"communities": m[key], "buildings": m["buildings"], "streets": m["streets"], "target": 300}
    return out


def _row(name: str, method: str, grids: gpd.GeoDataFrame, assignment: pd.DataFrame, data: dict, changed, *,
         churn: float, seconds: float, tolerance: float) -> dict:
    table = evaluate(grids, data["communities"], changed, assignment, streets=data["streets"], tolerance=tolerance)
    total = table.iloc[-1]
    return {"dataset": name, "method": method, "churn": churn, "conserved": bool(total["conserved"]),
            "gap": total["coverage_gap"], "overlap": total["overlap"], "non-contig": int(total["n_noncontiguous"]),
            "in ±tol": total["share_within_tolerance"], "max|dev|": total["max_abs_deviation"],
            "PP": total["mean_polsby_popper"], "street": total["street_alignment"], "grids": int(total["n_grids"]),
            "seconds": seconds}


def run(name: str, data: dict, *, seed: int, tolerance: float, repeat: int = 2) -> list[dict]:
    """Previous plan, change, regenerate and scratch rows for one dataset."""
    kwargs = {"target": data["target"], "tolerance": tolerance, "seed": seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = partition(data["communities"], data["buildings"], data["streets"], **kwargs)
        changed = perturb(data["communities"], data["buildings"], data["streets"], seed=seed)
        regen_s, fresh_s = float("inf"), float("inf")
        for _ in range(repeat):  # alternate the two, keep each one's best time: the machine is shared
            start = time.perf_counter()
            regen = regenerate(before.grids, before.assignment, data["communities"], changed, data["streets"],
                               **kwargs)
            regen_s = min(regen_s, time.perf_counter() - start)
            start = time.perf_counter()
            fresh = partition(data["communities"], changed, data["streets"], **kwargs)
            fresh_s = min(fresh_s, time.perf_counter() - start)
    rows = [
        _row(name, "previous plan", before.grids, before.assignment, data, data["buildings"], churn=0.0,
             seconds=float("nan"), tolerance=tolerance),
        _row(name, "regenerate", regen.grids, regen.assignment, data, changed, churn=regen.summary["churn"],
             seconds=regen_s, tolerance=tolerance),
        _row(name, "scratch (codes matched)", fresh.grids, fresh.assignment, data, changed,
             churn=matched_churn(before.assignment, fresh.assignment, changed), seconds=fresh_s, tolerance=tolerance),
    ]
    s = regen.summary
    rows[1]["note"] = (f"kept {s['n_kept']}, adjusted {s['n_adjusted']}, split {s['n_split']}, merged {s['n_merged']}, "
                       f"new {s['n_new']}, retired {s['n_retired']}; {s['buildings_new']} new buildings, "
                       f"{s['buildings_removed']} removed")
    return rows


def markdown(rows: list[dict]) -> str:
    """The table as markdown."""
    cols = ["dataset", "method", "churn", "conserved", "gap", "overlap", "non-contig", "in ±tol", "max|dev|", "PP",
            "street", "grids", "seconds"]
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r[c]
            if c in ("gap", "overlap"):
                cells.append(f"{v:.1e}")
            elif isinstance(v, float):
                cells.append("" if np.isnan(v) else (f"{v:.1%}" if c in ("churn", "in ±tol", "street") else f"{v:.3f}"
                                                     if c != "seconds" else f"{v:.1f}"))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {r['dataset']}: {r['note']}" for r in rows if r.get("note")]
    return "\n".join([*lines, "", *notes])


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sample,moabit,moabit-whole")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each method (best kept)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for name, data in _datasets(args.datasets.split(",")).items():
        rows += run(name, data, seed=args.seed, tolerance=args.tolerance, repeat=args.repeat)
        print(markdown(rows[-3:]), flush=True)
    text = markdown(rows)
    print("\n" + text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
