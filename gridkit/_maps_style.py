"""Labels, colours and legends of :mod:`gridkit.maps` (zh / en), kept apart from the layer code.

Grids are coloured in one of three ways, chosen by the column:

* ``tier`` (and any column of green / orange / red): fixed tier colours;
* a categorical column (text, or ``change`` from :func:`gridkit.regenerate.regenerate` with fixed,
  meaningful colours: kept grey, adjusted amber, split blue, merged purple, new green, retired dark);
* a numeric column: five classes (quantiles; ``deviation`` symmetric about 0 on a diverging scale).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LABELS = {
    "zh": {"grid_id": "网格编码", "community_id": "社区", "households": "户数", "population": "人口",
           "area_m2": "面积(m²)", "deviation": "偏差", "oversize": "超大网格", "grids": "网格",
           "polsby_popper": "紧凑度", "count": "事件数", "per_100_households": "每百户事件数",
           "median_hours_to_close": "结案时长中位数(小时)", "on_time_share": "按时结案率",
           "overdue_open": "超期未结", "open": "未结案", "tier": "等级", "heat": "事件热力图",
           "hotspots": "热点 (Gi*)", "gi_z": "Gi* z 值", "gi_q": "FDR 校正 p 值", "gi_bin": "置信水平",
           "hex_id": "六边形", "kde": "核密度 (事件/km²)", "density": "密度 (事件/km²)", "routes": "巡查路线",
           "wardens": "网格员", "warden_id": "网格员编号", "name": "姓名", "role": "岗位",
           "length_m": "长度(m)", "minutes": "用时(分钟)", "period": "时段", "all": "全部",
           "green": "绿", "orange": "橙", "red": "红", "none": "无户数", "hot": "热点", "cold": "冷点",
           "not_significant": "不显著", "legend": "图例", "full_time": "专职网格员", "part_time": "兼职网格员",
           "police": "网格民警", "volunteer": "志愿者", "incidents": "事件", "change": "调整类型",
           "related": "相关网格", "kept": "保持", "adjusted": "调整", "split": "拆分", "merged": "合并",
           "new": "新增", "retired": "撤销", "title_incidents": "网格事件地图", "title_grids": "网格地图",
           "n_grids": "{n} 个网格", "n_incidents": "{n} 起事件", "n_hot": "{n} 个显著热点",
           "n_communities": "{n} 个社区", "span": "{start} 至 {end}", "communities": "社区边界",
           "scale_note": "按本时段分级", "heat_note": "热力图为示意, 统计见热点图层",
           "streets": "街巷", "street_names": "街巷名称", "buildings": "建筑轮廓", "community_names": "社区名称",
           "office": "街道边界", "community_name": "社区名称", "seq": "网格序号", "warden_name": "网格员",
           "north": "北", "made": "制图日期 {date}", "sources": "数据来源: {sources}",
           "tier_rel_red": "红: 排名前 {top}% 的网格", "tier_rel_orange": "橙: 排名前 {low}%–{top}%",
           "tier_rel_green": "绿: 其余网格 (含无事件网格)", "tier_abs_red": "红: {by} ≥ {red}",
           "tier_abs_orange": "橙: {by} {orange}–{red}", "tier_abs_green": "绿: {by} < {orange}",
           "tier_none": "无户数 (不分级)", "tier_relative": "相对分级: 按网格排名, 每个时段都有红橙网格",
           "tier_relative_period": "相对分级: 本时段排名", "tier_absolute": "固定阈值 (配置)",
           "warn_outside": "{share} 的事件 ({n} 起) 落在网格之外: 请检查经纬度是否颠倒或坐标系 (wgs84/gcj02/bd09)",
           "warn_none_joined": "没有任何事件落入网格: 所有网格显示为绿色并不表示平安, 请检查事件坐标",
           "warn_no_households": "所有网格都没有户数: 无法按每百户分级",
           "workload": "网格员工作量", "overloaded": "超负荷", "context": "参考图层 (本地数据)"},
    "en": {"grid_id": "Grid code", "community_id": "Community", "households": "Households",
           "population": "Population", "area_m2": "Area (m²)", "deviation": "Deviation",
           "oversize": "Oversize", "grids": "Grids", "polsby_popper": "Compactness", "count": "Incidents",
           "per_100_households": "Incidents per 100 households", "median_hours_to_close": "Median hours to close",
           "on_time_share": "Closed on time", "overdue_open": "Overdue open", "open": "Open", "tier": "Tier",
           "heat": "Incident heat map", "hotspots": "Hot spots (Gi*)", "gi_z": "Gi* z", "gi_q": "FDR-adjusted p",
           "gi_bin": "Confidence level", "hex_id": "Hexagon", "kde": "Kernel density (incidents/km²)",
           "density": "Density (incidents/km²)", "routes": "Patrol routes", "wardens": "Wardens",
           "warden_id": "Warden", "name": "Name", "role": "Role", "length_m": "Length (m)",
           "minutes": "Minutes", "period": "Period", "all": "All", "green": "green", "orange": "orange",
           "red": "red", "none": "no households", "hot": "hot spot", "cold": "cold spot",
           "not_significant": "not significant", "legend": "Legend", "full_time": "full-time warden",
           "part_time": "part-time warden", "police": "grid police officer", "volunteer": "volunteer",
           "incidents": "Incidents", "change": "Change", "related": "Related grids", "kept": "kept",
           "adjusted": "adjusted", "split": "split", "merged": "merged", "new": "new", "retired": "retired",
           "title_incidents": "Grid incident map", "title_grids": "Grid map", "n_grids": "{n} grids",
           "n_incidents": "{n} incidents", "n_hot": "{n} significant hot spots", "n_communities": "{n} communities",
           "span": "{start} to {end}", "communities": "Community boundaries",
           "scale_note": "classed within this period",
           "heat_note": "the heat map is a picture; the statistics are the hot spots",
           "streets": "Streets", "street_names": "Street names", "buildings": "Building outlines",
           "community_names": "Community names", "office": "Street office boundary", "community_name": "Community",
           "seq": "Grid number", "warden_name": "Warden", "north": "North", "made": "Made {date}",
           "sources": "Data: {sources}", "tier_rel_red": "red: top {top} % of grids",
           "tier_rel_orange": "orange: next, top {low}–{top} %",
           "tier_rel_green": "green: the rest (incl. no incidents)",
           "tier_abs_red": "red: {by} ≥ {red}", "tier_abs_orange": "orange: {by} {orange}–{red}",
           "tier_abs_green": "green: {by} < {orange}", "tier_none": "no households (not tiered)",
           "tier_relative": "relative tiers: ranked among the grids, so every period has red and orange grids",
           "tier_relative_period": "relative tiers: ranked within this period",
           "tier_absolute": "fixed thresholds (configuration)",
           "warn_outside": "{share} of the incidents ({n}) lie outside every grid: check for swapped lon/lat "
                           "or the coordinate system (wgs84/gcj02/bd09)",
           "warn_none_joined": "no incident falls in any grid: all grids green does not mean all is quiet; "
                               "check the incident coordinates",
           "warn_no_households": "no grid has households: tiers per 100 households cannot be computed",
           "workload": "Warden workload", "overloaded": "overloaded", "context": "Context (your data)"},
}
TIER_COLOURS = {"green": "#1a9850", "orange": "#fd8d3c", "red": "#d73027", "none": "#bdbdbd"}
#: Fixed colours of the change a regenerated grid shows: nothing to do is grey, a new boundary
#: amber, a grid cut in two blue, two grids made one purple, a new grid green, a retired one dark.
CHANGE_COLOURS = {"kept": "#d9d9d9", "adjusted": "#fdb863", "split": "#4393c3", "merged": "#8e6cbf",
                  "new": "#1a9850", "retired": "#525252"}
BIN_COLOURS = {3: "#d62f27", 2: "#ed7551", 1: "#fab984", 0: "#eeeeee", -1: "#c0ccbe", -2: "#849eba", -3: "#4575b5"}
BIN_NAMES = {"zh": {3: "热点 99%", 2: "热点 95%", 1: "热点 90%", 0: "不显著", -1: "冷点 90%", -2: "冷点 95%",
                    -3: "冷点 99%"},
             "en": {3: "hot 99 %", 2: "hot 95 %", 1: "hot 90 %", 0: "not significant", -1: "cold 90 %",
                    -2: "cold 95 %", -3: "cold 99 %"}}
#: Hot-spot outlines: darker than the fills above so that they read over the tier colours.
#: Magenta for hot, teal for cold: apart from the green / orange / red of the tiers they outline.
OUTLINE_COLOURS = {3: "#8e0152", 2: "#c51b7d", 1: "#de77ae", 0: "#999999", -1: "#80cdc1", -2: "#35978f",
                   -3: "#01665e"}
#: Wardens in blues and greys: red, orange and green are the tiers' alone.
ROLE_COLOURS = {"full_time": "#08519c", "part_time": "#6baed6", "police": "#252525", "volunteer": "#969696"}
#: Known vocabularies: column -> value -> colour (values outside get the categorical palette).
FIXED = {"tier": TIER_COLOURS, "change": CHANGE_COLOURS, "role": ROLE_COLOURS}
CATEGORY_PALETTE = ["#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3", "#b2df8a",
                    "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99"]
#: Patrol routes: one purple (red, orange and green are the tiers', magenta and teal the hot spots').
ROUTE_COLOUR = "#54278f"
SEQUENTIAL = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
#: Deviation: brown (heavy) to teal (light), so that red keeps the one meaning of a red tier.
DIVERGING = ["#01665e", "#80cdc1", "#f5f5f5", "#dfc27d", "#8c510a"]
#: Columns where more is better: the sequential scale runs the other way (low values red).
HIGHER_IS_BETTER = {"on_time_share", "polsby_popper"}
MISSING = "#bdbdbd"
#: Heat layer colours (greys to black, apart from the tier and hot-spot colours it is drawn over).
HEAT_GRADIENT = {0.25: "#d9d9d9", 0.5: "#969696", 0.75: "#525252", 1.0: "#000000"}


def labels_for(lang: str) -> dict[str, str]:
    """The label table for ``lang`` (``zh`` unless ``en``)."""
    return LABELS["en" if lang == "en" else "zh"]


@dataclass
class Colouring:
    """How the grids are coloured: fill per grid, the classes, and the legend block.

    ``codes`` index ``palette`` per grid (-1 = missing, drawn grey); ``kind`` is ``tier``,
    ``category``, ``numeric`` or ``none``; ``names`` label the palette entries in the legend.
    """

    kind: str
    column: str | None
    palette: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    title: str = ""
    note: str = ""

    @property
    def fills(self) -> list[str]:
        """The fill colour of each grid."""
        return [self.palette[c] if c >= 0 else MISSING for c in self.codes]

    def legend(self, counts: bool = False, note: str = "") -> str:
        """The legend block (with the number of grids per class when ``counts``)."""
        if self.kind == "none":
            return ""
        used = np.bincount(self.codes[self.codes >= 0], minlength=len(self.palette))
        items = [(colour, f"{name} ({used[i]})" if counts else name)
                 for i, (colour, name) in enumerate(zip(self.palette, self.names, strict=True))
                 if self.kind == "numeric" or used[i] or (self.kind == "tier" and i < 3)]
        return legend_rows(items, self.title, note=note or self.note)


def _percent(value: object) -> float | None:
    """The percentile of a tier threshold like ``"p90"`` (None for a number)."""
    if isinstance(value, str) and value.lower().startswith("p"):
        try:
            return float(value[1:])
        except ValueError:
            return None
    return None


def _number(value: object) -> str:
    return f"{float(value):,.4g}"  # type: ignore[arg-type]


def tier_rule(spec: dict[str, object], labels: dict[str, str], *, period: bool = False) -> tuple[list[str], str]:
    """Legend names of the tiers (green, orange, red, none) saying the rule, and a note.

    Percentile thresholds (``"p90"``) are relative and say so ("top 10 % of grids"); numbers are
    fixed thresholds of the ``by`` metric ("per 100 households ≥ 60").
    """
    by = labels.get(str(spec.get("by", "count")), str(spec.get("by", "count")))
    orange_p, red_p = _percent(spec.get("orange")), _percent(spec.get("red"))
    names = []
    if red_p is not None and orange_p is not None:
        top, low = f"{100 - red_p:g}", f"{100 - orange_p:g}"
        names = [labels["tier_rel_green"], labels["tier_rel_orange"].format(low=low, top=top),
                 labels["tier_rel_red"].format(top=top)]
        note = labels["tier_relative_period" if period else "tier_relative"]
    elif red_p is None and orange_p is None:
        red, orange = _number(spec.get("red")), _number(spec.get("orange"))
        names = [labels["tier_abs_green"].format(by=by, orange=orange),
                 labels["tier_abs_orange"].format(by=by, orange=orange, red=red),
                 labels["tier_abs_red"].format(by=by, red=red)]
        note = labels["tier_absolute"]
    else:  # one relative, one fixed: say each
        def cut(value: object) -> str:
            share = _percent(value)
            return _number(value) if share is None else f"p{share:g}"

        orange, red = cut(spec.get("orange")), cut(spec.get("red"))
        names = [labels["tier_abs_green"].format(by=by, orange=orange),
                 labels["tier_abs_orange"].format(by=by, orange=orange, red=red),
                 labels["tier_abs_red"].format(by=by, red=red)]
        note = labels["tier_relative_period" if period else "tier_relative"]
    return [*names, labels["tier_none"]], note


def legend_rows(items: list[tuple[str, str]], title: str, *, note: str = "", layer: str | None = None,
                line: bool = False) -> str:
    """A legend block: a swatch (or a line) and a label per item, under ``title``.

    ``layer`` (a Leaflet variable name) ties the block to a layer: it is hidden while the layer is off.
    """
    swatch = ("display:inline-block;width:16px;height:0;border-top:3px solid {c};margin:0 6px 3px 0" if line else
              "display:inline-block;width:14px;height:10px;margin-right:6px;background:{c};opacity:.85;"
              "border:1px solid rgba(0,0,0,.25)")
    rows = "".join(f'<div><i style="{swatch.format(c=colour)}"></i>{html.escape(label)}</div>'
                   for colour, label in items)
    tail = f'<div style="color:#666;font-size:11px">{html.escape(note)}</div>' if note else ""
    tag = f' data-layer="{layer}"' if layer else ""
    return (f'<div class="gridkit-legend-block"{tag} style="margin-top:4px"><b>{html.escape(title)}</b>'
            f"{rows}{tail}</div>")


def _fmt(value: float, column: str) -> str:
    if column in {"on_time_share"}:
        return f"{value:.0%}"
    if column in {"deviation", "polsby_popper"}:
        return f"{value:+.2f}" if column == "deviation" else f"{value:.2f}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def numeric_classes(values: np.ndarray, column: str) -> tuple[np.ndarray, list[float]]:
    """Five classes of ``values`` (class per value, -1 where missing) and the six class edges.

    Quantile classes (equal-count; ties merge classes), except ``deviation``: equal classes
    symmetric about 0 so that 0 sits in the middle class.
    """
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    codes = np.full(len(values), -1, dtype=int)
    if not len(finite):
        return codes, []
    if column == "deviation":
        span = float(np.max(np.abs(finite))) or 1e-9
        edges = list(np.linspace(-span, span, 6))
    else:
        edges = list(np.unique(np.quantile(finite, np.linspace(0, 1, 6))))
        if len(edges) == 1:
            edges = [edges[0], edges[0]]
    inner = np.asarray(edges[1:-1], dtype=float)
    ok = np.isfinite(values)
    codes[ok] = np.searchsorted(inner, values[ok], side="right")
    return codes, [float(e) for e in edges]


def _numeric(values: np.ndarray, column: str, title: str) -> Colouring:
    codes, edges = numeric_classes(values, column)
    n = max(len(edges) - 1, 1)
    base = DIVERGING if column == "deviation" else SEQUENTIAL[::-1] if column in HIGHER_IS_BETTER else SEQUENTIAL
    palette = [base[round(i * (len(base) - 1) / max(n - 1, 1))] for i in range(n)] if n > 1 else [base[2]]
    if not edges:
        return Colouring("numeric", column, [MISSING], ["–"], codes, title)
    names = [f"{_fmt(edges[i], column)} – {_fmt(edges[i + 1], column)}" for i in range(n)]
    return Colouring("numeric", column, palette, names, codes, title)


def _categorical(values: pd.Series, column: str, labels: dict[str, str], title: str) -> Colouring:
    fixed = FIXED.get(column, {})
    text = values.astype(object).where(values.notna(), None)
    seen = [v for v in pd.unique(text.dropna().astype(str))]
    order = [v for v in fixed if v in seen] + sorted(v for v in seen if v not in fixed)
    if column == "tier":  # every tier has its place, so that a period can show one the whole span lacks
        order = list(TIER_ORDER)
        text = text.where(text.isin(TIER_ORDER) | text.isna(), "none")
    spare = iter(CATEGORY_PALETTE * (len(order) // len(CATEGORY_PALETTE) + 1))
    palette = [fixed[v] if v in fixed else next(spare) for v in order]
    index = {v: i for i, v in enumerate(order)}
    codes = np.array([index.get(str(v), -1) if v is not None else -1 for v in text], dtype=int)
    names = [labels.get(v, v) for v in order]
    return Colouring("tier" if column == "tier" else "category", column, palette, names, codes, title)


def grid_colouring(data: pd.DataFrame, column: str | None, labels: dict[str, str]) -> Colouring:
    """How to colour ``data`` by ``column`` (tier, categorical or numeric; ``none`` without it)."""
    if column is None or column not in data.columns:
        return Colouring("none", None, ["#3182bd"], [""], np.zeros(len(data), dtype=int))
    series = data[column]
    title = labels.get(column, column)
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if column in FIXED or not numeric:
        return _categorical(series, column, labels, title)
    return _numeric(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float), column, title)


TIER_ORDER = ("green", "orange", "red", "none")


def tier_codes(tiers: pd.Series) -> np.ndarray:
    """Palette indices of ``tiers`` in a tier colouring (green 0, orange 1, red 2, none 3)."""
    index = {k: i for i, k in enumerate(TIER_ORDER)}
    return np.array([index.get(str(t), 3) if pd.notna(t) else 3 for t in tiers], dtype=int)
