"""District configuration files (``gridkit.toml``) for the one-command pipeline.

A configuration names the input files and their columns, the partition rules (a target per community
type, e.g. urban 300 and rural 200 households), the staffing rule, the incident time limits and the
outputs. :func:`load_config` checks the whole file before any work starts: an unknown key, a missing
file or a wrong column name is a :class:`~gridkit.errors.GridkitError` that names the key, file or
column and suggests the closest valid name.

Relative paths are resolved against the folder of the configuration file.
"""

from __future__ import annotations

import difflib
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyogrio

from gridkit._validate import CHOICES
from gridkit.columns import suggest_column
from gridkit.encodings import normalise_encoding
from gridkit.errors import GridkitWarning, InputDataError
from gridkit.io import read_layer, read_table

__all__ = ["SCHEMA", "Config", "example_config", "load_config"]

# section -> {key: (type or tuple of types, default)}; ``None`` default = optional
SCHEMA: dict[str, dict[str, tuple[Any, Any]]] = {
    "district": {"name": (str, "district"), "lang": (str, "zh")},
    "inputs": {"communities": (str, None), "buildings": (str, None), "streets": (str, None),
               "osm": (str, None), "wardens": (str, None), "incidents": (str, None),
               "previous_grids": (str, None), "previous_assignment": (str, None), "register": (str, None),
               "encoding": (str, None),
               "staff": (str, None), "key_persons": (str, None), "incident_events": (str, None)},
    "columns": {"community_id": (str, None), "building_id": (str, None), "households": (str, None),
                "population": (str, None), "levels": (str, None), "community_code": (str, None),
                "name": (str, None), "use": (str, None)},
    "partition": {"by": (str, "households"), "target": ((int, float), None), "tolerance": (float, 0.1),
                  "seed": (int, 0), "type_column": (str, None), "targets": (dict, None),
                  "outside": (str, "error"), "overlapping": (str, "error"), "sequence_digits": (int, 3)},
    "run": {"workers": (int, 1), "scheduler": (str, None), "batch_by": (str, None)},
    "staffing": {"rule": (str, "one_per_grid"), "strict": (bool, False), "roles": (dict, None), "duties": (dict, None),
                 "source": (str, None)},
    "coverage": {"minutes": ((int, float), 10), "metres": ((int, float), None), "speed_kmh": ((int, float), 4.5)},
    "routes": {"enabled": (bool, True), "include_boundary": (bool, True), "speed_kmh": ((int, float), 4.5)},
    "incidents": {"coords": (str, "wgs84"), "period": (str, "month"), "time_limits_hours": (dict, None),
                  "tiers": (dict, None)},
    # programme presets (gridkit init --preset, issue 16): see gridkit.presets
    "preset": {"name": (str, None), "title": (str, None), "source": (str, None)},
    "cells": {"enabled": (bool, False), "cell_m2": ((int, float), 10_000), "tolerance": (float, 0.3)},
    "schedule": {"enabled": (bool, False), "year": (int, 2025), "visits_per_household": (int, 4),
                 "minutes_per_household": ((int, float), 10), "key_unit_visits": (int, 4),
                 "key_unit_minutes": ((int, float), 30), "key_uses": (list, None), "patrol_windows": (list, None),
                 "in_pairs": (bool, True), "hours_per_day": ((int, float), 8), "workdays": (list, None),
                 "holidays": (list, None)},
    "kpis": {"enabled": (bool, False), "weights": (dict, None), "group_by": (str, None), "groups": (dict, None),
             "key_person_weight": ((int, float), 0), "tiers": (dict, None)},
    "norms": {"households_per_grid": ((list, dict), None), "grids_per_community": (list, None),
              "visits_per_household": (int, None)},
    "outputs": {"folder": (str, "gridkit-out"), "formats": (list, ["geojson", "gpkg", "csv"]),
                "crs": (str, "EPSG:4326"), "map": (bool, True), "offline": (bool, True),
                "excel_csv": (bool, False), "report": (bool, True), "paper": (str, "A3"), "tiles": (str, None),
                "tiles_crs": (str, "wgs84")},
}
_REQUIRED_INPUTS = ("communities", "buildings")
#: (section, key) → the option whose choices (:data:`gridkit._validate.CHOICES`, the one list) it takes
_OPTIONS = {("partition", "by"): "by", ("partition", "outside"): "outside",
            ("partition", "overlapping"): "overlapping", ("district", "lang"): "lang",
            ("incidents", "coords"): "coords", ("incidents", "period"): "period",
            ("outputs", "paper"): "paper", ("outputs", "tiles_crs"): "tiles_crs"}


@dataclass
class Config:
    """A checked district configuration.

    Attributes
    ----------
    path
        The configuration file.
    sections
        ``{section: {key: value}}`` with every default filled in and input paths made absolute.
    """

    path: Path
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, section: str) -> dict[str, Any]:
        """Return one section (``config["partition"]["tolerance"]``)."""
        return self.sections[section]

    @property
    def columns(self) -> dict[str, str]:
        """Standard column name → the user's column name, for the columns that were given."""
        return {k: v for k, v in self.sections["columns"].items() if v}

    def input_path(self, name: str) -> Path | None:
        """The absolute path of input ``name``, or None when it was not given."""
        value = self.sections["inputs"].get(name)
        return Path(value) if value else None


def _suggest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else f"; valid: {', '.join(valid)}"


def _check_keys(raw: dict[str, Any], source: str) -> None:
    for section, body in raw.items():
        if section not in SCHEMA:
            raise InputDataError(f"unknown section [{section}]{_suggest(section, list(SCHEMA))}", source=source)
        if not isinstance(body, dict):
            raise InputDataError(f"[{section}] must be a table of keys", source=source)
        for key, value in body.items():
            if key not in SCHEMA[section]:
                raise InputDataError(f"unknown key '{key}' in [{section}]{_suggest(key, list(SCHEMA[section]))}",
                                     source=source)
            kind = SCHEMA[section][key][0]
            if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
                wanted = " or ".join(t.__name__ for t in (kind if isinstance(kind, tuple) else (kind,)))
                raise InputDataError(f"[{section}] {key} = {value!r} must be {wanted}", source=source)
            option = _OPTIONS.get((section, key))
            if option is not None and value not in CHOICES[option]:
                raise InputDataError(f"[{section}] {key} = {value!r} is not valid"
                                     f"{_suggest(str(value), CHOICES[option])}", source=source)
            if (section, key) == ("inputs", "encoding"):
                normalise_encoding(value)


def _fill(raw: dict[str, Any], base: Path) -> dict[str, dict[str, Any]]:
    sections = {s: {k: raw.get(s, {}).get(k, default) for k, (_, default) in keys.items()}
                for s, keys in SCHEMA.items()}
    for key, value in sections["inputs"].items():
        if value and key != "encoding":
            path = Path(value).expanduser()
            sections["inputs"][key] = str(path if path.is_absolute() else (base / path).resolve())
    folder = Path(sections["outputs"]["folder"]).expanduser()
    sections["outputs"]["folder"] = str(folder if folder.is_absolute() else (base / folder).resolve())
    return sections


def _file_columns(path: Path, encoding: str | None = None) -> list[str]:
    if path.suffix.lower() in {".csv", ".tsv", ".txt"}:
        return [str(c) for c in read_table(path, encoding=encoding, nrows=0).columns]
    if path.suffix.lower() in {".shp", ".dbf"} and (encoding or not path.with_suffix(".cpg").exists()):
        # a Shapefile without .cpg: read the names as the reader will (encoding detected)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GridkitWarning)
            layer = read_layer(path, encoding=encoding, crs="EPSG:4326")
        return [str(c) for c in layer.columns if c != layer.geometry.name]
    return list(pyogrio.read_info(path)["fields"])


def _check_inputs(sections: dict[str, dict[str, Any]], source: str) -> None:
    inputs = sections["inputs"]
    for name in _REQUIRED_INPUTS:
        if not inputs[name]:
            raise InputDataError(f"[inputs] {name} is required", source=source)
    if bool(inputs["previous_grids"]) != bool(inputs["previous_assignment"]):
        raise InputDataError("[inputs] previous_grids and previous_assignment go together (regenerating needs "
                             "both the previous grids and their building assignment)", source=source)
    for name, value in inputs.items():
        if value and name != "encoding" and not Path(value).exists():
            raise InputDataError(f"[inputs] {name}: file not found: {value}", source=source)
    where = {"community_id": "communities", "community_code": "communities", "name": "communities",
             "building_id": "buildings", "households": "buildings", "population": "buildings",
             "levels": "buildings", "use": "buildings"}
    for std, user in sections["columns"].items():
        if not user:
            continue
        path = Path(inputs[where[std]])
        present = _file_columns(path, inputs["encoding"])
        if user not in present:
            raise InputDataError(f"[columns] {std} = '{user}' is not a column of {path.name}"
                                 f"{suggest_column(user, present, 'code' if std == 'community_code' else std)}",
                                 source=source, column=user)
    type_column = sections["partition"]["type_column"]
    if type_column:
        present = _file_columns(Path(inputs["communities"]), inputs["encoding"])
        if type_column not in present:
            raise InputDataError(f"[partition] type_column = '{type_column}' is not a column of the communities"
                                 f"{_suggest(type_column, present)}", source=source, column=type_column)


def load_config(path: str | Path) -> Config:
    """Read and check a ``gridkit.toml`` district configuration.

    Parameters
    ----------
    path
        The TOML file.

    Returns
    -------
    Config
        Every key checked, defaults filled in, input paths absolute (relative ones are taken from the
        configuration's folder).

    Raises
    ------
    InputDataError
        Unknown section or key (with the closest valid one), wrong type or value, a missing file, a
        column that is not in its file.
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise InputDataError(f"configuration file not found: {path}", source=source)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputDataError(f"not valid TOML: {exc}", source=source) from exc
    _check_keys(raw, source)
    sections = _fill(raw, path.parent.resolve())
    _check_inputs(sections, source)
    return Config(path=path, sections=sections)


def example_config(data_folder: str = "sample-data") -> str:
    """Return the commented example configuration that ``gridkit init`` writes.

    Parameters
    ----------
    data_folder
        Folder (relative to the configuration) that holds the input files.
    """
    return _EXAMPLE.replace("{data}", data_folder)


_EXAMPLE = """\
# gridkit district configuration / 街道网格化配置
# Run it with:  gridkit run gridkit.toml
# Paths are relative to this file. Every key is checked before any work starts.

[district]
name = "锦官街道"          # shown in the summary and on the map
lang = "zh"               # messages and map labels: zh or en

[inputs]
communities = "{data}/communities.geojson"   # community polygons (社区边界), with a CRS
buildings = "{data}/buildings.geojson"       # building footprints or points (建筑)
streets = "{data}/streets.geojson"           # street centrelines (街巷); or osm = "district.osm.pbf"
wardens = "{data}/wardens.csv"               # roster (网格员): warden_id,name,role,capacity,lon,lat
incidents = "{data}/incidents.csv"           # incidents (事件): incident_id,lon,lat,category,status,...
# To regenerate after housing changes (动态调整) instead of partitioning afresh, name the previous plan
# (copied out of the output folder); codes are kept, churn is reported, changes.csv lists every grid:
# previous_grids = "previous/grids.geojson"
# previous_assignment = "previous/assignment.csv"
# encoding = "gbk"        # text encoding of CSV/Shapefile inputs; by default detected (UTF-8, GBK/GB18030)

[columns]                 # your column names, where they differ from the standard ones
# households = "hh"        # a column named here must exist (did-you-mean otherwise); 户数, 人口 … are found
# building_id = "osm_id"

[partition]
by = "households"         # households, population or area
tolerance = 0.1           # ±10 % around the mean grid of each community
# outside = "report"      # buildings outside every community: error (default) or report
# overlapping = "clip"    # overlapping communities: error (default) or clip (the first listed keeps it)
type_column = "kind"      # community column that names its type; targets per type below
seed = 0

[partition.targets]       # households per grid by community type (urban 300, rural 200)
default = 300
village = 200

[staffing]
rule = "one_per_grid"     # one_per_grid, per_households:300 or 1+1+2

[coverage]
minutes = 10              # a household is covered within this walk of its warden's station
speed_kmh = 4.5

[routes]
enabled = true
include_boundary = true   # boundary streets are patrolled too
speed_kmh = 4.5

[incidents]
coords = "wgs84"          # wgs84, gcj02 (Gaode/Tencent) or bd09 (Baidu)
period = "month"          # month or week
# time_limits_hours = { 矛盾纠纷 = 72, 安全隐患 = 48 }

[outputs]
folder = "gridkit-out"
formats = ["gpkg", "shp", "csv"]   # and/or "geojson" (EPSG:4326 and gcj02 only)
crs = "cgcs2000-gk3"      # EPSG:4326, EPSG:4490 (CGCS2000), cgcs2000-gk3 (zone from the data), gcj02
map = true
offline = true            # the map page needs no network
excel_csv = false         # true: every CSV starts with a byte-order mark so Excel shows Chinese
report = true             # report.pdf for the street-office meeting (needs a CJK font: fonts-noto-cjk)
paper = "A3"              # A3 or A4, landscape
# tiles = "http://intranet/tiles/{z}/{x}/{y}.png"   # optional basemap (an intranet 天地图); none by default
# tiles_crs = "gcj02"     # when those tiles are in GCJ-02
"""
