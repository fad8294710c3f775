"""Errors of gridkit.

Every bad input ends in a :class:`GridkitError` that names the file, the feature (row and id) and
the column at fault, so that a planner can open the file and fix the one line that is wrong.
The classes subclass :class:`ValueError`, so callers may catch either.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "GridkitError",
    "GridkitWarning",
    "InputDataError",
    "PartitionError",
    "UsageError",
]


class GridkitError(ValueError):
    """Base class of every error gridkit raises on purpose.

    Parameters
    ----------
    message
        What is wrong, in one sentence.
    source
        The file (or the name of the in-memory layer) the problem was found in.
    row
        Positional row number (0-based) of the feature at fault.
    feature
        Identifier of the feature at fault (its id column value).
    column
        The column at fault.
    """

    def __init__(
        self,
        message: str,
        *,
        source: Any = None,
        row: int | None = None,
        feature: Any = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.source = None if source is None else str(source)
        self.row = row
        self.feature = feature
        self.column = column
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.source is not None:
            where.append(self.source)
        if self.feature is not None or self.row is not None:
            parts = []
            if self.feature is not None:
                parts.append(f"feature {self.feature!r}")
            if self.row is not None:
                parts.append(f"row {self.row}")
            where.append(" ".join(parts))
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputDataError(GridkitError):
    """An input file or frame is missing, malformed or inconsistent."""


class PartitionError(GridkitError):
    """A partition cannot be made as asked (and no sensible fallback exists)."""


class UsageError(GridkitError):
    """A command or function was asked for something it cannot do (exit 2 at the command line).

    An unknown option value, an output path that cannot be written (a folder that is a file), outputs
    that would overwrite the inputs.
    """


class GridkitWarning(UserWarning):
    """Something the user must know about, but not an error: estimated counts, a target not met."""
