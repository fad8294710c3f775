"""The printable report for the street-office meeting (街道网格化工作会议材料), as a PDF.

:func:`meeting_report` writes, on landscape A3 or A4 pages with a title block (title, summary,
data sources, date), a north arrow and a scale bar on every map:

1. a map of the street office: grids coloured by incident tier (or by community without incident
   statistics), community boundaries and names, streets and building outlines, a legend that says
   how the tiers are set;
2. a per-community table: grids, households, balance (max |deviation|, share within tolerance),
   staffing (wardens, police), coverage (households within reach of their own warden) and the
   grids by tier;
3. one map per community with each grid's number and warden;
4. the roster per grid (code, community, number, households, wardens, police);
5. the grids out of tolerance with the reason ("a building of 420 households, above the upper bound
   of 330", "community smaller than one grid", "towers of 150–400 households against a target of
   300");
6. the warden workload (:func:`gridkit.workload.warden_workload`), the overloaded first.

It is drawn with matplotlib in a CJK font of the machine (see :mod:`gridkit._report_draw`) and
can also write an HTML preview (each page as an image, with the tables as text) for a browser.

Examples
--------
>>> from gridkit.report import meeting_report
>>> meeting_report("report.pdf", grids, communities=s.communities, buildings=s.buildings,
...                streets=s.streets, partition_report=result.report, stats=stats,
...                staffing=plan.assignment, title="锦官街道")                      # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io as stdio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridkit._report_draw import draw_map, draw_table, new_page, table_pages, title_block
from gridkit.crs import to_metric
from gridkit.errors import GridkitError

__all__ = ["PAPERS", "community_table", "meeting_report", "out_of_tolerance", "roster_table"]

PAPERS = ("A3", "A4")
_ROWS = {"A3": 34, "A4": 22}
_COMMUNITY_COLOURS = ["#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#ffff99", "#fccde5", "#d9d9d9", "#bc80bd"]
TEXT = {
    "zh": {"title": "{office} 网格化管理", "office_map": "街道网格图", "community_map": "{name} 网格图",
           "summary": "{communities} 个社区 · {grids} 个网格 · {households} 户", "sources": "数据来源: {s}",
           "made": "制图日期: {d} · gridkit", "table": "各社区情况", "roster": "网格与网格员名册",
           "out": "未达到容差的网格及原因", "workload": "网格员工作量", "north": "北", "page": "第 {i} 页",
           "legend_tier": "事件等级", "legend_community": "社区",
           "cols_community": ["社区", "网格数", "户数", "最大偏差", "容差内占比", "网格员", "网格民警",
                              "本网格员可达户数", "绿", "橙", "红"],
           "cols_roster": ["网格编码", "社区", "序号", "户数", "网格员", "网格民警", "等级"],
           "cols_out": ["网格编码", "社区", "户数", "偏差", "原因"],
           "cols_workload": ["网格员", "姓名", "社区", "网格数", "户数", "街巷(公里)", "巡查(分钟)", "事件",
                             "工作量指数", "超负荷"],
           "oversize": "单栋建筑或街区 {hh} 户, 超过上限 {upper} 户, 单独成格",
           "small": "社区户数 {hh} 户, 少于一个网格的目标 {target} 户",
           "coarse": "楼栋较大: 本格最大一栋 {big} 户 (目标 {target} 户/格)",
           "blocks": "街区形状所限, 最接近的划分偏差 {dev}", "yes": "是", "no": "",
           "tiers_none": "(无事件统计)", "green": "绿", "orange": "橙", "red": "红", "none": "无户数"},
    "en": {"title": "{office}: grid management", "office_map": "Street office grids",
           "community_map": "{name}: grids", "summary": "{communities} communities · {grids} grids · "
           "{households} households", "sources": "Data: {s}", "made": "Made {d} · gridkit",
           "table": "Communities", "roster": "Grids and wardens", "out": "Grids out of tolerance, and why",
           "workload": "Warden workload", "north": "North", "page": "page {i}", "legend_tier": "Incident tier",
           "legend_community": "Community",
           "cols_community": ["Community", "Grids", "Households", "Max |dev|", "Within tol.", "Wardens",
                              "Police", "Reached by own warden", "Green", "Orange", "Red"],
           "cols_roster": ["Grid code", "Community", "No.", "Households", "Wardens", "Police", "Tier"],
           "cols_out": ["Grid code", "Community", "Households", "Deviation", "Reason"],
           "cols_workload": ["Warden", "Name", "Community", "Grids", "Households", "Street km", "Route min",
                             "Incidents", "Workload", "Overloaded"],
           "oversize": "one building or block of {hh} households, above the upper bound of {upper}: a grid "
           "of its own", "small": "community of {hh} households, smaller than one grid's target of {target}",
           "coarse": "large buildings: the largest here holds {big} households (target {target} per grid)",
           "blocks": "street blocks allow no closer cut; best deviation {dev}", "yes": "yes", "no": "",
           "tiers_none": "(no incident statistics)", "green": "green", "orange": "orange", "red": "red",
           "none": "no households"},
}


def _names(communities: pd.DataFrame, lang: str) -> dict[str, str]:
    column = "name_en" if lang == "en" and "name_en" in communities.columns else "name"
    if column not in communities.columns:
        return {str(c): str(c) for c in communities["community_id"]}
    return {str(c): str(n) for c, n in zip(communities["community_id"], communities[column], strict=True)}


def _tiers(grids: pd.DataFrame, stats: pd.DataFrame | None) -> pd.Series | None:
    if "tier" in grids.columns:
        return grids["tier"].astype(object)
    if stats is None or "tier" not in stats.columns:
        return None
    whole = stats[stats["period"].isna()] if "period" in stats.columns else stats
    lookup = dict(zip(whole["grid_id"].astype(str), whole["tier"], strict=False))
    return grids["grid_id"].astype(str).map(lookup).astype(object)


def _staff(staffing: pd.DataFrame | None) -> pd.DataFrame:
    if staffing is None or not len(staffing):
        return pd.DataFrame(columns=["grid_id", "name", "role", "community_id"])
    table = pd.DataFrame(staffing)
    table = table[table["grid_id"].notna()].assign(grid_id=lambda t: t["grid_id"].astype(str))
    return table


def community_table(grids: pd.DataFrame, communities: pd.DataFrame, *, partition_report: pd.DataFrame | None = None,
                    staffing: pd.DataFrame | None = None, stats: pd.DataFrame | None = None,
                    coverage: pd.DataFrame | None = None, assignment: pd.DataFrame | None = None,
                    tolerance: float = 0.1) -> pd.DataFrame:
    """Per community: grids, households, balance, staffing, coverage and grids by tier (numbers)."""
    data = pd.DataFrame(grids).assign(community_id=lambda t: t["community_id"].astype(str))
    tiers = _tiers(data, stats)
    out = data.groupby("community_id", sort=True).agg(grids=("grid_id", "size"), households=("households", "sum"))
    if partition_report is not None and "max_abs_deviation" in partition_report.columns:
        rep = partition_report.assign(community_id=partition_report["community_id"].astype(str)) \
            .set_index("community_id")
        out["max_abs_deviation"] = rep["max_abs_deviation"].reindex(out.index)
        out["share_within_tolerance"] = rep["share_within_tolerance"].reindex(out.index)
    elif "deviation" in data.columns:
        dev = data["deviation"].abs()
        out["max_abs_deviation"] = dev.groupby(data["community_id"]).max()
        out["share_within_tolerance"] = (dev <= tolerance + 1e-12).groupby(data["community_id"]).mean()
    staff = _staff(staffing)
    if len(staff):
        staff = staff.merge(data[["grid_id", "community_id"]].assign(grid_id=lambda t: t["grid_id"].astype(str)),
                            on="grid_id", how="left", suffixes=("_roster", ""))
        police = staff["role"].astype(str) == "police"
        out["wardens"] = staff[~police].groupby("community_id")["warden_id"].nunique().reindex(out.index)
        out["police"] = staff[police].groupby("community_id")["warden_id"].nunique().reindex(out.index)
    if coverage is not None and assignment is not None and "covered_assigned" in coverage.columns:
        owner = pd.DataFrame(assignment)[["building_id", "community_id"]].astype({"community_id": str})
        cov = pd.DataFrame(coverage).merge(owner, on="building_id", how="left")
        reached = (cov["households"] * cov["covered_assigned"].astype(bool)).groupby(cov["community_id"]).sum()
        out["reached_share"] = (reached / cov.groupby("community_id")["households"].sum()).reindex(out.index)
    if tiers is not None:
        for tier in ("green", "orange", "red"):
            out[tier] = (tiers == tier).groupby(data["community_id"]).sum().reindex(out.index).astype(int)
    names = _names(communities, "zh")
    out.insert(0, "name", [names.get(c, c) for c in out.index])
    return out.reset_index()


def roster_table(grids: pd.DataFrame, staffing: pd.DataFrame | None, stats: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per grid: code, community, number, households, wardens' names, police names, tier."""
    data = pd.DataFrame(grids).assign(grid_id=lambda t: t["grid_id"].astype(str))
    staff = _staff(staffing)
    police = staff["role"].astype(str) == "police" if len(staff) else pd.Series(dtype=bool)

    def names(part: pd.DataFrame) -> pd.Series:
        return part.groupby("grid_id")["name"].agg(lambda v: "、".join(str(x) for x in v))

    out = pd.DataFrame({"grid_id": data["grid_id"], "community_id": data["community_id"].astype(str),
                        "seq": data["seq"] if "seq" in data.columns else np.arange(1, len(data) + 1),
                        "households": data["households"].astype(int)})
    out["wardens"] = out["grid_id"].map(names(staff[~police]) if len(staff) else {}).astype(object).fillna("")
    out["police"] = out["grid_id"].map(names(staff[police]) if len(staff) else {}).astype(object).fillna("")
    tiers = _tiers(data, stats)
    out["tier"] = tiers.to_numpy() if tiers is not None else None
    return out


def out_of_tolerance(grids: pd.DataFrame, *, partition_report: pd.DataFrame | None = None,
                     assignment: pd.DataFrame | None = None, buildings: pd.DataFrame | None = None,
                     communities: pd.DataFrame | None = None, tolerance: float = 0.1,
                     lang: str = "zh") -> pd.DataFrame:
    """The grids outside ±``tolerance`` (and the oversize ones) with the reason in plain words."""
    text = TEXT["en" if lang == "en" else "zh"]
    data = pd.DataFrame(grids).assign(grid_id=lambda t: t["grid_id"].astype(str),
                                      community_id=lambda t: t["community_id"].astype(str))
    oversize = data["oversize"].fillna(False).astype(bool) if "oversize" in data.columns else False
    dev = data["deviation"].astype(float) if "deviation" in data.columns else pd.Series(0.0, index=data.index)
    bad = data[(dev.abs() > tolerance + 1e-9) | oversize]
    biggest = pd.Series(dtype=float)
    if assignment is not None and buildings is not None and "households" in buildings.columns:
        per = pd.DataFrame(assignment)[["building_id", "grid_id"]].merge(
            pd.DataFrame(buildings)[["building_id", "households"]], on="building_id")
        biggest = per.assign(grid_id=per["grid_id"].astype(str)).groupby("grid_id")["households"].max()
    status = {}
    if partition_report is not None and "status" in partition_report.columns:
        status = dict(zip(partition_report["community_id"].astype(str), partition_report["status"], strict=False))
    targets = {}
    if communities is not None and "target" in communities.columns:
        targets = dict(zip(communities["community_id"].astype(str), communities["target"], strict=False))
    means = data.groupby("community_id")["households"].sum() / data.groupby("community_id").size()
    rows = []
    for _, grid in bad.iterrows():
        cid = grid["community_id"]
        target = targets.get(cid)
        target = int(target) if target is not None and pd.notna(target) else round(float(means[cid]))
        upper = round(target * (1 + tolerance))  # the bound the partition made oversize grids against
        big = biggest.get(grid["grid_id"])
        if bool(grid.get("oversize", False)):
            reason = text["oversize"].format(hh=int(grid["households"]), upper=upper)
        elif status.get(cid) == "below_target" or data["community_id"].eq(cid).sum() == 1:
            reason = text["small"].format(hh=int(data.loc[data["community_id"] == cid, "households"].sum()),
                                          target=target)
        elif big is not None and pd.notna(big) and big >= 0.5 * target:
            reason = text["coarse"].format(big=int(big), target=target)
        else:
            reason = text["blocks"].format(dev=f"{float(grid['deviation']):+.0%}")
        rows.append({"grid_id": grid["grid_id"], "community_id": cid, "households": int(grid["households"]),
                     "deviation": float(grid["deviation"]) if "deviation" in grid else np.nan, "reason": reason})
    return pd.DataFrame(rows, columns=["grid_id", "community_id", "households", "deviation", "reason"])


def _fmt(value: Any, kind: str = "int") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return "–"
    if kind == "share":
        return f"{float(value):.0%}"
    if kind == "dev":
        return f"{float(value):.3f}"
    if kind == "float":
        return f"{float(value):.1f}"
    return f"{round(float(value)):,}"


def _png(fig: Any) -> str:
    buffer = stdio.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class _Pages:
    """Collects figures into the PDF (and PNGs for the preview)."""

    def __init__(self, pdf: Any, preview: bool, text: dict[str, Any], footer: tuple[str, str]) -> None:
        self.pdf, self.preview, self.text, self.footer = pdf, preview, text, footer
        self.images: list[str] = []
        self.tables: list[tuple[str, list[str], list[list[str]]]] = []

    def add(self, fig: Any, title: str, subtitle: str) -> None:
        import matplotlib.pyplot as plt  # noqa: PLC0415

        number = self.text["page"].format(i=len(self.images) + 1 if self.preview else self.pdf.get_pagecount() + 1)
        title_block(fig, title, subtitle, self.footer[0], f"{self.footer[1]} · {number}")
        self.pdf.savefig(fig)
        if self.preview:
            self.images.append(_png(fig))
        plt.close(fig)

    def table(self, paper: str, title: str, subtitle: str, header: list[str], rows: list[list[str]],
              widths: list[float] | None = None, highlight: list[bool] | None = None) -> None:
        self.tables.append((subtitle, header, rows))
        per = _ROWS[paper]
        for k, part in enumerate(table_pages(rows, header, per)):
            fig = new_page(paper)
            marks = highlight[k * per:(k + 1) * per] if highlight is not None else None
            draw_table(fig, header, part, widths=widths, highlight=marks)
            self.add(fig, title, subtitle)


def meeting_report(  # noqa: PLR0913
    path: str | os.PathLike[str],
    grids: gpd.GeoDataFrame,
    *,
    communities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    partition_report: pd.DataFrame | None = None,
    assignment: pd.DataFrame | None = None,
    staffing: pd.DataFrame | None = None,
    workload: pd.DataFrame | None = None,
    stats: pd.DataFrame | None = None,
    coverage: pd.DataFrame | None = None,
    title: str | None = None,
    paper: str = "A3",
    lang: str = "zh",
    tolerance: float = 0.1,
    sources: str | None = None,
    date: str | None = None,
    sla: Any = None,
    preview: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the meeting report as a PDF (and optionally an HTML preview); return the PDF's path.

    Parameters
    ----------
    path
        The ``.pdf`` to write (atomically).
    grids
        Grids (any CRS) with ``grid_id``, ``community_id``, ``seq``, ``households``, ``deviation``,
        ``oversize``; a ``tier`` column, or ``stats``, colours the office map by incident tier.
    communities
        Community polygons with ``community_id`` and ``name`` (boundaries and names on the maps).
    buildings, streets
        Context drawn under the grids; ``buildings`` with ``households`` (and ``assignment``) also
        give the reasons for grids out of tolerance.
    partition_report, assignment, staffing, workload, stats, coverage
        :attr:`PartitionResult.report`, the building assignment, a warden plan's ``assignment``
        (``warden_id``, ``name``, ``role``, ``grid_id``), :func:`gridkit.workload.warden_workload`,
        :func:`gridkit.incidents.grid_stats` and :func:`gridkit.coverage.coverage`'s buildings.
    title
        The street office's name (default: "街道").
    paper
        ``"A3"`` (default) or ``"A4"``, landscape.
    lang
        ``"zh"`` (default) or ``"en"`` for the report's words (names stay as they are).
    tolerance
        The balance tolerance the plan was made for (±10 % by default).
    sources, date
        The data sources line and the date in the title block (default today).
    sla
        The tier thresholds the statistics were made with: the legend says whether they are fixed
        or relative.
    preview
        Also write an HTML page with every page as an image and the tables as text.
    """
    from matplotlib.backends.backend_pdf import PdfPages  # noqa: PLC0415

    from gridkit.io import atomic_path  # noqa: PLC0415
    from gridkit.maps import TIER_COLOURS, tier_legend  # noqa: PLC0415

    if paper not in PAPERS:
        raise GridkitError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    lang = "en" if lang == "en" else "zh"
    text = TEXT[lang]
    office = title or ("街道" if lang == "zh" else "Street office")
    metric = to_metric(grids)
    crs = metric.crs
    comm = to_metric(communities, crs)
    comm = comm.assign(community_id=comm["community_id"].astype(str))
    names = _names(communities, lang)
    blds = to_metric(buildings[[buildings.geometry.name]], crs) if buildings is not None else None
    strs = to_metric(streets[[streets.geometry.name]], crs) if streets is not None else None
    tiers = _tiers(metric, stats)
    cids = sorted(metric["community_id"].astype(str).unique())
    if tiers is not None:
        fills = [TIER_COLOURS.get(str(t), TIER_COLOURS["none"]) for t in tiers]
        tier_names = tier_legend(sla, lang)
        legend = [(TIER_COLOURS[t], f"{name} ({int((tiers == t).sum())})") for t, name in
                  zip(("green", "orange", "red"), tier_names[:3], strict=True)]
        legend_title = text["legend_tier"]
    else:
        colour = {c: _COMMUNITY_COLOURS[i % len(_COMMUNITY_COLOURS)] for i, c in enumerate(cids)}
        fills = [colour[str(c)] for c in metric["community_id"]]
        legend, legend_title = [(colour[c], names.get(c, c)) for c in cids], text["legend_community"]
    made = text["made"].format(d=date or dt.date.today().isoformat())
    sources_line = text["sources"].format(s=sources or "gridkit")
    summary = text["summary"].format(communities=len(cids), grids=len(metric),
                                     households=f"{int(metric['households'].sum()):,}")
    heading = text["title"].format(office=office)
    with atomic_path(path) as tmp, PdfPages(tmp, metadata={"Title": heading, "Creator": "gridkit"}) as pdf:
        pages = _Pages(pdf, preview is not None, text, (sources_line, made))
        layers = _Layers(metric, comm, blds, strs, names, fills, legend, legend_title, text["north"], paper)
        _map_pages(pages, layers, heading, f"{text['office_map']} · {summary}", roster_table(metric, staffing, stats),
                   text)
        _table_section(pages, layers, heading, text, community_table(
            metric, communities, partition_report=partition_report, staffing=staffing, stats=stats,
            coverage=coverage, assignment=assignment, tolerance=tolerance),
            roster_table(metric, staffing, stats), out_of_tolerance(
            metric, partition_report=partition_report, assignment=assignment, buildings=buildings,
            communities=communities, tolerance=tolerance, lang=lang), workload)
    if preview is not None:
        _write_preview(preview, heading, pages)
    return Path(path)


@dataclass
class _Layers:
    grids: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame | None
    streets: gpd.GeoDataFrame | None
    names: dict[str, str]
    fills: list[str]
    legend: list[tuple[str, str]]
    legend_title: str
    north: str
    paper: str


def _map_pages(pages: _Pages, layers: _Layers, heading: str, subtitle: str, roster: pd.DataFrame,
               text: dict[str, Any]) -> None:
    """The street office's map, then one map per community with each grid's number and warden."""
    fig = new_page(layers.paper)
    draw_map(fig.add_axes((0.03, 0.05, 0.94, 0.84)), layers.grids, layers.fills, outlines=layers.communities,
             names=layers.names, buildings=layers.buildings, streets=layers.streets, grid_labels=None,
             legend=layers.legend, legend_title=layers.legend_title, label_north=layers.north)
    pages.add(fig, heading, subtitle)
    who = roster.set_index("grid_id")
    community = layers.grids["community_id"].astype(str).to_numpy()
    for cid in sorted(set(community)):
        inside = np.flatnonzero(community == cid)
        part = layers.grids.iloc[inside]
        rows = who.loc[part["grid_id"].astype(str)]
        labels = [f"{int(s):02d}\n{w}" if w else f"{int(s):02d}" for s, w in zip(rows["seq"], rows["wardens"],
                                                                                     strict=True)]
        fig = new_page(layers.paper)
        draw_map(fig.add_axes((0.03, 0.05, 0.94, 0.84)), part, [layers.fills[i] for i in inside],
                 outlines=layers.communities[layers.communities["community_id"] == cid], names=layers.names,
                 buildings=layers.buildings, streets=layers.streets, grid_labels=labels, legend=layers.legend,
                 legend_title=layers.legend_title, label_north=layers.north)
        pages.add(fig, heading, text["community_map"].format(name=layers.names.get(cid, cid)))


def _table_section(pages: _Pages, layers: _Layers, heading: str, text: dict[str, Any], table: pd.DataFrame,
                   roster: pd.DataFrame, out: pd.DataFrame, workload: pd.DataFrame | None) -> None:
    """The per-community table, the roster, the grids out of tolerance and the warden workload."""
    names, paper = layers.names, layers.paper
    rows = [[names.get(r["community_id"], r["name"]), _fmt(r["grids"]), _fmt(r["households"]),
             _fmt(r.get("max_abs_deviation"), "dev"), _fmt(r.get("share_within_tolerance"), "share"),
             _fmt(r.get("wardens")), _fmt(r.get("police")), _fmt(r.get("reached_share"), "share"),
             _fmt(r.get("green")), _fmt(r.get("orange")), _fmt(r.get("red"))] for _, r in table.iterrows()]
    pages.table(paper, heading, text["table"], text["cols_community"], rows)
    rows = [[r.grid_id, names.get(r.community_id, r.community_id), f"{int(r.seq):02d}", _fmt(r.households),
             r.wardens or "–", r.police or "–", text.get(str(r.tier), str(r.tier)) if r.tier else "–"]
            for r in roster.itertuples()]
    pages.table(paper, heading, text["roster"], text["cols_roster"], rows)
    rows = [[r.grid_id, names.get(r.community_id, r.community_id), _fmt(r.households), f"{r.deviation:+.0%}",
             r.reason] for r in out.itertuples()]
    pages.table(paper, heading, text["out"], text["cols_out"], rows, widths=[0.14, 0.12, 0.08, 0.08, 0.58])
    if workload is not None and len(workload):
        load = workload.sort_values(["overloaded", "workload"], ascending=False, kind="stable")
        rows = [[str(r.warden_id), str(r.name), names.get(str(r.community_id), str(r.community_id)),
                 _fmt(r.n_grids), _fmt(r.households), _fmt(getattr(r, "street_km", np.nan), "float"),
                 _fmt(getattr(r, "route_minutes", np.nan), "float"), _fmt(getattr(r, "incidents", np.nan)),
                 f"{r.workload:.2f}", text["yes"] if r.overloaded else text["no"]] for r in load.itertuples()]
        pages.table(paper, heading, text["workload"], text["cols_workload"], rows,
                    highlight=list(load["overloaded"].astype(bool)))


def _write_preview(path: str | os.PathLike[str], heading: str, pages: _Pages) -> None:
    """An HTML page: every PDF page as an image, and the tables as text."""
    from gridkit.io import atomic_path  # noqa: PLC0415

    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(heading)}</title><style>"
             "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Zen Hei','Microsoft YaHei',"
             "'PingFang SC',sans-serif;margin:16px;background:#eee}img{display:block;max-width:100%;margin:12px 0;"
             "box-shadow:0 1px 4px rgba(0,0,0,.3);background:#fff}table{border-collapse:collapse;background:#fff;"
             "margin:8px 0}td,th{border:1px solid #999;padding:2px 6px;font-size:12px}"
             "@media print{img{page-break-after:always;box-shadow:none}.gridkit-report-tables{display:none}}"
             f"</style></head><body><h1>{html.escape(heading)}</h1>"]
    parts += [f"<img class='gridkit-report-page' alt='page {i + 1}' src='data:image/png;base64,{png}'>"
              for i, png in enumerate(pages.images)]
    parts.append("<div class='gridkit-report-tables'>")
    for title, header, rows in pages.tables:
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>"
                                                                          for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table>")
    parts.append("</div></body></html>")
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join(parts), encoding="utf-8")
