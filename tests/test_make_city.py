"""scripts/make_city.py: a deterministic synthetic city with unique ids and codes in every copy."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from make_city import make_city, office_code

from gridkit.config import load_config


def test_copies_have_unique_ids_codes_and_the_same_content(tmp_path, sample):
    counts = make_city(2, tmp_path / "a")
    assert counts == {"communities": 10, "buildings": 2 * len(sample.buildings), "streets": 2 * len(sample.streets),
                      "wardens": 2 * len(sample.wardens), "incidents": 2 * len(sample.incidents)}
    comm = gpd.read_file(tmp_path / "a" / "communities.geojson")
    bld = gpd.read_file(tmp_path / "a" / "buildings.geojson")
    wardens = pd.read_csv(tmp_path / "a" / "wardens.csv")
    incidents = pd.read_csv(tmp_path / "a" / "incidents.csv")
    for frame, col in ((comm, "community_id"), (comm, "code"), (bld, "building_id"), (wardens, "warden_id")):
        assert frame[col].is_unique, col
    # the sample's planted duplicate incidents stay duplicates within their copy, never across copies
    assert incidents["incident_id"].duplicated().sum() == 2 * sample.incidents["incident_id"].duplicated().sum()
    assert comm["code"].str.fullmatch(r"\d{12}").all()
    assert sorted(comm["street_office"].unique()) == ["JD0001", "JD0002"]
    assert set(wardens["community_id"]) == set(comm["community_id"])
    assert bld.groupby(bld["building_id"].str[:6])["households"].sum().tolist() == [
        int(sample.buildings["households"].sum())] * 2
    # copies do not overlap, and the configuration beside them loads
    first, second = (comm[comm["street_office"] == t].union_all() for t in ("JD0001", "JD0002"))
    assert first.intersection(second).area == 0
    load_config(tmp_path / "a" / "gridkit.toml")
    make_city(2, tmp_path / "b")
    for name in ("communities.geojson", "buildings.geojson", "wardens.csv", "incidents.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_office_codes_carry_into_the_next_district():
    assert office_code(0) == "510107001"
    assert office_code(998) == "510107999"
    assert office_code(999) == "510108001"
