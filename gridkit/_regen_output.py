"""Context and outputs of :mod:`gridkit.regenerate`: the new grids, assignment, change report and summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit._regen_codes import CodeBook, sequence_of
from gridkit.atom_partition import INTERIOR_PENALTY
from gridkit.engine import to_output_crs
from gridkit.metrics import deviations, polsby_popper

#: The kinds of change a grid can show, in the report and the grids' ``change`` column.
CHANGES = ("kept", "adjusted", "split", "merged", "new", "retired")


@dataclass
class Context:
    """Everything one run of :func:`gridkit.regenerate.regenerate` works on (metric CRS)."""

    comm: gpd.GeoDataFrame
    bld: gpd.GeoDataFrame
    prev: gpd.GeoDataFrame
    prev_m: np.ndarray
    prev_crs: object
    lines: np.ndarray
    unit: np.ndarray
    targets: list[dict[str, float]]
    area_weight: np.ndarray
    building_community: np.ndarray
    holder: np.ndarray
    listed: np.ndarray
    listed_rows: np.ndarray
    links_all: pd.DataFrame
    grid_community: np.ndarray
    measure: object
    tolerance: float
    seed: int
    book: CodeBook
    building_code: np.ndarray
    new_grids: list[dict] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)
    regions: int = 0
    split_share: float = 0.25
    interior_penalty: float = INTERIOR_PENALTY
    index: dict = field(default_factory=dict)  # positions per value of grid_community, building_community, holder


def grids_frame(ctx: Context) -> gpd.GeoDataFrame:
    """The new grids in the previous grids' CRS, with counts recomputed from the current buildings."""
    rows = ctx.new_grids
    codes = pd.Series([r["grid_id"] for r in rows], dtype=object)
    metric = np.array([r["metric"] for r in rows], dtype=object)
    frame = gpd.GeoDataFrame({
        "grid_id": codes.to_numpy(),
        "community_id": ctx.comm["community_id"].to_numpy()[[r["community_row"] for r in rows]],
        "seq": [sequence_of(g) for g in codes],
    }, geometry=metric, crs=ctx.comm.crs)
    by_code = pd.DataFrame({"grid_id": ctx.building_code, "households": ctx.bld["households"].to_numpy(),
                            "population": ctx.bld["population"].to_numpy(), "unit": ctx.unit})
    sums = by_code[by_code["grid_id"].notna()].groupby("grid_id").agg(
        households=("households", "sum"), population=("population", "sum"), n_buildings=("unit", "size"),
        weight=("unit", "sum"))
    sums = sums.reindex(codes.to_numpy()).fillna(0)
    for col in ("households", "population", "n_buildings"):
        frame[col] = sums[col].to_numpy().astype(np.int64)
    frame["area_m2"] = shapely.area(metric)
    frame["oversize"] = [r["oversize"] for r in rows]
    frame["weight"] = sums["weight"].to_numpy(float) + ctx.area_weight[[r["community_row"] for r in rows]] * \
        frame["area_m2"].to_numpy(float)
    frame["deviation"] = 0.0
    for c in np.unique([r["community_row"] for r in rows]):
        mask = (frame["community_id"] == ctx.comm["community_id"].iloc[c]).to_numpy()
        frame.loc[mask, "deviation"] = deviations(frame.loc[mask, "weight"].to_numpy(), frame.loc[mask, "oversize"]
                                                  .to_numpy(bool))
    frame["polsby_popper"] = polsby_popper(metric)
    _carry_over(ctx, frame, np.array([r["previous_row"] for r in rows]))
    frame["change"] = [r["change"] for r in rows]
    frame["related"] = [r["related"] for r in rows]
    order = np.lexsort((frame["seq"].to_numpy(), [r["community_row"] for r in rows]))
    frame = frame.iloc[order].reset_index(drop=True)
    originals = [rows[i]["original"] for i in order]
    out_crs = ctx.prev_crs if ctx.prev_crs is not None else ctx.comm.crs
    redrawn = np.array([o is None for o in originals])
    geoms = np.array(originals, dtype=object)
    if redrawn.any():
        geoms[redrawn] = to_output_crs(frame[redrawn], out_crs).geometry.to_numpy()
    columns = ["grid_id", "community_id", "seq", "households", "population", "area_m2", "n_buildings", "deviation",
               "polsby_popper", "oversize", "weight", "change", "related"]
    return gpd.GeoDataFrame(frame[columns], geometry=geoms, crs=out_crs)


def _carry_over(ctx: Context, frame: gpd.GeoDataFrame, previous_row: np.ndarray) -> None:
    """Kept grids with unchanged counts keep the previous plan's measured values (same geometry, same numbers).

    Deviations and weights carry over only in a community where every grid is such a grid, so an
    unchanged plan comes back identical, not recomputed to the last bit.
    """
    prev = ctx.prev
    kept = previous_row >= 0
    same = kept.copy()
    for col in ("households", "population"):
        if col not in prev.columns:
            return
        before = pd.to_numeric(prev[col], errors="coerce").to_numpy(float)
        same[kept] &= before[previous_row[kept]] == frame[col].to_numpy(float)[kept]
    for col in ("area_m2", "polsby_popper"):
        if col in prev.columns:
            values = pd.to_numeric(prev[col], errors="coerce").to_numpy(float)[previous_row[kept]]
            frame.loc[kept, col] = np.where(np.isnan(values), frame.loc[kept, col].to_numpy(float), values)
    untouched = frame.groupby("community_id")["grid_id"].transform("size").to_numpy() == np.bincount(
        ctx.grid_community[ctx.grid_community >= 0], minlength=len(ctx.comm))[
        pd.Index(ctx.comm["community_id"]).get_indexer(frame["community_id"])]
    whole = pd.Series(same & untouched).groupby(frame["community_id"].to_numpy()).transform("all").to_numpy()
    for col in ("deviation", "weight"):
        if col in prev.columns and whole.any():
            frame.loc[whole, col] = pd.to_numeric(prev[col], errors="coerce").to_numpy(float)[previous_row[whole]]


def assignment_table(ctx: Context) -> pd.DataFrame:
    """Building → new grid, with the previous grid and whether the building moved."""
    rows = ctx.listed_rows
    before = np.where(rows >= 0, ctx.prev["grid_id"].to_numpy()[np.maximum(rows, 0)], None)
    after = ctx.building_code
    inside = ctx.building_community >= 0
    community = np.where(inside, ctx.comm["community_id"].to_numpy(dtype=object)[np.maximum(ctx.building_community, 0)],
                         None)
    moved = (rows >= 0) & (before != after)
    return pd.DataFrame({"building_id": ctx.bld["building_id"].to_numpy(), "grid_id": after,
                         "community_id": community, "estimated": ctx.bld["estimated"].to_numpy(bool),
                         "status": np.where(inside, "assigned", "outside_communities"), "previous_grid_id": before,
                         "moved": moved})


def change_report(ctx: Context, grids: gpd.GeoDataFrame, assignment: pd.DataFrame) -> pd.DataFrame:
    """One row per grid code, current or retired (see :class:`RegenerateResult`)."""
    hh = ctx.bld["households"].to_numpy(np.int64)
    listed = assignment["previous_grid_id"].notna().to_numpy()
    moved = assignment["moved"].to_numpy(bool)
    frame = pd.DataFrame({"after": assignment["grid_id"], "before": assignment["previous_grid_id"], "hh": hh})
    moved_in = frame[moved].groupby("after")["hh"].sum()
    moved_out = frame[moved].groupby("before")["hh"].sum()
    added = frame[~listed].groupby("after")["hh"].size()
    links = ctx.links_all
    gone = links[~links["building_id"].isin(set(ctx.bld["building_id"].astype(str)))]
    removed = gone.groupby("grid_id").size()
    before_hh = pd.Series(pd.to_numeric(ctx.prev["households"], errors="coerce").to_numpy()
                          if "households" in ctx.prev.columns else np.full(len(ctx.prev), np.nan),
                          index=ctx.prev["grid_id"].to_numpy())
    rows = []
    for g in grids.itertuples(index=False):
        rows.append({"grid_id": g.grid_id, "community_id": g.community_id, "change": g.change,
                     "households_before": before_hh.get(g.grid_id, 0 if g.change == "new" else np.nan),
                     "households_after": int(g.households), "moved_in": int(moved_in.get(g.grid_id, 0)),
                     "moved_out": int(moved_out.get(g.grid_id, 0)), "buildings_added": int(added.get(g.grid_id, 0)),
                     "buildings_removed": int(removed.get(g.grid_id, 0)), "related": g.related, "note": ""})
    current = set(grids["grid_id"])
    for g, cid in ctx.prev[["grid_id", "community_id"]].itertuples(index=False):
        if g in current:
            continue
        rows.append({"grid_id": g, "community_id": cid, "change": "retired", "households_before": before_hh.get(g),
                     "households_after": 0, "moved_in": 0, "moved_out": int(moved_out.get(g, 0)),
                     "buildings_added": 0, "buildings_removed": int(removed.get(g, 0)),
                     "related": ctx.notes.get(g, ""), "note": ctx.notes.get(g, "")})
    report = pd.DataFrame(rows)
    report["households_before"] = report["households_before"].astype("Int64")
    return report


def summarise(ctx: Context, grids: gpd.GeoDataFrame, report: pd.DataFrame, assignment: pd.DataFrame) -> dict:
    """Totals of a run: churn (GUIDE §4), households moved and compared, grids per change, repairs."""
    hh = ctx.bld["households"].to_numpy(np.int64)
    listed = assignment["previous_grid_id"].notna().to_numpy()
    moved = assignment["moved"].to_numpy(bool)
    compared = int(hh[listed].sum())
    links = ctx.links_all
    out = {
        "churn": float(hh[moved].sum() / compared) if compared else 0.0,
        "households_moved": int(hh[moved].sum()),
        "households_compared": compared,
        "households_total": int(hh.sum()),
        "households_in_new_buildings": int(hh[~listed].sum()),
        "buildings_new": int((~listed).sum()),
        "buildings_removed": int((~links["building_id"].isin(set(ctx.bld["building_id"].astype(str)))).sum()),
        "buildings_outside": int((ctx.building_community < 0).sum()),
        "grids_before": len(ctx.prev),
        "grids_after": len(grids),
        "regions_redrawn": ctx.regions,
        "repairs": list(ctx.repairs),
    }
    for change in CHANGES:
        out[f"n_{change}"] = int((report["change"] == change).sum())
    return out
