"""Every input check at once, before any partition: ``gridkit check-inputs``.

:func:`check_inputs` runs the same checks the partition, the roster and the incident readers make
(:mod:`gridkit._validate`, :func:`gridkit.wardens.read_roster`, :func:`gridkit.incidents.read_incidents`)
and the cross-layer ones (communities overlapping each other, buildings outside every community), and
returns one table instead of stopping at the first problem.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridkit import _validate
from gridkit.crs import local_metric_crs
from gridkit.errors import GridkitError
from gridkit.io import read_layer
from gridkit.metrics import overlapping_pairs
from gridkit.spatial import polygon_holding, representative_points

__all__ = ["check_inputs"]

Source = str | os.PathLike[str] | gpd.GeoDataFrame


class _Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, layer: str, check: str, status: str, message: str) -> None:
        self.rows.append({"layer": layer, "check": check, "status": status, "message": message})

    def run(self, layer: str, check: str, func: Callable[[], Any]) -> Any:
        """Run one check: its warnings become rows, a GridkitError an error row (and None is returned)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = func()
            except GridkitError as exc:
                self.add(layer, check, "error", str(exc))
                return None
        for item in caught:
            self.add(layer, check, "warning", str(item.message))
        if not caught:
            self.add(layer, check, "ok", "")
        return value


def check_inputs(
    communities: Source,
    buildings: Source | None = None,
    streets: Source | None = None,
    wardens: Source | None = None,
    incidents: Source | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    outside: str = "error",
) -> pd.DataFrame:
    """Check every input layer and how they fit together; return one row per check.

    Parameters
    ----------
    communities, buildings, streets, wardens, incidents
        The inputs as :func:`gridkit.partition`, :func:`gridkit.wardens.read_roster` and
        :func:`gridkit.incidents.read_incidents` take them (paths or frames); all but communities optional.
    columns
        Input column names where they differ from the standard ones.
    outside
        ``"error"`` or ``"report"``: whether buildings outside every community are an error or a warning.

    Returns
    -------
    pandas.DataFrame
        ``layer``, ``check``, ``status`` (``ok``, ``warning``, ``error``), ``message``.

    Examples
    --------
    >>> from gridkit.samples import load_sample
    >>> s = load_sample()
    >>> table = check_inputs(s.communities, s.buildings, s.streets)
    >>> sorted(set(table["status"]))
    ['ok']
    """
    names = dict(columns or {})
    report = _Report()
    comm = report.run("communities", "read and check", lambda: _validate.communities(
        read_layer(communities, label="communities"), id_col=names.get("community_id"), check_overlap=False,
        **{f"{k}_col": names.get(k) for k in ("name", "code", "target")}))
    if comm is not None:
        _community_overlaps(report, comm)
    bld = None
    if buildings is not None:
        bld = report.run("buildings", "read and check", lambda: _validate.buildings(
            read_layer(buildings, label="buildings"), id_col=names.get("building_id"),
            households_col=names.get("households"),
            population_col=names.get("population"),
            levels_col=names.get("levels"), use_col=names.get("use")))
    if bld is not None and comm is not None:
        _buildings_outside(report, comm, bld, outside)
    if streets is not None:
        report.run("streets", "read and check", lambda: _validate.streets(read_layer(streets, label="streets")))
    if wardens is not None:
        from gridkit.wardens import read_roster  # noqa: PLC0415

        report.run("wardens", "read and check", lambda: read_roster(wardens, district=comm))
    if incidents is not None:
        from gridkit.incidents import read_incidents  # noqa: PLC0415

        report.run("incidents", "read and check", lambda: read_incidents(incidents))
    return pd.DataFrame(report.rows, columns=["layer", "check", "status", "message"])


def _community_overlaps(report: _Report, comm: gpd.GeoDataFrame) -> None:
    metric = comm.to_crs(local_metric_crs(comm))
    left, right, area = overlapping_pairs(metric.geometry.to_numpy())
    ids = metric["community_id"].to_numpy(dtype=object)
    for a, b, m2 in zip(left, right, area, strict=True):
        report.add("communities", "no overlap", "error",
                   f"communities {ids[a]!r} and {ids[b]!r} overlap by {m2:,.0f} m²; grids of both would "
                   "cover the same buildings")
    if not len(left):
        report.add("communities", "no overlap", "ok", "")


def _buildings_outside(report: _Report, comm: gpd.GeoDataFrame, bld: gpd.GeoDataFrame, outside: str) -> None:
    crs = local_metric_crs(comm)
    points = representative_points(bld.to_crs(crs).geometry.to_numpy())
    holder = polygon_holding(points, comm.to_crs(crs).geometry.to_numpy())
    lost = np.flatnonzero(holder < 0)
    if not len(lost):
        report.add("buildings", "inside a community", "ok", "")
        return
    ids = bld["building_id"].to_numpy(dtype=object)[lost]
    shown = ", ".join(map(repr, ids[:5])) + (" …" if len(ids) > 5 else "")
    report.add("buildings", "inside a community", "error" if outside == "error" else "warning",
               f"{len(ids)} buildings lie outside every community ({shown})"
               + ("; pass outside='report' to list them and leave them out" if outside == "error" else ""))
