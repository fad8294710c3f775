"""``gridkit run`` (the whole pipeline from a district configuration), ``init`` and ``demo``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridkit.cli._common import (
    DEFAULT_LANG,
    EXIT_INVARIANT,
    Lang,
    _fail_input,
    _print_metrics,
    app,
    console,
    print_note,
)
from gridkit.config import Config, example_config, load_config
from gridkit.errors import GridkitError
from gridkit.pipeline import run_pipeline
from gridkit.samples import sample_dir

MESSAGES = {
    "zh": {"stage": "阶段", "item": "项目", "value": "数值", "summary": "运行摘要", "wrote": "已写出",
           "files": "个文件", "failed": "硬性指标未通过", "note": "提示", "init": "已写出示例配置",
           "next": "下一步", "exists": "已存在（用 --force 覆盖）",
           "partition": "划分网格", "wardens": "网格员配置", "coverage": "覆盖分析", "routes": "巡查路线",
           "incidents": "事件统计", "map": "地图", "export": "导出", "presets": "模式预设",
           "no_preset": "没有这个预设", "cells": "万米单元", "schedule": "排班", "kpis": "考核排名",
           "norms": "规范核对"},
    "en": {"stage": "stage", "item": "item", "value": "value", "summary": "run summary", "wrote": "wrote",
           "files": "files", "failed": "hard invariants failed", "note": "note", "init": "wrote the example "
           "configuration", "next": "next", "exists": "exists (use --force to overwrite)",
           "partition": "partition", "wardens": "wardens", "coverage": "coverage", "routes": "routes",
           "incidents": "incidents", "map": "map", "export": "export", "presets": "programme presets",
           "no_preset": "no such preset", "cells": "unit cells", "schedule": "schedule", "kpis": "KPIs",
           "norms": "norms"},
}


#: Chinese labels of the pipeline's summary items (the pipeline reports them in English)
ITEMS_ZH = {
    "grids": "网格数", "households": "户数", "max |deviation|": "最大偏差", "share within tolerance": "容差内占比",
    "on streets": "沿街边界占比", "churn": "调整户数占比", "grid changes": "网格变动",
    "rule": "配置规则", "grids staffed": "已配员网格",
    "walk to grids, km": "到网格步行(公里)",
    "households per warden": "每名网格员户数", "unstaffed grids": "缺员网格", "exact optimum": "精确最优",
    "walk threshold, m": "步行阈值(米)", "households within reach of own warden": "本网格员可达户数占比",
    "households within reach of any warden": "任一网格员可达户数占比", "buildings not covered": "未覆盖建筑",
    "routes": "路线数", "total km": "总里程(公里)", "mean minutes": "平均用时(分钟)",
    "grids without a route": "无路线网格", "read": "读入", "in_grids": "落入网格", "outside": "网格外",
    "rejected": "拒收", "flagged": "标记", "data-quality rows": "数据质量问题", "green grids": "绿色网格",
    "orange grids": "橙色网格", "red grids": "红色网格", "hot spots (FDR)": "热点(FDR)",
    "overloaded wardens": "超负荷网格员",
    # programme stages (gridkit.programme)
    "unit cells": "万米单元数", "cells per grid": "每格单元数", "median cell m²": "单元面积中位数(平方米)",
    "people placed": "已安排人员", "required / placed / short": "需配/已配/缺员", "working days": "工作日",
    "grids whose schedule fits": "排班可行网格", "fewest visits to a household": "每户最少走访次数",
    "most hours per week": "最长周工时", "grid score, latest month": "网格得分(最近一月)",
    "community score, latest month": "社区得分(最近一月)", "street score, latest month": "街道得分(最近一月)",
    "rework rate": "返工率", "warning rate": "预警率", "grids improving, latest month": "好转网格(最近一月)",
    "households per grid": "每格户数", "grids per community": "每社区网格数", "staffing per rule": "按规则配员",
    "visits to every household per year": "每户年走访次数",
}


def _item(lang: str, item: str) -> str:
    return item if lang == "en" else ITEMS_ZH.get(item, item)


def _m(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"].get(key, key)


@app.command("run")
def run_command(
    config: Annotated[Path, typer.Argument(help="District configuration (gridkit.toml) / 街道配置文件")],
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en; default from [district] lang")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="worker processes for the partition "
                                                "batches (street offices) / 并行进程数; default [run] workers")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. "
                                                  "tcp://HOST:8786 / Dask 调度器地址")] = None,
) -> None:
    """Run every stage configured in a district file: grids, wardens, coverage, routes, incidents, map, exports.

    一键运行：网格划分、网格员配置、覆盖、巡查路线、事件统计、地图与导出。

    Example: gridkit init && gridkit run gridkit.toml --workers 2
    """
    try:
        cfg = load_config(config)
    except GridkitError as exc:
        raise _fail_input(exc, lang or "zh") from exc
    _run_and_report(cfg, lang or cfg["district"]["lang"], workers=workers, scheduler=scheduler)


def _run_and_report(cfg: Config, lang: str, *, workers: int | None = None, scheduler: str | None = None) -> None:
    """Run the pipeline with a progress bar per stage, then print the summary; exit 1 or 3 on failure."""
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:

        def progress(stage: str) -> Callable[[str, int, int], None]:
            task = bar.add_task(_m(lang, stage), total=None)
            batches: dict[str, object] = {}

            def update(step: str, done: int, total: int) -> None:
                if step.startswith("batch "):  # one bar per batch (street office)
                    if step not in batches:
                        batches[step] = bar.add_task("  " + step[len("batch "):], total=total)
                    bar.update(batches[step], completed=done, total=total)
                    return
                bar.update(task, completed=done, total=total)

            return update

        try:
            result = run_pipeline(cfg, progress=progress, workers=workers, scheduler=scheduler)
        except GridkitError as exc:
            raise _fail_input(exc, lang) from exc
    for message in result.warnings:
        print_note(message, lang)
    _print_metrics(result.results["metrics"], lang)
    table = Table(title=f"{cfg['district']['name']} · {_m(lang, 'summary')}")
    for key in ("stage", "item", "value"):
        table.add_column(_m(lang, key), justify="right" if key == "value" else "left")
    for row in result.summary.itertuples(index=False):
        table.add_row(_m(lang, row.stage), _item(lang, str(row.item)), str(row.value))
    Console(width=120).print(table)
    folder = Path(cfg["outputs"]["folder"])
    where = folder.with_name(f"{folder.name}.failed") if result.problems else folder
    console.print(f"{_m(lang, 'wrote')} {len(result.outputs)} {_m(lang, 'files')} → {where}")
    if result.problems:
        console.print(f"[bold red]{_m(lang, 'failed')}:[/] " + "; ".join(result.problems))
        raise typer.Exit(EXIT_INVARIANT)


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Output folder / 输出目录")] = Path("gridkit-demo"),
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Run everything gridkit can do on the embedded sample district / 在示例街道上运行全部流程.

    Grids, wardens, coverage, patrol routes, incident statistics and hot spots, an offline map and the
    GIS exports, written to OUT.

    Example: gridkit demo --out demo
    """
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "gridkit.toml"
        config.write_text(example_config(sample_dir().as_posix()), encoding="utf-8")
        cfg = load_config(config)
    cfg.sections["outputs"]["folder"] = str(out.resolve())
    cfg.sections["district"]["lang"] = lang
    _run_and_report(cfg, lang)


@app.command("init")
def init_command(
    path: Annotated[Path, typer.Argument(help="Configuration file to write / 配置文件")] = Path("gridkit.toml"),
    sample: Annotated[bool, typer.Option(help="Copy the sample district's data beside it / 复制示例数据")] = True,
    force: Annotated[bool, typer.Option(help="Overwrite an existing configuration")] = False,
    preset: Annotated[str | None, typer.Option(
        help="A programme's configuration: dongcheng, shibei, yichang, zhoushan, haidian or siming / 模式预设")] = None,
    list_presets: Annotated[bool, typer.Option("--list-presets",
                                               help="Show the presets side by side / 列出预设")] = False,
    lang: Lang = DEFAULT_LANG,
) -> None:
    """Write a commented example configuration (and the sample district's data) / 生成示例配置.

    With --preset, the configuration reproduces a documented grid programme (its grid sizes, staffing
    rule, schedules and KPIs, each figure citing its source).

    Example: gridkit init --preset zhoushan && gridkit run gridkit.toml
    """
    from gridkit.presets import PRESETS, preset_table, preset_text  # noqa: PLC0415

    if list_presets:
        frame = preset_table(lang)
        table = Table(title=_m(lang, "presets"), show_lines=True)
        for column in frame.columns:
            table.add_column(str(column), overflow="fold")
        for row in frame.itertuples(index=False):
            table.add_row(*map(str, row))
        Console(width=200).print(table)
        return
    if preset is not None and preset not in PRESETS:
        console.print(f"[bold red]{_m(lang, 'no_preset')}[/] {preset!r}: {', '.join(PRESETS)}")
        raise typer.Exit(2)
    if path.exists() and not force:
        console.print(f"[bold red]{path}[/] {_m(lang, 'exists')}")
        raise typer.Exit(2)
    data = path.parent / "sample-data"
    if sample:
        data.mkdir(parents=True, exist_ok=True)
        for item in sample_dir().iterdir():
            if item.suffix in {".geojson", ".csv", ".md"}:
                shutil.copyfile(item, data / item.name)
    text = preset_text(preset, "sample-data") if preset else example_config("sample-data")
    if lang == "en":
        text = text.replace('lang = "zh"', 'lang = "en"')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    console.print(f"{_m(lang, 'init')}: {path}" + (f" ({preset})" if preset else "")
                  + (f" (+ {data}/)" if sample else ""))
    console.print(f"{_m(lang, 'next')}: gridkit run {path}")
