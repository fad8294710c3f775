"""The grid code register of :mod:`gridkit.regenerate`: which codes exist, which are retired.

A code is never given twice: a new grid takes the next sequence number after the largest one the
community has ever used (active or retired), so a retired code cannot come back. The register is a
plain table (``grid_id``, ``community_id``, ``seq``, ``status`` = ``active`` / ``retired``,
``note``) written beside the outputs and read back on the next run.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from gridkit.codes import grid_code
from gridkit.errors import GridkitError, InputDataError

REGISTER_COLUMNS = ["grid_id", "community_id", "seq", "status", "note"]
_SEQ = re.compile(r"(\d{3})$")


def sequence_of(grid_id: str) -> int:
    """Sequence number of a grid code: its last three digits (0 when it has none)."""
    match = _SEQ.search(str(grid_id))
    return int(match.group(1)) if match else 0


def read_register(register: str | os.PathLike[str] | pd.DataFrame | None) -> pd.DataFrame:
    """Read a register (CSV path or table); an empty register for None."""
    if register is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REGISTER_COLUMNS})
    if isinstance(register, pd.DataFrame):
        table, source = register.copy(), "<register>"
    else:
        try:
            table = pd.read_csv(register, dtype={"grid_id": str, "community_id": str, "status": str, "note": str})
        except (OSError, pd.errors.ParserError) as exc:
            raise InputDataError(f"cannot read the code register: {exc}", source=register) from exc
        source = str(register)
    missing = [c for c in ("grid_id", "community_id", "status") if c not in table.columns]
    if missing:
        raise InputDataError(f"the code register lacks the column(s) {missing}", source=source)
    bad = ~table["status"].isin(["active", "retired"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError("status must be 'active' or 'retired'", source=source, row=row,
                             feature=table["grid_id"].iloc[row], column="status")
    table["grid_id"] = table["grid_id"].astype(str)
    if "seq" not in table.columns:
        table["seq"] = [sequence_of(g) for g in table["grid_id"]]
    if "note" not in table.columns:
        table["note"] = ""
    return table[REGISTER_COLUMNS].reset_index(drop=True)


class CodeBook:
    """Codes in use and retired, per community; hands out fresh codes that were never used."""

    def __init__(self, register: pd.DataFrame, previous: pd.DataFrame, community_codes: dict[object, object]) -> None:
        rows = {str(g): {"grid_id": str(g), "community_id": c, "seq": int(s), "status": st, "note": n}
                for g, c, s, st, n in register[REGISTER_COLUMNS].itertuples(index=False)}
        for g, c in previous[["grid_id", "community_id"]].itertuples(index=False):
            if str(g) in rows and rows[str(g)]["status"] == "retired":
                raise GridkitError(f"previous grid {g!r} is listed as retired in the code register; a retired "
                                   "code is never used again (wrong register or wrong previous plan?)")
            rows.setdefault(str(g), {"grid_id": str(g), "community_id": c, "seq": sequence_of(g),
                                     "status": "active", "note": ""})
        self.rows = rows
        self.community_codes = community_codes
        self.largest: dict[str, int] = {}  # largest sequence ever used per community (one pass, not one per code)
        for r in rows.values():
            key = str(r["community_id"])
            self.largest[key] = max(self.largest.get(key, 0), int(r["seq"]))

    def _used(self, community_id: object) -> int:
        return self.largest.get(str(community_id), 0)

    def new_code(self, community_id: object, note: str = "") -> tuple[str, int]:
        """A code never used before in ``community_id``: the next sequence after the largest used."""
        seq = self._used(community_id) + 1
        code = grid_code(self.community_codes.get(community_id), community_id, seq)
        self.largest[str(community_id)] = seq
        self.rows[code] = {"grid_id": code, "community_id": community_id, "seq": seq, "status": "active", "note": note}
        return code, seq

    def retire(self, code: str, note: str) -> None:
        self.rows[code]["status"] = "retired"
        self.rows[code]["note"] = note

    def table(self) -> pd.DataFrame:
        """The register as a table, ordered by community and sequence."""
        out = pd.DataFrame(list(self.rows.values()), columns=REGISTER_COLUMNS)
        out["seq"] = out["seq"].astype(np.int64)
        out["note"] = out["note"].fillna("").astype(str)
        order = np.lexsort((out["seq"].to_numpy(), out["community_id"].astype(str).to_numpy()))
        return out.iloc[order].reset_index(drop=True)
