"""A synthetic city of any size: copies of the sample district (锦官街道) laid side by side.

Every copy is one street office (街道) with its own ids and codes: community ids ``JD0001-C01``,
12-digit community codes (district 510107 + street office number, carried into further district
numbers past 999 copies), building ids ``JD0001-B000001``, street ids, a roster (warden ids
``JD0001-W001``) and a year of incidents (``JD0001-INC000001``). Copies are laid out west→east in
rows, ``gap_m`` apart, so their streets never touch. The output is deterministic (no randomness:
only the copy number moves a copy) and is generated on demand, never committed.

    python scripts/make_city.py --copies 16 --out /tmp/city16
    gridkit run /tmp/city16/gridkit.toml --workers 2
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridkit.config import example_config
from gridkit.crs import WGS84, local_metric_crs
from gridkit.samples import load_sample

GAP_M = 300.0


def _shift(gdf: gpd.GeoDataFrame, metric, dx: float, dy: float) -> gpd.GeoDataFrame:
    offset = np.array([dx, dy])
    moved = gdf.to_crs(metric)
    moved = moved.set_geometry(shapely.transform(moved.geometry.to_numpy(), lambda xy: xy + offset), crs=metric)
    out = moved.to_crs(WGS84)
    out = out.set_geometry(shapely.set_precision(out.geometry.to_numpy(), 1e-7), crs=WGS84)
    return out


def _points(frame: pd.DataFrame, metric, dx: float, dy: float) -> pd.DataFrame:
    offset = np.array([dx, dy])
    pts = gpd.GeoSeries(gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84).to_crs(metric)
    moved = gpd.GeoSeries(shapely.transform(pts.to_numpy(), lambda xy: xy + offset), crs=metric).to_crs(WGS84)
    out = frame.copy()
    xy = shapely.get_coordinates(moved.to_numpy())
    out["lon"], out["lat"] = np.round(xy[:, 0], 7), np.round(xy[:, 1], 7)
    return out


def office_code(copy: int) -> str:
    """9-digit district + street office code of copy ``copy`` (0-based): 999 offices per district."""
    district, office = divmod(copy, 999)
    return f"{510107 + district:06d}{office + 1:03d}"


def make_city(copies: int, out: Path, *, gap_m: float = GAP_M) -> dict[str, int]:
    """Write ``copies`` copies of the sample district into ``out`` with a ``gridkit.toml``; return counts."""
    if copies < 1:
        raise SystemExit("copies must be at least 1")
    s = load_sample()
    metric = local_metric_crs(s.communities)
    minx, miny, maxx, maxy = s.communities.to_crs(metric).total_bounds
    width, height = maxx - minx + gap_m, maxy - miny + gap_m
    columns = math.ceil(math.sqrt(copies))
    layers: dict[str, list[pd.DataFrame]] = {k: [] for k in ("communities", "buildings", "streets", "wardens",
                                                            "incidents")}
    for t in range(copies):
        row, col = divmod(t, columns)
        dx, dy = col * width, -row * height
        tag = f"JD{t + 1:04d}"  # 街道; not "T0001", which GDAL reads as a time
        comm = _shift(s.communities, metric, dx, dy)
        comm["street_office"] = tag
        comm["code"] = [office_code(t) + str(c)[-3:] for c in s.communities["code"]]
        comm["community_id"] = tag + "-" + s.communities["community_id"].astype(str)
        comm["name"] = s.communities["name"].astype(str) + f"（{tag}）"
        layers["communities"].append(comm)
        bld = _shift(s.buildings, metric, dx, dy)
        bld["building_id"] = tag + "-" + s.buildings["building_id"].astype(str)
        layers["buildings"].append(bld)
        streets = _shift(s.streets, metric, dx, dy)
        streets["street_id"] = tag + "-" + s.streets["street_id"].astype(str)
        layers["streets"].append(streets)
        wardens = _points(s.wardens, metric, dx, dy)
        wardens["warden_id"] = tag + "-" + s.wardens["warden_id"].astype(str)
        wardens["community_id"] = tag + "-" + s.wardens["community_id"].astype(str)
        layers["wardens"].append(wardens)
        incidents = _points(s.incidents, metric, dx, dy)
        incidents["incident_id"] = tag + "-" + s.incidents["incident_id"].astype(str)
        layers["incidents"].append(incidents)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in ("communities", "buildings", "streets"):
        frame = gpd.GeoDataFrame(pd.concat(layers[name], ignore_index=True), crs=WGS84)
        frame.to_file(out / f"{name}.geojson", driver="GeoJSON", engine="pyogrio")
        counts[name] = len(frame)
    for name in ("wardens", "incidents"):
        frame = pd.concat(layers[name], ignore_index=True)
        frame.to_csv(out / f"{name}.csv", index=False)
        counts[name] = len(frame)
    text = example_config(".").replace('name = "锦官街道"', f'name = "synthetic city ({copies} street offices)"')
    text = text.replace('folder = "gridkit-out"', 'folder = "out"')
    (out / "gridkit.toml").write_text(text, encoding="utf-8")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=16, help="copies of the sample district (street offices)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (with gridkit.toml)")
    parser.add_argument("--gap-m", type=float, default=GAP_M, help="gap between copies, metres")
    args = parser.parse_args()
    counts = make_city(args.copies, args.out, gap_m=args.gap_m)
    print(f"{args.out}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
