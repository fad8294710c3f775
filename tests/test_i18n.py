"""Messages a planner reads: one language per message, no internal jargon, markup kept."""

from __future__ import annotations

import pytest
from rich.console import Console

from gridkit.errors import InputDataError
from gridkit.i18n import error_for, escape, note, resolve_lang, translate

PARTITION_NOTE = ("community 'C02': 3 indivisible building(s) or block(s) heavier than the upper bound made "
                  "oversize grids of their own; 22 grids instead of 23 from the target: the large buildings "
                  "balance better; ±10% not reached for 8 of 19 grids; best max |deviation| found 0.416 "
                  "(buildings are large against the target: the largest block or building cell that is not "
                  "oversize holds 1.10 of a grid's target)")


def _latin_words(text: str) -> list[str]:
    return [w for w in text.replace("'", " ").split() if w.isascii() and w.isalpha() and len(w) > 2]


def test_a_partition_note_is_wholly_chinese_in_zh_and_wholly_english_in_en():
    zh = note(PARTITION_NOTE, "zh")
    assert zh.startswith("提示: 社区 'C02': 3 栋")
    assert _latin_words(zh) == []
    en = note(PARTITION_NOTE, "en")
    assert en.startswith("note: community 'C02'")
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en)
    assert "atom" not in zh + en


def test_an_unknown_message_stays_english_with_an_english_prefix():
    assert note("something new happened", "zh") == "note: something new happened"
    assert translate("community 'C01': something new", "zh") == "community 'C01': something new"


def test_the_partition_writes_no_jargon(sample, sample_result):
    text = " ".join(sample_result.report["message"].fillna("").astype(str))
    assert "atom" not in text


def test_an_input_error_names_its_place_in_one_language():
    exc = InputDataError("value -3 is not a non-negative integer", source="b.geojson", feature="B4", row=4,
                         column="households")
    assert error_for(exc, "zh") == "输入错误: b.geojson, 要素 'B4' 第 4 行, 列 'households': 值 -3 不是非负整数"
    assert error_for(exc, "en").startswith("input error: b.geojson, feature 'B4' row 4")


def test_markup_is_escaped_so_section_names_survive():
    console = Console(record=True, width=200)
    console.print(escape("gridkit.toml: unknown key 'taget' in [partition]; did you mean 'target'?"))
    assert "in [partition];" in console.export_text()


@pytest.mark.parametrize(("env", "expected"), [({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"),
                                               ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
                                               ({"LANG": "C.UTF-8"}, "zh")])
def test_the_language_follows_the_system_locale(monkeypatch, env, expected):
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert resolve_lang(None) == expected
    assert resolve_lang("en") == "en"
    with pytest.raises(ValueError, match="unknown language"):
        resolve_lang("fr")
