"""Tables that open cleanly: ids as text, counts as integers, shares rounded, hectares, no nan, BOM."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

from gridkit.tables import planner_table, read_table, write_table


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"grid_id": [510107003005001, 510107003005002], "community_id": ["C05", None],
                         "households": [7.0, np.nan], "share_within_tolerance": [0.09729729729729733, 1.0],
                         "area_m2": [752269.5, 10000.0], "name": ["青杠村", float("nan")],
                         "length_m": [1234.5678, 0.0]})


def test_planner_table_formats_for_people():
    table = planner_table(_frame())
    assert table["grid_id"].tolist() == ["510107003005001", "510107003005002"]
    assert str(table["households"].dtype) == "Int64"
    assert table["households"].iloc[0] == 7
    assert table["share_within_tolerance"].iloc[0] == 0.097
    assert "area_m2" not in table.columns
    assert table["area_ha"].tolist() == [75.23, 1.0]
    assert table["length_m"].iloc[0] == 1234.6
    assert planner_table(_frame(), hectares=False)["area_m2"].iloc[0] == 752269.5


def test_written_csv_quotes_ids_has_a_csvt_and_no_nan(tmp_path):
    path = write_table(_frame(), tmp_path / "grid_stats.csv")
    text = path.read_text(encoding="utf-8")
    assert '"510107003005001"' in text
    assert "nan" not in text.lower()
    assert ",7," in text  # an integer, not 7.0
    assert "5.10107E+14" not in text
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][0] == "grid_id"
    assert rows[2][2] == ""  # a missing count is an empty cell
    types = (tmp_path / "grid_stats.csvt").read_text(encoding="utf-8").strip()
    assert types.startswith('"String","String","Integer64","Real"')
    assert not text.startswith("\ufeff")


def test_excel_option_writes_a_bom_and_ids_read_back_as_text(tmp_path, sample_result):
    grids = sample_result.grids
    stats = grids[["grid_id", "households"]].assign(count=np.arange(len(grids), dtype=float))
    path = write_table(stats, tmp_path / "stats.csv", excel=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = read_table(path)
    merged = grids.merge(back, on="grid_id", suffixes=("", "_csv"))  # str on both sides: the merge works
    assert len(merged) == len(grids)
    assert (merged["count"] == np.arange(len(grids))).all()
    assert pd.read_csv(path, encoding="utf-8-sig", dtype={"grid_id": str})["grid_id"].tolist() == \
        grids["grid_id"].tolist()
