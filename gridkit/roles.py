"""Roster roles as rosters name them, and the rules that depend on a person's role.

A roster says ``full_time``, ``warden``, ``网格员``, ``专职网格员``, ``兼职``, ``网格警``, ``民警``,
``志愿者`` …; :func:`normalise_roles` brings each to one of :data:`ROLES`. Two rules depend on the role,
each written here once and called by the library, the pipeline, the CLI and the maps:

- :func:`is_grid_warden`: the grid wardens (full-time and part-time) are the people who serve a
  grid's buildings and walk its patrol route; police officers cover clusters of grids and
  volunteers help the community, neither walks a grid's route nor is a building's own warden.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from gridkit.errors import InputDataError

__all__ = ["GRID_WARDEN_ROLES", "ROLES", "ROLE_NAMES", "is_grid_warden", "normalise_role", "normalise_roles"]

#: The roles gridkit knows.
ROLES = ("full_time", "part_time", "police", "volunteer")
#: Roles whose people serve a grid's buildings and walk its patrol route.
GRID_WARDEN_ROLES = ("full_time", "part_time")

#: Names a roster may use for each role (compared after lower-casing and turning spaces and hyphens
#: into underscores).
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "full_time": ("full_time", "fulltime", "warden", "grid_warden", "full_time_warden", "grid_worker",
                  "grid_manager", "grid_officer", "专职", "专职网格员", "网格员", "网格长", "专职网格长", "全职",
                  "全职网格员", "网格管理员"),
    "part_time": ("part_time", "parttime", "part_time_warden", "patrol", "patroller", "兼职", "兼职网格员",
                  "巡防", "巡防员", "巡防队员"),
    "police": ("police", "grid_police", "police_officer", "officer", "community_police", "民警", "网格民警",
               "网格警", "社区民警", "警察", "片警", "社区警务"),
    "volunteer": ("volunteer", "volunteers", "志愿者", "志愿", "志愿服务者", "义工"),
}
_LOOKUP = {name.lower(): role for role, names in ROLE_NAMES.items() for name in names}


def _key(value: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower())


def normalise_role(value: object) -> str | None:
    """The role (one of :data:`ROLES`) a roster's role text names, or None when it names none.

    Examples
    --------
    >>> normalise_role("专职网格员"), normalise_role("Warden"), normalise_role("网格警")
    ('full_time', 'full_time', 'police')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return _LOOKUP.get(_key(value))


def normalise_roles(roles: pd.Series, *, source: object = None, ids: pd.Series | None = None,
                    column: str = "role") -> pd.Series:
    """Normalise a roster's role column; an unknown role is an error naming the row and the closest role.

    Parameters
    ----------
    roles
        The role column as written.
    source
        The roster file, for the error.
    ids
        The warden ids, to name the person in the error.
    column
        The name of the role column, for the error.

    Returns
    -------
    pandas.Series
        One of :data:`ROLES` per row (same index).
    """
    norm = roles.astype(object).map(normalise_role)
    bad = norm.isna().to_numpy()
    if bad.any():
        row = int(bad.nonzero()[0][0])
        given = roles.iloc[row]
        near = difflib.get_close_matches(_key(given), list(_LOOKUP), n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r} ({_LOOKUP[near[0]]})?" if near else ""
        raise InputDataError(
            f"unknown role {given!r}{hint}; roles are full_time (专职网格员, warden), part_time (兼职网格员), "
            f"police (网格警, 民警) and volunteer (志愿者) ({int(bad.sum())} rows in all)",
            source=source, row=row, feature=None if ids is None else ids.iloc[row], column=column)
    return norm.astype(str)


def is_grid_warden(roles: Iterable[object]) -> np.ndarray:
    """True where a role (normalised or as written) is a grid warden's: full-time or part-time.

    The one rule for who serves a grid's buildings and walks its patrol route.
    """
    return np.array([normalise_role(r) in GRID_WARDEN_ROLES for r in roles], dtype=bool)
