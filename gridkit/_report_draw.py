"""Drawing for :mod:`gridkit.report` with matplotlib: pages, maps, title blocks, tables.

Every page is a landscape A3 or A4 figure; text is set in a CJK font found on the machine
(Debian ``fonts-noto-cjk`` or ``fonts-wqy-zenhei``, or a file named by ``$GRIDKIT_CJK_FONT``) and
embedded in the PDF as Type 3 glyphs with a Unicode map (``pdf.fonttype = 3``: a tenth of the time
of subsetting a 20 MB CJK font as Type 42), so the text layer holds the Chinese (``pdftotext``
finds the community names). Maps are drawn in the local metric CRS, north
up, with a north arrow and a scale bar in metres.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import shapely

mpl.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.patches import Patch, Rectangle

from gridkit.errors import GridkitError

__all__ = ["PAGE_INCHES", "cjk_font", "draw_map", "new_page", "table_pages", "title_block"]

#: Landscape page sizes in inches.
PAGE_INCHES = {"A3": (16.54, 11.69), "A4": (11.69, 8.27)}
_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
               "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
               "/usr/share/fonts/**/NotoSansCJK*Regular*.[ot]t[cf]", "/usr/share/fonts/**/SourceHanSans*.[ot]t[cf]",
               "/usr/share/fonts/**/wqy*.tt[cf]", "/usr/share/fonts/**/*CJK*.[ot]t[cf]")
_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC")


def cjk_font() -> str:
    """The family name of a CJK font registered with matplotlib (found and added on first use).

    Raises
    ------
    GridkitError
        No CJK font on the machine: the report would show every Chinese character as a box.
    """
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in _FAMILIES:
        if family in known:
            return family
    candidates = [os.environ["GRIDKIT_CJK_FONT"]] if os.environ.get("GRIDKIT_CJK_FONT") else []
    for pattern in _FONT_FILES:
        candidates += sorted(glob.glob(pattern, recursive=True))
    for path in candidates:
        if os.path.isfile(path):
            font_manager.fontManager.addfont(path)
            bold = path.replace("Regular", "Bold")
            if bold != path and os.path.isfile(bold):  # titles in bold, not a faked weight
                font_manager.fontManager.addfont(bold)
            known = {f.name for f in font_manager.fontManager.ttflist}
            for family in _FAMILIES:
                if family in known:
                    return family
    raise GridkitError("no Chinese (CJK) font found for the report: install one (Debian: apt-get install "
                       "fonts-noto-cjk or fonts-wqy-zenhei) or set GRIDKIT_CJK_FONT to a .ttf/.otf/.ttc file")


def new_page(paper: str) -> plt.Figure:
    """An empty landscape page in the CJK font."""
    family = cjk_font()
    plt.rcParams.update({"font.family": [family], "pdf.fonttype": 3, "axes.unicode_minus": False})
    return plt.figure(figsize=PAGE_INCHES[paper])


def title_block(fig: plt.Figure, title: str, subtitle: str, footer_left: str, footer_right: str) -> None:
    """Title and subtitle at the top of the page, sources and date at the bottom, a frame round it."""
    fig.add_artist(Rectangle((0.01, 0.01), 0.98, 0.98, transform=fig.transFigure, fill=False, lw=1.2,
                             color="#333333"))
    fig.text(0.5, 0.965, title, ha="center", va="top", fontsize=20, weight="bold")
    fig.text(0.5, 0.925, subtitle, ha="center", va="top", fontsize=11, color="#444444")
    fig.text(0.02, 0.018, footer_left, ha="left", va="bottom", fontsize=8, color="#555555")
    fig.text(0.98, 0.018, footer_right, ha="right", va="bottom", fontsize=8, color="#555555")


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    base = 10 ** math.floor(math.log10(max(target, 1e-9)))
    return float(max((m * base for m in (1, 2, 5, 10) if m * base <= target), default=base))


def north_arrow_and_scale(ax: plt.Axes, label_north: str) -> None:
    """A north arrow at the top right and a scale bar at the bottom left (data in metres, north up).

    Both sit in the axes' corners on white boxes; the map is padded so they cover no grid.
    """
    x0, x1 = ax.get_xlim()
    w = x1 - x0
    box = {"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#888888", "alpha": 0.95}
    ax.annotate("N", xy=(0.965, 0.985), xytext=(0.965, 0.90), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, weight="bold", zorder=20, bbox=box,
                arrowprops={"arrowstyle": "-|>,head_width=0.5,head_length=0.9", "color": "#222222", "lw": 2.5})
    ax.text(0.965, 0.865, label_north, transform=ax.transAxes, ha="center", va="top", fontsize=8, zorder=20)
    length = _nice_length(w)
    frac = length / w
    bx, by = 0.02, 0.025
    ax.add_patch(Rectangle((bx - 0.01, by - 0.012), frac + 0.05, 0.06, transform=ax.transAxes, facecolor="white",
                           edgecolor="#888888", lw=0.6, zorder=19))
    for i in range(4):  # alternating black and white quarters
        ax.add_patch(Rectangle((bx + i * frac / 4, by), frac / 4, 0.012, transform=ax.transAxes,
                               facecolor="#222222" if i % 2 == 0 else "#ffffff", edgecolor="#222222", lw=0.8,
                               zorder=20))
    ax.text(bx, by + 0.018, "0", transform=ax.transAxes, ha="center", va="bottom", fontsize=8, zorder=20)
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx + frac, by + 0.018, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=8, zorder=20)


def _rings(layer: gpd.GeoDataFrame) -> list[np.ndarray]:
    parts = shapely.get_parts(layer.geometry.to_numpy())
    parts = parts[shapely.get_type_id(parts) == 3]
    return [shapely.get_coordinates(shapely.get_exterior_ring(p)) for p in parts]


def _lines(layer: gpd.GeoDataFrame) -> list[np.ndarray]:
    parts = shapely.get_parts(layer.geometry.to_numpy())
    parts = parts[shapely.get_type_id(parts) == 1]
    return [shapely.get_coordinates(p) for p in parts]


def clip_to(layer: gpd.GeoDataFrame | None, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The features of ``layer`` that meet the bounding box of ``frame`` (nothing drawn off the page)."""
    if layer is None or not len(layer):
        return layer
    x0, y0, x1, y1 = frame.total_bounds
    pad = 0.06 * max(x1 - x0, y1 - y0)
    return layer.iloc[layer.sindex.query(shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad))]


def _inside_point(geom: Any) -> tuple[float, float]:
    if geom.is_empty:
        return (np.nan, np.nan)
    centre = shapely.maximum_inscribed_circle(geom, tolerance=max(1.0, math.sqrt(geom.area) / 50)).coords[0]
    return float(centre[0]), float(centre[1])


def draw_map(ax: plt.Axes, grids: gpd.GeoDataFrame, fills: Sequence[str], *, outlines: gpd.GeoDataFrame | None,
             names: dict[str, str], buildings: gpd.GeoDataFrame | None, streets: gpd.GeoDataFrame | None,
             grid_labels: Sequence[str] | None, legend: list[tuple[str, str]], legend_title: str,
             label_north: str, extent: gpd.GeoDataFrame | None = None) -> None:
    """Grids (metric CRS) filled by ``fills`` over streets and buildings, with boundaries and labels."""
    frame = extent if extent is not None else grids
    x0, y0, x1, y1 = frame.total_bounds
    pad = 0.04 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + 2.5 * pad)  # room for the north arrow and the scale bar
    ax.set_ylim(y0 - 2.5 * pad, y1 + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    grids.plot(ax=ax, color=list(fills), alpha=0.6, edgecolor="#555555", linewidth=0.5, zorder=3)
    buildings, streets = clip_to(buildings, frame), clip_to(streets, frame)
    if buildings is not None and len(buildings):
        ax.add_collection(PolyCollection(_rings(buildings), facecolors="#cfcfcf", edgecolors="#9e9e9e",
                                         linewidths=0.2, zorder=4))
    if streets is not None and len(streets):
        ax.add_collection(LineCollection(_lines(streets), colors="#7f7f7f", linewidths=0.8, zorder=5))
    if outlines is not None and len(outlines):
        ax.add_collection(LineCollection(_rings(outlines), colors="#111111", linewidths=1.8, zorder=7))
        for cid, geom in zip(outlines["community_id"].astype(str), outlines.geometry, strict=True):
            x, y = _inside_point(geom)
            ax.text(x, y, names.get(cid, cid), ha="center", va="center", fontsize=13, weight="bold", zorder=9,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.75})
    if grid_labels is not None:
        points = shapely.point_on_surface(grids.geometry.to_numpy())
        for point, text in zip(points, grid_labels, strict=True):
            ax.text(point.x, point.y, text, ha="center", va="center", fontsize=6.5, zorder=8, color="#111111")
    handles = [Patch(facecolor=c, edgecolor="#555555", alpha=0.6, label=t) for c, t in legend]
    if handles:
        ax.legend(handles=handles, title=legend_title, loc="lower right", fontsize=8, title_fontsize=9,
                  framealpha=0.92)
    north_arrow_and_scale(ax, label_north)


def table_pages(rows: list[list[str]], header: list[str], per_page: int) -> list[list[list[str]]]:
    """``rows`` cut into pages of ``per_page`` (at least one page, maybe empty)."""
    del header
    return [rows[i:i + per_page] for i in range(0, len(rows), per_page)] or [[]]


def draw_table(fig: plt.Figure, header: list[str], rows: list[list[str]], *, top: float = 0.88,
               widths: list[float] | None = None, highlight: Sequence[bool] | None = None) -> None:
    """A table of text cells filling the page below ``top``, rules between rows and columns."""
    ax = fig.add_axes((0.03, 0.05, 0.94, top - 0.05))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    if not rows:
        ax.text(0.5, 0.9, "—", ha="center", va="center", fontsize=12)
        return
    n = len(rows) + 1
    step = min(0.032, 1.0 / (n + 0.5))
    widths = list(widths) if widths is not None else [1.0 / len(header)] * len(header)
    total = sum(widths)
    edges = np.concatenate([[0.0], np.cumsum(widths) / total])
    ys = 1.0 - step * (np.arange(n) + 0.5)
    ax.add_patch(Rectangle((0, 1.0 - step), 1.0, step, facecolor="#e8e8e8", edgecolor="none", zorder=0))
    for i, marked in enumerate(highlight or []):
        if marked:
            ax.add_patch(Rectangle((0, 1.0 - step * (i + 2)), 1.0, step, facecolor="#fde0dd", edgecolor="none",
                                   zorder=0))
    rules = [[(0, 1.0 - step * k), (1, 1.0 - step * k)] for k in range(n + 1)]
    rules += [[(x, 1.0), (x, 1.0 - step * n)] for x in edges]
    ax.add_collection(LineCollection(rules, colors="#999999", linewidths=0.5, zorder=1))
    size = 9 if step > 0.03 else 8
    for j, name in enumerate(header):
        left = widths[j] / total > 0.3  # long text (reasons) reads better left-aligned
        x = edges[j] + 0.005 if left else (edges[j] + edges[j + 1]) / 2
        ax.text(x, ys[0], name, ha="left" if left else "center", va="center", fontsize=size, weight="bold")
        column = "\n".join(str(r[j]) for r in rows)  # one text block per column: a tenth of the drawing time
        spacing = _linespacing(step, size, fig)
        ax.text(x, ys[1], column, ha="left" if left else "center", va="top", fontsize=size,
                linespacing=spacing, transform=ax.transData + _baseline_shift(fig, size))


_ADVANCE: dict[tuple[str, float, float], tuple[float, float]] = {}


def _advance(fig: plt.Figure, size: float) -> tuple[float, float]:
    """(pixels one more line adds at linespacing 1, height of one line) in the CJK font at ``size``."""
    key = (str(plt.rcParams["font.family"]), size, float(fig.dpi))
    if key not in _ADVANCE:
        _ADVANCE[key] = _measure_advance(fig, size)
    return _ADVANCE[key]


def _measure_advance(fig: plt.Figure, size: float) -> tuple[float, float]:
    renderer = fig.canvas.get_renderer()
    probe = fig.text(0, 0, "户l", fontsize=size, linespacing=1.0)
    one = probe.get_window_extent(renderer).height
    probe.set_text("户l\n户l")
    two = probe.get_window_extent(renderer).height
    probe.remove()
    return two - one, one


def _linespacing(step: float, size: float, fig: plt.Figure) -> float:
    """The line spacing that advances one text line per ``step`` of the table axes (measured, not guessed)."""
    advance, _one = _advance(fig, size)
    axes_height_px = fig.get_figheight() * fig.dpi * (0.88 - 0.05)
    return step * axes_height_px / advance


def _baseline_shift(fig: plt.Figure, size: float) -> Any:
    """From a row's centre up to the top of a text whose first line sits centred in that row."""
    from matplotlib.transforms import ScaledTranslation  # noqa: PLC0415

    _advance_px, one = _advance(fig, size)
    return ScaledTranslation(0, 0.5 * one / fig.dpi, fig.dpi_scale_trans)
