"""Benchmark of the programme stages (issue 16) on the sample: rule staffing against the classic solvers
(scipy linear_sum_assignment for one_per_grid, wardens' police-cluster MILP for 1+1+2), and the time and
peak memory of unit cells, schedules and KPIs, at 1x and at a larger roster/grid count (the sample's
communities split into more grids). Run: python scripts/bench_presets.py. Timings on a shared machine.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
import warnings
from dataclasses import replace

import pandas as pd

import gridkit
from gridkit.cells import unit_cells
from gridkit.incidents import prepare_incidents
from gridkit.kpis import programme_kpis, read_events
from gridkit.samples import load_sample, sample_dir
from gridkit.schedules import ScheduleRule, schedule
from gridkit.staffing import parse_staffing_rule
from gridkit.staffing_plan import assign_by_rule
from gridkit.wardens import assign_wardens

warnings.simplefilter("ignore")


def measure(fn, *args, **kwargs):
    tracemalloc.start()
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def main() -> None:
    s = load_sample()
    rows = []
    for target in (300, 150):  # 82 grids, then about twice as many
        result = gridkit.partition(s.communities.assign(target=target), s.buildings, s.streets, target=target)
        grids = result.grids
        staff = [sample_dir() / "wardens.csv", sample_dir() / "staff.csv"]
        legacy, t0, m0 = measure(assign_wardens, grids, s.wardens, rule="one_per_grid")
        generic, t1, m1 = measure(assign_by_rule, grids, s.wardens, replace(parse_staffing_rule("one_per_grid"),
                                                                            legacy=None))
        rows.append({"grids": len(grids), "task": "one_per_grid: rule engine vs linear_sum_assignment",
                     "seconds": round(t1, 2), "peer seconds": round(t0, 2), "peak MiB": round(m1, 1),
                     "peer MiB": round(m0, 1),
                     "objective equal": abs(generic.objective - legacy.objective) < 1e-6 * legacy.objective})
        team, t0, m0 = measure(assign_wardens, grids, s.wardens, rule="1+1+2")
        shibei, t1, m1 = measure(assign_by_rule, grids, s.wardens, "shibei_1+1+2")
        police = [p.links.loc[p.links["role"] == "police", "distance_m"].sum() for p in (team, shibei)]
        rows.append({"grids": len(grids), "task": "1+1+2 police: rule engine vs wardens cluster MILP",
                     "seconds": round(t1, 2), "peer seconds": round(t0, 2), "peak MiB": round(m1, 1),
                     "peer MiB": round(m0, 1),
                     "objective equal": abs(police[0] - police[1]) < 1e-6 * max(police[0], 1)})
        for name in ("siming_tiers", "zhoushan_team"):
            plan, t1, m1 = measure(assign_by_rule, grids, staff, name)
            rows.append({"grids": len(grids), "task": f"{name} ({plan.summary['assigned']} placed)",
                         "seconds": round(t1, 2), "peer seconds": None, "peak MiB": round(m1, 1),
                         "objective equal": None})
        _, t1, m1 = measure(schedule, grids, legacy, s.buildings, result.assignment, rule=ScheduleRule())
        rows.append({"grids": len(grids), "task": "schedule (4 visits, paired patrols)", "seconds": round(t1, 2),
                     "peer seconds": None, "peak MiB": round(m1, 1), "objective equal": None})
        prepared = prepare_incidents(sample_dir() / "incidents.csv", grids)
        _, t1, m1 = measure(programme_kpis, prepared, grids, communities=s.communities,
                            events=read_events(sample_dir() / "incident_events.csv"))
        rows.append({"grids": len(grids), "task": "KPIs, rankings, tier history", "seconds": round(t1, 2),
                     "peer seconds": None, "peak MiB": round(m1, 1), "objective equal": None})
        cells, t1, m1 = measure(unit_cells, grids, s.buildings, s.streets)
        rows.append({"grids": len(grids), "task": f"unit cells ({len(cells[0])})", "seconds": round(t1, 2),
                     "peer seconds": None, "peak MiB": round(m1, 1), "objective equal": None})
    table = pd.DataFrame(rows)
    cells = table.astype(object).where(table.notna(), "")
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in cells.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")
    print(f"\npeak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
          "(timings on a shared machine)")


if __name__ == "__main__":
    main()
