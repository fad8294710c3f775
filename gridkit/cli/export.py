"""``gridkit export``: grids, assignment, routes, staffing and statistics for the city GIS / 导出."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from gridkit import io
from gridkit.cli._common import DEFAULT_LANG, Lang, _fail_input, app, console, print_note
from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.export import FORMATS, export, resolve_crs

EXIT_USAGE = 2
MESSAGES = {
    "zh": {"wrote": "已导出", "files": "个文件", "bad_format": "未知格式", "layer": "图层", "file": "文件",
           "rows": "行数", "note": "提示", "error": "用法错误"},
    "en": {"wrote": "exported", "files": "files", "bad_format": "unknown format", "layer": "layer", "file": "file",
           "rows": "rows", "note": "note", "error": "usage error"},
}
_LONLAT_PAIRS = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y"))
_COORD_NAMES = {"lon", "lat", "longitude", "latitude", "lng", "x", "y", "wkt", "geometry", "geom"}


def _m(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"][key]


def read_table_or_layer(path: Path, label: str) -> pd.DataFrame:
    """Read a layer file, or a CSV as points/WKT when it has coordinates, else as a plain table.

    Columns named ``*_id``, ``*code`` or ``id`` are read as text, so codes keep their leading zeros.
    """
    if not path.exists():
        raise InputDataError(f"{label} file does not exist", source=path)
    if path.suffix.lower() not in {".csv", ".txt", ".tsv"}:
        return io.read_layer(path, label=label)
    header = io.read_table(path, label=label, nrows=0).columns
    if {c.lower() for c in header} & _COORD_NAMES:
        layer = io.read_layer(path, label=label)
        lower = {c.lower(): c for c in header}
        pair = next(((lower[x], lower[y]) for x, y in _LONLAT_PAIRS if x in lower and y in lower), ())
        layer = layer.drop(columns=list(pair))  # now the geometry: they would not follow a change of CRS
        for col in header:
            if _id_like(col) and col in layer.columns:
                layer[col] = io.read_table(path, label=label, usecols=[col], dtype=str)[col].to_numpy()
        return layer
    return io.read_table(path, label=label, dtype={c: str for c in header if _id_like(c)})


def _id_like(col: str) -> bool:
    low = col.lower()
    return low == "id" or low.endswith("_id") or low.endswith("code")


@app.command("export")
def export_command(
    grids: Annotated[Path, typer.Option(help="Grids layer (GeoJSON, GPKG, SHP) / 网格")],
    out: Annotated[Path, typer.Option(help="Output folder (or a .gpkg file for --format gpkg) / 输出目录")],
    assignment: Annotated[Path | None, typer.Option(help="Building → grid table (CSV) / 建筑-网格对应表")] = None,
    routes: Annotated[Path | None, typer.Option(help="Patrol routes (lines) / 巡查路线")] = None,
    staffing: Annotated[Path | None, typer.Option(help="Warden staffing table or points / 网格员配置")] = None,
    stats: Annotated[Path | None, typer.Option(help="Per-grid statistics table / 网格统计")] = None,
    communities: Annotated[Path | None, typer.Option(help="Community polygons, exported too / 社区边界")] = None,
    fmt: Annotated[str, typer.Option("--format", help="gpkg, shp, geojson, csv or all / 导出格式")] = "gpkg",
    crs: Annotated[str, typer.Option(
        help="EPSG:4326 (WGS 84), EPSG:4490 (CGCS2000), cgcs2000-gk3 (3° Gauss-Krüger zone from the data, "
             "高斯-克吕格3度带), cgcs2000-gk3-cm, cgcs2000-gk3:35 (zone) or :105 (central meridian), "
             "gcj02 (火星坐标, Amap/Tencent), bd09 (百度坐标) / 坐标系")] = "EPSG:4326",
    geojson_crs_member: Annotated[bool, typer.Option(
        "--geojson-crs-member", help="Allow non-RFC 7946 GeoJSON with a crs member for other CRSs")] = False,
    excel: Annotated[bool, typer.Option(
        "--excel", help="CSV with a UTF-8 byte-order mark so Excel shows Chinese / CSV 兼容 Excel 中文")] = False,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Export grids and results for the city GIS: GeoPackage, Shapefile, GeoJSON, CSV / 导出至城市 GIS.

    Shapefiles are UTF-8 (.cpg) with field names cut to 10 characters; the mapping is written beside
    each as <layer>.fields.csv. GeoJSON is RFC 7946 (EPSG:4326 only, or gcj02/bd09 for web maps).

    Example: gridkit export --grids grids.geojson --assignment assignment.csv --format all
    --crs cgcs2000-gk3 --out exports

    Example: gridkit export --grids grids.geojson --routes routes.geojson --format geojson --crs gcj02
    --out web
    """
    if fmt.lower() not in (*FORMATS, "all"):
        console.print(f"[bold red]{_m(lang, 'error')}:[/] {_m(lang, 'bad_format')} {fmt!r}: "
                      f"{', '.join(FORMATS)}, all")
        raise typer.Exit(EXIT_USAGE)
    inputs = {"grids": grids, "communities": communities, "assignment": assignment, "routes": routes,
              "staffing": staffing, "stats": stats}
    try:
        layers = {name: read_table_or_layer(path, name) for name, path in inputs.items() if path is not None}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            written = export(layers, out, format=fmt, crs=crs, geojson_crs_member=geojson_crs_member, excel=excel)
        label = resolve_crs(crs, layers).label
    except GridkitError as exc:
        raise _fail_input(exc, lang) from exc
    for item in caught:
        print_note(item.message, lang)
    view = Table(title=f"{_m(lang, 'wrote')} {len(written)} {_m(lang, 'files')} ({label})")
    view.add_column(_m(lang, "layer"))
    view.add_column(_m(lang, "rows"), justify="right")
    for name, frame in layers.items():
        view.add_row(name, str(len(frame)))
    Console(width=120).print(view)
    for path in written:
        Console(width=200).print(str(path), soft_wrap=True)
