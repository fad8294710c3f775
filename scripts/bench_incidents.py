"""Benchmark: incidents, hot spots and offline maps, against esda, on real and synthetic data.

Datasets:

* ``sample``: the embedded sample district (10,702 incidents, grids from ``gridkit.partition``);
* ``sf``: San Francisco crime, Jul-Dec 2012 (robbery, drugs, vehicle theft, vandalism; GeoDa's
  ``SFCrime_July_Dec2012.zip``), 579 block groups as grids. Rows sharing an ``IncidntNum`` are one
  incident: gridkit's reader keeps the first and lists the others as ``duplicate`` /
  ``duplicate_id``. Block groups carry population only: households are estimated as population /
  2.3 (the city's mean household size) for the per-100-households rate;
* ``chicago``: the 1,412 Chicago carjackings of 2020 over the 77 community areas (``TOT_HH``);
* ``100k``: 100,000 incidents resampled from the sample (jittered 20 m, new ids) over the sample's grids.

For each: reading and checking (``prepare_incidents``, from a CSV file), per-grid statistics
(whole span and by month), Gi* on the grids and on a hexagon lattice, the kernel density surface,
the map with every layer and the offline page (``save_map``); then the page in headless Chromium
with the network off (``scripts/incidents_browser.py``): time to draw (navigation start to the
first task after ``load``) and errors. Peer: ``esda.G_Local(star=True, transform="B")`` on the
same queen weights (z-scores compared; esda's time with ``permutations=0``) and ``esda.fdr`` (the
FDR cut-off on the same two-sided p-values). For SF, gridkit's per-grid counts are compared with
the counts GeoDa stored on the block groups.

Usage::

    python scripts/bench_incidents.py [--datasets sample,sf,chicago,100k] [--out table.md] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from incidents_browser import chromium, probe_page  # noqa: E402

from gridkit.hotspots import contiguity_weights, hotspots, kde_surface  # noqa: E402
from gridkit.incidents import grid_stats, join_grids, prepare_incidents  # noqa: E402
from gridkit.maps import map as gridkit_map  # noqa: E402
from gridkit.maps import save_map  # noqa: E402

DATA = HERE.parents[1] / "shared" / "data" / "geoda"
SF_ZIP = DATA / "SFCrime_July_Dec2012.zip"
SF_CATEGORIES = {"ROBBERY": ("抢劫", "Robbery"), "DRUG/NARCOTIC": ("毒品", "Drugs"),
                 "VEHICLE THEFT": ("盗车", "Vehicle theft"), "VANDALISM": ("破坏", "Vandalism")}


def sample_data():
    from gridkit.partition import partition  # noqa: PLC0415
    from gridkit.samples import load_sample  # noqa: PLC0415

    s = load_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grids = partition(s.communities, s.buildings, s.streets, seed=0).grids
    return grids, s.incidents, {}


def sf_data():
    root = f"zip://{SF_ZIP}!SFCrime_July_Dec2012 2/"
    frames = []
    for name in ("robbery", "drugs", "cartheft", "vandalism"):
        frames.append(gpd.read_file(root + f"Crime Events/sf_{name}.shp", engine="pyogrio"))
    events = pd.concat(frames, ignore_index=True)
    stamp = pd.to_datetime(events["Date"]).dt.strftime("%Y-%m-%d") + "T" + \
        pd.to_datetime(events["Time"]).dt.strftime("%H:%M:%S")
    table = pd.DataFrame({"incident_id": events["IncidntNum"].astype("int64").astype(str),
                          "lon": events["X"], "lat": events["Y"], "category": events["Category"],
                          "reported_at": stamp})
    blocks = gpd.read_file(root + "SF PD Plots/SFCrime_blocks.shp", engine="pyogrio")
    blocks = blocks.assign(grid_id=blocks["GEO_id2"].astype(str),
                           households=(blocks["Population"] / 2.3).round())
    # GeoDa's own counts per block group, for a cross-check of the spatial join
    geoda = blocks.set_index("grid_id")[["Vandalism", "Robbery", "Drugs", "CarTheft"]].sum(axis=1)
    return blocks, table, {"categories": SF_CATEGORIES, "tz": "America/Los_Angeles", "geoda_counts": geoda}


def chicago_data():
    cars = gpd.read_file(f"zip://{DATA / 'Chi_Carjackings.zip'}!Chicago_Carjackings.shp", engine="pyogrio")
    areas = gpd.read_file(f"zip://{DATA / 'Chi-CCA.zip'}!Chicago_2020.shp", engine="pyogrio")
    areas = areas.set_crs(4326, allow_override=True)
    areas = areas.assign(grid_id=areas["area_num_1"].astype(str), households=areas["TOT_HH"].astype(float))
    when = pd.to_datetime(cars["Date"], format="%m/%d/%Y %I:%M:%S %p").dt.strftime("%Y-%m-%dT%H:%M:%S")
    table = pd.DataFrame({"incident_id": cars["Case _mber"].astype(str), "lon": cars["Longitude"],
                          "lat": cars["Latitude"], "category": "carjacking", "reported_at": when})
    return areas, table, {"categories": {"carjacking": ("劫车", "Carjacking")}, "tz": "America/Chicago"}


def synthetic_100k(n: int = 100_000):
    grids, incidents, _ = sample_data()
    rng = np.random.default_rng(7)
    base = incidents.drop_duplicates("incident_id").reset_index(drop=True)
    pick = rng.integers(0, len(base), n)
    table = base.iloc[pick].reset_index(drop=True)
    metres = 20.0 / 111_000
    table["lon"] = (table["lon"] + rng.normal(0, metres, n)).round(7)
    table["lat"] = (table["lat"] + rng.normal(0, metres, n)).round(7)
    table["incident_id"] = [f"S{k:07d}" for k in range(n)]
    return grids, table, {}


def esda_peer(grids: gpd.GeoDataFrame, counts: np.ndarray) -> dict:
    try:
        import esda  # noqa: PLC0415
        import libpysal  # noqa: PLC0415
    except ImportError:
        return {}
    w = libpysal.weights.WSP(contiguity_weights(grids)).to_W(silence_warnings=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(counts.astype(float), w, transform="B", star=True, permutations=0)
    seconds = time.perf_counter() - start
    z = np.asarray(ref.Zs, float)
    p = 2 * (1 - __import__("scipy").stats.norm.cdf(np.abs(z)))
    cut = esda.fdr(p, 0.05)
    return {"z": z, "seconds": seconds, "significant": p <= cut}


def run(name: str, loader, keep: Path | None) -> dict:
    grids, table, extra = loader()
    folder = Path(tempfile.mkdtemp(prefix=f"bench-incidents-{name}-")) if keep is None else keep
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / f"{name}_incidents.csv"
    table.to_csv(csv, index=False)
    page = folder / f"{name}_map.html"
    timings = {}
    start = time.perf_counter()
    t = time.perf_counter()
    result = prepare_incidents(csv, grids, categories=extra.get("categories"), tz=extra.get("tz"))
    timings["read+check+join"] = time.perf_counter() - t
    t = time.perf_counter()
    stats = grid_stats(result, grids, categories=extra.get("categories"))
    grid_stats(result, grids, period="month", categories=extra.get("categories"))
    timings["stats"] = time.perf_counter() - t
    t = time.perf_counter()
    with_stats = grids.merge(stats.drop(columns=[c for c in ("households",) if c in stats.columns]), on="grid_id")
    spots = hotspots(with_stats, "count")
    hexes = hotspots(result.incidents[result.incidents["grid_id"].notna()], lattice="hex", area=grids)
    timings["gi*"] = time.perf_counter() - t
    t = time.perf_counter()
    surface = kde_surface(result.incidents)
    timings["kde"] = time.perf_counter() - t
    t = time.perf_counter()
    fmap = gridkit_map(with_stats, result, spots, kde=surface, offline=True)
    save_map(fmap, page)
    timings["map+page"] = time.perf_counter() - t
    total = time.perf_counter() - start
    peer = esda_peer(with_stats, with_stats["count"].to_numpy())
    report = probe_page(page, screenshot=folder / f"{name}_map.png") if chromium() else {}
    c = result.counts
    row = {
        "data": name, "incidents read": c["read"], "in grids": c["in_grids"], "outside": c["outside"],
        "rejected": c["rejected"], "flagged": c["flagged"], "grids": len(grids),
        "hot grids (FDR)": int((spots["significant"] & (spots["gi_z"] > 0)).sum()),
        "hot hexes (FDR)": int((hexes["significant"] & (hexes["gi_z"] > 0)).sum()),
        "KDE h (m)": round(surface.attrs["bandwidth_m"]),
        **{f"{k} s": round(v, 2) for k, v in timings.items()},
        "total s": round(total, 2),
        "page MB": round(page.stat().st_size / 1e6, 2),
        "draw s": round(report["draw_ms"] / 1000, 2) if report else "n/a",
        "chromium s": round(report["wall_s"], 2) if report else "n/a",
        "errors": len(report.get("errors", [])) if report else "n/a",
    }
    if peer:
        row["max abs(z - esda z)"] = f"{np.nanmax(np.abs(spots['gi_z'].to_numpy() - peer['z'])):.1e}"
        row["esda s"] = round(peer["seconds"], 3)
        row["same FDR set as esda.fdr"] = bool((spots["significant"].to_numpy() == peer["significant"]).all())
    if "geoda_counts" in extra:  # GeoDa counted every row (before dedupe): join every row the same way
        raw = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=4326)
        joined, _ = join_grids(raw, grids)
        mine = joined.groupby("grid_id").size().reindex(grids["grid_id"]).fillna(0).to_numpy()
        geoda = extra["geoda_counts"].reindex(grids["grid_id"]).to_numpy()
        row["join = GeoDa's counts (all rows)"] = \
            f"{(mine == geoda).mean():.1%} of grids, {abs(mine - geoda).sum():.0f} rows differ"
    problems = result.quality.groupby("problem").size().to_dict()
    row["problems"] = ", ".join(f"{k} {v}" for k, v in sorted(problems.items()))
    return row


def markdown(rows: list[dict]) -> str:
    """Rows as a markdown table, one column per dataset (no tabulate needed)."""
    keys = list(dict.fromkeys(k for row in rows for k in row if k != "data"))
    lines = ["| | " + " | ".join(str(r["data"]) for r in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for key in keys:
        cells = [f"{r[key]:,}" if isinstance(r.get(key), int) and not isinstance(r.get(key), bool) else
                 str(r.get(key, "")) for r in rows]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


LOADERS = {"sample": sample_data, "sf": sf_data, "chicago": chicago_data, "100k": synthetic_100k}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sample,sf,chicago,100k")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", type=Path, help="folder to keep the pages and screenshots in")
    args = parser.parse_args()
    rows = []
    for name in args.datasets.split(","):
        if name in {"sf", "chicago"} and not DATA.exists():
            print(f"skip {name}: {DATA} absent")
            continue
        rows.append(run(name, LOADERS[name], args.keep))
        print(f"done {name}", file=sys.stderr)
    text = markdown(rows)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
