"""Assign a roster to grids under a data staffing rule (:mod:`gridkit.staffing`), exactly.

Every person may take one *option*: for a grid post, one connected cluster of up to
``min(shared, capacity)`` neighbouring grids of their community (a single grid when the post is not
shared); for a community post, their community. A person of roster role ``r`` fills
``fte[r]`` of a seat (1 by default). With ``x_o`` binary per option, per (post, grid) and per
(post, community) the seats filled lie between 0 and the post's maximum, and a shortage variable
``s ≥ minimum − filled`` counts the empty minimum seats. Three MILPs (HiGHS through
:func:`scipy.optimize.milp`) are solved one after the other, each keeping the optimum of the ones
before: (1) fewest empty minimum seats, (2) most seats filled (up to the maxima), (3) the shortest
total walk from each person's home or station to their grids' representative points (street graph
when given, straight line otherwise). ``optimal`` is True only when HiGHS proved all three optimal.

Tiers: a post that ``reports_to`` another gets, per person, the people of that post in the same grid
(grid posts) or community (community posts), nearest first.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp

from gridkit.coverage import StreetMatrix, distance_matrix, street_matrix
from gridkit.crs import WGS84, local_metric_crs
from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.io import points_from_table, read_layer, source_name
from gridkit.staffing import PROGRAMME_ROLES, StaffingRule, normalise_role, parse_staffing_rule, required_seats
from gridkit.wardens import WardenPlan, connected_clusters, gini, grid_incidents, grid_street_length, neighbour_pairs

__all__ = ["assign_by_rule", "read_staff"]

_CLUSTER_LIMIT = 200_000


# ------------------------------------------------------------------------------------------ roster
def read_staff(source: Any, *, district: gpd.GeoDataFrame | None = None, tolerance_m: float = 1.0
               ) -> gpd.GeoDataFrame:
    """Read a roster whose roles may be any of :data:`gridkit.staffing.PROGRAMME_ROLES`.

    Parameters
    ----------
    source
        CSV path (``warden_id``, ``role``, optional ``name``, ``capacity`` (default 1),
        ``community_id``, ``lon``/``lat`` or WKT ``geometry``), a vector file of points, a
        GeoDataFrame, or a list of these (concatenated; ids must stay unique).
    district
        Polygons the people must be in (within ``tolerance_m`` metres).
    tolerance_m
        Distance outside ``district`` still accepted, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        ``warden_id``, ``name``, ``role`` (normalised), ``capacity``, ``community_id`` (when given),
        points in the source's CRS (EPSG:4326 for CSV).

    Raises
    ------
    InputDataError
        Naming the file, row, person and column: missing columns, missing or duplicate ids, an
        unknown role, a capacity that is not a whole number ≥ 1, a missing location, a location
        outside the district.
    """
    if isinstance(source, list | tuple):
        frames = [read_staff(s, district=district, tolerance_m=tolerance_m) for s in source]
        frames = [f.to_crs(WGS84) for f in frames]
        out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=WGS84)
        dup = out["warden_id"].duplicated()
        if dup.any():
            first = out["warden_id"][dup].iloc[0]
            raise InputDataError(f"person id {first!r} is on two rosters", feature=first, column="warden_id")
        out.attrs["source"] = ";".join(source_name(f) for f in frames)
        return out
    gdf = _frame(source)
    src = source_name(gdf, "<roster>")
    for col in ("warden_id", "role"):
        if col not in gdf.columns:
            raise InputDataError(f"roster has no column {col!r}; columns are {list(gdf.columns)}", source=src,
                                 column=col)
    if gdf["warden_id"].isna().any():
        raise InputDataError("missing person id", source=src, row=int(np.flatnonzero(gdf["warden_id"].isna())[0]),
                             column="warden_id")
    gdf["warden_id"] = gdf["warden_id"].astype(str).str.strip()
    dup = gdf["warden_id"].duplicated().to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InputDataError("duplicate person id", source=src, row=row, feature=gdf["warden_id"].iloc[row],
                             column="warden_id")
    roles = gdf["role"].map(normalise_role)
    if roles.isna().any():
        row = int(np.flatnonzero(roles.isna().to_numpy())[0])
        raise InputDataError(f"unknown role {gdf['role'].iloc[row]!r}; roles are {', '.join(PROGRAMME_ROLES)}",
                             source=src, row=row, feature=gdf["warden_id"].iloc[row], column="role")
    gdf["role"] = roles.astype(str)
    cap = pd.to_numeric(gdf["capacity"], errors="coerce") if "capacity" in gdf.columns \
        else pd.Series(1.0, index=gdf.index)
    bad = (cap.isna() | (cap < 1) | (cap != cap.round())).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"capacity must be a whole number of grids ≥ 1, got {gdf['capacity'].iloc[row]!r}",
                             source=src, row=row, feature=gdf["warden_id"].iloc[row], column="capacity")
    gdf["capacity"] = cap.astype(int)
    gdf["name"] = gdf["name"].astype(str) if "name" in gdf.columns else gdf["warden_id"]
    _check_locations(gdf, src, district, tolerance_m)
    keep = ["warden_id", "name", "role", "capacity"] + (["community_id"] if "community_id" in gdf.columns else [])
    out = gpd.GeoDataFrame(gdf[keep].reset_index(drop=True), geometry=gdf.geometry.reset_index(drop=True),
                           crs=gdf.crs)
    if "community_id" in out.columns:
        out["community_id"] = out["community_id"].astype(str)
    out.attrs["source"] = src
    return out


def _frame(source: Any) -> gpd.GeoDataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        return read_layer(source, label="roster").copy()
    if isinstance(source, pd.DataFrame):
        gdf = points_from_table(source.copy())
        if gdf is None:
            raise InputDataError("roster has no location: give lon/lat columns or a GeoDataFrame",
                                 source=source.attrs.get("source", "<roster DataFrame>"))
        gdf.attrs["source"] = source.attrs.get("source", "<roster DataFrame>")
        return gdf
    return read_layer(source, label="roster").copy()


def _check_locations(gdf: gpd.GeoDataFrame, src: str, district: gpd.GeoDataFrame | None, tolerance_m: float) -> None:
    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputDataError("missing location", source=src, row=row, feature=gdf["warden_id"].iloc[row])
    if district is None or len(district) == 0:
        return
    crs = local_metric_crs(district)
    area = shapely.union_all(district.to_crs(crs).geometry.to_numpy())
    away = shapely.distance(area, gdf.geometry.to_crs(crs).to_numpy())
    outside = away > tolerance_m
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise InputDataError(f"location is {away[row]:.0f} m outside the district", source=src, row=row,
                             feature=gdf["warden_id"].iloc[row])


# ---------------------------------------------------------------------------------------- options
def _options(rule: StaffingRule, roster: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, dist: np.ndarray,
             dist_c: np.ndarray, communities: list[str], same_community: bool) -> pd.DataFrame:
    """Every (person, post, cluster or community) a person may take, with its walking cost."""
    g_cid = grids["community_id"].astype(str).to_numpy() if "community_id" in grids.columns \
        else np.full(len(grids), "")
    p_cid = roster["community_id"].astype(str).to_numpy() if "community_id" in roster.columns else None
    pairs = neighbour_pairs(grids)
    if len(pairs):
        pairs = pairs[g_cid[pairs[:, 0]] == g_cid[pairs[:, 1]]]
    roles = roster["role"].to_numpy()
    capacity = roster["capacity"].to_numpy()
    cluster_cache: dict[int, list[tuple[int, ...]]] = {}
    rows: list[tuple[int, str, tuple[int, ...], int, float, float]] = []
    for spec in rule.roles:
        people = np.flatnonzero(np.isin(roles, spec.roster_roles))
        if spec.per not in ("grid", "households"):
            rows += [(int(p), spec.role, (), c, spec.seat_share(roles[p]), float(dist_c[p, c]))
                     for p in people for c, name in enumerate(communities)
                     if not (same_community and p_cid is not None and name != p_cid[p]) and np.isfinite(dist_c[p, c])]
            continue
        for size in {int(min(spec.shared, c)) for c in capacity[people]} - set(cluster_cache):
            cluster_cache[size] = connected_clusters(pairs, len(grids), size, limit=_CLUSTER_LIMIT)
        for p in people:
            clusters = cluster_cache[int(min(spec.shared, capacity[p]))]
            if same_community and p_cid is not None:
                clusters = [k for k in clusters if g_cid[k[0]] == p_cid[p]]
            costs = [float(dist[p, list(k)].sum()) for k in clusters]
            rows += [(int(p), spec.role, k, -1, spec.seat_share(roles[p]), cost)
                     for k, cost in zip(clusters, costs, strict=True) if np.isfinite(cost)]
    return pd.DataFrame(rows, columns=["p", "role", "cluster", "community", "share", "cost"])


def _constraints(options: pd.DataFrame, seats: pd.DataFrame, grid_pos: Mapping[str, int],
                 community_pos: Mapping[str, int], n_people: int) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray,
                                                                           np.ndarray, np.ndarray]:
    """Person rows (≤ 1 option each) and seat rows (Σ share·x per post and unit), with min and max."""
    n_x = len(options)
    person = sp.csr_matrix((np.ones(n_x), (options["p"].to_numpy(), np.arange(n_x))), shape=(n_people, n_x))
    key = {(r.level, r.role, r.unit): k for k, r in enumerate(seats.itertuples())}
    rows, cols, vals = [], [], []
    grid_names, community_names = list(grid_pos), list(community_pos)
    for o, (role, cluster, community, share) in enumerate(zip(options["role"], options["cluster"],
                                                               options["community"], options["share"], strict=True)):
        units = [("community", community_names[community])] if community >= 0 else \
            [("grid", grid_names[g]) for g in cluster]
        for level, unit in units:
            rows.append(key[(level, role, unit)])
            cols.append(o)
            vals.append(share)
    seat = sp.csr_matrix((vals, (rows, cols)), shape=(len(seats), n_x))
    size = np.asarray(seat.sum(axis=0)).ravel()  # seats an option fills
    return person, seat, seats["minimum"].to_numpy(float), seats["maximum"].to_numpy(float), size


def _post_groups(rule: StaffingRule) -> dict[str, int]:
    """Posts that draw on a common roster role compete for people and are solved together."""
    graph = nx.Graph()
    for post in rule.roles:
        graph.add_node(("post", post.role))
        graph.add_edges_from((("post", post.role), ("roster", r)) for r in post.roster_roles)
    return {node[1]: k for k, part in enumerate(nx.connected_components(graph)) for node in part if node[0] == "post"}


def _option_community(options: pd.DataFrame, g_cid: np.ndarray, communities: list[str]) -> np.ndarray:
    """The community each option lies in (its grids' community, or the community it names)."""
    return np.array([communities[c] if c >= 0 else g_cid[k[0]]
                     for k, c in zip(options["cluster"], options["community"], strict=True)], dtype=object).astype(str)


def _solve(options: pd.DataFrame, person: sp.csr_matrix, seat: sp.csr_matrix, low: np.ndarray, high: np.ndarray,
           size: np.ndarray, time_limit: float) -> tuple[np.ndarray, np.ndarray, bool]:
    """The three lexicographic MILPs; returns chosen options (bool), shortage per seat row, optimal."""
    n_x, n_s = len(options), len(low)
    eye = sp.identity(n_s, format="csr")
    base = [LinearConstraint(sp.hstack([person, sp.csr_matrix((person.shape[0], n_s))], format="csr"), ub=1.0),
            LinearConstraint(sp.hstack([seat, sp.csr_matrix((n_s, n_s))], format="csr"), ub=high),
            LinearConstraint(sp.hstack([seat, eye], format="csr"), lb=low)]
    bounds = Bounds(np.zeros(n_x + n_s), np.concatenate([np.ones(n_x), np.maximum(low, 0)]))
    integrality = np.concatenate([np.ones(n_x), np.zeros(n_s)])
    options_ = {"time_limit": time_limit, "mip_rel_gap": 0.0}
    zeros_x, zeros_s = np.zeros(n_x), np.zeros(n_s)
    objectives = [np.concatenate([zeros_x, np.ones(n_s)]),                      # (1) empty minimum seats
                  np.concatenate([-size, zeros_s]),                             # (2) seats filled
                  np.concatenate([options["cost"].to_numpy(float), zeros_s])]   # (3) walking
    constraints, optimal, res = list(base), True, None
    for k, c in enumerate(objectives):
        res = milp(c, integrality=integrality, bounds=bounds, constraints=constraints, options=options_)
        if res.x is None:
            raise GridkitError(f"staffing assignment: the MILP solver found no solution ({res.message})")
        optimal = optimal and res.status == 0
        if k < 2:  # keep this level's optimum (a small slack for floating point)
            constraints.append(LinearConstraint(sp.csr_matrix(c.reshape(1, -1)), ub=float(res.fun) + 1e-6))
    assert res is not None
    return res.x[:n_x] > 0.5, res.x[n_x:], optimal


# ------------------------------------------------------------------------------------- assignment
def _xy(gdf: gpd.GeoDataFrame, crs: Any) -> np.ndarray:
    return shapely.get_coordinates(shapely.point_on_surface(gdf.to_crs(crs).geometry.to_numpy())).reshape(-1, 2)


def assign_by_rule(
    grids: gpd.GeoDataFrame,
    roster: Any,
    rule: str | StaffingRule | Mapping[str, Any],
    *,
    graph: nx.Graph | StreetMatrix | None = None,
    cells_per_grid: Any = None,
    streets: gpd.GeoDataFrame | nx.Graph | None = None,
    incidents: pd.DataFrame | None = None,
    same_community: bool = True,
    time_limit: float = 60.0,
) -> WardenPlan:
    """Staff grids under a data rule (see the module docstring); exact, shortages reported per post.

    Parameters
    ----------
    grids
        Grid polygons (``grid_id``, ``community_id``, ``households``, optional ``population``), any CRS.
    roster
        People (path, DataFrame, GeoDataFrame or a list of them), read with :func:`read_staff`.
    rule
        A :class:`~gridkit.staffing.StaffingRule`, a rule name or a ``[staffing]`` mapping.
    graph
        Street graph (metric, edge ``length`` in m); straight lines when None.
    cells_per_grid
        Unit cells per grid (``grid_id → n``) for posts counted per cells.
    streets, incidents
        Optional, for the per-person load (street km, incidents).
    same_community
        Keep people in their own ``community_id`` when roster and grids both carry one.
    time_limit
        Seconds per MILP; a stopped run reports ``optimal=False``.

    Returns
    -------
    gridkit.wardens.WardenPlan
        ``links`` holds the patrolling posts and police (the walkers routes and coverage use);
        ``team`` every person placed with ``rule_role``, ``tier``, ``level``, ``grids``,
        ``reports_to_role`` and ``reports_to_id``, ``duties``; ``shortage`` one row per community
        and post; ``grids`` has ``need_<post>`` and ``filled_<post>`` per grid post.

    Examples
    --------
    >>> plan = assign_by_rule(grids, ["wardens.csv", "staff.csv"], "zhoushan_team")  # doctest: +SKIP
    >>> plan.shortage[plan.shortage["shortage"] > 0]  # doctest: +SKIP
    """
    spec = parse_staffing_rule(rule)
    if "grid_id" not in grids.columns:
        raise InputDataError("grids have no column 'grid_id'", source=source_name(grids, "<grids>"), column="grid_id")
    people = read_staff(roster, district=grids)
    grids = grids.reset_index(drop=True)
    gid = grids["grid_id"].astype(str).to_numpy()
    g_cid = grids["community_id"].astype(str).to_numpy() if "community_id" in grids.columns \
        else np.full(len(grids), "")
    communities = list(dict.fromkeys(g_cid))
    net = None if graph is None else street_matrix(graph)
    crs = net.crs if net is not None else local_metric_crs(grids)
    person_xy = _xy(people, crs)
    dist = distance_matrix(net, person_xy, _xy(grids, crs))
    shapes = [shapely.union_all(grids.to_crs(crs).geometry.to_numpy()[g_cid == c]) for c in communities]
    community_xy = shapely.get_coordinates(shapely.point_on_surface(np.array(shapes, dtype=object))).reshape(-1, 2)
    dist_c = distance_matrix(net, person_xy, community_xy)
    seats = required_seats(grids, spec, cells_per_grid=cells_per_grid)
    options = _options(spec, people, grids, dist, dist_c, communities, same_community)
    grid_pos = {g: k for k, g in enumerate(gid)}
    community_pos = {c: k for k, c in enumerate(communities)}
    chosen, optimal = np.zeros(len(options), dtype=bool), True
    short, filled = seats["minimum"].to_numpy(float).copy(), np.zeros(len(seats))
    # with people kept in their community the problem falls apart by community, and so does each of
    # the three lexicographic optima (every level's objective is a sum over communities)
    by_community = same_community and "community_id" in people.columns
    group = _post_groups(spec)
    option_block = (_option_community(options, g_cid, communities) if by_community
                    else np.zeros(len(options), str)).astype(object) + "|" + options["role"].map(group).astype(str)
    seat_block = (seats["community_id"].astype(str).to_numpy() if by_community
                  else np.zeros(len(seats), str)).astype(object) + "|" + seats["role"].map(group).astype(str)
    option_block, seat_block = np.asarray(option_block, dtype=str), np.asarray(seat_block, dtype=str)
    for block in np.unique(option_block):
        o_in, s_in = np.flatnonzero(option_block == block), np.flatnonzero(seat_block == block)
        sub = options.iloc[o_in]
        person, seat, low, high, size = _constraints(sub, seats.iloc[s_in], grid_pos, community_pos, len(people))
        picked_block, short_block, ok = _solve(sub, person, seat, low, high, size, time_limit)
        chosen[o_in] = picked_block
        short[s_in] = short_block
        filled[s_in] = seat @ picked_block.astype(float)
        optimal = optimal and ok
    seats = seats.assign(filled=filled, shortage=np.maximum(short, 0.0))
    picked = options[chosen].reset_index(drop=True)
    table = _grid_table(grids, streets, incidents)
    return _plan(spec, people, grids, table, seats, picked, dist, communities, optimal)


def _grid_table(grids: gpd.GeoDataFrame, streets: Any, incidents: Any) -> pd.DataFrame:
    def col(name: str) -> np.ndarray:
        if name not in grids.columns:
            return np.zeros(len(grids))
        return pd.to_numeric(grids[name], errors="coerce").fillna(0).to_numpy(float)

    return pd.DataFrame({"grid_id": grids["grid_id"].astype(str).to_numpy(),
                         "community_id": grids["community_id"].astype(str).to_numpy()
                         if "community_id" in grids.columns else "",
                         "households": col("households"), "population": col("population"),
                         "street_m": grid_street_length(grids, streets), "incidents": grid_incidents(grids, incidents)})


def _members(spec: StaffingRule, people: gpd.GeoDataFrame, picked: pd.DataFrame, gid: np.ndarray,
             communities: list[str], dist: np.ndarray) -> pd.DataFrame:
    posts = {r.role: r for r in spec.roles}
    ids, names, roles = (people[c].astype(str).to_numpy() for c in ("warden_id", "name", "role"))
    rows = []
    for p, role, cluster, community, share, cost in zip(picked["p"], picked["role"], picked["cluster"],
                                                        picked["community"], picked["share"], picked["cost"],
                                                        strict=True):
        post = posts[role]
        if community >= 0:
            level, grids, cid = "community", [], communities[community]
        else:
            level = "grid" if post.patrols else ("police" if roles[p] == "police" else "post")
            grids, cid = [gid[g] for g in cluster], None
        rows.append({"p": int(p), "warden_id": ids[p], "name": names[p], "role": roles[p], "rule_role": role,
                     "tier": post.tier, "level": level, "grid_pos": list(cluster), "grids": ";".join(grids),
                     "community_id": cid, "distance_m": float(cost), "share": float(share),
                     "duties": ";".join(spec.duties.get(roles[p], ())), "reports_to_role": post.reports_to})
    members = pd.DataFrame(rows, columns=["p", "warden_id", "name", "role", "rule_role", "tier", "level", "grid_pos",
                                          "grids", "community_id", "distance_m", "share", "duties",
                                          "reports_to_role"])
    members["reports_to_id"] = _reports_to(members, dist)
    return members


def _reports_to(members: pd.DataFrame, dist: np.ndarray) -> list[str]:
    """Per member: the people of the post it reports to in its grids (or community), nearest first."""
    by_grid: dict[tuple[str, int], list[tuple[int, str]]] = {}
    by_community: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for p, wid, role, level, pos, cid in zip(members["p"], members["warden_id"], members["rule_role"],
                                            members["level"], members["grid_pos"], members["community_id"],
                                            strict=True):
        if level == "community":
            by_community.setdefault((role, cid), []).append((p, wid))
        for g in pos:
            by_grid.setdefault((role, g), []).append((p, wid))
    out = []
    for boss, level, pos, cid in zip(members["reports_to_role"], members["level"], members["grid_pos"],
                                     members["community_id"], strict=True):
        if not boss:
            out.append("")
            continue
        near = by_community.get((boss, cid), []) if level == "community" else \
            [h for g in pos for h in by_grid.get((boss, g), [])]
        if near and len(pos):
            near = sorted(near, key=lambda h, pos=pos: float(dist[h[0], pos].min()))
        out.append(";".join(dict.fromkeys(w for _, w in near)))
    return out


def _plan(spec: StaffingRule, people: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, table: pd.DataFrame,
          seats: pd.DataFrame, picked: pd.DataFrame, dist: np.ndarray, communities: list[str],
          optimal: bool) -> WardenPlan:
    gid = table["grid_id"].to_numpy()
    members = _members(spec, people, picked, gid, communities, dist)
    member_cid = members["community_id"].where(members["level"] == "community",
                                               members["grid_pos"].map(lambda g: table["community_id"].iloc[g[0]]
                                                                       if len(g) else None))
    members["community_id"] = member_cid
    link_rows = [{"warden_id": m.warden_id, "role": m.role, "rule_role": m.rule_role, "grid_id": gid[g],
                  "distance_m": float(dist[int(m.p), g]), "share": m.share}
                 for m in members.itertuples() if m.level in ("grid", "police") for g in m.grid_pos]
    links = pd.DataFrame(link_rows, columns=["warden_id", "role", "rule_role", "grid_id", "distance_m", "share"])
    grid_seats = seats[seats["level"] == "grid"]
    staffed = table.copy()
    for post in grid_seats["role"].unique():
        part = grid_seats[grid_seats["role"] == post].set_index("unit")
        staffed[f"need_{post}"] = staffed["grid_id"].map(part["minimum"]).to_numpy()
        staffed[f"filled_{post}"] = staffed["grid_id"].map(part["filled"]).to_numpy()
    short_grid = grid_seats.groupby("unit")["shortage"].sum()
    staffed["shortage"] = staffed["grid_id"].map(short_grid).fillna(0.0).to_numpy()
    staffed["staffed"] = staffed["shortage"] <= 1e-9
    walkers = links[links["role"] != "police"].groupby("grid_id")["warden_id"].agg(";".join)
    staffed["warden_ids"] = staffed["grid_id"].map(walkers).fillna("")
    per_warden = _per_person(members, table)
    shortage = _shortage(spec, people, seats, members)
    unstaffed = staffed.loc[~staffed["staffed"], ["grid_id", "community_id", "households", "shortage"]]
    walk = per_warden[per_warden["level"] == "grid"]["households"].to_numpy(float)
    summary = {"rule": spec.name, "wardens": len(people), "assigned": len(members), "grids": len(table),
               "grids_staffed": int(staffed["staffed"].sum()), "seats": float(seats["minimum"].sum()),
               "seats_filled": float(seats["filled"].sum()),
               "households_min": float(walk.min()) if len(walk) else 0.0,
               "households_max": float(walk.max()) if len(walk) else 0.0,
               "households_mean": float(walk.mean()) if len(walk) else 0.0, "households_gini": gini(walk),
               "distance_mean_m": float(members["distance_m"].mean()) if len(members) else 0.0,
               "people_short": float(shortage["shortage"].sum())}
    if (shortage["shortage"] > 0).any():
        short = shortage[shortage["shortage"] > 0]
        warnings.warn(f"roster too small for the rule {spec.name}: " + "; ".join(
            f"{r.community_id} {r.role}: {r.shortage:g} short ({r.available:g} available for {r.required:g} required)"
            for r in short.itertuples()), GridkitWarning, stacklevel=3)
    grid_frame = gpd.GeoDataFrame(pd.concat([grids.drop(columns=[c for c in staffed.columns if c in grids.columns
                                                                 and c != "grid_id"]),
                                             staffed.drop(columns=["grid_id"])], axis=1),
                                  geometry=grids.geometry.name, crs=grids.crs)
    assignment = _assignment(people, members)
    team = members.drop(columns=["p", "grid_pos"]).rename(columns={})
    return WardenPlan(assignment=assignment, links=links, per_warden=per_warden, grids=grid_frame,
                      unstaffed=unstaffed.reset_index(drop=True), shortage=shortage,
                      objective=float(members["distance_m"].sum()), optimal=bool(optimal),
                      method="rule milp (HiGHS, lexicographic: minimum seats, seats, distance)", summary=summary,
                      team=team)


def _per_person(members: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Each person's load: patrolling posts split a grid's load by seat share; other posts carry it whole."""
    cols = ["households", "population", "street_km", "incidents"]
    load = table.assign(street_km=table["street_m"] / 1000.0)[cols].to_numpy(float)
    patrol_share = np.zeros(len(table))
    for level, pos, share in zip(members["level"], members["grid_pos"], members["share"], strict=True):
        if level == "grid":
            np.add.at(patrol_share, np.asarray(pos, dtype=int), share)
    cid = table["community_id"].astype(str).to_numpy()
    community_load = {c: load[cid == c].sum(axis=0) for c in np.unique(cid)}
    community_grids = {c: ";".join(table["grid_id"].to_numpy()[cid == c]) for c in np.unique(cid)}
    n_c = members[members["level"] == "community"].groupby(["community_id", "rule_role"]).size().to_dict()
    rows = []
    for m in members.itertuples():
        if m.level == "community":
            value = community_load[m.community_id] / n_c[(m.community_id, m.rule_role)]
            grids, n_grids = community_grids[m.community_id], int((cid == m.community_id).sum())
        else:
            pos = np.asarray(m.grid_pos, dtype=int)
            frac = m.share / np.maximum(patrol_share[pos], 1e-12) if m.level == "grid" else np.ones(len(pos))
            value = (load[pos] * frac[:, None]).sum(axis=0)
            grids, n_grids = m.grids, len(pos)
        rows.append({"warden_id": m.warden_id, "role": m.role, "rule_role": m.rule_role, "level": m.level,
                     "community_id": m.community_id, "n_grids": n_grids, "grids": grids,
                     **dict(zip(cols, map(float, value), strict=True)), "distance_m": m.distance_m})
    return pd.DataFrame(rows, columns=["warden_id", "role", "rule_role", "level", "community_id", "n_grids", "grids",
                                       *cols, "distance_m"])


def _shortage(spec: StaffingRule, people: gpd.GeoDataFrame, seats: pd.DataFrame, members: pd.DataFrame
              ) -> pd.DataFrame:
    """Per community and post: people required, seats at most, people available and assigned, people short."""
    p_cid = people["community_id"].astype(str) if "community_id" in people.columns else pd.Series("", people.index)
    rows = []
    for (cid, post), part in seats.groupby(["community_id", "role"], sort=False):
        rule = spec.role(post)
        shared = max(rule.shared, 1) if rule.per in ("grid", "households") else 1
        mine = members[(members["rule_role"] == post) & (members["community_id"] == cid)]
        eligible = people["role"].isin(rule.roster_roles) & (p_cid == str(cid))
        minimum = float(part["minimum"].sum())
        rows.append({"community_id": cid, "role": post, "required": float(np.ceil(minimum / shared - 1e-9)),
                     "seats_required": minimum, "seats_max": float(part["maximum"].sum()),
                     "seats_filled": float(part["filled"].sum()), "available": float(eligible.sum()),
                     "assigned": float(len(mine)),
                     "shortage": max(float(np.ceil(part["shortage"].sum() / shared - 1e-9)), 0.0) + 0.0})
    return pd.DataFrame(rows, columns=["community_id", "role", "required", "seats_required", "seats_max",
                                       "seats_filled", "available", "assigned", "shortage"])


def _assignment(people: gpd.GeoDataFrame, members: pd.DataFrame) -> gpd.GeoDataFrame:
    by = members.set_index("warden_id")
    out = pd.DataFrame({"warden_id": people["warden_id"], "name": people["name"], "role": people["role"],
                        "capacity": people["capacity"],
                        "community_id": people["community_id"] if "community_id" in people.columns else None})
    for col in ("rule_role", "tier", "level", "reports_to_id", "duties", "distance_m"):
        out[col] = out["warden_id"].map(by[col])
    out["grid_id"] = out["warden_id"].map(by["grids"]).replace("", np.nan)
    out["n_grids"] = out["grid_id"].fillna("").map(lambda s: len(s.split(";")) if s else 0)
    out["status"] = np.where(out["level"].isna(), "spare", np.where(out["level"] == "community", "community", "grid"))
    lonlat = shapely.get_coordinates(people.geometry.to_crs(WGS84).to_numpy())
    out["lon"], out["lat"] = lonlat[:, 0], lonlat[:, 1]
    return gpd.GeoDataFrame(out, geometry=people.geometry.to_numpy(), crs=people.crs)
