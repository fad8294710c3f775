"""Benchmark: offline map pages and the meeting report, against a plain folium page, on the sample.

Rows:

* ``sample page``: the sample district's default page (grids by tier, hot spots, heat, wardens,
  routes-free) over its own communities, streets and buildings, written offline with
  ``save_map``; drawn in headless Chromium with the network off (``scripts/incidents_browser.py``)
  with every context layer on;
* ``report A3`` / ``report A4``: ``gridkit.report.meeting_report`` of the sample (PDF);
* ``Nk incidents``: a street office of N incidents resampled from the sample (jittered 20 m, new
  ids; N = 25k, 100k, 400k: growth 1x, 4x, 16x, slope reported), every layer and every context
  layer on;
* peer ``folium plain``: folium's own page of the same grids (GeoJson) and heat layer (HeatMap), no
  context, loading Leaflet from CDNs: its size and build time (offline it draws nothing: the
  browser column says so).

Build time is measured without tracemalloc; peak memory is Python's (tracemalloc) in a second build. Timings come from a
shared 2-core machine (seven engineers at once): read them as upper bounds.

Usage::

    python scripts/bench_maps.py [--sizes 25000,100000,400000] [--out table.md] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from incidents_browser import chromium, probe_page  # noqa: E402

from gridkit.hotspots import hotspots  # noqa: E402
from gridkit.incidents import grid_stats, prepare_incidents  # noqa: E402
from gridkit.maps import map as gridkit_map  # noqa: E402
from gridkit.maps import save_map  # noqa: E402

EVERY_LAYER = ("grids", "hotspots", "heat", "wardens", "buildings", "streets", "street_names", "communities",
               "office")


def sample():
    from gridkit.partition import partition  # noqa: PLC0415
    from gridkit.samples import load_sample  # noqa: PLC0415

    s = load_sample()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = partition(s.communities, s.buildings, s.streets, seed=0)
    return s, result


def resampled(s, n: int):
    rng = np.random.default_rng(7)
    base = s.incidents.drop_duplicates("incident_id").reset_index(drop=True)
    table = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    metres = 20.0 / 111_000
    table["lon"] = (table["lon"] + rng.normal(0, metres, n)).round(7)
    table["lat"] = (table["lat"] + rng.normal(0, metres, n)).round(7)
    table["incident_id"] = [f"S{k:07d}" for k in range(n)]
    return table


def measure(label: str, build, folder: Path, browse: bool) -> dict:
    start = time.perf_counter()  # timed without tracemalloc (it slows allocation-heavy code several times)
    path = build(folder / f"{label.replace(' ', '_')}")
    seconds = time.perf_counter() - start
    tracemalloc.start()  # a second build for the peak memory
    build(folder / f"{label.replace(' ', '_')}")
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    row = {"case": label, "build_s": seconds, "MB": path.stat().st_size / 1e6, "peak_MB": peak}
    if browse and path.suffix == ".html" and chromium() is not None:
        try:
            report = probe_page(path, screenshot=folder / f"{path.stem}.png")
        except RuntimeError:  # a loaded shared machine: try once more
            report = probe_page(path, screenshot=folder / f"{path.stem}.png")
        row["draw_s"] = report["draw_ms"] / 1000
        row["errors"] = len(report["errors"])
        row["polygons"] = report["paths"]
    return row


def page(s, result, incidents, *, show=EVERY_LAYER):
    def build(stem: Path) -> Path:
        prepared = prepare_incidents(incidents, result.grids)
        stats = grid_stats(prepared, result.grids)
        grids = result.grids.merge(stats.drop(columns="households"), on="grid_id")
        spots = hotspots(grids, "count")
        fmap = gridkit_map(grids, prepared, spots, wardens=s.wardens, communities=s.communities,
                           buildings=s.buildings, streets=s.streets, title="锦官街道", show=show)
        return save_map(fmap, stem.with_suffix(".html"))

    return build


def report_pdf(s, result, paper: str):
    def build(stem: Path) -> Path:
        from gridkit.report import meeting_report  # noqa: PLC0415

        prepared = prepare_incidents(s.incidents, result.grids)
        return meeting_report(stem.with_suffix(".pdf"), result.grids, communities=s.communities,
                              buildings=s.buildings, streets=s.streets, partition_report=result.report,
                              assignment=result.assignment, stats=grid_stats(prepared, result.grids),
                              title="锦官街道", paper=paper)

    return build


def folium_plain(result, incidents):
    def build(stem: Path) -> Path:
        import folium  # noqa: PLC0415
        from folium.plugins import HeatMap  # noqa: PLC0415

        grids = result.grids.to_crs(4326)
        lat, lon = grids.geometry.union_all().centroid.y, grids.geometry.union_all().centroid.x
        fmap = folium.Map(location=[lat, lon], zoom_start=15)
        folium.GeoJson(grids[["grid_id", "households", "geometry"]]).add_to(fmap)
        HeatMap(incidents[["lat", "lon"]].to_numpy().tolist()).add_to(fmap)
        path = stem.with_suffix(".html")
        fmap.save(path)
        return path

    return build


def slope(rows: list[dict], key: str, sizes: list[int]) -> float:
    values = [r[key] for r in rows]
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def markdown(rows: list[dict]) -> str:
    cols = ["case", "build_s", "MB", "peak_MB", "draw_s", "polygons", "errors"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        cells = []
        for col in cols:
            value = row.get(col, "")
            cells.append(f"{value:.2f}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="25000,100000,400000")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    s, result = sample()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = [measure("sample page", page(s, result, s.incidents, show=None), folder, True),
                measure("sample page, every layer", page(s, result, s.incidents), folder, True),
                measure("report A3", report_pdf(s, result, "A3"), folder, False),
                measure("report A4", report_pdf(s, result, "A4"), folder, False)]
        grown = [measure(f"{n // 1000}k incidents", page(s, result, resampled(s, n)), folder, True) for n in sizes]
        rows += grown
        big = resampled(s, 100_000)
        rows.append(measure("peer: folium plain, 100k (CDN)", folium_plain(result, big), folder, True))
    table = markdown(rows)
    if len(sizes) >= 2:
        table += (f"\n\nGrowth over {sizes[0]:,}–{sizes[-1]:,} incidents (log-log slope): build time "
                  f"{slope(grown, 'build_s', sizes):.2f}, page size {slope(grown, 'MB', sizes):.2f}, peak memory "
                  f"{slope(grown, 'peak_MB', sizes):.2f}")
    print(table)
    if args.out:
        args.out.write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
