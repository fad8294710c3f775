"""Benchmark: a whole city through ``gridkit run``, serial against worker processes, and the growth per stage.

For each size (copies of the sample district, ``scripts/make_city.py``; 16 copies ≈ Qingdao Shibei):

* ``serial``: every stage in one process (partition, wardens, coverage, routes, incidents, map,
  exports), run in a fresh child process that samples its own resident memory every 20 ms, so each
  stage's time and peak memory (above the memory held when the stage started) is measured on its own;
* ``workers N``: ``gridkit run --workers N`` in a fresh process: wall time, CPU time summed over the
  main process and its workers (``RUSAGE_CHILDREN``), peak memory of the main process and of the
  largest worker (``batches.csv``), and identity with the serial run: assignment, report, metrics,
  wardens and routes byte for byte, grid geometries equal (``grids.geojson`` byte for byte).

Then the log-log slope of time and memory per stage between the sizes, and a projection of a province
(100,000 grids) on a Dask cluster from the measured cost per batch (one street office each).

Usage::

    python scripts/bench_scale.py --copies 16 32 64 --workers 2 [--out table.md] [--work /tmp/gridkit-bench]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SAME_FILES = ("assignment.csv", "report.csv", "metrics.csv", "wardens_assignment.csv", "coverage.csv",
              "grid_stats.csv", "routes.geojson", "grids.geojson")
STAGE_NAMES = ("partition", "wardens", "coverage", "routes", "incidents", "map", "exports")


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class _Sampler:
    """Peak resident memory of this process since the last :meth:`mark`, sampled every 20 ms."""

    def __init__(self) -> None:
        self.peak = _rss_mb()
        self.stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.02)

    def mark(self) -> float:
        now = _rss_mb()
        self.peak = now
        return now


def profile_serial(config: Path, out_json: Path) -> None:
    """In this (fresh) process: run the pipeline serially, timing and sampling memory per stage."""
    from gridkit import pipeline  # noqa: PLC0415
    from gridkit.config import load_config  # noqa: PLC0415

    sampler = _Sampler()
    stages: dict[str, dict[str, float]] = {}

    def timed(name, func):
        def run(*args, **kwargs):
            base = sampler.mark()
            cpu, wall = time.process_time(), time.perf_counter()
            func(*args, **kwargs)
            stages[name] = {"seconds": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                            "peak_mb": max(sampler.peak, _rss_mb()) - base, "held_mb": base}
        return run

    pipeline.STAGES[:] = [(name, timed(name, func), needs) for name, func, needs in pipeline.STAGES]
    pipeline._stage_map = timed("map", pipeline._stage_map)  # the bench wraps each stage
    pipeline._stage_exports = timed("exports", pipeline._stage_exports)
    started = time.perf_counter()
    result = pipeline.run_pipeline(load_config(config), workers=1)
    total = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out_json.write_text(json.dumps({
        "wall_s": total, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_main_mb": usage.ru_maxrss / 1024,
        "stages": stages, "grids": len(result.results["grids"]), "problems": result.problems,
        "households": int(result.results["grids"]["households"].sum()),
    }))


def _config(city: Path, folder: str, *, maps: bool) -> Path:
    text = (city / "gridkit.toml").read_text(encoding="utf-8")
    text = text.replace('folder = "out"', f'folder = "{folder}"')
    text = text.replace('formats = ["gpkg", "shp", "csv"]', 'formats = ["gpkg", "parquet"]')
    if not maps:
        text = text.replace("map = true", "map = false")
    path = city / f"{folder}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_serial(city: Path, *, maps: bool) -> dict:
    config = _config(city, "out-serial", maps=maps)
    out = city / "serial.json"
    subprocess.run([sys.executable, __file__, "--profile", str(config), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def run_workers(city: Path, workers: int, *, maps: bool) -> dict:
    config = _config(city, f"out-w{workers}", maps=maps)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    code = ("import resource, sys; from gridkit.cli import app\n"
            "try:\n    app([*sys.argv[1:]], standalone_mode=False)\n"
            "finally:\n    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")
    done = subprocess.run([sys.executable, "-c", code, "run", str(config), "--workers", str(workers), "--lang", "en"],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_main = next((float(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("PEAK")), math.nan)
    batches_csv = city / f"out-w{workers}" / "batches.csv"
    batches = pd.read_csv(batches_csv) if batches_csv.exists() else pd.DataFrame({"peak_rss_mb": [math.nan]})
    result = {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
              "peak_main_mb": peak_main, "peak_worker_mb": float(batches["peak_rss_mb"].max()),
              "batch_s": batches["seconds"].tolist() if "seconds" in batches else [], "returncode": done.returncode,
              "tail": done.stdout[-400:] + done.stderr[-400:]}
    (city / f"w{workers}.json").write_text(json.dumps(result))
    return result


def identical(city: Path, workers: int) -> str:
    a, b = city / "out-serial", city / f"out-w{workers}"
    differ = [name for name in SAME_FILES if (a / name).exists() and (a / name).read_bytes() != (b / name).read_bytes()]
    missing = [name for name in SAME_FILES if (a / name).exists() != (b / name).exists()]
    return "yes" if not differ and not missing else f"no ({', '.join(differ + missing)})"


def markdown(frame: pd.DataFrame) -> str:
    """A markdown table (no extra dependency)."""
    def cell(v: object) -> str:
        return f"{v:,.1f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def slope(sizes: list[float], values: list[float]) -> float:
    x, y = np.log(np.asarray(sizes, float)), np.log(np.maximum(np.asarray(values, float), 1e-3))
    return float(np.polyfit(x, y, 1)[0]) if len(x) > 1 else math.nan


def _load(city: Path, workers: int) -> tuple[dict, dict, str] | None:
    """The saved serial profile and worker run of one size (NaN where not run), and their identity."""
    none = {"wall_s": math.nan, "cpu_s": math.nan, "peak_main_mb": math.nan, "peak_worker_mb": math.nan,
            "batch_s": [], "returncode": "-", "stages": {}, "grids": math.nan, "households": math.nan}
    serial = json.loads((city / "serial.json").read_text()) if (city / "serial.json").exists() else none
    w_json = city / f"w{workers}.json"
    parallel = json.loads(w_json.read_text()) if w_json.exists() else none
    if serial is none and parallel is none:
        return None
    both = (city / "out-serial").exists() and (city / f"out-w{workers}").exists()
    same = identical(city, workers) if both else "not run"
    if serial is none:
        report = pd.read_csv(city / f"out-w{workers}" / "report.csv")
        serial = {**none, "grids": int(report["n_grids"].sum()), "households": int(report["households"].sum())}
    return serial, parallel, same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/gridkit-bench"))
    parser.add_argument("--no-maps", action="store_true", help="leave the map stage out")
    parser.add_argument("--out", type=Path, help="also write the markdown tables here")
    parser.add_argument("--only", choices=("both", "serial", "workers"), default="both",
                        help="run only the serial profile or only the worker run")
    parser.add_argument("--report-only", action="store_true",
                        help="make the tables from the runs saved in --work (result.json per size)")
    parser.add_argument("--profile", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        profile_serial(*args.profile)
        return
    sys.path.insert(0, str(HERE))
    from make_city import make_city  # noqa: PLC0415

    rows, stage_rows, per_batch = [], [], []
    for copies in args.copies:
        city = args.work / f"city{copies}"
        if not args.report_only:
            if not (city / "gridkit.toml").exists():
                make_city(copies, city)
            if args.only in ("both", "serial"):
                run_serial(city, maps=not args.no_maps)
            if args.only in ("both", "workers"):
                run_workers(city, args.workers, maps=not args.no_maps)
        loaded = _load(city, args.workers)
        if loaded is None:
            continue
        serial, parallel, same = loaded
        rows.append({"copies": copies, "grids": serial["grids"], "households": serial["households"],
                     "serial s": serial["wall_s"], "serial CPU s": serial["cpu_s"],
                     "serial peak MB": serial["peak_main_mb"],
                     f"{args.workers} workers s": parallel["wall_s"], "CPU s (all processes)": parallel["cpu_s"],
                     "main peak MB": parallel["peak_main_mb"], "worker peak MB": parallel["peak_worker_mb"],
                     "identical": same, "exit": parallel["returncode"]})
        for name, stage in serial["stages"].items():
            stage_rows.append({"copies": copies, "stage": name, **stage})
        per_batch += parallel["batch_s"]
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
        if parallel["returncode"] not in (0, 1):
            print(parallel["tail"], flush=True)
    stages = pd.DataFrame(stage_rows)
    slopes = []
    for name, rows_of_stage in stages.groupby("stage", sort=False):
        group = rows_of_stage.sort_values("copies")
        slopes.append({"stage": name, **{f"CPU s @{c}": round(s, 1) for c, s in zip(group["copies"], group["cpu_s"],
                                                                                  strict=True)},
                       **{f"MB @{c}": round(m) for c, m in zip(group["copies"], group["peak_mb"], strict=True)},
                       "CPU time slope": round(slope(group["copies"].tolist(), group["cpu_s"].tolist()), 2),
                       "memory slope": round(slope(group["copies"].tolist(), group["peak_mb"].tolist()), 2)})
    table = markdown(pd.DataFrame(rows).round(1))
    growth = markdown(pd.DataFrame(slopes))
    grids_per_batch = rows[-1]["grids"] / rows[-1]["copies"]
    # per-batch CPU cost from the largest serial profile (wall times on a shared machine wait for a core);
    # the largest batch's share from the worker run's own batch times
    profiled = stages[stages["stage"] == "partition"].sort_values("copies")
    batch_cost = float(profiled["cpu_s"].iloc[-1] / profiled["copies"].iloc[-1]) if len(profiled) else math.nan
    spread = float(np.max(per_batch) / np.mean(per_batch)) if per_batch else 1.0
    worst = batch_cost * spread
    n_batches = math.ceil(100_000 / grids_per_batch)
    projection = (f"Province of 100,000 grids ≈ {n_batches:,} street offices of {grids_per_batch:.0f} grids: "
                  f"{n_batches * batch_cost / 3600:.1f} CPU-hours of partition at {batch_cost:.1f} CPU s per street "
                  f"office (the largest batch {spread:.2f} × the mean, {worst:.1f} s); on a Dask cluster of W worker "
                  f"processes the partition makespan ≈ max({n_batches:,} × {batch_cost:.1f} s / W, {worst:.1f} s) "
                  f"plus sending the payloads: {n_batches * batch_cost / 64 / 60:.0f} min on 64 workers, "
                  f"{max(n_batches * batch_cost / 512, worst) / 60:.1f} min on 512.")
    text = f"{table}\n\nPer stage (serial run):\n\n{growth}\n\n{projection}\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
