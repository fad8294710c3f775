"""A time budget: a deadline that the optional steps of routing (bounds, local search) respect."""

from __future__ import annotations

import time

__all__ = ["Deadline"]


class Deadline:
    """A point in time ``seconds`` from now (``None``: no limit).

    Examples
    --------
    >>> Deadline(None).left() == float("inf")
    True
    """

    def __init__(self, seconds: float | None) -> None:
        self.start = time.perf_counter()
        self.seconds = seconds
        self.at = float("inf") if seconds is None else self.start + float(seconds)

    def left(self) -> float:
        """Seconds left (never below zero; ``inf`` without a limit)."""
        return max(0.0, self.at - time.perf_counter())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return time.perf_counter() >= self.at

    def elapsed(self) -> float:
        """Seconds since the deadline was set."""
        return time.perf_counter() - self.start
