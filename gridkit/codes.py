"""Grid codes.

A grid code is the 12-digit community code (6 digits district + 3 street + 3 community, GB/T 10114
style) followed by a 3-digit sequence, numbered west→east within rows taken north→south (as Beijing's
DB11/T 2157-2023 numbers grids). Rows are bands of height √(community area / number of grids), so
grids of about one grid's height apart fall in different rows.

Fallback when a community carries no code: ``{community_id}-{seq:03d}`` (for example ``C01-007``),
which cannot be mistaken for an official 15-digit code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridkit.errors import PartitionError

__all__ = ["MAX_SEQUENCE", "grid_code", "max_sequence", "reading_order"]

MAX_SEQUENCE = 999


def max_sequence(digits: int = 3) -> int:
    """Largest sequence number a code of ``digits`` sequence digits holds (999 or 9,999)."""
    return 10**digits - 1


def reading_order(points: np.ndarray, band_height: float) -> np.ndarray:
    """Order points north→south in bands of ``band_height`` metres, west→east within a band.

    Parameters
    ----------
    points
        Point geometries (metric CRS, y pointing north).
    band_height
        Height of a row, m.

    Returns
    -------
    numpy.ndarray
        Positions of the points in reading order.
    """
    xy = shapely.get_coordinates(points)
    if len(xy) == 0:
        return np.empty(0, dtype=np.int64)
    row = np.floor((xy[:, 1].max() - xy[:, 1]) / max(band_height, 1e-9)).astype(np.int64)
    return np.lexsort((-xy[:, 1], xy[:, 0], row))


def grid_code(community_code: object, community_id: object, sequence: int, *, digits: int = 3) -> str:
    """Code of grid number ``sequence`` (1-based) of a community; see the module docstring.

    ``digits=4`` numbers up to 9,999 grids per community (16-digit codes) for very large communities.
    """
    limit = max_sequence(digits)
    if sequence > limit:
        words = {3: "three", 4: "four"}.get(digits, str(digits))
        more = " or use 4-digit sequence numbers (sequence_digits=4)" if digits == 3 else ""
        raise PartitionError(f"community {community_id!r} would have more than {limit} grids; "
                             f"{words} digits cannot number them (raise the target{more})")
    if community_code is None or pd.isna(community_code):
        return f"{community_id}-{sequence:0{digits}d}"
    return f"{community_code}{sequence:0{digits}d}"
