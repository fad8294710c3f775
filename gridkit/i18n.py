"""Languages of planner-facing messages: the language in force, translations, and safe printing.

gridkit speaks Chinese (``zh``) and English (``en``), one language per message. The library raises
and warns in English; :func:`translate` turns the messages a planner sees into Chinese clause by
clause (a message whose clauses are not all known stays English as a whole, never half and half),
and :func:`note` / :func:`error` put the prefix in the same language as the text. :func:`escape`
keeps rich from eating ``[partition]`` and other bracketed section names in configuration errors.

Other modules (input validation, configuration) add their own patterns with :func:`register`.

Examples
--------
>>> from gridkit.i18n import translate
>>> translate("community 'C02': 3 indivisible building(s) or block(s) heavier than the upper bound "
...           "made oversize grids of their own", "zh")
"社区 'C02': 3 栋(处)不可再分的建筑或街区超过网格上限, 各自单独成格"
"""

from __future__ import annotations

import locale
import os
import re
from collections.abc import Callable
from typing import Literal

from rich.markup import escape as _rich_escape

__all__ = ["LANGS", "Lang", "error", "error_for", "escape", "note", "register", "resolve_lang", "translate"]

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")

_PREFIX = {"zh": {"note": "提示", "error": "输入错误"}, "en": {"note": "note", "error": "input error"}}

#: (pattern of one English clause, Chinese template with {1}, {2} ... for the groups)
_CLAUSES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = []


def register(pattern: str, chinese: str | Callable[[re.Match[str]], str]) -> None:
    """Add the Chinese of one English message clause (a regular expression matched in full)."""
    _CLAUSES.append((re.compile(pattern), chinese))


register(r"(\d+) indivisible building\(s\) or block\(s\) heavier than the upper bound made oversize grids of their "
         r"own", "{1} 栋(处)不可再分的建筑或街区超过网格上限, 各自单独成格")
register(r"(\d+) grids instead of (\d+) from the target: the large buildings balance better",
         "划为 {1} 个网格 (按目标应为 {2} 个): 建筑较大, 这样更均衡")
register(r"(\d+) grids instead of (\d+) from the target: the large buildings balance better \(proven: best "
         r"possible max \|deviation\| ([\d.]+) with (\d+), ([\d.]+) with (\d+)\)",
         "划为 {1} 个网格 (按目标应为 {2} 个): 建筑较大, 这样更均衡 "
         "(已证明: {4} 个网格时最大偏差至少 {3}, {6} 个时至少 {5})")
register(r"±(\d+)% not reached for (\d+) of (\d+) grids", "{3} 个网格中有 {2} 个未达到 ±{1}% 的容差")
register(r"best max \|deviation\| found ([\d.]+) \(buildings are large against the target: the largest block or "
         r"building cell that is not oversize holds ([\d.]+) of a grid's target\)",
         "可达到的最大偏差为 {1} (建筑相对目标户数偏大: 最大的非超大街区或楼栋相当于 {2} 个网格的目标户数)")
register(r"only (\d+) blocks or building cells with households for (\d+) grids; made (\d+) grids",
         "只有 {1} 个有住户的街区或楼栋, 无法划为 {2} 个网格; 划为 {3} 个")
register(r"(\d+) grid\(s\) have no street to walk: (.+)", "{1} 个网格内没有可巡查的街巷: {2}")
register(r"(\d+) buildings lie outside every community and were left out of the grids(.*)",
         "{1} 栋建筑不在任何社区内, 未划入网格{2}")
register(r"grids have no households column: tiers by incident count instead of per 100 households",
         "网格没有户数列: 按事件数而不是每百户事件数分级")
register(r"community '([^']+)'", "社区 '{1}'")
register(r"(\d+) of (\d+) incidents have no location or lie outside every grid",
         "{2} 起事件中有 {1} 起没有位置或不在任何网格内")
register(r"they are not counted in the workload", "未计入工作量")
# input validation (gridkit._validate, gridkit.io): the reasons; the location is composed by error_for
register(r"value (.+) is not a non-negative integer", "值 {1} 不是非负整数")
register(r"missing id", "缺少编号")
register(r"duplicate id \(first seen at row (\d+)\)", "编号重复 (首次出现在第 {1} 行)")
register(r"duplicate community code", "社区编码重复")
register(r"(.+) file does not exist", "{1} 文件不存在")


def resolve_lang(lang: str | None = None) -> Lang:
    """The language in force: ``lang`` when given, else the system locale (zh for a Chinese one).

    ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` are read in that order, then Python's locale; a
    locale that names no language (``C``, ``POSIX``, unset) gives ``zh``, gridkit's default.
    """
    if lang:
        text = lang.strip().lower().replace("_", "-")
        if text.startswith("zh"):
            return "zh"
        if text.startswith("en"):
            return "en"
        raise ValueError(f"unknown language {lang!r}; use zh or en")
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(key, "")
        if value:  # the first one set decides; C / POSIX name no language
            if value.split(".")[0] in {"C", "POSIX"}:
                return "zh"
            return "zh" if value.lower().startswith("zh") else "en"
    found = locale.getlocale()[0] or ""
    if found and found not in {"C", "POSIX"}:
        return "zh" if found.lower().startswith("zh") else "en"
    return "zh"


def _clause(text: str) -> str | None:
    for pattern, chinese in _CLAUSES:
        match = pattern.fullmatch(text)
        if match:
            if callable(chinese):
                return chinese(match)
            groups = match.groups()
            return re.sub(r"\{(\d+)\}", lambda m, g=groups: g[int(m.group(1)) - 1] or "", chinese)
    return None


def translate(message: str, lang: str | None) -> str:
    """``message`` in ``lang``: Chinese when every clause is known, else the English as it is.

    A message is split into clauses at ``"; "`` and after a leading ``community '…': ``.
    """
    if resolve_lang(lang) == "en":
        return message
    head, rest = "", message
    lead = re.match(r"(community '[^']+'): (.*)", message, re.S)
    if lead:
        head, rest = (_clause(lead.group(1)) or "") + ": ", lead.group(2)
    parts = [_clause(part) for part in rest.split("; ")]
    if any(p is None for p in parts):
        return message
    return head + "; ".join(p for p in parts if p)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _prefixed(kind: str, message: str, lang: str | None) -> str:
    text = translate(message, lang)
    # the prefix speaks the language of the text, so a message is never half Chinese, half English
    language = "zh" if resolve_lang(lang) == "zh" and (_has_cjk(text) or text != message) else "en"
    return f"{_PREFIX[language][kind]}: {text}"


def error_for(exc: BaseException, lang: str | None) -> str:
    """An input error (a :class:`~gridkit.errors.GridkitError`) for the planner, in one language.

    In Chinese the location (file, feature, row, column) is composed in Chinese when the reason is
    known; otherwise the whole message stays English.
    """
    message = getattr(exc, "message", None)
    if resolve_lang(lang) == "zh" and isinstance(message, str):
        reason = translate(message, "zh")
        if reason != message or _has_cjk(message):
            where = []
            if getattr(exc, "source", None) is not None:
                where.append(str(exc.source))
            feature, row = getattr(exc, "feature", None), getattr(exc, "row", None)
            if feature is not None or row is not None:
                where.append(" ".join(([f"要素 {feature!r}"] if feature is not None else [])
                                      + ([f"第 {row} 行"] if row is not None else [])))
            if getattr(exc, "column", None) is not None:
                where.append(f"列 {exc.column!r}")
            text = f"{', '.join(where)}: {reason}" if where else reason
            return f"{_PREFIX['zh']['error']}: {text}"
    return error(str(exc), lang)


def note(message: str, lang: str | None) -> str:
    """A warning for the planner: prefix and text in one language."""
    return _prefixed("note", message, lang)


def error(message: str, lang: str | None) -> str:
    """An input error for the planner: prefix and text in one language."""
    return _prefixed("error", message, lang)


def escape(text: str) -> str:
    """``text`` safe to print with rich markup: ``[partition]`` stays ``[partition]``."""
    return _rich_escape(str(text))
