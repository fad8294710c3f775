"""The meeting report: its tables (fast) and the PDF itself, opened with poppler (slow, needs a CJK font).

The PDF must open (``pdftoppm`` renders every page), its text layer must hold every community's
name, the roster's codes and the reasons for grids out of tolerance (``pdftotext``), and the first
page's image must show the map: many pixels in the tier colours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridkit.errors import GridkitError
from gridkit.incidents import grid_stats, prepare_incidents
from gridkit.report import community_table, meeting_report, out_of_tolerance, roster_table

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def stats(sample, sample_result):
    return grid_stats(prepare_incidents(sample.folder / "incidents.csv", sample_result.grids), sample_result.grids)


def test_community_table_adds_up(sample, sample_result, stats):
    grids = sample_result.grids
    table = community_table(grids, sample.communities, partition_report=sample_result.report, stats=stats)
    assert table["grids"].sum() == len(grids)
    assert table["households"].sum() == grids["households"].sum()
    assert (table[["green", "orange", "red"]].sum(axis=1) <= table["grids"]).all()
    assert table[["green", "orange", "red"]].to_numpy().sum() == stats["tier"].isin(["green", "orange", "red"]).sum()
    assert set(table["name"]) == set(sample.communities["name"])
    report = sample_result.report.set_index("community_id")
    for row in table.itertuples():
        assert row.max_abs_deviation == pytest.approx(report.loc[row.community_id, "max_abs_deviation"])


def test_out_of_tolerance_says_why_in_plain_words(sample, sample_result):
    grids = sample_result.grids
    out = out_of_tolerance(grids, partition_report=sample_result.report, assignment=sample_result.assignment,
                           buildings=sample.buildings, communities=sample.communities)
    bad = grids[(grids["deviation"].abs() > 0.1 + 1e-9) | grids["oversize"]]
    assert sorted(out["grid_id"]) == sorted(bad["grid_id"])
    assert out["reason"].str.len().min() > 5
    oversize = out[out["grid_id"].isin(grids.loc[grids["oversize"], "grid_id"])]
    assert oversize["reason"].str.contains("超过上限").all()
    assert not out["reason"].str.contains("atom").any()
    en = out_of_tolerance(grids, partition_report=sample_result.report, assignment=sample_result.assignment,
                          buildings=sample.buildings, communities=sample.communities, lang="en")
    assert en["reason"].str.contains("above the upper bound").sum() == len(oversize)


def test_a_community_smaller_than_one_grid_is_named_as_such(sample_result):
    grids = sample_result.grids[sample_result.grids["community_id"] == "C01"].head(1).copy()
    grids["deviation"], grids["oversize"] = -0.6, False
    reason = out_of_tolerance(grids, lang="en")["reason"].iloc[0]
    assert "smaller than one grid" in reason


def test_roster_lists_every_grid_with_its_wardens(sample, sample_result):
    grids = sample_result.grids
    staffing = pd.DataFrame({"warden_id": ["W1", "W2", "P1"], "name": ["甲", "乙", "丙"],
                             "role": ["full_time", "full_time", "police"],
                             "grid_id": [grids["grid_id"].iloc[0]] * 2 + [grids["grid_id"].iloc[1]]})
    roster = roster_table(grids, staffing)
    assert len(roster) == len(grids)
    assert roster.loc[0, "wardens"] == "甲、乙"
    assert roster.loc[1, "police"] == "丙"
    assert roster.loc[2, "wardens"] == ""


def test_paper_must_be_a3_or_a4(sample, sample_result, tmp_path):
    with pytest.raises(GridkitError, match="paper"):
        meeting_report(tmp_path / "r.pdf", sample_result.grids, communities=sample.communities, paper="Letter")


def _tools() -> bool:
    return shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["A3", "A4"])
def test_the_pdf_opens_holds_the_names_and_shows_the_map(sample, sample_result, stats, tmp_path, paper):
    if not _tools():
        if os.environ.get("CI"):
            pytest.fail("poppler-utils missing in CI (bash .ci/report.sh)")
        pytest.skip("pdftoppm/pdftotext not installed (apt-get install poppler-utils)")
    from gridkit.network import street_graph  # noqa: PLC0415
    from gridkit.wardens import assign_wardens  # noqa: PLC0415
    from gridkit.workload import warden_workload  # noqa: PLC0415

    grids = sample_result.grids
    plan = assign_wardens(grids, sample.wardens, rule="one_per_grid", graph=street_graph(sample.streets))
    load = warden_workload(plan, grids, streets=sample.streets)
    path = meeting_report(tmp_path / f"report_{paper}.pdf", grids, communities=sample.communities,
                          buildings=sample.buildings, streets=sample.streets, partition_report=sample_result.report,
                          assignment=sample_result.assignment, staffing=plan.assignment, workload=load, stats=stats,
                          title="锦官街道", paper=paper, sources="示例数据", preview=tmp_path / "preview.html")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for name in sample.communities["name"]:
        assert name in text, name
    assert "锦官街道 网格化管理" in text
    assert "数据来源: 示例数据" in text
    assert "制图日期" in text
    assert grids["grid_id"].iloc[-1] in text  # the roster
    assert "超过上限" in text  # a reason for an oversize grid
    assert plan.assignment["name"].iloc[0] in text
    pages = int(next(line.split()[-1] for line in subprocess.run(["pdfinfo", str(path)], capture_output=True,
                                                                 text=True, check=True).stdout.splitlines()
                     if line.startswith("Pages:")))
    assert pages >= 2 + len(sample.communities) + 2
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(prefix)], capture_output=True, check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    import matplotlib.image as mpimg  # noqa: PLC0415

    first = (mpimg.imread(images[0])[..., :3] * 255).round().astype(int)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(images[0], ARTIFACTS / f"report_{paper}_page1.png")
    # the map: tier colours at 60 % over white cover a good part of the page
    green = np.array([0x1a, 0x98, 0x50]) * 0.6 + 255 * 0.4
    close = np.abs(first - green).sum(axis=-1) < 40
    assert close.mean() > 0.05
    assert (tmp_path / "preview.html").stat().st_size > 10_000
