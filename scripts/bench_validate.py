"""Benchmark ``gridkit.validate_plan`` and the plan publishing at growing size, and on Moabit.

Each size runs in a fresh process (peak memory is that process's max RSS). The plan is partitioned
once per size (not timed); then ``validate_plan`` is timed with the assignment and by location, and
``publish_files`` is timed for the grids + assignment pair. Sizes are square synthetic districts of
n × n blocks (1x, 4x, 16x the blocks); the slope is d log(time) / d log(buildings).

Usage: python scripts/bench_validate.py [--sizes 6 12 24] [--moabit]
Timings are taken on a shared machine: compare rows of one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _one(kind: str, size: int) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "scripts"))
    warnings.simplefilter("ignore")
    import gridkit  # noqa: PLC0415
    from gridkit import io  # noqa: PLC0415
    from gridkit.publish import manifest_path, publish_files  # noqa: PLC0415

    if kind == "moabit":
        import realdata  # noqa: PLC0415

        data = realdata.load_moabit()
        communities, buildings, streets = data["communities_cut"], data["buildings"], data["streets"]
    else:
        from synthetic import make_district  # noqa: PLC0415

        d = make_district(size, size, per_side=3, jitter=0.2, seed=size)
        communities, buildings, streets = d.communities, d.buildings, d.streets
    result = gridkit.partition(communities, buildings, streets, target=300)
    row = {"data": kind if kind == "moabit" else f"{size}x{size} blocks", "buildings": len(buildings),
           "grids": len(result.grids)}
    start = time.perf_counter()
    found = gridkit.validate_plan(result.grids, communities, buildings, result.assignment)
    row["validate_s"] = time.perf_counter() - start
    start = time.perf_counter()
    gridkit.validate_plan(result.grids, communities, buildings)
    row["by_location_s"] = time.perf_counter() - start
    row["errors"] = len(found.errors)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "grids.geojson"
        start = time.perf_counter()
        with publish_files({"grids": out, "assignment": out.with_name("assignment.csv")},
                           manifest=manifest_path(out), command="bench") as staged:
            io.write_geojson(result.grids, staged["grids"])
            io.write_csv(result.assignment, staged["assignment"])
        row["write_publish_s"] = time.perf_counter() - start
    row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[6, 12, 24])
    parser.add_argument("--moabit", action="store_true")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(args.one[0], int(args.one[1]))))
        return
    runs = [("synthetic", s) for s in args.sizes] + ([("moabit", 0)] if args.moabit else [])
    rows = []
    for kind, size in runs:
        done = subprocess.run([sys.executable, __file__, "--one", kind, str(size)], capture_output=True, text=True,
                              check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    header = ["data", "buildings", "grids", "validate_s", "by_location_s", "write_publish_s", "peak_mb", "errors"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{row[h]:.2f}" if isinstance(row[h], float) else str(row[h]) for h in header) + " |")
    synthetic = [r for r in rows if r["data"] != "moabit"]
    if len(synthetic) >= 2:
        slope = np.polyfit(np.log([r["buildings"] for r in synthetic]), np.log([r["validate_s"] for r in synthetic]),
                           1)[0]
        print(f"\nvalidate_plan growth slope (log time / log buildings): {slope:.2f}")


if __name__ == "__main__":
    main()
