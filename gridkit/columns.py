"""Column names as they come: the user's names, the standard names and common (Chinese) names of each.

Every layer has standard columns (GUIDE §3: ``community_id``, ``building_id``, ``households`` …). A
column the user names (``columns=``, ``--households-col``, ``[columns]`` in ``gridkit.toml``) must
exist; a misspelt one is an error with "did you mean", never a silent fall-back (a missing households
column would otherwise replace every real count by an estimate). A standard column that is absent is
looked up by the names planners use (``户数``, ``人口``, ``社区编码`` …), with a warning naming the one used.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping, Sequence

import pandas as pd

from gridkit.errors import GridkitError, GridkitWarning, InputDataError
from gridkit.io import source_name

__all__ = ["COLUMN_ALIASES", "COLUMN_KEYS", "check_column_names", "resolve_column", "standard_columns",
           "suggest_column"]

#: Common names of the standard columns, checked (case-insensitively) when the standard name is absent.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "community_id": ("community_", "社区id", "社区编号", "社区代码", "community", "sq_id", "shequ_id"),
    "name": ("名称", "社区名称", "社区名", "名字", "建筑名称", "name_zh"),
    "code": ("社区编码", "区划代码", "统计用区划代码", "编码"),
    "target": ("目标户数", "目标"),
    "building_id": ("building_i", "建筑编号", "建筑id", "楼栋编号", "楼栋id", "楼号", "bldg_id", "osm_id"),
    "households": ("户数", "住户数", "总户数", "户", "hh", "n_households", "dwellings"),
    "population": ("人口", "人数", "人口数", "常住人口", "pop", "persons"),
    "levels": ("层数", "楼层", "楼层数", "地上层数", "building:levels", "floors", "storeys"),
    "use": ("用途", "建筑用途", "性质", "building"),
}


#: The keys a ``columns=`` mapping may use (``community_code`` is the configuration's name of ``code``).
COLUMN_KEYS = tuple(COLUMN_ALIASES)


def _lower_map(gdf: pd.DataFrame) -> dict[str, str]:
    return {str(c).strip().lower(): str(c) for c in gdf.columns}


def suggest_column(name: str, gdf: pd.DataFrame | Sequence[str], standard: str | None = None) -> str:
    """The "did you mean" part of a missing-column message: the closest column, an alias, or the list.

    ``gdf`` is the layer, or the names of its columns.
    """
    columns = gdf.columns if isinstance(gdf, pd.DataFrame) else list(gdf)
    present = [str(c) for c in columns if c != getattr(gdf, "_geometry_column_name", None)]
    near = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
    if not near:
        lower = {c.lower(): c for c in present}
        near = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
        near = [lower[n] for n in near]
    if not near and standard is not None:
        names = {a.lower() for a in (standard, *COLUMN_ALIASES.get(standard, ()))}
        near = [c for c in present if c.strip().lower() in names]
    if near:
        return f"; did you mean {near[0]!r}?"
    return f"; its columns are {present}"


def resolve_column(gdf: pd.DataFrame, standard: str, given: str | None, *, label: str,
                   required: bool = False) -> str | None:
    """The column of ``gdf`` that holds the standard column ``standard``.

    Parameters
    ----------
    gdf
        The layer.
    standard
        The standard name (``"households"``).
    given
        The column the user named (CLI ``--households-col``, ``columns=``, ``[columns]``), or None.
    label
        What the layer is, for messages.
    required
        Whether a missing column is an error even when the user named none.

    Returns
    -------
    str or None
        ``given`` when it is a column; else ``standard`` when present; else a common name of it
        (:data:`COLUMN_ALIASES`, e.g. ``户数`` for households) with a warning saying it is used; else
        None (only when not ``required``).

    Raises
    ------
    InputDataError
        A column the user named is missing (whatever the layer has: a misspelt households column
        must never turn every count into an estimate), or a required one is; with "did you mean".
    """
    if given is not None and given != "":
        if given in gdf.columns:
            return given
        raise InputDataError(f"{label} has no column {given!r} (named for {standard})"
                             f"{suggest_column(given, gdf, standard)}", source=source_name(gdf), column=given)
    if standard in gdf.columns:
        return standard
    lower = _lower_map(gdf)
    for alias in (standard, *COLUMN_ALIASES.get(standard, ())):
        if alias.lower() in lower:
            found = lower[alias.lower()]
            warnings.warn(f"{source_name(gdf)}: no {standard!r} column; using {found!r} as {standard} "
                          f"(name it with columns={{{standard!r}: ...}} or --{standard.replace('_', '-')}-col to "
                          "choose another)", GridkitWarning, stacklevel=3)
            return found
    if required:
        raise InputDataError(f"{label} has no column {standard!r}{suggest_column(standard, gdf, standard)}",
                             source=source_name(gdf), column=standard)
    return None


def check_column_names(columns: Mapping[str, str] | None, known: Sequence[str]) -> dict[str, str]:
    """Check the keys of a ``columns=`` mapping (standard names); an unknown key is an error."""
    out = dict(columns or {})
    if "community_code" in out and "code" not in out:
        out["code"] = out.pop("community_code")
    for key, value in out.items():
        if key not in known:
            near = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else f"; keys are {', '.join(known)}"
            raise GridkitError(f"columns= has no standard column {key!r}{hint} (map a standard name to yours, "
                               "e.g. {'households': '户数'})")
        if not isinstance(value, str) or not value:
            raise GridkitError(f"columns={{{key!r}: {value!r}}}: the column name must be a non-empty string")
    return out


def standard_columns(gdf: pd.DataFrame, given: Mapping[str, str | None], *, label: str) -> pd.DataFrame:
    """``gdf`` with the columns in ``given`` (standard name → the user's name or None) renamed to standard.

    Each is found by :func:`resolve_column`: a named column must exist, an unnamed one is looked up by
    its standard and common names; one not found at all is left out of the renaming.
    """
    renames = {}
    for standard, user in given.items():
        found = resolve_column(gdf, standard, user, label=label)
        if found is not None and found != standard:
            renames[found] = standard
    return gdf.rename(columns=renames) if renames else gdf
