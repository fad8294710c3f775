"""Checks of a previous plan and the link of each building to a previous grid (:mod:`gridkit.regenerate`)."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit._validate import POLYGONAL, repair_geometry
from gridkit.errors import InputDataError
from gridkit.io import source_name
from gridkit.spatial import polygon_holding, representative_points

#: Above this share of the previous assignment's buildings missing from the buildings layer the
#: files do not belong together (a demolition of more than half a district is a wrong file).
MAX_UNKNOWN_SHARE = 0.5


def previous_grids(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Validate the previous grids: ``grid_id`` present and unique, ``community_id``, polygons."""
    source = source_name(gdf, "previous grids")
    for col in ("grid_id", "community_id"):
        if col not in gdf.columns:
            raise InputDataError(f"previous grids need a {col!r} column", source=source, column=col)
    ids = gdf["grid_id"]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InputDataError("grid without a code", source=source, row=row, column="grid_id")
    codes = ids.astype(str)
    dup = codes.duplicated(keep="first").to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise InputDataError(f"grid code {codes.iloc[row]!r} appears more than once in the previous plan "
                             f"({int(dup.sum())} duplicate(s)); codes must be unique", source=source, row=row,
                             feature=codes.iloc[row], column="grid_id")
    work = gdf.reset_index(drop=True).copy()
    work["grid_id"] = codes.to_numpy()
    geometry = repair_geometry(work, id_col="grid_id", kinds=POLYGONAL)
    work = work.set_geometry(geometry.to_numpy(), crs=gdf.crs)
    work.attrs["source"] = source
    return work


def previous_assignment(table: str | os.PathLike[str] | pd.DataFrame, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """Validate the previous building → grid table against the previous grids.

    Rows without a grid (buildings listed as outside every community) are dropped. A grid code the
    previous grids do not hold, or a building listed twice, is an error naming the row.
    """
    if isinstance(table, pd.DataFrame):
        frame, source = table.copy(), "previous assignment"
    else:
        source = str(table)
        try:
            frame = pd.read_csv(table, dtype=str, keep_default_na=True)
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputDataError(f"cannot read the previous assignment: {exc}", source=source) from exc
    for col in ("building_id", "grid_id"):
        if col not in frame.columns:
            raise InputDataError(f"the previous assignment needs a {col!r} column", source=source, column=col)
    frame = frame.reset_index(drop=True)
    frame["row"] = np.arange(len(frame))
    frame = frame[frame["grid_id"].notna() & (frame["grid_id"].astype(str).str.strip() != "")]
    frame = pd.DataFrame({"building_id": frame["building_id"].astype(str).to_numpy(),
                          "grid_id": frame["grid_id"].astype(str).to_numpy(), "row": frame["row"].to_numpy()})
    known = set(grids["grid_id"])
    unknown = ~frame["grid_id"].isin(known).to_numpy()
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputDataError(f"the assignment names grid {frame['grid_id'].iloc[i]!r}, which is not in the previous "
                             f"grids ({int(unknown.sum())} row(s) like this): the files do not belong together",
                             source=source, row=int(frame["row"].iloc[i]), feature=frame["building_id"].iloc[i],
                             column="grid_id")
    dup = frame["building_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputDataError("building listed more than once in the previous assignment", source=source,
                             row=int(frame["row"].iloc[i]), feature=frame["building_id"].iloc[i], column="building_id")
    frame.attrs["source"] = source
    return frame


def check_known_buildings(links: pd.DataFrame, building_ids: pd.Series) -> np.ndarray:
    """Mask of assignment rows whose building is still there; error when most are unknown."""
    present = links["building_id"].isin(set(building_ids.astype(str))).to_numpy()
    missing = int((~present).sum())
    if len(links) >= 10 and missing > MAX_UNKNOWN_SHARE * len(links):
        i = int(np.flatnonzero(~present)[0])
        raise InputDataError(
            f"{missing} of {len(links)} buildings named in the previous assignment are not in the buildings "
            "layer; a demolition of more than half the district looks like the wrong file",
            source=links.attrs.get("source", "previous assignment"), row=int(links["row"].iloc[i]),
            feature=links["building_id"].iloc[i], column="building_id")
    return present


def holders(buildings: gpd.GeoDataFrame, building_community: np.ndarray, grids: gpd.GeoDataFrame,
            grid_community: np.ndarray, links: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Previous grid (row of ``grids``) that holds each building now, and whether it was listed before.

    A listed building stays with its previous grid when that grid belongs to the building's current
    community; any other building joins the previous grid of its community whose area holds its
    representative point (the nearest one if none does). -1 where its community has no previous grid.

    Parameters
    ----------
    buildings, grids
        Validated layers in one metric CRS.
    building_community
        Community row of each building.
    grid_community
        Community row of each previous grid (-1 when that community is gone).
    links
        The validated previous assignment.
    """
    row_of = pd.Series(np.arange(len(grids)), index=grids["grid_id"].to_numpy())
    previous = pd.Series(links["grid_id"].to_numpy(), index=links["building_id"].to_numpy())
    listed_grid = previous.reindex(buildings["building_id"].astype(str).to_numpy())
    listed = listed_grid.notna().to_numpy()
    holder = np.full(len(buildings), -1, dtype=np.int64)
    holder[listed] = row_of.reindex(listed_grid[listed].to_numpy()).to_numpy()
    ok = listed & (grid_community[np.maximum(holder, 0)] == building_community) & (building_community >= 0)
    holder[~ok] = -1
    todo = np.flatnonzero((holder < 0) & (building_community >= 0))
    if len(todo):
        points = representative_points(buildings.geometry.to_numpy()[todo])
        geoms = grids.geometry.to_numpy()
        for c in np.unique(building_community[todo]):
            mine = np.flatnonzero(grid_community == c)
            if len(mine) == 0:
                continue
            sel = todo[building_community[todo] == c]
            pts = points[building_community[todo] == c]
            held = polygon_holding(pts, geoms[mine])
            found = np.where(held >= 0, mine[np.maximum(held, 0)], -1)
            lost = found < 0
            if lost.any():
                found[lost] = mine[shapely.STRtree(geoms[mine]).query_nearest(pts[lost], all_matches=False)[1]]
            holder[sel] = found
    return holder, listed
