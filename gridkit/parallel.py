"""Run batches in this process, in worker processes, or on a Dask cluster, with the same results.

:func:`run_batches` calls one function on every batch payload (a picklable object with ``batch_id``
and ``cost``) and returns the results in the payloads' order:

- ``workers`` None or 1: one after the other in this process;
- ``workers=N``: N worker processes (``spawn``, so no thread of this process is copied), the
  largest batches first; a progress callback is fed from the workers through a queue;
- ``client`` (a :class:`dask.distributed.Client`) or ``scheduler`` (``"tcp://HOST:8786"``): Dask
  distributed's futures API, one task per payload, the largest batches at the highest priority.

A batch that raises is reported (:class:`BatchFailure`: its id and the error) while the other
batches run on. A worker process that dies (killed, out of memory) takes its batch with it: the
batch is run once more in a fresh worker, and reported as failed if it kills that one too. Dask
reschedules a lost worker's tasks itself (``distributed.scheduler.allowed-failures``, set to 1 for
the clusters gridkit starts) and reports :class:`distributed.KilledWorker` past that.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from gridkit.errors import GridkitError

__all__ = ["BatchFailure", "Payload", "run_batches"]

Progress = Callable[[str, int, int], None]


class Payload(Protocol):
    """What :func:`run_batches` needs of a payload."""

    batch_id: str

    @property
    def cost(self) -> float:
        """Expected work (larger runs first)."""
        ...


@dataclass
class BatchFailure:
    """A batch that did not finish: its id, the error (type and message), and how many times it was tried."""

    batch_id: str
    error: str
    attempts: int = 1
    killed: bool = False

    def __str__(self) -> str:
        how = "its worker died" if self.killed else "it failed"
        return f"batch {self.batch_id!r}: {how} ({self.error}) after {self.attempts} attempt(s)"


def run_batches(func: Callable[..., Any], payloads: Sequence[Payload], *, workers: int | None = None,
                client: Any = None, scheduler: str | None = None,
                progress: Progress | None = None) -> tuple[list[Any], list[BatchFailure]]:
    """Call ``func(payload, progress)`` for every payload; results in payload order (None where failed).

    Parameters
    ----------
    func
        A module-level function (it is pickled by reference), called as ``func(payload, progress)``
        where ``progress(batch_id, done, total)`` may be called while it works.
    payloads
        Picklable payloads with ``batch_id`` and ``cost``.
    workers
        Number of worker processes; None or 1 runs in this process.
    client
        A :class:`dask.distributed.Client` to run on (takes precedence over ``workers``).
    scheduler
        Address of a running Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``; a client is opened for
        the run and closed after it.
    progress
        Called as ``progress(batch_id, done, total)`` (communities done in a batch).

    Returns
    -------
    tuple
        Results in payload order (None for a failed batch) and the failures.
    """
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise GridkitError(f"workers must be a positive whole number; got {workers!r}")
    if client is not None or scheduler is not None:
        return _run_dask(func, payloads, client=client, scheduler=scheduler, progress=progress)
    if workers is None or workers == 1 or len(payloads) <= 1:
        return _run_here(func, payloads, progress)
    return _run_processes(func, payloads, workers, progress)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run_here(func: Callable[..., Any], payloads: Sequence[Payload],
              progress: Progress | None) -> tuple[list[Any], list[BatchFailure]]:
    results: list[Any] = [None] * len(payloads)
    failures = []
    for i, payload in enumerate(payloads):
        try:
            results[i] = func(payload, progress)
        except Exception as exc:  # a failing batch is reported, the others run on
            failures.append(BatchFailure(payload.batch_id, _describe(exc)))
            failures[-1].exception = exc  # type: ignore[attr-defined]
    return results, failures


def _largest_first(payloads: Sequence[Payload]) -> list[int]:
    return sorted(range(len(payloads)), key=lambda i: (-float(payloads[i].cost), i))


class _QueueProgress:
    """A picklable progress callback that sends ``(batch_id, done, total)`` to the parent's queue."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel

    def __call__(self, batch_id: str, done: int, total: int) -> None:
        self.channel.put(("progress", (batch_id, done, total)))


def _call(func: Callable[..., Any], payload: Any, index: int, channel: Any, report: bool) -> Any:
    channel.put(("start", index))
    return func(payload, _QueueProgress(channel) if report else None)


class _Listener:
    """Reads the workers' queue in a thread: which batches started, and their progress."""

    def __init__(self, channel: Any, progress: Progress | None) -> None:
        self.channel, self.progress = channel, progress
        self.started: set[int] = set()
        self.synced = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while not self.stop.is_set():
            try:
                kind, item = self.channel.get(timeout=0.1)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            if kind == "start":
                self.started.add(item)
            elif kind == "sync":
                self.synced.set()
            elif self.progress is not None:
                self.progress(*item)

    def sync(self) -> None:
        """Wait until every message sent so far has been read."""
        self.synced.clear()
        self.channel.put(("sync", None))
        self.synced.wait(timeout=10)


def _run_processes(func: Callable[..., Any], payloads: Sequence[Payload], workers: int,
                   progress: Progress | None) -> tuple[list[Any], list[BatchFailure]]:
    context = multiprocessing.get_context("spawn")
    results: list[Any] = [None] * len(payloads)
    failures: dict[int, BatchFailure] = {}
    with context.Manager() as manager:
        listener = _Listener(manager.Queue(), progress)
        try:
            todo = _largest_first(payloads)
            while todo:
                suspects, todo = _one_pool(func, payloads, todo, workers, context, listener, results, failures,
                                           progress is not None)
                for i in suspects:  # each batch whose worker died runs once more, alone in a fresh worker
                    again, _ = _one_pool(func, payloads, [i], 1, context, listener, results, failures,
                                         progress is not None)
                    if again:
                        failures[i] = BatchFailure(payloads[i].batch_id, "the worker process died (killed or out "
                                                   "of memory)", attempts=2, killed=True)
        finally:
            listener.stop.set()
            listener.thread.join(timeout=2)
    return results, [failures[i] for i in sorted(failures)]


def _one_pool(func: Callable[..., Any], payloads: Sequence[Payload], todo: list[int], workers: int, context: Any,
              listener: _Listener, results: list[Any], failures: dict[int, BatchFailure],
              report: bool) -> tuple[list[int], list[int]]:
    """Run ``todo`` in one pool of ``workers`` processes.

    Returns the batches that were running when a worker died (to be tried again alone) and those
    that never started (to go on in a fresh pool).
    """
    broken: list[int] = []
    listener.started.clear()
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context) as pool:
        running: dict[Future, int] = {pool.submit(_call, func, payloads[i], i, listener.channel, report): i
                                      for i in todo}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                try:
                    results[i] = future.result()
                except BrokenProcessPool:
                    broken.append(i)
                except Exception as exc:  # reported with the batch id; the others run on
                    failures[i] = BatchFailure(payloads[i].batch_id, _describe(exc))
    if not broken:
        return [], []
    listener.sync()
    suspects = [i for i in todo if i in broken and i in listener.started]
    rest = [i for i in todo if i in broken and i not in listener.started]
    return suspects, rest


def _run_dask(func: Callable[..., Any], payloads: Sequence[Payload], *, client: Any, scheduler: str | None,
              progress: Progress | None) -> tuple[list[Any], list[BatchFailure]]:
    try:
        from distributed import Client, as_completed  # noqa: PLC0415 - only for a Dask run
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise GridkitError("a Dask run needs dask[distributed]: pip install 'gridkit[dask]'") from exc
    own = client is None
    if own:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise GridkitError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    results: list[Any] = [None] * len(payloads)
    failures: dict[int, BatchFailure] = {}
    try:
        order = _largest_first(payloads)
        futures = {}
        for rank, i in enumerate(order):
            future = client.submit(func, payloads[i], None, key=f"gridkit-{payloads[i].batch_id}-{i}",
                                   priority=len(order) - rank, pure=False)
            futures[future] = i
        for future in as_completed(list(futures)):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as exc:  # KilledWorker or the batch's own error, with its id
                killed = type(exc).__name__ == "KilledWorker"
                failures[i] = BatchFailure(payloads[i].batch_id, _describe(exc), killed=killed,
                                           attempts=2 if killed else 1)
            if progress is not None:
                progress(payloads[i].batch_id, 1, 1)
            future.release()
    finally:
        if own:
            client.close()
    return results, [failures[i] for i in sorted(failures)]
