"""Staffing rules as data (配员规则): which roles a grid needs, how many, shared how, reporting to whom.

A :class:`StaffingRule` is a list of :class:`RoleRule` rows. Each row names

- ``role``: the rule's name for the post (``grid_worker``, ``police``, ``medic``, ``supervisor`` ...);
- ``roster_roles``: the roster roles that may fill it (``full_time``, ``community_cadre`` ...);
- ``per``: the unit the post is counted against: ``"grid"`` (``count`` per grid, up to ``max_count``),
  ``"households"`` (one per ``n`` households of the grid, rounded up), ``"cells"`` (one per ``n``
  unit cells of the community, rounded up: the Dongcheng supervisor "about 12 unit cells") or
  ``"community"`` (``count`` per community, up to ``max_count``: the 1+1+2 patrol and volunteer teams);
- ``shared``: how many neighbouring grids of one community one person may cover (2: "an officer
  covers about two grids"); a person takes one connected cluster of up to ``min(shared, capacity)``
  grids;
- ``tier`` and ``reports_to``: the tier (``head``, ``worker``, ``assistant``) and the role this one
  reports to (Siming: assistant → worker → head);
- ``patrols``: whether the post walks the grid's routes and door-to-door tours (schedules, routes);
- ``fte``: the seat share a roster role fills (a part-time warden half a seat).

The rules gridkit knew as strings are rules of this kind (:data:`BUILTIN_RULES`): ``one_per_grid``,
``per_households:N`` and ``1+1+2``; they keep :func:`gridkit.wardens.assign_wardens`' own solvers
(``legacy``), which also balance the 1+1+2 community team by workload. The programme rules
(``zhoushan_team``, ``dongcheng_supervisor``, ``siming_tiers``, ``yichang_manager``, ``shibei_1+1+2``)
are assigned by :func:`gridkit.staffing_plan.assign_by_rule`, exactly (HiGHS MILP, lexicographic:
fewest empty minimum seats, then most seats filled, then the shortest walks).

Rules can be written in a configuration::

    [staffing]
    rule = "custom"
    [staffing.roles.grid_worker]
    roster_roles = ["full_time"]
    per = "grid"
    count = 1
    patrols = true
    [staffing.roles.police]
    roster_roles = ["police"]
    shared = 2
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from gridkit.errors import GridkitError, InputDataError
from gridkit.roles import ROLE_NAMES, ROLES
from gridkit.roles import normalise_role as classic_role

__all__ = [
    "BUILTIN_RULES",
    "PROGRAMME_ROLES",
    "RoleRule",
    "StaffingRule",
    "normalise_role",
    "parse_staffing_rule",
    "required_seats",
    "rule_from_mapping",
    "rule_table",
]

Per = Literal["grid", "households", "cells", "community"]
Tier = Literal["head", "worker", "assistant"]

#: Roster roles a programme rule may name beyond :data:`gridkit.roles.ROLES`, with their aliases.
_PROGRAMME_ONLY: dict[str, tuple[str, ...]] = {
    "community_cadre": ("community_cadre", "cadre", "社区干部", "两委干部", "社区工作者", "村干部"),
    "township_official": ("township_official", "official", "乡镇干部", "街道干部", "机关干部"),
    "medic": ("medic", "doctor", "医生", "医务人员", "村医"),
    "teacher": ("teacher", "教师", "老师"),
    "supervisor": ("supervisor", "city_supervisor", "监督员", "城管监督员"),
    "mediator": ("mediator", "调解员", "志愿调解员"),
    "assistant": ("assistant", "grid_assistant", "协管员", "网格助理", "网格协管员"),
}
#: Every roster role a programme rule may name: gridkit.roles' four and the programme roles.
PROGRAMME_ROLES: dict[str, tuple[str, ...]] = {**{r: ROLE_NAMES[r] for r in ROLES}, **_PROGRAMME_ONLY}
_ALIAS = {alias.lower(): role for role, aliases in _PROGRAMME_ONLY.items() for alias in aliases}


def normalise_role(value: object) -> str | None:
    """The roster role a roster entry names (``专职网格员`` → ``full_time``, ``医生`` → ``medic``), or None.

    The four classic roles are :func:`gridkit.roles.normalise_role`'s (one place for their names);
    the programme roles are added here.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return _ALIAS.get(str(value).strip().lower()) or classic_role(value)


@dataclass(frozen=True)
class RoleRule:
    """One post of a staffing rule (see the module docstring)."""

    role: str
    roster_roles: tuple[str, ...]
    per: Per = "grid"
    count: int = 1
    max_count: int | None = None
    n: float | None = None
    shared: int = 1
    tier: Tier | None = None
    reports_to: str | None = None
    patrols: bool = False
    fte: Mapping[str, float] = field(default_factory=dict)
    label_zh: str = ""
    source: str = ""

    @property
    def upper(self) -> int:
        """The most people per unit (``max_count`` or ``count``)."""
        return max(self.count, self.max_count or self.count)

    def seat_share(self, roster_role: str) -> float:
        """Seat share a person of ``roster_role`` fills in this post (1 unless ``fte`` says otherwise)."""
        return float(self.fte.get(roster_role, 1.0))


@dataclass(frozen=True)
class StaffingRule:
    """A named staffing rule: its posts, its source, and extra duties by roster role.

    ``legacy`` is ``"one_per_grid"``, ``"per_households"`` or ``"1+1+2"`` for the three rules
    :func:`gridkit.wardens.assign_wardens` solves itself (``per_households`` then holds N), else None.
    ``duties`` maps a roster role to extra duties every such person carries (Siming: every community
    staff member is also a part-time safety officer, 兼职安全员).
    """

    name: str
    roles: tuple[RoleRule, ...]
    legacy: str | None = None
    per_households: float | None = None
    duties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def role(self, name: str) -> RoleRule:
        """The post called ``name``."""
        for spec in self.roles:
            if spec.role == name:
                return spec
        raise GridkitError(f"staffing rule {self.name!r} has no role {name!r}")

    @property
    def roster_roles(self) -> set[str]:
        """Every roster role the rule can use."""
        return {r for spec in self.roles for r in spec.roster_roles}


_TEAM_MAX = 10_000  # a community team takes every member the roster has
_ISSUE = "issue 16 table (figures as published in the reports on each programme)"
_GUIDE = "GUIDE §1 staffing seen in practice"


def _one_per_grid() -> StaffingRule:
    return StaffingRule("one_per_grid", (
        RoleRule("grid_worker", ("full_time",), count=1, patrols=True, tier="worker", label_zh="专职网格员",
                 source=_GUIDE + ": 一格一员"),), legacy="one_per_grid", source=_GUIDE)


def _per_households(n: float) -> StaffingRule:
    return StaffingRule(f"per_households:{n:g}", (
        RoleRule("grid_worker", ("full_time", "part_time"), per="households", n=n, patrols=True, tier="worker",
                 fte={"part_time": 0.5}, label_zh="网格员（专兼结合）",
                 source=_GUIDE + ": 一格多员, 专兼结合; seats apportioned over the district by workload"),),
        legacy="per_households", per_households=n, source=_GUIDE)


def _one_one_two(name: str = "1+1+2", *, legacy: bool = True, source: str = _GUIDE) -> StaffingRule:
    return StaffingRule(name, (
        RoleRule("grid_worker", ("full_time",), count=1, patrols=True, tier="worker", label_zh="网格员",
                 source=source + ": one grid worker per grid"),
        RoleRule("police", ("police",), count=1, shared=2, label_zh="网格民警",
                 source=source + ": one grid police officer, covering about two grids"),
        RoleRule("patrol", ("part_time",), per="community", count=1, max_count=_TEAM_MAX, label_zh="巡防队",
                 source=source + ": the '2': a patrol team per community (at least one member)"),
        RoleRule("volunteer", ("volunteer",), per="community", count=1, max_count=_TEAM_MAX, label_zh="志愿者队",
                 source=source + ": the '2': a volunteer team per community (at least one member)"),
    ), legacy="1+1+2" if legacy else None, source=source)


def _shibei() -> StaffingRule:
    src = "Qingdao Shibei 三化三进, " + _ISSUE
    return _one_one_two("shibei_1+1+2", legacy=False, source=src)


def _zhoushan() -> StaffingRule:
    src = "Zhoushan 组团式服务, " + _ISSUE + ": a 6-8 person team per grid"
    return StaffingRule("zhoushan_team", (
        RoleRule("township_official", ("township_official",), count=1, max_count=2, shared=4, tier="head",
                 label_zh="乡镇（街道）干部",
                 source=src + "; 1-2 township officials (an official in up to 4 teams: gridkit assumption)"),
        RoleRule("community_cadre", ("community_cadre",), count=1, max_count=2, shared=2, tier="worker",
                 patrols=True, reports_to="township_official", label_zh="社区（村）干部",
                 source=src + "; 1-2 community cadres (a cadre in up to 2 teams: gridkit assumption)"),
        RoleRule("grid_worker", ("full_time",), count=1, tier="worker", patrols=True,
                 reports_to="community_cadre", label_zh="网格员",
                 source="GUIDE §1 (one warden per grid, who carries the household visits)"),
        RoleRule("medic", ("medic",), count=1, shared=4, label_zh="医生", reports_to="township_official",
                 source=src + "; a medic (a township doctor serves several teams: shared by up to 4, "
                 "a gridkit assumption)"),
        RoleRule("teacher", ("teacher",), count=1, shared=4, label_zh="教师", reports_to="township_official",
                 source=src + "; a teacher (shared by up to 4 grids, a gridkit assumption)"),
        RoleRule("police", ("police",), count=1, shared=4, label_zh="民警", reports_to="township_official",
                 source=src + "; a police officer (shared by up to 4 grids, a gridkit assumption)"),
    ), source=src)


def _dongcheng() -> StaffingRule:
    src = "Beijing Dongcheng 万米单元网格, " + _ISSUE
    return StaffingRule("dongcheng_supervisor", (
        RoleRule("grid_worker", ("full_time",), per="households", n=300, patrols=True, tier="worker",
                 label_zh="网格员", source=_GUIDE + ": 一格多员, about 300 households per warden"),
        RoleRule("supervisor", ("supervisor",), per="cells", n=12, label_zh="城管监督员",
                 source=src + ": each supervisor patrols about 12 unit cells"),
    ), source=src)


def _yichang() -> StaffingRule:
    src = "Yichang, " + _ISSUE
    return StaffingRule("yichang_manager", (
        RoleRule("grid_manager", ("full_time",), count=1, patrols=True, tier="worker", label_zh="专职网格管理员",
                 source=src + ": one full-time manager per grid"),
        RoleRule("mediator", ("mediator", "volunteer"), count=1, max_count=2, label_zh="志愿调解员",
                 reports_to="grid_manager", source=src + ": 1-2 volunteer mediators per grid"),
    ), source=src)


def _siming() -> StaffingRule:
    src = "Xiamen Siming, " + _ISSUE
    return StaffingRule("siming_tiers", (
        RoleRule("grid_head", ("community_cadre",), count=1, shared=3, tier="head", label_zh="网格长",
                 source=src + ": grid head (a community cadre; heading up to 3 grids is a gridkit assumption)"),
        RoleRule("grid_worker", ("full_time",), count=1, tier="worker", patrols=True, reports_to="grid_head",
                 label_zh="网格员", source=src + ": grid worker"),
        RoleRule("assistant", ("assistant", "part_time"), count=1, tier="assistant", patrols=True,
                 reports_to="grid_worker", label_zh="网格协管员", source=src + ": assistant"),
    ), duties={"community_cadre": ("safety_officer",), "full_time": ("safety_officer",),
               "assistant": ("safety_officer",), "part_time": ("safety_officer",)},
        source=src + ": every community staff member a part-time safety officer (兼职安全员)")


#: Named rules: name → factory (``per_households`` takes N).
BUILTIN_RULES: dict[str, Any] = {
    "one_per_grid": _one_per_grid, "1+1+2": _one_one_two, "per_households": _per_households,
    "shibei_1+1+2": _shibei, "zhoushan_team": _zhoushan, "dongcheng_supervisor": _dongcheng,
    "yichang_manager": _yichang, "siming_tiers": _siming,
}


def parse_staffing_rule(rule: str | StaffingRule | Mapping[str, Any]) -> StaffingRule:
    """Resolve a rule given by name, as a mapping (a configuration's ``[staffing]``) or as a rule.

    Names: ``one_per_grid`` (一格一员), ``per_households:N``, ``1+1+2`` (also ``team``), and the
    programme rules of :data:`BUILTIN_RULES`.

    Raises
    ------
    GridkitError
        An unknown name (with the valid ones) or a malformed mapping.
    """
    if isinstance(rule, StaffingRule):
        return rule
    if isinstance(rule, Mapping):
        return rule_from_mapping(rule)
    text = str(rule).strip().lower().replace(" ", "")
    if text in {"one_per_grid", "one-per-grid", "一格一员"}:
        return _one_per_grid()
    if text in {"1+1+2", "team:1+1+2", "team(1+1+2)", "team"}:
        return _one_one_two()
    match = re.fullmatch(r"per_households[:=(]?(\d+(?:\.\d+)?)\)?", text)
    if match:
        n = float(match.group(1))
        if n <= 0:
            raise GridkitError(f"per_households needs a positive number of households, got {n}")
        return _per_households(n)
    if text in BUILTIN_RULES and text != "per_households":
        return BUILTIN_RULES[text]()
    names = ", ".join(n for n in BUILTIN_RULES if n != "per_households")
    raise GridkitError(f"unknown staffing rule {rule!r}; rules are {names} and per_households:N "
                       "(for example per_households:300), or a [staffing.roles] table")


_ROLE_KEYS = {"roster_roles", "per", "count", "max_count", "n", "shared", "tier", "reports_to", "patrols", "fte",
              "label_zh", "source"}


def _role_from_mapping(name: str, body: Any, where: str) -> RoleRule:
    if not isinstance(body, Mapping):
        raise InputDataError(f"[staffing.roles.{name}] must be a table", source=where)
    unknown = sorted(set(body) - _ROLE_KEYS)
    if unknown:
        raise InputDataError(f"[staffing.roles.{name}] unknown key(s) {unknown}; keys are {sorted(_ROLE_KEYS)}",
                             source=where)
    roster = body.get("roster_roles", [name])
    roster = [roster] if isinstance(roster, str) else list(roster)
    norm = [normalise_role(r) for r in roster]
    if None in norm:
        bad = roster[norm.index(None)]
        raise InputDataError(f"[staffing.roles.{name}] roster role {bad!r} is unknown; roles are "
                             f"{', '.join(PROGRAMME_ROLES)}", source=where)
    per = body.get("per", "grid")
    if per not in get_args(Per):
        raise InputDataError(f"[staffing.roles.{name}] per = {per!r}; use one of {', '.join(get_args(Per))}",
                             source=where)
    tier = body.get("tier")
    if tier is not None and tier not in get_args(Tier):
        raise InputDataError(f"[staffing.roles.{name}] tier = {tier!r}; use one of {', '.join(get_args(Tier))}",
                             source=where)
    count, shared, n = body.get("count", 1), body.get("shared", 1), body.get("n")
    max_count = body.get("max_count")
    for key, value in (("count", count), ("shared", shared), ("max_count", max_count)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < (key != "count")):
            raise InputDataError(f"[staffing.roles.{name}] {key} = {value!r} must be a whole number "
                                 f"≥ {int(key != 'count')}", source=where)
    if per in ("households", "cells") and (not isinstance(n, int | float) or isinstance(n, bool) or n <= 0):
        raise InputDataError(f"[staffing.roles.{name}] per = {per!r} needs n, a positive number of {per}",
                             source=where)
    fte = dict(body.get("fte", {}))
    return RoleRule(role=name, roster_roles=tuple(norm), per=per, count=count, max_count=max_count,  # type: ignore[arg-type]
                    n=float(n) if n is not None else None, shared=shared, tier=tier, reports_to=body.get("reports_to"),
                    patrols=bool(body.get("patrols", False)), fte={normalise_role(k) or k: float(v)
                                                                  for k, v in fte.items()},
                    label_zh=str(body.get("label_zh", "")), source=str(body.get("source", "")))


def rule_from_mapping(staffing: Mapping[str, Any], *, source: str = "[staffing]") -> StaffingRule:
    """A rule from a configuration's ``[staffing]`` table.

    ``rule`` names a built-in rule; with a ``[staffing.roles]`` table the roles are read from it instead
    (``rule`` is then the new rule's name), and ``[staffing.duties]`` adds extra duties by roster role.
    """
    roles = staffing.get("roles")
    name = str(staffing.get("rule") or "custom")
    if not roles:
        return parse_staffing_rule(name)
    if not isinstance(roles, Mapping):
        raise InputDataError("[staffing] roles must be a table of roles", source=source)
    specs = tuple(_role_from_mapping(str(k), v, source) for k, v in roles.items())
    names = {s.role for s in specs}
    for spec in specs:
        if spec.reports_to is not None and spec.reports_to not in names:
            raise InputDataError(f"[staffing.roles.{spec.role}] reports_to = {spec.reports_to!r} is not a role of "
                                 f"the rule; roles are {sorted(names)}", source=source)
    duties = {normalise_role(k) or k: tuple(v) for k, v in dict(staffing.get("duties") or {}).items()}
    return StaffingRule(name=name, roles=specs, duties=duties, source=str(staffing.get("source", "")))


def rule_table(rule: StaffingRule) -> pd.DataFrame:
    """One row per post of ``rule`` (for ``--list-presets``, the report and the exported plan)."""
    rows = [{"role": r.role, "label_zh": r.label_zh, "roster_roles": ";".join(r.roster_roles), "per": r.per,
             "count": r.count, "max_count": r.upper, "n": r.n, "shared": r.shared, "tier": r.tier,
             "reports_to": r.reports_to, "patrols": r.patrols, "source": r.source} for r in rule.roles]
    return pd.DataFrame(rows)


def required_seats(grids: pd.DataFrame, rule: StaffingRule, *, cells_per_grid: Any = None) -> pd.DataFrame:
    """Seats each post needs, per grid (posts counted per grid or households) or per community.

    Parameters
    ----------
    grids
        ``grid_id``, ``community_id``, ``households``.
    rule
        The rule.
    cells_per_grid
        Unit cells per grid (a mapping or Series ``grid_id → n``) for posts counted ``per = "cells"``.

    Returns
    -------
    pandas.DataFrame
        ``level`` (``grid`` or ``community``), ``unit`` (grid or community id), ``community_id``,
        ``role``, ``minimum`` and ``maximum`` seats (people; a part-time person fills ``fte`` of one).
        Grid posts: ``count`` (up to ``max_count``) per grid, or ``ceil(households / n)``.
        Community posts: ``count`` (up to ``max_count``) per community, or ``ceil(cells / n)``.
    """
    cid = grids["community_id"].astype(str).to_numpy() if "community_id" in grids.columns \
        else np.full(len(grids), "")
    households = pd.to_numeric(grids.get("households", pd.Series(0, index=grids.index)), errors="coerce") \
        .fillna(0).to_numpy(dtype=float)
    gid = grids["grid_id"].astype(str).to_numpy()
    rows: list[dict[str, Any]] = []
    communities = list(dict.fromkeys(cid))
    cells = None
    if cells_per_grid is not None:
        cells = pd.Series(cells_per_grid).rename(index=str).reindex(gid).fillna(0).to_numpy(dtype=float)
    for spec in rule.roles:
        if spec.per == "grid":
            rows += [{"level": "grid", "unit": g, "community_id": c, "role": spec.role, "minimum": spec.count,
                      "maximum": spec.upper} for g, c in zip(gid, cid, strict=True)]
        elif spec.per == "households":
            need = np.maximum(np.ceil(households / float(spec.n) - 1e-9), 1).astype(int)
            rows += [{"level": "grid", "unit": g, "community_id": c, "role": spec.role, "minimum": int(k),
                      "maximum": int(k)} for g, c, k in zip(gid, cid, need, strict=True)]
        elif spec.per == "cells":
            if cells is None:
                raise GridkitError(f"role {spec.role!r} is counted per {spec.n:g} unit cells: build the unit cells "
                                   "first ([cells] enabled = true, or gridkit.cells.unit_cells)")
            for c in communities:
                k = math.ceil(float(cells[cid == c].sum()) / float(spec.n) - 1e-9)
                rows.append({"level": "community", "unit": c, "community_id": c, "role": spec.role, "minimum": k,
                             "maximum": k})
        else:
            rows += [{"level": "community", "unit": c, "community_id": c, "role": spec.role, "minimum": spec.count,
                      "maximum": spec.max_count if spec.max_count is not None else spec.count}
                     for c in communities]
    return pd.DataFrame(rows, columns=["level", "unit", "community_id", "role", "minimum", "maximum"])
