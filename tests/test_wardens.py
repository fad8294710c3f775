"""Staffing rules, roster checks and exact warden assignment on the sample district and small cases."""

from __future__ import annotations

import itertools
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from gridkit.coverage import distance_matrix, street_matrix
from gridkit.crs import local_metric_crs
from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.wardens import (
    assign_wardens,
    building_wardens,
    connected_clusters,
    gini,
    grid_street_length,
    largest_remainder,
    neighbour_pairs,
    read_roster,
    staffing,
)

CRS = "EPSG:32648"


@pytest.fixture(scope="module")
def grids(sample_result):
    return sample_result.grids


@pytest.fixture(scope="module")
def roster(sample):
    return sample.wardens


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = func(*args, **kwargs)
    return out, [w for w in caught if issubclass(w.category, GridkitWarning)]


@pytest.fixture(scope="module")
def one_per_grid(grids, roster):
    return quiet(assign_wardens, grids, roster)[0]


# ------------------------------------------------------------------------------------------ roster
def test_sample_roster_reads(roster, grids):
    gdf = read_roster(roster, district=grids)
    assert len(gdf) == 163
    assert set(gdf["role"]) == {"full_time", "part_time", "police", "volunteer"}
    assert gdf["capacity"].dtype.kind == "i"
    assert gdf.crs.to_epsg() == 4326


def test_duplicate_warden_id_names_the_row(roster):
    bad = roster.copy()
    bad.loc[7, "warden_id"] = bad.loc[2, "warden_id"]
    with pytest.raises(InputDataError, match=r"duplicate warden id \(first seen at row 2\)") as info:
        read_roster(bad)
    assert info.value.row == 7
    assert info.value.feature == bad.loc[2, "warden_id"]


def test_unknown_role_names_the_value(roster):
    bad = roster.copy()
    bad.loc[5, "role"] = "janitor"
    with pytest.raises(InputDataError, match="unknown role 'janitor'") as info:
        read_roster(bad)
    assert info.value.row == 5
    assert info.value.column == "role"


def test_chinese_role_names_are_accepted(roster):
    other = roster.copy()
    other.loc[0, "role"] = "专职"
    other.loc[1, "role"] = "民警"
    gdf = read_roster(other)
    assert gdf["role"].iloc[:2].tolist() == ["full_time", "police"]


@pytest.mark.parametrize("value", [0, -1, 1.5, "many", None])
def test_bad_capacity_is_an_error(roster, value):
    bad = roster.copy().astype({"capacity": object})
    bad.loc[3, "capacity"] = value
    with pytest.raises(InputDataError, match="capacity") as info:
        read_roster(bad)
    assert info.value.row == 3


def test_location_outside_district_is_an_error(roster, grids):
    bad = roster.copy()
    bad.loc[9, "lon"] = bad["lon"].max() + 0.05
    with pytest.raises(InputDataError, match="outside the district") as info:
        read_roster(bad, district=grids)
    assert info.value.row == 9


def test_missing_location_is_an_error(roster):
    bad = roster.copy()
    bad.loc[4, "lat"] = np.nan
    with pytest.raises(InputDataError, match="missing location") as info:
        read_roster(bad)
    assert info.value.row == 4


def test_roster_csv_file(tmp_path, roster):
    path = tmp_path / "roster.csv"
    roster.to_csv(path, index=False)
    gdf = read_roster(path)
    assert gdf.attrs["source"] == str(path)
    assert gdf["warden_id"].tolist() == roster["warden_id"].tolist()


# ---------------------------------------------------------------------------------------- staffing
def test_one_per_grid_needs_one_warden_each(grids):
    table = staffing(grids)
    assert (table["wardens"] == 1).all()
    assert (table["police"] == 0).all()
    assert table["workload"].mean() == pytest.approx(1.0)


def test_per_households_apportions_by_workload(grids, sample):
    with pytest.warns(GridkitWarning, match=r"(\d+) of (\d+) incidents have no location") as record:
        table = staffing(grids, "per_households:200", incidents=sample.incidents, streets=sample.streets)
    left_out = int(str(record[0].message).split(" of ")[0])
    assert table["incidents"].sum() + left_out == len(sample.incidents)  # nothing lost silently
    households = grids["households"].sum()
    expected_total = int(np.ceil(households / 200))
    assert (table["wardens"] >= 1).all()
    assert table["wardens"].sum() == max(expected_total, table.attrs["seats_total"])
    assert table["wardens"].sum() == expected_total  # the floor of one seat does not bind here
    assert (np.abs(table["wardens"] - table["quota"]) < 1).all()
    assert table["incidents"].sum() > 0
    assert table["street_m"].sum() > 0
    heavier = table.sort_values("workload")
    assert heavier["wardens"].iloc[-1] >= heavier["wardens"].iloc[0]


def test_workload_follows_households_alone(grids):
    table = staffing(grids, "per_households:300")  # no incidents, no streets: households and population
    hh, pop = grids["households"].to_numpy(float), grids["population"].to_numpy(float)
    expected = (0.4 * hh / hh.mean() + 0.2 * pop / pop.mean()) / 0.6
    np.testing.assert_allclose(table["workload"], expected)


def test_team_rule_has_police_and_community_team(grids):
    table = staffing(grids, "1+1+2")
    assert (table["police"] == 1).all()
    community = table.attrs["community"]
    assert community["police"].sum() == sum(int(np.ceil(n / 2)) for n in grids.groupby("community_id").size())


def test_unknown_rule_is_an_error(grids):
    with pytest.raises(GridkitError, match="unknown staffing rule"):
        staffing(grids, "two_per_grid")


@given(quotas=st.lists(st.floats(1.0, 40.0), min_size=1, max_size=30))
def test_largest_remainder_is_hamilton(quotas):
    quotas = np.array(quotas)
    total = round(quotas.sum())
    quotas = quotas * total / quotas.sum()
    seats = largest_remainder(quotas, total, minimum=0)
    assert seats.sum() == total
    assert (seats >= np.floor(quotas + 1e-9)).all()
    assert (seats <= np.ceil(quotas - 1e-9) + 1e-9).all()


def test_largest_remainder_minimum_one():
    seats = largest_remainder(np.array([0.2, 0.3, 4.5]), 5, minimum=1)
    assert seats.tolist() == [1, 1, 4]
    assert largest_remainder(np.array([0.1, 0.1, 0.1]), 2, minimum=1).tolist() == [1, 1, 1]


def test_gini_known_values():
    assert gini(np.array([5, 5, 5, 5])) == 0
    assert gini(np.array([0, 0, 0, 1])) == pytest.approx(0.75)
    assert gini(np.array([])) == 0


# -------------------------------------------------------------------------------------- assignment
def straight_costs(grids, roster):
    crs = local_metric_crs(grids)
    g = shapely.get_coordinates(grids.to_crs(crs).geometry.representative_point().to_numpy())
    pts = gpd.GeoSeries(gpd.points_from_xy(roster["lon"], roster["lat"]), crs=4326).to_crs(crs)
    w = shapely.get_coordinates(pts.to_numpy())
    return np.hypot(w[:, None, 0] - g[None, :, 0], w[:, None, 1] - g[None, :, 1])


def test_one_per_grid_is_the_exact_optimum(one_per_grid, grids, roster):
    plan = one_per_grid
    assert plan.optimal
    assert plan.unstaffed.empty
    assert plan.summary["grids_staffed"] == len(grids)
    cost = straight_costs(grids, roster)
    full = (roster["role"] == "full_time").to_numpy()
    best = 0.0
    for cid in grids["community_id"].unique():  # wardens stay in their community
        rows = np.flatnonzero(full & (roster["community_id"] == cid).to_numpy())
        cols = np.flatnonzero((grids["community_id"] == cid).to_numpy())
        sub = cost[np.ix_(rows, cols)]
        r, c = linear_sum_assignment(sub)
        best += sub[r, c].sum()
    assert plan.objective == pytest.approx(best, rel=1e-9)
    links = plan.links
    assert links["grid_id"].is_unique
    assert links["warden_id"].is_unique
    community_of = dict(zip(roster["warden_id"], roster["community_id"], strict=True))
    grid_community = dict(zip(grids["grid_id"], grids["community_id"], strict=True))
    assert all(community_of[w] == grid_community[g] for w, g in zip(links["warden_id"], links["grid_id"],
                                                                       strict=True))


def test_per_warden_report_conserves_households(one_per_grid, grids):
    report = one_per_grid.per_warden
    assert report["households"].sum() == pytest.approx(grids["households"].sum())
    assert one_per_grid.summary["households_max"] == report["households"].max()
    assert one_per_grid.summary["households_gini"] == pytest.approx(gini(report["households"].to_numpy()))
    assignment = one_per_grid.assignment
    assert len(assignment) == 163
    assert (assignment["status"] == "grid").sum() == len(grids)


def test_per_households_respects_capacity_and_seats(grids, roster):
    plan, caught = quiet(assign_wardens, grids, roster, rule="per_households:250")
    assert plan.optimal
    per = plan.assignment.set_index("warden_id")
    assert (per["n_grids"] <= per["capacity"]).all()
    assert (plan.grids["filled"] <= plan.grids["wardens"] + 1e-9).all()
    assert set(plan.links["role"]) <= {"full_time", "part_time"}
    short = plan.shortage["shortage"].sum()
    assert short == pytest.approx((plan.grids["wardens"] - plan.grids["filled"]).sum())
    assert (len(caught) > 0) == (short > 0)
    # a community short of seats uses every seat-worth person it has
    for row in plan.shortage.itertuples():
        if row.shortage > 0:
            assert row.assigned == pytest.approx(row.available)


def test_team_rule_pairs_police_on_neighbouring_grids(grids, roster):
    plan, caught = quiet(assign_wardens, grids, roster, rule="1+1+2")
    pairs = {tuple(sorted(p)) for p in neighbour_pairs(grids).tolist()}
    position = {g: i for i, g in enumerate(grids["grid_id"])}
    police = plan.links[plan.links["role"] == "police"]
    assert len(police) > 0
    for _, group in police.groupby("warden_id"):
        assert len(group) <= 2
        if len(group) == 2:
            assert tuple(sorted(position[g] for g in group["grid_id"])) in pairs
    n_police = (roster["role"] == "police").sum()
    assert police["grid_id"].nunique() == len(police) <= 2 * n_police
    # the sample has 14 officers for 82 grids: the shortage is reported, not hidden
    assert caught
    assert "not fully staffed" in str(caught[0].message)
    assert len(plan.unstaffed) == len(grids) - police["grid_id"].nunique()
    assert set(plan.assignment.loc[plan.assignment["role"] == "volunteer", "status"]) == {"community"}


def test_roster_too_small_lists_unstaffed_grids(grids, roster):
    smaller = roster[~((roster["community_id"] == "C01") & (roster["role"] == "full_time"))
                     | roster.index.isin(roster.index[roster["community_id"] == "C01"][:3])]
    smaller = smaller.reset_index(drop=True)
    plan, caught = quiet(assign_wardens, grids, smaller)
    c01 = grids[grids["community_id"] == "C01"]
    kept = ((smaller["community_id"] == "C01") & (smaller["role"] == "full_time")).sum()
    assert len(plan.unstaffed) == len(c01) - kept
    assert set(plan.unstaffed["grid_id"]) <= set(c01["grid_id"])
    row = plan.shortage[(plan.shortage["community_id"] == "C01")].iloc[0]
    assert row["shortage"] == len(c01) - kept
    message = str(caught[0].message)
    assert "C01 warden" in message
    assert plan.unstaffed["grid_id"].iloc[0] in message


def test_duplicate_ids_stop_assignment(grids, roster):
    bad = pd.concat([roster, roster.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputDataError, match="duplicate warden id"):
        assign_wardens(grids, bad)


def square_grids(n_x: int, n_y: int, size: float = 100.0) -> gpd.GeoDataFrame:
    cells = [shapely.box(400000 + i * size, 3380000 + j * size, 400000 + (i + 1) * size, 3380000 + (j + 1) * size)
             for j in range(n_y) for i in range(n_x)]
    return gpd.GeoDataFrame({"grid_id": [f"G{k}" for k in range(len(cells))],
                             "households": np.arange(len(cells)) * 10 + 100}, geometry=cells, crs=CRS)


def lattice(n_x: int, n_y: int, size: float = 100.0) -> nx.MultiGraph:
    graph = nx.MultiGraph(crs=CRS)
    for i, j in itertools.product(range(n_x + 1), range(n_y + 1)):
        graph.add_node((i, j), x=400000 + i * size, y=3380000 + j * size)
    for i, j in itertools.product(range(n_x + 1), range(n_y + 1)):
        if i < n_x:
            graph.add_edge((i, j), (i + 1, j), length=size * (1.0 + 0.5 * (j % 2)))
        if j < n_y:
            graph.add_edge((i, j), (i, j + 1), length=size)
    return graph


def small_roster(xy, roles, capacities):
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame({"warden_id": [f"W{i}" for i in range(len(xy))], "name": "x", "role": roles,
                             "capacity": capacities}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS)


@pytest.mark.parametrize("seed", range(4))
def test_capacity_assignment_equals_brute_force(seed):
    """Capacities above one (MILP) against enumeration of every feasible assignment on the street graph."""
    rng = np.random.default_rng(seed)
    grids = square_grids(3, 2)
    graph = lattice(3, 2)
    xy = rng.uniform([400000, 3380000], [400300, 3380200], size=(4, 2))
    roster = small_roster(xy, ["full_time"] * 4, [2, 1, 2, 1])
    plan, _ = quiet(assign_wardens, grids, roster, graph=graph)
    assert plan.optimal
    assert plan.method.startswith("milp")
    g_xy = shapely.get_coordinates(grids.geometry.representative_point().to_numpy())
    cost = distance_matrix(street_matrix(graph), xy, g_xy)
    best = np.inf
    for owners in itertools.product(range(4), repeat=6):
        counts = np.bincount(owners, minlength=4)
        if (counts <= [2, 1, 2, 1]).all():
            best = min(best, sum(cost[w, g] for g, w in enumerate(owners)))
    assert plan.objective == pytest.approx(best)
    assert plan.unstaffed.empty


def test_network_distance_changes_the_choice():
    """Wardens beside a river: near their grid in a straight line, far from it on the streets."""
    grids = square_grids(2, 1)  # G0: x 0-100, G1: x 100-200 (representative points at x=50 and x=150)
    x0, y0 = 400000.0, 3380050.0
    graph = nx.MultiGraph(crs=CRS)
    for node, dx in {"A": 50, "B": 150, "P": 60, "Q": 140}.items():
        graph.add_node(node, x=x0 + dx, y=y0)
    graph.add_edge("P", "B", length=90)  # a bridge from P straight over to B
    graph.add_edge("Q", "A", length=90)
    graph.add_edge("P", "A", length=500)  # the way round to the own side
    graph.add_edge("Q", "B", length=500)
    roster = small_roster([(x0 + 60, y0), (x0 + 140, y0)], ["full_time", "full_time"], [1, 1])
    straight = quiet(assign_wardens, grids, roster)[0]
    walked = quiet(assign_wardens, grids, roster, graph=graph)[0]
    assert dict(zip(straight.links["warden_id"], straight.links["grid_id"], strict=True)) == {"W0": "G0", "W1": "G1"}
    assert straight.objective == pytest.approx(20.0)
    assert dict(zip(walked.links["warden_id"], walked.links["grid_id"], strict=True)) == {"W0": "G1", "W1": "G0"}
    assert walked.objective == pytest.approx(180.0)


def test_building_wardens_maps_through_grids(one_per_grid, sample_result):
    table = building_wardens(sample_result.assignment, one_per_grid)
    assert len(table) == len(sample_result.assignment)
    assert table["warden_id"].notna().all()
    first = one_per_grid.links.set_index("grid_id")["warden_id"]
    assert (table["warden_id"] == table["grid_id"].map(first)).all()


@given(seed=st.integers(0, 10_000), n_wardens=st.integers(1, 9), shape=st.sampled_from([(2, 2), (3, 2), (4, 3)]))
def test_capacity_assignment_equals_min_cost_flow(seed, n_wardens, shape):
    """Any roster (capacity 1–3, maybe too small) against networkx's max-flow min-cost on the same costs."""
    rng = np.random.default_rng(seed)
    grids = square_grids(*shape)
    xy = rng.uniform([400000, 3380000], [400000 + 100 * shape[0], 3380000 + 100 * shape[1]], size=(n_wardens, 2))
    capacity = rng.integers(1, 4, n_wardens)
    roster = small_roster(xy, ["full_time"] * n_wardens, capacity)
    plan, caught = quiet(assign_wardens, grids, roster)
    g_xy = shapely.get_coordinates(grids.geometry.representative_point().to_numpy())
    cost = np.round(np.hypot(xy[:, None, 0] - g_xy[None, :, 0], xy[:, None, 1] - g_xy[None, :, 1]) * 1000)
    flow_graph = nx.DiGraph()
    for w in range(n_wardens):
        flow_graph.add_edge("s", ("w", w), capacity=int(capacity[w]), weight=0)
        for g in range(len(grids)):
            flow_graph.add_edge(("w", w), ("g", g), capacity=1, weight=int(cost[w, g]))
    for g in range(len(grids)):
        flow_graph.add_edge(("g", g), "t", capacity=1, weight=0)
    flow = nx.max_flow_min_cost(flow_graph, "s", "t")
    filled = sum(flow[("g", g)]["t"] for g in range(len(grids)))
    assert len(plan.links) == filled
    assert plan.objective == pytest.approx(nx.cost_of_flow(flow_graph, flow) / 1000, abs=1e-3 * max(filled, 1))
    assert (plan.assignment["n_grids"] <= plan.assignment["capacity"]).all()
    assert len(plan.unstaffed) == len(grids) - filled
    assert bool(caught) == (filled < len(grids))


@pytest.mark.parametrize("seed", range(3))
def test_police_pairs_equal_enumeration(seed):
    """Under 1+1+2, officers take neighbouring pairs: most grids covered first, then least walking."""
    rng = np.random.default_rng(seed)
    grids = square_grids(3, 2)
    n_police = 3
    xy = rng.uniform([400000, 3380000], [400300, 3380200], size=(6 + n_police, 2))
    roster = small_roster(xy, ["full_time"] * 6 + ["police"] * n_police, [1] * 6 + [2, 2, 1])
    plan, _ = quiet(assign_wardens, grids, roster, rule="1+1+2")
    pairs = [tuple(p) for p in neighbour_pairs(grids).tolist()]
    assert sorted(pairs) == [(0, 1), (0, 3), (1, 2), (1, 4), (2, 5), (3, 4), (4, 5)]
    g_xy = shapely.get_coordinates(grids.geometry.representative_point().to_numpy())
    cost = np.hypot(xy[6:, None, 0] - g_xy[None, :, 0], xy[6:, None, 1] - g_xy[None, :, 1])
    groups = [None] + [(g,) for g in range(6)] + pairs
    best = (-1, 0.0)
    for choice in itertools.product(range(len(groups)), repeat=n_police):
        chosen = [(p, groups[k]) for p, k in enumerate(choice) if groups[k] is not None]
        if any(len(group) > [2, 2, 1][p] for p, group in chosen):
            continue
        covered = [g for _, group in chosen for g in group]
        if len(covered) != len(set(covered)):
            continue
        value = (len(covered), -sum(cost[p, g] for p, group in chosen for g in group))
        best = max(best, value)
    police = plan.links[plan.links["role"] == "police"]
    assert len(police) == best[0]
    assert police["distance_m"].sum() == pytest.approx(-best[1])


# --------------------------------------------------------------------------- police clusters (capacity > 2)
def brute_clusters(pairs, n, k):
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(map(tuple, pairs))
    return {combo for size in range(1, k + 1) for combo in itertools.combinations(range(n), size)
            if nx.is_connected(graph.subgraph(combo))}


@pytest.mark.parametrize(("shape", "k"), [((3, 2), 3), ((3, 3), 4), ((4, 2), 5)])
def test_connected_clusters_equal_brute_force(shape, k):
    grids = square_grids(*shape)
    pairs = neighbour_pairs(grids)
    listed = connected_clusters(pairs, len(grids), k)
    assert len(listed) == len(set(listed))  # each cluster once
    assert set(listed) == brute_clusters(pairs, len(grids), k)


def test_connected_clusters_limit_is_an_error():
    pairs = neighbour_pairs(square_grids(4, 4))
    with pytest.raises(GridkitError, match="more than 50 connected clusters"):
        connected_clusters(pairs, 16, 4, limit=50)


@pytest.mark.parametrize(("seed", "capacities"), [(0, [3, 2, 1]), (1, [3, 3, 1]), (2, [4, 2, 2]), (3, [3, 1, 1])])
def test_police_clusters_equal_enumeration(seed, capacities):
    """An officer of capacity c takes a connected cluster of at most c grids: most grids first, then least walking."""
    rng = np.random.default_rng(seed)
    grids = square_grids(3, 3)
    n_police = len(capacities)
    xy = rng.uniform([400000, 3380000], [400300, 3380300], size=(9 + n_police, 2))
    roster = small_roster(xy, ["full_time"] * 9 + ["police"] * n_police, [1] * 9 + capacities)
    plan, _ = quiet(assign_wardens, grids, roster, rule="1+1+2")
    assert plan.optimal
    g_xy = shapely.get_coordinates(grids.geometry.representative_point().to_numpy())
    cost = np.hypot(xy[9:, None, 0] - g_xy[None, :, 0], xy[9:, None, 1] - g_xy[None, :, 1])
    pairs = neighbour_pairs(grids)
    groups = [(), *sorted(brute_clusters(pairs, len(grids), max(capacities)))]
    best = (-1, 0.0)
    for choice in itertools.product(range(len(groups)), repeat=n_police):
        chosen = [(p, groups[k]) for p, k in enumerate(choice)]
        if any(len(group) > capacities[p] for p, group in chosen):
            continue
        covered = [g for _, group in chosen for g in group]
        if len(covered) != len(set(covered)):
            continue
        best = max(best, (len(covered), -sum(cost[p, g] for p, group in chosen for g in group)))
    police = plan.links[plan.links["role"] == "police"]
    assert len(police) == best[0]
    assert police["distance_m"].sum() == pytest.approx(-best[1])
    position = {g: i for i, g in enumerate(grids["grid_id"])}
    allowed = brute_clusters(pairs, len(grids), max(capacities))
    capacity = dict(zip(roster["warden_id"], roster["capacity"], strict=True))
    for warden, group in police.groupby("warden_id"):
        members = tuple(sorted(position[g] for g in group["grid_id"]))
        assert members in allowed  # connected
        assert len(members) <= capacity[warden]


# ------------------------------------------------------------------------------- street km split
def test_boundary_street_is_split_half_and_half():
    grids = square_grids(2, 1)  # G0: x 0-100, G1: x 100-200
    x0, y0 = 400000.0, 3380000.0
    streets = gpd.GeoDataFrame(geometry=[
        shapely.LineString([(x0 + 100, y0), (x0 + 100, y0 + 100)]),  # on the shared edge: 50 + 50
        shapely.LineString([(x0 + 20, y0 + 50), (x0 + 150, y0 + 50)]),  # across: 80 in G0, 50 in G1
        shapely.LineString([(x0, y0 + 100), (x0 + 60, y0 + 100)]),  # on the district edge: all 60 to G0
        shapely.LineString([(x0 + 150, y0 - 50), (x0 + 150, y0 + 30)]),  # half outside: 30 to G1
    ], crs=CRS)
    lengths = grid_street_length(grids, streets)
    np.testing.assert_allclose(lengths, [50 + 80 + 60, 50 + 50 + 30], atol=0.2)  # 5 cm boundary tolerance


def test_street_km_per_warden_adds_up_to_the_district(grids, roster, sample):
    plan, _ = quiet(assign_wardens, grids, roster, streets=sample.streets)
    crs = local_metric_crs(grids)
    district = shapely.buffer(shapely.union_all(grids.to_crs(crs).geometry.to_numpy()), 0.05)
    lines = shapely.get_parts(sample.streets.to_crs(crs).geometry.to_numpy())
    total_km = shapely.length(shapely.intersection(lines, district)).sum() / 1000
    staff = plan.per_warden[plan.per_warden["level"] == "grid"]
    assert staff["street_km"].sum() == pytest.approx(total_km, rel=1e-9)
    assert plan.grids["street_m"].sum() / 1000 == pytest.approx(total_km, rel=1e-9)
    # the old double count of boundary streets would exceed it by several km
    naive = sum(shapely.length(shapely.intersection(p, lines)).sum() for p in grids.to_crs(crs).geometry)
    assert naive / 1000 > total_km + 1


# -------------------------------------------------------------------------------- community team
def test_team_goes_to_its_community_with_the_grids_listed(grids, roster):
    plan = quiet(assign_wardens, grids, roster, rule="1+1+2")[0]
    team = plan.team
    members = roster[roster["role"].isin(["part_time", "volunteer"])]
    assert len(team) == len(members)
    assert (team["community_id"] == team["home_community"]).all()  # same_community by default
    grid_lists = grids.groupby("community_id")["grid_id"].agg(set)
    assert all(set(g.split(";")) == grid_lists[c] for c, g in zip(team["community_id"], team["grids"], strict=True))
    by_id = plan.assignment.set_index("warden_id")
    assert (by_id.loc[team["warden_id"], "status"] == "community").all()
    assert (by_id.loc[team["warden_id"], "team_community"].to_numpy() == team["community_id"].to_numpy()).all()
    assert by_id.loc[team["warden_id"], "grid_id"].isna().all()  # no grid seat: links stay grid-level
    assert not plan.links["warden_id"].isin(team["warden_id"]).any()
    rows = plan.per_warden[plan.per_warden["level"] == "community"]
    assert len(rows) == len(team)
    assert rows["households"].sum() == pytest.approx(grids["households"].sum())  # the team carries the district once
    short = plan.shortage[plan.shortage["role"].isin(["patrol", "volunteer"])]
    assert len(short) == 2 * grids["community_id"].nunique()
    assert (short["required"] == 1).all()
    assert (short["assigned"] == short["available"]).all()
    assert short["target"].groupby(short["role"]).sum().to_dict() == {
        "patrol": (roster["role"] == "part_time").sum(), "volunteer": (roster["role"] == "volunteer").sum()}


def two_communities(households=(300, 100)):
    grids = square_grids(4, 1)
    grids["community_id"] = ["A", "A", "B", "B"]
    grids["households"] = [households[0] / 2] * 2 + [households[1] / 2] * 2
    return grids


def brute_team(cost, team_role, required, targets):
    """Lexicographic enumeration: fewest missing minimums, then least deviation from the targets, then distance."""
    n_m, n_c = cost.shape
    best = None
    for where in itertools.product(range(n_c), repeat=n_m):
        if any(not np.isfinite(cost[m, c]) for m, c in enumerate(where)):
            continue
        short = dev = 0
        for role in ("patrol", "volunteer"):
            counts = np.bincount([c for m, c in enumerate(where) if team_role[m] == role], minlength=n_c)
            short += np.maximum(required[role] - counts, 0).sum()
            dev += np.abs(counts - targets[role]).sum()
        key = (short, dev, sum(cost[m, c] for m, c in enumerate(where)))
        best = key if best is None or key < best else best
    return best


@pytest.mark.parametrize("seed", range(3))
def test_team_balances_by_workload_when_free(seed):
    """Free to move, the team follows workload (3:1 here); the result equals brute-force enumeration."""
    rng = np.random.default_rng(seed)
    grids = two_communities()
    n_w = 4
    roles = ["full_time"] * n_w + ["part_time"] * 4 + ["volunteer"] * 3
    xy = rng.uniform([400000, 3380000], [400400, 3380100], size=(len(roles), 2))
    xy[:n_w, 0] = 400050 + 100 * np.arange(n_w)
    xy[n_w:, 0] = rng.uniform(400200, 400400, len(roles) - n_w)  # the whole team lives in B
    roster = small_roster(xy, roles, [1] * len(roles))
    roster["community_id"] = np.where(xy[:, 0] < 400200, "A", "B")
    pinned, _ = quiet(assign_wardens, grids, roster, rule="1+1+2")
    assert (pinned.team["community_id"] == "B").all()
    short = pinned.shortage.set_index(["community_id", "role"])
    assert short.loc[("A", "patrol"), "shortage"] == 1  # nobody in A: reported
    assert short.loc[("A", "volunteer"), "shortage"] == 1
    free, _ = quiet(assign_wardens, grids, roster, rule="1+1+2", team_same_community=False)
    assert free.optimal
    counts = free.team.groupby(["team_role", "community_id"]).size()
    assert counts.to_dict() == {("patrol", "A"): 3, ("patrol", "B"): 1,  # 4 × 3/4, 4 × 1/4
                                ("volunteer", "A"): 2, ("volunteer", "B"): 1}  # 2.25 → 2, 0.75 → 1
    team_xy = xy[n_w:]
    centres = np.array([[400100.0, 3380050.0], [400300.0, 3380050.0]])
    cost = np.hypot(team_xy[:, None, 0] - centres[None, :, 0], team_xy[:, None, 1] - centres[None, :, 1])
    team_role = ["patrol"] * 4 + ["volunteer"] * 3
    targets = {"patrol": np.array([3, 1]), "volunteer": np.array([2, 1])}
    best = brute_team(cost, team_role, {"patrol": 1, "volunteer": 1}, targets)
    assert best[:2] == (0, 0)
    assert free.team["distance_m"].sum() == pytest.approx(best[2])
    assert free.summary["team_distance_m"] == pytest.approx(best[2])


def test_team_minimum_comes_before_balance():
    """Three volunteers, all living in the heavy community A (targets 2, 1, 1): balance and distance alone
    would keep two in A and leave C without one; the minimum of one per community comes first."""
    grids = square_grids(3, 1)
    grids["community_id"] = ["A", "B", "C"]
    grids["households"] = [1000, 10, 10]
    roster = small_roster([(400050, 3380050), (400150, 3380050), (400250, 3380050), (400040, 3380050),
                           (400050, 3380060), (400060, 3380050)], ["full_time"] * 3 + ["volunteer"] * 3, [1] * 6)
    plan, caught = quiet(assign_wardens, grids, roster, rule="1+1+2", same_community=False)
    assert plan.optimal
    rows = plan.shortage[plan.shortage["role"] == "volunteer"].set_index("community_id")
    assert rows["target"].to_dict() == {"A": 2, "B": 1, "C": 1}
    assert rows["assigned"].to_dict() == {"A": 1, "B": 1, "C": 1}
    assert rows["shortage"].sum() == 0
    patrol = plan.shortage[plan.shortage["role"] == "patrol"]
    assert (patrol["shortage"] == 1).all()  # no part-time staff at all: every community is one short
    assert any("A patrol: 1 short (0 available for 1 required)" in str(w.message) for w in caught)


def test_team_without_communities_forms_one_district_team():
    grids = square_grids(2, 2)
    roster = small_roster([(400050, 3380050), (400150, 3380050), (400050, 3380150), (400150, 3380150),
                           (400100, 3380100), (400120, 3380100)], ["full_time"] * 4 + ["part_time", "volunteer"],
                          [1] * 6)
    roster["community_id"] = "C9"  # the roster names a community, the grids none: nobody is left out
    plan, _ = quiet(assign_wardens, grids, roster, rule="1+1+2")
    assert plan.team["grids"].notna().all()
    assert set(plan.team["grids"].iloc[0].split(";")) == set(grids["grid_id"])
    assert (plan.shortage.loc[plan.shortage["role"].isin(["patrol", "volunteer"]), "shortage"] == 0).all()


def test_police_clusters_cut_short_are_not_called_optimal(monkeypatch):
    """When the clusters up to an officer's capacity are too many to list, triples are used and optimal is False."""
    monkeypatch.setattr("gridkit.wardens._CLUSTER_LIMIT", 40)
    grids = square_grids(3, 3)
    xy = [(400050 + 100 * (k % 3), 3380050 + 100 * (k // 3)) for k in range(9)] + [(400150, 3380150)]
    roster = small_roster(xy, ["full_time"] * 9 + ["police"], [1] * 9 + [5])
    plan, caught = quiet(assign_wardens, grids, roster, rule="1+1+2")
    assert any("too many connected clusters" in str(w.message) for w in caught)
    assert not plan.optimal
    assert (plan.links["role"] == "police").sum() == 3
