"""Shared pieces of the ``gridkit`` command: the Typer app, console, messages and option types.

Exit codes, kept by every command (each is run through :func:`guarded`):

- 0 success;
- 1 a hard invariant failed (``validate``, ``run``);
- 2 wrong usage: an unknown option or option value, an output path that cannot be written;
- 3 bad input data (the message names the file, the feature and the column);
- 4 internal error: a bug in gridkit. The traceback is saved to a file and the message says where;
  no raw traceback reaches the console.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridkit import _validate, i18n
from gridkit.errors import GridkitError, GridkitWarning, UsageError
from gridkit.partition import PartitionResult, partition

EXIT_INVARIANT, EXIT_USAGE, EXIT_INPUT, EXIT_INTERNAL = 1, 2, 3, 4
#: Where tracebacks of internal errors are saved (default: the system's temporary folder).
CRASH_DIR_ENV = "GRIDKIT_CRASH_DIR"


def _save_traceback(exc: BaseException) -> Path:
    folder = Path(os.environ.get(CRASH_DIR_ENV) or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"gridkit-crash-{stamp}-{os.getpid()}.txt"
    from gridkit import __version__  # noqa: PLC0415

    text = (f"gridkit {__version__}, Python {sys.version.split()[0]}\ncommand: {' '.join(sys.argv)}\n\n"
            + "".join(traceback.format_exception(exc)))
    path.write_text(text, encoding="utf-8")
    return path


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command so that its exit code says what happened (see the module docstring).

    A :class:`~gridkit.errors.UsageError` exits 2, any other :class:`~gridkit.errors.GridkitError` 3
    (bad input), anything unexpected 4 with the traceback saved to a file.
    """

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        lang = kwargs.get("lang") or "zh"
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException, click.exceptions.Exit, click.exceptions.Abort,
                click.ClickException):
            raise  # exit codes and usage errors (2) that typer (its own click) already maps
        except GridkitError as exc:
            raise _fail_input(exc, lang) from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            # a table that cannot be parsed is bad input (3), even where a reader does not name the file
            console.print(f"[bold red]{_msg(lang, 'error')}:[/] {_msg(lang, 'unreadable')}: {exc}")
            raise typer.Exit(EXIT_INPUT) from None
        except KeyboardInterrupt:
            console.print(_msg(lang, "interrupted"))
            raise typer.Exit(130) from None
        except Exception as exc:  # the one place that turns a bug into exit 4
            try:
                where = str(_save_traceback(exc))
            except OSError as save_error:
                where = f"(could not be saved: {save_error})"
            console.print(f"[bold red]{_msg(lang, 'internal')}:[/] {type(exc).__name__}: {exc}")
            console.print(f"{_msg(lang, 'traceback')}: {where}")
            raise typer.Exit(EXIT_INTERNAL) from None

    return run


class GuardedTyper(typer.Typer):
    """A Typer app whose every command runs through :func:`guarded`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        register = super().command(*args, **kwargs)

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            register(guarded(func))
            return func

        return decorator


def check_by(value: str) -> str:
    """``--by``: households, population or area; anything else is a usage error (exit 2)."""
    if value not in {"households", "population", "area"}:
        import difflib  # noqa: PLC0415

        near = difflib.get_close_matches(value, ["households", "population", "area"], n=1, cutoff=0.3)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise typer.BadParameter(f"{value!r} is not one of households, population, area{hint}")
    return value


app = GuardedTyper(
    help="gridkit: community grid management (网格化管理). Balanced, street-bounded grids, wardens, "
    "coverage, patrol routes, incident maps and GIS exports.\n\n"
    "Examples / 示例:\n\n"
    "  gridkit demo --out demo\n\n"
    "  gridkit init gridkit.toml && gridkit run gridkit.toml\n\n"
    "  gridkit partition --communities c.geojson --buildings b.geojson --streets s.geojson "
    "--out grids.geojson --assignment assignment.csv\n\n"
    "  gridkit routes --grids grids.geojson --osm district.osm.pbf --out routes.geojson\n\n"
    "  gridkit map --grids grids.geojson --incidents incidents.csv --streets s.geojson --out map.html\n\n"
    "  gridkit report --from-run gridkit-out --communities c.geojson --title 锦官街道 --out report.pdf",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

MESSAGES = {
    "zh": {"reading": "读取并分区", "wrote": "已写出", "grids": "网格", "failed": "硬性指标未通过",
           "ok": "全部硬性指标通过", "error": "输入错误", "warn": "提示", "community": "社区",
           "usage": "用法错误", "internal": "内部错误（gridkit 的缺陷，请报告）", "traceback": "错误详情已保存到",
           "unreadable": "无法解析的表格文件（列数不一致、为空或编码错误）",
           "interrupted": "已中断"},
    "en": {"reading": "reading and partitioning", "wrote": "wrote", "grids": "grids",
           "failed": "hard invariants failed", "ok": "all hard invariants hold", "error": "input error",
           "warn": "note", "community": "community", "usage": "usage error",
           "internal": "internal error (a bug in gridkit; please report it)", "traceback": "the traceback is saved in",
           "unreadable": "a table that cannot be parsed (ragged rows, empty, or wrong encoding)",
           "interrupted": "interrupted"},
}

#: The language when --lang is not given: the system locale's (zh for a Chinese one, and for C/POSIX).
DEFAULT_LANG = i18n.resolve_lang()
Lang = Annotated[str, typer.Option("--lang", help="Language of messages: zh or en (default: the system locale) "
                                   "/ 消息语言")]
CommunityIdCol = Annotated[str | None, typer.Option(help="Community id column (default community_id)")]
BuildingIdCol = Annotated[str | None, typer.Option(help="Building id column (default building_id)")]
HouseholdsCol = Annotated[str | None, typer.Option(help="Households column (default households)")]
PopulationCol = Annotated[str | None, typer.Option(help="Population column (default population)")]
LevelsCol = Annotated[str | None, typer.Option(help="Levels (storeys) column (default levels)")]
Encoding = Annotated[str | None, typer.Option(
    help="Text encoding of CSV and Shapefile inputs (utf-8, gbk …); default detected / 文件编码（默认自动识别）")]
By = Annotated[str, typer.Option(help="households, population or area / 均衡指标", callback=check_by)]


def _msg(lang: str, key: str) -> str:
    return MESSAGES["en" if lang == "en" else "zh"][key]


def _fail_input(exc: GridkitError, lang: str) -> typer.Exit:
    """Print a gridkit error; the exit to raise is 2 for a usage error, else 3 (bad input)."""
    if isinstance(exc, UsageError):
        console.print(f"[bold red]{_msg(lang, 'usage')}:[/] {i18n.escape(str(exc))}")
        return typer.Exit(EXIT_USAGE)
    prefix, _, text = i18n.error_for(exc, lang).partition(": ")
    console.print(f"[bold red]{i18n.escape(prefix)}:[/] {i18n.escape(text)}")  # [partition] stays [partition]
    return typer.Exit(EXIT_INPUT)


def print_note(message: object, lang: str) -> None:
    """A warning for the planner, prefix and text in one language, markup escaped."""
    prefix, _, text = i18n.note(str(message), lang).partition(": ")
    console.print(f"[yellow]{i18n.escape(prefix)}:[/] {i18n.escape(text)}")


def _columns(**given: str | None) -> dict[str, str]:
    return {k: v for k, v in given.items() if v}


def _option(name: str, value: str) -> str:
    """Check a choice option at the command line (wrong usage: exit 2, with the closest choice)."""
    try:
        return _validate.option(name, value)
    except GridkitError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"--{name}") from exc


def _run_partition(lang: str, **kwargs: object) -> PartitionResult:
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(_msg(lang, "reading"), total=None)

        def progress(_step: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridkitWarning)
            warnings.simplefilter("always", UserWarning)
            result = partition(progress=progress, **kwargs)  # type: ignore[arg-type]
    for item in caught:
        print_note(item.message, lang)
    return result


def _print_metrics(table: pd.DataFrame, lang: str) -> None:
    view = Table(title="网格指标" if lang != "en" else "gridkit metrics")
    headers = {"community_id": "community", "n_grids": "grids", "n_oversize": "oversize", "conserved": "conserved",
               "coverage_gap": "gap", "overlap": "overlap", "n_noncontiguous": "non-contig",
               "max_abs_deviation": "max|dev|", "share_within_tolerance": "in tol", "mean_polsby_popper": "PP",
               "street_alignment": "on street"}
    if lang != "en":  # one language per table
        headers = {"community_id": "社区", "n_grids": "网格数", "n_oversize": "超大网格", "conserved": "户数守恒",
                   "coverage_gap": "缝隙", "overlap": "重叠", "n_noncontiguous": "不连通",
                   "max_abs_deviation": "最大偏差", "share_within_tolerance": "容差内", "mean_polsby_popper": "紧凑度",
                   "street_alignment": "沿街"}
    shown = list(headers)
    for col in shown:
        view.add_column(headers[col], justify="right", no_wrap=True)
    for _, row in table.iterrows():
        cells = []
        for col in shown:
            value = row.get(col)
            if isinstance(value, float):
                cells.append(f"{value:.2e}" if col in {"coverage_gap", "overlap"} else f"{value:.3f}")
            else:
                cells.append(str(value))
        view.add_row(*cells)
    Console(width=160).print(view)


