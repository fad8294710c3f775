"""The programme stages of ``gridkit run`` (issue 16): unit cells, rule staffing, schedules, KPIs, norms.

:func:`install` adds them to :data:`gridkit.pipeline.STAGES`: ``cells`` right after the partition
(staffing counted per cells needs them), a staffing stage that takes over ``wardens`` when the
configuration names a programme rule (``[staffing] rule`` beyond the three classic ones, or a
``[staffing.roles]`` table), and ``schedule``, ``kpis`` and ``norms`` at the end. Each stage works on
the pipeline's run object (``config``, ``results``, ``report(stage, item, value)``, ``out(name)``,
``problems``) and writes its own files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from gridkit import io
from gridkit.errors import GridkitError, InputDataError
from gridkit.staffing import StaffingRule, rule_from_mapping, rule_table

__all__ = ["install", "norms_table", "staffing_rule"]

Stage = Callable[[Any, Any], None]


def staffing_rule(config: Any) -> StaffingRule:
    """The configuration's staffing rule as data (``[staffing]``: a rule name or a roles table)."""
    staffing = config["staffing"]
    try:
        return rule_from_mapping(staffing, source=str(config.path))
    except InputDataError:
        raise
    except GridkitError as exc:
        raise InputDataError(str(exc), source=str(config.path), column="staffing.rule") from exc


def _stage_cells(run: Any, _progress: Any) -> None:
    cfg = run.config["cells"]
    if not cfg["enabled"]:
        return
    from gridkit.cells import cell_counts, unit_cells  # noqa: PLC0415

    cells, where = unit_cells(run.results["grids"], run.results["buildings"], run.results.get("streets"),
                              cell_m2=float(cfg["cell_m2"]), tolerance=float(cfg["tolerance"]),
                              seed=run.config["partition"]["seed"])
    run.results.update(cells=cells, cell_assignment=where, cells_per_grid=cell_counts(cells))
    run.results.setdefault("extra_layers", {})["cells"] = cells
    per_grid = cell_counts(cells)
    run.report("cells", "unit cells", len(cells))
    run.report("cells", "cells per grid", f"{per_grid.min()}-{per_grid.max()} (mean {per_grid.mean():.1f})")
    run.report("cells", "median cell m²", round(float(cells["area_m2"].median())))
    io.write_geojson(cells, run.out("cells.geojson"))
    io.write_csv(where, run.out("cells_assignment.csv"))


def _stage_rule_staffing(run: Any, _progress: Any) -> None:
    """Staff the grids under a programme rule (gridkit.staffing_plan) and leave what later stages need."""
    from gridkit.staffing_plan import assign_by_rule, read_staff  # noqa: PLC0415
    from gridkit.wardens import building_wardens, read_roster  # noqa: PLC0415

    cfg = run.config
    rule = staffing_rule(cfg)
    grids = run.results["grids"]
    sources = [cfg.input_path("wardens")] + ([cfg.input_path("staff")] if cfg.input_path("staff") else [])
    people = read_staff(sources, district=run.results["communities"])
    graph = run.results.get("graph")
    if graph is None and run.results.get("streets") is not None and len(run.results["streets"]):
        from gridkit.network import street_graph  # noqa: PLC0415

        graph = run.results["graph"] = street_graph(run.results["streets"])
    plan = assign_by_rule(grids, people, rule, graph=graph, cells_per_grid=run.results.get("cells_per_grid"),
                          streets=run.results.get("streets"))
    # coverage and routes read the classic roster; the walkers are in plan.links
    roster = read_roster(cfg.input_path("wardens"), district=run.results["communities"])
    run.results.update(roster=roster, warden_plan=plan, staffing_rule=rule,
                       building_wardens=building_wardens(run.results["assignment"], plan))
    run.report("wardens", "rule", rule.name)
    run.report("wardens", "grids staffed", f"{plan.summary['grids_staffed']}/{plan.summary['grids']}")
    run.report("wardens", "people placed", f"{plan.summary['assigned']}/{plan.summary['wardens']}")
    for row in plan.shortage.groupby("role", sort=False)[["required", "assigned", "shortage"]].sum().itertuples():
        run.report("wardens", "required / placed / short",
                   f"{row.Index}: {row.required:g} / {row.assigned:g} / {row.shortage:g}")
    run.report("wardens", "exact optimum", bool(plan.optimal))
    if cfg["staffing"]["strict"] and len(plan.unstaffed):
        run.problems.append(f"{len(plan.unstaffed)} grids are short of staff under {rule.name} (strict staffing)")
    io.write_csv(plan.assignment, run.out("wardens_assignment.csv"))
    io.write_csv(plan.per_warden, run.out("per_warden.csv"))
    io.write_csv(plan.team, run.out("staffing_members.csv"))
    io.write_csv(plan.shortage, run.out("staff_shortage.csv"))
    io.write_csv(rule_table(rule), run.out("staffing_rule.csv"))


def _stage_schedule(run: Any, _progress: Any) -> None:
    cfg = run.config["schedule"]
    if not cfg["enabled"] or "warden_plan" not in run.results:
        return
    from gridkit.schedules import ScheduleRule, schedule  # noqa: PLC0415

    given = {k: v for k, v in cfg.items() if k != "enabled" and v is not None}
    for key in ("key_uses", "patrol_windows", "workdays", "holidays"):
        if key in given:
            given[key] = tuple(given[key])
    rule = ScheduleRule(**given)
    result = schedule(run.results["grids"], run.results["warden_plan"], run.results["buildings"],
                      run.results["assignment"], rule=rule, routes=run.results.get("routes"))
    run.results["schedule"] = result
    run.report("schedule", "working days", result.summary["working_days"])
    run.report("schedule", "grids whose schedule fits", f"{result.summary['grids_fitting']}/{result.summary['grids']}")
    run.report("schedule", "fewest visits to a household", result.summary["households_visited_min_times"])
    run.report("schedule", "most hours per week", round(result.summary["hours_per_week_max"], 1))
    io.write_csv(result.calendar, run.out("schedule_calendar.csv"))
    io.write_csv(result.visits, run.out("schedule_visits.csv"))
    io.write_csv(result.workload, run.out("schedule_workload.csv"))
    io.write_csv(result.grids, run.out("schedule_grids.csv"))


def _key_persons(run: Any) -> pd.Series | None:
    path = run.config.input_path("key_persons")
    if path is None:
        return None
    table = pd.read_csv(path, dtype={"building_id": str})
    if "building_id" not in table.columns:
        raise InputDataError("key persons need a building_id column", source=str(path), column="building_id")
    where = run.results["assignment"][["building_id", "grid_id"]].astype({"building_id": str})
    joined = table.merge(where, on="building_id", how="left")
    missing = joined["grid_id"].isna()
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise InputDataError(f"key person's building {joined['building_id'].iloc[row]!r} is in no grid",
                             source=str(path), row=row, column="building_id")
    return joined.groupby("grid_id").size()


def _stage_kpis(run: Any, _progress: Any) -> None:
    cfg = run.config["kpis"]
    if not cfg["enabled"] or "incidents" not in run.results:
        return
    from gridkit.kpis import programme_kpis, read_events  # noqa: PLC0415

    events_path = run.config.input_path("incident_events")
    events = read_events(events_path) if events_path is not None else None
    result = programme_kpis(run.results["incidents"], run.results["grids"], communities=run.results["communities"],
                            events=events, sla=run.results.get("sla"), weights=cfg["weights"], groups=cfg["groups"],
                            group_by=cfg["group_by"], key_persons=_key_persons(run),
                            key_person_weight=float(cfg["key_person_weight"]), tiers=cfg["tiers"])
    run.results["kpis"] = result
    latest = result.kpis[result.kpis["month"] == result.kpis["month"].max()]
    for level in ("grid", "community", "street"):
        part = latest[latest["level"] == level]
        run.report("kpis", f"{level} score, latest month", f"{part['score'].min():.1f}-{part['score'].max():.1f}")
    cases = result.cases
    run.report("kpis", "rework rate", f"{cases['reworked'].sum() / max(cases['closed'].sum(), 1):.1%}"
               if events is not None else "n/a (no [inputs] incident_events)")
    run.report("kpis", "warning rate", f"{cases['warned'].mean():.1%}")
    run.report("kpis", "grids improving, latest month", int((result.latest["trend"] == "improving").sum()))
    io.write_csv(result.kpis, run.out("kpis.csv"))
    io.write_csv(result.rankings, run.out("rankings.csv"))
    io.write_csv(result.tiers, run.out("tier_history.csv"))
    io.write_csv(result.latest, run.out("kpi_latest.csv"))


def norms_table(config: Any, results: dict[str, Any]) -> pd.DataFrame:
    """The programme's own norms ([norms]) against the outputs: ``norm``, ``expected``, ``found``, ``met``.

    Households per grid inside the range (grids of one indivisible building above the range are
    ``oversize`` and counted apart, GUIDE §4), grids per community inside the range, every staffing
    post filled (or the shortage named), every household visited the stated number of times.
    """
    norms = config["norms"]
    rows: list[dict[str, Any]] = []
    grids = results["grids"]
    ranges = norms["households_per_grid"]
    if ranges:
        by_type = ranges if isinstance(ranges, dict) else {None: ranges}
        kinds = _grid_types(config, results) if isinstance(ranges, dict) else pd.Series(None, index=grids.index)
        for kind, (low, high) in by_type.items():
            mine = grids[(kinds == kind).to_numpy()] if kind is not None else grids
            normal = mine[~mine["oversize"].astype(bool)] if "oversize" in mine.columns else mine
            inside = normal["households"].between(low, high)
            rows.append({"norm": "households per grid", "expected": f"{kind + ' ' if kind else ''}{low}-{high}",
                         "found": f"{int(inside.sum())}/{len(normal)} grids inside ({len(mine) - len(normal)} "
                                  f"oversize); {normal['households'].min():.0f}-{normal['households'].max():.0f}",
                         "met": bool(len(normal) and inside.all())})
    if norms["grids_per_community"]:
        low, high = norms["grids_per_community"]
        per = grids.groupby("community_id").size()
        rows.append({"norm": "grids per community", "expected": f"{low}-{high}",
                     "found": f"{per.min()}-{per.max()}", "met": bool(per.between(low, high).all())})
    plan = results.get("warden_plan")
    if plan is not None:
        short = plan.shortage[plan.shortage["shortage"] > 0]
        rows.append({"norm": "staffing per rule", "expected": str(config["staffing"]["rule"]),
                     "found": "all posts filled" if short.empty else "short: " + ", ".join(
                         f"{r.community_id} {r.role} {r.shortage:g}" for r in short.itertuples()),
                     "met": bool(short.empty)})
    sched = results.get("schedule")
    times = norms["visits_per_household"]
    if sched is not None and times:
        found = sched.summary["households_visited_min_times"]
        rows.append({"norm": "visits to every household per year", "expected": f"≥ {times}",
                     "found": f"fewest {found}", "met": bool(found >= times)})
    return pd.DataFrame(rows, columns=["norm", "expected", "found", "met"])


def _grid_types(config: Any, results: dict[str, Any]) -> pd.Series:
    """Each grid's community type (``[partition] type_column``)."""
    column = config["partition"]["type_column"]
    if not column:
        raise InputDataError("[norms] households_per_grid by type needs [partition] type_column",
                             source=str(config.path))
    communities = results["communities"]
    kind = communities.set_index(communities["community_id"].astype(str))[column].astype(str)
    return results["grids"]["community_id"].astype(str).map(kind)


def _stage_norms(run: Any, _progress: Any) -> None:
    if not run.config["preset"]["name"] and not any(run.config["norms"].values()):
        return  # a configuration of its own, with no programme norms to check
    table = norms_table(run.config, run.results)
    if table.empty:
        return
    run.results["norms"] = table
    for row in table.itertuples():
        run.report("norms", row.norm, f"{'met' if row.met else 'NOT met'} ({row.expected}): {row.found}")
    io.write_csv(table, run.out("norms.csv"))


def _classic(config: Any) -> bool:
    return staffing_rule(config).legacy is not None


def install(stages: list[tuple[str, Stage, tuple[str, ...]]]) -> None:
    """Add the programme stages to the pipeline's stage list (once)."""
    names = [name for name, *_ in stages]
    if "cells" in names:
        return
    position = names.index("wardens")
    _, classic, needs = stages[position]

    def wardens(run: Any, progress: Any) -> None:
        if _classic(run.config):
            classic(run, progress)
        else:
            _stage_rule_staffing(run, progress)

    stages[position] = ("wardens", wardens, needs)
    stages.insert(names.index("partition") + 1, ("cells", _stage_cells, ()))
    stages.extend([("schedule", _stage_schedule, ("wardens",)), ("kpis", _stage_kpis, ("incidents",)),
                   ("norms", _stage_norms, ())])
