"""The partition engine: balanced, street-bounded grids for every community.

:func:`partition` reads and checks the inputs, cuts each community into street-bounded atoms
(:mod:`gridkit.blocks`), partitions each community's atom graph on its own
(:mod:`gridkit.atom_partition`), dissolves the atoms into grid polygons, numbers them
(:mod:`gridkit.codes`) and returns the grids in the communities' CRS with the building assignment
and a per-community report that says plainly where a target could not be met and what was done.

The work is done batch by batch (street offices, 街道) by the public engine of
:mod:`gridkit.engine`, in this process, in ``workers`` processes, or on a Dask cluster
(:mod:`gridkit.parallel`); the result is the same whichever runs it.

Balancing measures are normalised by their target, so a mix such as
``by={"households": 0.7, "area": 0.3}`` balances 0.7 × households/300 + 0.3 × m²/10,000 per grid.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from gridkit import _validate
from gridkit.atom_partition import INTERIOR_PENALTY, dissolve_grids, partition_atoms
from gridkit.engine import (
    PartitionOptions,
    PartitionResult,
    Source,
    check_sequence_limit,
    make_batches,
    merge_results,
    parse_measure,
    partition_batch,
    prepare_inputs,
)
from gridkit.errors import GridkitError, GridkitWarning, PartitionError
from gridkit.parallel import BatchFailure, run_batches

__all__ = ["BatchError", "PartitionResult", "dissolve_grids", "partition", "partition_atoms"]


class BatchError(PartitionError):
    """Some batches failed; ``partial`` holds the result of the others, ``failures`` says which and why."""

    def __init__(self, failures: list[BatchFailure], partial: PartitionResult) -> None:
        self.failures = failures
        self.partial = partial
        super().__init__("; ".join(str(f) for f in failures))


def partition(  # noqa: PLR0913 - keyword-only options, as in osmnx
    communities: Source,
    buildings: Source,
    streets: Source | None = None,
    *,
    by: str | Mapping[str, float] = "households",
    target: float | Mapping[str, float] | None = None,
    tolerance: float = 0.1,
    n_grids: int | Mapping[object, int] | None = None,
    seed: int = 0,
    columns: Mapping[str, str] | None = None,
    crs: object = None,
    outside: _validate.Outside = "error",
    overlapping: _validate.Overlapping = "error",
    encoding: str | None = None,
    split_share: float = 0.25,
    interior_penalty: float = INTERIOR_PENALTY,
    progress: Callable[[str, int, int], None] | None = None,
    n_alternatives: int = 1,
    locked: Source | None = None,
    locked_codes: Sequence[str] | None = None,
    sequence_digits: Literal[3, 4] = 3,
    workers: int | None = None,
    client: Any = None,
    scheduler: str | None = None,
    batch_by: str | None = None,
) -> PartitionResult:
    """Partition every community into balanced, contiguous, street-bounded grids.

    Parameters
    ----------
    communities
        Community polygons (path or GeoDataFrame, any CRS): ``community_id``, optional ``name``,
        ``code`` (12 digits) and ``target`` (overrides ``target`` for that community).
    buildings
        Building polygons or points (any CRS): ``building_id``, ``households``, ``population``;
        missing counts are estimated from footprint × ``levels`` (with a warning).
    streets
        Street centrelines (path or GeoDataFrame, any CRS); grids are bounded by them wherever the
        balance allows. Without streets, blocks are the communities themselves.
    by
        Balanced measure: ``"households"``, ``"population"``, ``"area"`` (m²), or a mapping of
        them to shares for a weighted mix.
    target
        Target per grid in the measure's unit (households, persons or m²); defaults
        :data:`~gridkit.atom_partition.DEFAULT_TARGETS` (300 households, 1,000 persons, 10,000 m²).
        For a mix, a mapping per measure.
    tolerance
        Two-sided relative tolerance around each community's mean grid size (0.1 = ±10 %).
    n_grids
        Number of grids (per community as a mapping ``community_id → n``) instead of the target.
    seed
        Seed; the result is deterministic for a given seed. Seed 0 is the default plan; other
        seeds draw genuinely different good plans (other first cuts, then the same local search).
    columns
        Input column names where they differ from the standard ones, e.g.
        ``{"households": "hh", "community_id": "sq_id"}`` (keys: ``community_id``, ``name``, ``code``,
        ``target``, ``building_id``, ``households``, ``population``, ``levels``, ``use``). A column
        named here that the layer lacks is an error with "did you mean"; a standard column that is
        absent is looked up by common names (``户数``, ``人口``, ``社区编码`` …, with a warning).
    crs
        Metric CRS to work in; default the UTM zone of the data.
    outside
        ``"error"`` (default) for buildings outside every community, or ``"report"`` to leave
        them out of the grids and list them in the assignment with an empty ``grid_id``.
    overlapping
        ``"error"`` (default) for communities that overlap (naming both), or ``"clip"`` to give each
        overlap to the community listed first.
    encoding
        Text encoding of CSV and Shapefile inputs; default detected (UTF-8, GBK/GB18030, with a
        warning when not UTF-8).
    split_share
        A street block heavier than ``split_share`` × target is split into building cells.
    interior_penalty
        How much dearer a metre of grid boundary through a block is than one along a street.
    progress
        Called as ``progress("partition", done, total)`` as communities are partitioned and, with
        more than one batch, ``progress("batch <id>", done, total)`` for the communities of each batch.
    n_alternatives
        Number of plans to make (seeds ``seed, seed + 1, …``); the first is returned and all are
        in ``result.alternatives``.
    locked, locked_codes
        Grids to keep exactly (polygon, code, buildings): the rows of ``locked`` with a true
        ``locked`` column and/or whose ``grid_id`` is in ``locked_codes``. The rest of each
        community is planned around them (:mod:`gridkit.locks`); the grids get a ``locked`` column
        and the report says where a lock keeps a grid outside the tolerance.
    sequence_digits
        Digits of the grid sequence in a code: 3 (up to 999 grids per community, the default) or 4.
        A community that would need more grids than that is refused before any work.
    workers
        Worker processes to partition batches in (None: this process). The result is identical.
    client, scheduler
        A :class:`dask.distributed.Client`, or the address of a Dask scheduler
        (``"tcp://HOST:8786"``), to partition the batches on a cluster.
    batch_by
        Community column naming the street office; default ``street_office`` or ``district`` when
        present, else batches of consecutive communities.

    Returns
    -------
    PartitionResult
        Grids (communities' CRS), assignment, atoms, report, batches; unpacks as ``grids, assignment``.

    Raises
    ------
    BatchError
        When a batch fails while others succeed; ``partial`` holds the other batches' result.

    Examples
    --------
    >>> from gridkit.samples import load_sample
    >>> s = load_sample()
    >>> grids, assignment = partition(s.communities, s.buildings, s.streets, target=300)
    >>> bool((grids["households"] > 0).all())
    True
    """
    _validate.fraction("tolerance", tolerance)
    _validate.option("outside", outside)
    _validate.option("overlapping", overlapping)
    names = _validate.check_column_names(columns, _validate.COLUMN_KEYS)
    if isinstance(n_alternatives, bool) or not isinstance(n_alternatives, int) or n_alternatives < 1:
        raise GridkitError(f"n_alternatives must be a whole number of plans, at least 1; got {n_alternatives!r}")
    if locked is not None:
        from gridkit.locks import locked_grids, partition_around_locked  # noqa: PLC0415

        keep = locked_grids(locked, locked_codes)
        if len(keep):
            if n_alternatives > 1:
                raise GridkitError("n_alternatives and locked grids cannot be combined yet; plan alternatives "
                                   "without locks, or lock first and plan one")
            return partition_around_locked(
                partition, communities, buildings, streets, locked=keep, columns=names, tolerance=tolerance, by=by,
                target=target, n_grids=n_grids, seed=seed, crs=crs, outside=outside, split_share=split_share,
                interior_penalty=interior_penalty, progress=progress, overlapping=overlapping, encoding=encoding,
                sequence_digits=sequence_digits, workers=workers, client=client, scheduler=scheduler,
                batch_by=batch_by)
    options = PartitionOptions(parse_measure(by, target), tolerance=tolerance, n_grids=n_grids, seed=seed,
                               split_share=split_share, interior_penalty=interior_penalty,
                               sequence_digits=sequence_digits)
    inputs = prepare_inputs(communities, buildings, streets, columns=names, crs=crs, outside=outside,
                            overlapping=overlapping, encoding=encoding, batch_by=batch_by, target=target,
                            n_grids=n_grids, by=by)
    check_sequence_limit(inputs, options)
    result = _run(inputs, options, progress=progress, workers=workers, client=client, scheduler=scheduler)
    if n_alternatives > 1:
        with warnings.catch_warnings():  # the first plan has said what there is to say
            warnings.simplefilter("ignore", GridkitWarning)
            result.alternatives = [result] + [
                _run(inputs, dataclasses.replace(options, seed=seed + i), progress=None, workers=workers,
                     client=client, scheduler=scheduler)
                for i in range(1, n_alternatives)]
    return result


def _run(inputs: Any, options: PartitionOptions, *, progress: Callable[[str, int, int], None] | None,
         workers: int | None, client: Any, scheduler: str | None) -> PartitionResult:
    """Partition the batches of ``inputs`` with ``options`` here, in processes or on a cluster."""
    batches = make_batches(inputs, options)
    total = len(inputs.communities)
    done: dict[str, int] = {}

    def step(batch_id: str, finished: int, of: int) -> None:
        done[batch_id] = finished
        if len(batches) > 1:
            progress(f"batch {batch_id}", finished, of)
        progress("partition", sum(done.values()), total)

    if progress is not None:
        progress("partition", 0, total)
    results, failures = run_batches(partition_batch, batches, workers=workers, client=client, scheduler=scheduler,
                                    progress=step if progress is not None else None)
    if progress is not None:
        progress("partition", total, total)
    merged = merge_results(inputs, [r for r in results if r is not None])
    if failures:
        if len(failures) == len(batches) == 1 and isinstance(getattr(failures[0], "exception", None), GridkitError):
            raise failures[0].exception  # one batch: its own error, unchanged
        rows = pd.DataFrame([{"batch_id": f.batch_id, "communities": len(b.rows), "buildings": len(b.building_rows),
                              "grids": 0, "seconds": 0.0, "peak_rss_mb": 0.0, "pid": 0,
                              "status": "killed" if f.killed else "failed", "error": f.error}
                             for f in failures for b in batches if b.batch_id == f.batch_id])
        merged.batches = pd.concat([merged.batches, rows], ignore_index=True)
        raise BatchError(failures, merged) from getattr(failures[0], "exception", None)
    return merged


