"""Programme presets: configurations reproducing six documented grid programmes (issue 16).

``gridkit init --preset NAME`` writes :func:`preset_text` beside the sample data;
``gridkit init --list-presets`` prints :func:`preset_table`. Each preset is a commented
``gridkit.toml`` (package data, ``gridkit/presets/<name>.toml``) whose every figure cites where it
comes from: the programme table of issue 16, the practice norms of GUIDE §1, or a gridkit assumption.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import pandas as pd

from gridkit.errors import GridkitError
from gridkit.staffing import RoleRule, parse_staffing_rule, rule_from_mapping

__all__ = ["PRESETS", "preset_config", "preset_table", "preset_text"]

#: The presets, in the order ``--list-presets`` shows them.
PRESETS = ("dongcheng", "shibei", "yichang", "zhoushan", "haidian", "siming")


def preset_text(name: str, data_folder: str = "sample-data") -> str:
    """The commented configuration of preset ``name``, its inputs in ``data_folder`` (relative to it)."""
    if name not in PRESETS:
        raise GridkitError(f"unknown preset {name!r}; presets are {', '.join(PRESETS)}")
    folder = resources.files(__name__)
    inputs = folder.joinpath("_inputs.txt").read_text(encoding="utf-8").rstrip("\n")
    text = folder.joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return text.replace("{inputs}", inputs).replace("{data}", data_folder)


def preset_config(name: str) -> dict:
    """The preset as a parsed TOML mapping."""
    return tomllib.loads(preset_text(name))


def _size(config: dict) -> str:
    part = config.get("partition", {})
    norms = config.get("norms", {})
    if "households_per_grid" in norms:
        given = norms["households_per_grid"]
        return "; ".join(f"{k} {v[0]}-{v[1]}" for k, v in given.items()) if isinstance(given, dict) \
            else f"{given[0]}-{given[1]}"
    if "targets" in part:
        return ", ".join(f"{k} {v}" for k, v in part["targets"].items())
    return f"~{part.get('target', 300)}"


def _post(r: RoleRule) -> str:
    count = r.count if r.upper == r.count else (f"≥{r.count}" if r.upper >= 1000 else f"{r.count}-{r.upper}")
    per = f"/{r.n:g} {r.per}" if r.per in ("households", "cells") else (" /community" if r.per == "community" else "")
    return f"{r.role}×{count}{per}" + (f" (≤{r.shared} grids)" if r.shared > 1 else "")


def preset_table(lang: str = "en") -> pd.DataFrame:
    """The presets side by side: grid size, staffing, unit cells, schedule, KPIs."""
    rows = []
    for name in PRESETS:
        config = preset_config(name)
        staffing = config.get("staffing", {})
        rule = rule_from_mapping(staffing) if staffing.get("roles") else parse_staffing_rule(staffing["rule"])
        posts = ", ".join(_post(r) for r in rule.roles)
        sched = config.get("schedule", {})
        schedule = (f"{sched.get('visits_per_household', 4)} visits/household/yr"
                    + (f", patrol {'+'.join(sched['patrol_windows'])}" if sched.get("patrol_windows") else "")
                    + (" in pairs" if sched.get("in_pairs") and sched.get("patrol_windows") else "")) \
            if sched.get("enabled") else "-"
        kpis = config.get("kpis", {})
        kpi = "-" if not kpis.get("enabled") else ("grouped ranking" if kpis.get("groups") else "ranking") + \
            (", key persons" if kpis.get("key_person_weight") else "")
        rows.append({"preset": name, "programme": config["preset"]["title"], "households per grid": _size(config),
                     "staffing": f"{rule.name}: {posts}",
                     "unit cells": f"{config['cells']['cell_m2']} m²" if config.get("cells", {}).get("enabled")
                     else "-",
                     "schedule": schedule, "KPIs": kpi})
    table = pd.DataFrame(rows)
    if lang == "zh":
        table = table.rename(columns={"preset": "预设", "programme": "模式", "households per grid": "每格户数",
                                      "staffing": "配员", "unit cells": "万米单元", "schedule": "排班",
                                      "KPIs": "考核"})
    return table
