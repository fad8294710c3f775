"""Publish the files of one run as one plan: all of them or none, never a mix of two runs.

A command that writes several files (``gridkit partition``: grids, assignment, report; ``gridkit run``: a
whole output folder) writes them into a staging area first and publishes the set in one step, with a
manifest that names every file and its SHA-256 checksum, written last:

- :func:`publish_folder` (``gridkit run``): the run is staged in a hidden folder beside the output
  folder, and published by exchanging the two folders in one atomic ``renameat2(RENAME_EXCHANGE)``
  (Linux; elsewhere two renames, and a run killed between them is put right at the next start).
  The manifest is ``plan.json`` in the folder. Files of the user's own in the folder (those no gridkit
  run wrote) are carried over; outputs an earlier run wrote that this run does not write are dropped.
- :func:`publish_files` (``gridkit partition``, ``regenerate``): files named one by one, possibly in
  several folders. Each is staged beside its target; a journal records every step; the targets are
  replaced, outputs of the previous plan that this run does not write are moved aside, and the
  manifest ``<grids>.plan.json`` is written last: that is the commit. A run killed before the commit
  is rolled back (the previous plan restored) by the next run that writes the same plan, and
  :func:`check_manifest` reports it meanwhile.

Staging left by a killed run is removed at the next start. ``GRIDKIT_FAULT=kill:<point>`` or
``fail:<point>`` stops a run at a named point (for the fault tests; see :data:`FAULT_POINTS`).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from gridkit.errors import UsageError

__all__ = [
    "FAULT_POINTS",
    "MANIFEST_NAME",
    "check_manifest",
    "check_writable",
    "file_checksum",
    "manifest_path",
    "publish_files",
    "publish_folder",
    "recover_files",
    "recover_folder",
]

#: The manifest of a published output folder.
MANIFEST_NAME = "plan.json"
FORMAT = "gridkit-plan/1"
FAULT_ENV = "GRIDKIT_FAULT"
#: Where a run can be stopped by ``GRIDKIT_FAULT`` (``kill:<point>`` sends SIGKILL to itself).
FAULT_POINTS = ("staged", "replaced-one", "before-manifest", "committed", "folder-staged", "folder-between")
_STAGE, _OLD = "gridkit-stage", "gridkit-old"


def _fault(point: str) -> None:
    wanted = os.environ.get(FAULT_ENV, "")
    if not wanted:
        return
    action, _, where = wanted.partition(":")
    if where != point:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "fail":
        raise OSError(f"injected failure at {point} ({FAULT_ENV})")


def file_checksum(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_writable(path: str | os.PathLike[str], *, folder: bool = False) -> Path:
    """Raise :class:`UsageError` if ``path`` cannot be written: a parent is a file, or a file/folder mix-up."""
    target = Path(path).absolute()
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"cannot write here: {parent} is a file, not a folder", source=target)
            break
    if target.exists() and folder and not target.is_dir():
        raise UsageError("cannot write the output folder: a file of that name exists", source=target)
    if target.exists() and not folder and target.is_dir():
        raise UsageError("cannot write the file: a folder of that name exists", source=target)
    return target


def _token() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically and durably (temporary file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _plan_id(files: Mapping[str, Mapping[str, Any]]) -> str:
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(f"{key}\0{files[key]['path']}\0{files[key]['sha256']}\n".encode())
    return digest.hexdigest()[:16]


def _manifest(files: Mapping[str, Mapping[str, Any]], command: str) -> dict[str, Any]:
    from gridkit import __version__  # noqa: PLC0415

    return {"format": FORMAT, "gridkit": __version__, "command": command, "plan_id": _plan_id(files),
            "files": dict(files)}


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def manifest_path(grids: str | os.PathLike[str]) -> Path:
    """The manifest that goes with a grids file: ``grids.geojson`` → ``grids.plan.json``."""
    path = Path(grids)
    return path.with_name(f"{path.stem}.plan.json")


def _journal(manifest: Path) -> Path:
    return manifest.with_name(f".{manifest.name}.journal")


def _unlink(path: str | os.PathLike[str] | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _restore(backup: Path, target: Path) -> None:
    """Put ``backup`` back at ``target`` (a rename between two links of one file does nothing: unlink)."""
    if target.exists() and os.path.samefile(backup, target):
        _unlink(backup)
    else:
        os.replace(backup, target)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


# --------------------------------------------------------------------------------------- files


def recover_files(manifest: str | os.PathLike[str]) -> str | None:
    """Put right a publish of this plan that a killed run left unfinished; return what was done.

    Before the new manifest was written the previous plan is restored; after it, the new plan stands
    and only the leftovers are removed. A journal held by a live process is an error.
    """
    manifest = Path(manifest)
    journal_path = _journal(manifest)
    if not journal_path.exists():
        return None
    try:
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        _unlink(journal_path)  # torn before it was renamed into place: nothing was published
        return None
    pid, host = int(journal.get("pid", -1)), journal.get("host")
    if host == socket.gethostname() and pid != os.getpid() and _alive(pid):
        raise UsageError(f"another gridkit run (process {pid}) is writing this plan; wait for it to finish",
                         source=manifest)
    current = _read_manifest(manifest)
    committed = current is not None and current.get("plan_id") == journal.get("plan_id")
    _undo(journal, committed=committed)
    _unlink(journal_path)
    if journal.get("state") != "publishing":
        return "removed the staging files of an interrupted run"
    return ("finished the cleanup of a run interrupted after it published" if committed else
            "restored the previous plan: the run that was writing it was interrupted")


def _undo(journal: dict[str, Any], *, committed: bool) -> None:
    """Roll an unfinished publish back (or, once committed, only remove its backups)."""
    for entry in journal.get("files", []):
        staged_left = Path(entry["staged"]).exists()
        _unlink(entry["staged"])
        if journal.get("state") == "publishing":
            if committed:
                _unlink(entry.get("backup"))
            elif entry.get("backup") and Path(entry["backup"]).exists():
                _restore(Path(entry["backup"]), Path(entry["target"]))
            elif entry.get("backup") is None and not staged_left:
                _unlink(entry["target"])  # it did not exist before this run, which put it there
    for entry in journal.get("removed", []):
        if Path(entry["backup"]).exists():
            if committed:
                _unlink(entry["backup"])
            else:
                _restore(Path(entry["backup"]), Path(entry["path"]))


@contextlib.contextmanager
def publish_files(targets: Mapping[str, str | os.PathLike[str]], *, manifest: str | os.PathLike[str],
                  command: str, notes: list[str] | None = None) -> Iterator[dict[str, Path]]:
    """Stage files under temporary names, then publish them together with their manifest.

    Parameters
    ----------
    targets
        ``role → final path`` (``{"grids": "grids.geojson", "assignment": "assignment.csv"}``).
    manifest
        The manifest to write last (see :func:`manifest_path`); it also names the files of the
        previous plan, which this run replaces: those it does not write again are removed.
    command
        The command recorded in the manifest.
    notes
        Receives a sentence for anything recovered from an earlier interrupted run.

    Yields
    ------
    dict
        ``role → staged path`` to write each file to (same suffix as the target, same folder).

    Examples
    --------
    >>> plan = {"grids": out, "assignment": out.with_name("assignment.csv")}  # doctest: +SKIP
    >>> with publish_files(plan, manifest=manifest_path(out), command="partition") as staged:  # doctest: +SKIP
    ...     io.write_geojson(grids, staged["grids"])
    ...     io.write_csv(assignment, staged["assignment"])
    """
    manifest = check_writable(manifest)
    final = {role: check_writable(path) for role, path in targets.items()}
    if len(set(final.values())) < len(final):
        raise UsageError(f"two outputs name the same file: {sorted(map(str, final.values()))}")
    done = recover_files(manifest)
    if done and notes is not None:
        notes.append(f"{manifest}: {done}")
    token = _token()
    staged = {role: path.with_name(f".{path.stem}.{_STAGE}-{token}{path.suffix}") for role, path in final.items()}
    for role, path in final.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".gpkg" and path.exists():
            shutil.copyfile(path, staged[role])  # a GeoPackage keeps its other layers
    journal = {"pid": os.getpid(), "host": socket.gethostname(), "state": "staging", "plan_id": None,
               "files": [{"role": r, "target": str(final[r]), "staged": str(staged[r])} for r in final],
               "removed": []}
    journal_path = _journal(manifest)
    _write_json(journal_path, journal)
    try:
        yield staged
        missing = [role for role, path in staged.items() if not path.exists()]
        if missing:
            raise RuntimeError(f"publish_files: nothing was written for {missing}")
        _fault("staged")
        _commit_files(manifest, final, staged, journal, journal_path, command, token)
    except BaseException:
        recover_files(manifest)
        raise


def _commit_files(manifest: Path, final: dict[str, Path], staged: dict[str, Path], journal: dict[str, Any],
                  journal_path: Path, command: str, token: str) -> None:
    base = manifest.parent
    files = {role: {"path": os.path.relpath(final[role], base), "sha256": file_checksum(staged[role]),
                    "bytes": staged[role].stat().st_size} for role in final}
    document = _manifest(files, command)
    previous = _read_manifest(manifest) if manifest.exists() else None
    stale = []
    if previous is not None:
        writing = set(final.values())
        for entry in previous.get("files", {}).values():
            path = (base / entry["path"]).absolute()
            if path not in writing and path.exists():
                stale.append(path)
    for entry in journal["files"]:
        target = Path(entry["target"])
        entry["backup"] = str(target.with_name(f".{target.stem}.{_OLD}-{token}{target.suffix}")) \
            if target.exists() else None
    journal["removed"] = [{"path": str(p), "backup": str(p.with_name(f".{p.stem}.{_OLD}-{token}{p.suffix}"))}
                          for p in stale]
    journal.update(state="publishing", plan_id=document["plan_id"])
    _write_json(journal_path, journal)
    for entry in journal["files"]:
        if entry["backup"]:
            _link_or_copy(Path(entry["target"]), Path(entry["backup"]))
    for i, entry in enumerate(journal["files"]):
        os.replace(entry["staged"], entry["target"])
        if i == 0:
            _fault("replaced-one")
    for entry in journal["removed"]:
        os.replace(entry["path"], entry["backup"])
    _fault("before-manifest")
    _write_json(manifest, document)  # the commit
    _fault("committed")
    for entry in journal["files"]:
        _unlink(entry["backup"])
    for entry in journal["removed"]:
        _unlink(entry["backup"])
    _unlink(journal_path)


def check_manifest(manifest: str | os.PathLike[str]) -> list[tuple[str, str, str]]:
    """Compare a plan's files with its manifest: ``[(severity, kind, path), ...]`` (empty when all match).

    Kinds: ``interrupted`` (a publish of this plan did not finish: its files may come from two runs),
    ``staging`` (staging of an interrupted run is beside it), ``unreadable`` (not a gridkit manifest),
    ``missing`` (a file it names is gone): errors; ``changed`` (a file's checksum differs: it was
    changed after gridkit wrote it, e.g. edited in QGIS; :func:`gridkit.validate.validate_plan` judges
    the change itself): a warning.
    """
    manifest = Path(manifest)
    out: list[tuple[str, str, str]] = []
    if _journal(manifest).exists():
        out.append(("error", "interrupted", str(manifest)))
    if manifest.name == MANIFEST_NAME:
        out += [("error", "staging", str(p)) for p in manifest.parent.parent.glob(f".{manifest.parent.name}.*-*")
                if _STAGE in p.name or _OLD in p.name]
    data = _read_manifest(manifest)
    if data is None:
        return [*out, ("error", "unreadable", str(manifest))]
    for entry in data.get("files", {}).values():
        path = manifest.parent / entry["path"]
        if not path.exists():
            out.append(("error", "missing", str(path)))
        elif file_checksum(path) != entry["sha256"]:
            out.append(("warning", "changed", str(path)))
    return out


# -------------------------------------------------------------------------------------- folder

_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where the system cannot."""
    if not sys.platform.startswith("linux") or os.environ.get(FAULT_ENV, "").endswith(":folder-between"):
        return False  # (a fault asked between the two renames of the fallback tests the fallback)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _leftovers(folder: Path) -> Iterable[tuple[Path, int]]:
    for kind in (_STAGE, _OLD):
        for path in folder.parent.glob(f".{folder.name}.{kind}-*"):
            try:
                pid = int(path.name.rsplit(f"{kind}-", 1)[1].split("-")[0])
            except (IndexError, ValueError):
                continue
            yield path, pid


def recover_folder(folder: str | os.PathLike[str]) -> str | None:
    """Clean what a killed run left beside ``folder``; restore the previous plan if it was moved aside."""
    folder = Path(folder).absolute()
    done = None
    for path, pid in sorted(_leftovers(folder)):
        if pid != os.getpid() and _alive(pid):
            continue
        if not folder.exists() and f".{_OLD}-" in path.name:
            os.rename(path, folder)  # killed between the two renames: the previous plan goes back
            done = "restored the previous plan: the run that was replacing it was interrupted"
            continue
        shutil.rmtree(path, ignore_errors=True)
        done = done or "removed the staging folder of an interrupted run"
    return done


def _carry_over(folder: Path, staging: Path, known: Iterable[str]) -> list[str]:
    """Hard-link into ``staging`` the files in ``folder`` that no gridkit run wrote; return them."""
    previous = _read_manifest(folder / MANIFEST_NAME)
    if previous is not None:
        written = {entry["path"] for entry in previous.get("files", {}).values()} | {MANIFEST_NAME}
        ours = lambda rel: rel in written  # noqa: E731
    else:
        names = set(known) | {MANIFEST_NAME}
        ours = lambda rel: rel.split("/")[0] in names  # noqa: E731
    kept = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_dir() or ours(rel) or (staging / rel).exists():
            continue
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(path, staging / rel)
        kept.append(rel)
    return kept


@contextlib.contextmanager
def publish_folder(folder: str | os.PathLike[str], *, command: str, known_outputs: Iterable[str] = (),
                   notes: list[str] | None = None, divert: Callable[[], Path | None] | None = None) -> Iterator[Path]:
    """Stage a whole output folder and publish it by one folder exchange, with ``plan.json`` inside.

    Parameters
    ----------
    folder
        The output folder (created if absent).
    command
        Recorded in the manifest.
    known_outputs
        Top-level names the command may write; in a folder without a manifest (written by an older
        gridkit) these are taken as outputs of an earlier run, everything else as the user's own.
    notes
        Receives a sentence for anything recovered from an earlier interrupted run.
    divert
        Called once the outputs are staged: a folder beside ``folder`` to publish into instead (a run
        whose plan failed its invariants goes to ``<folder>.failed`` and leaves the good plan alone),
        or None.

    Yields
    ------
    pathlib.Path
        The staging folder to write every output into.
    """
    folder = check_writable(folder, folder=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    done = recover_folder(folder)
    if done and notes is not None:
        notes.append(f"{folder}: {done}")
    token = _token()
    staging = folder.parent / f".{folder.name}.{_STAGE}-{token}"
    staging.mkdir()
    try:
        yield staging
        written = sorted(p for p in staging.rglob("*") if p.is_file())
        files = {p.relative_to(staging).as_posix(): {"path": p.relative_to(staging).as_posix(),
                                                      "sha256": file_checksum(p), "bytes": p.stat().st_size}
                 for p in written}
        target = divert() if divert is not None else None
        if target is not None:
            target = check_writable(target, folder=True)
            if target.parent != folder.parent:
                raise ValueError(f"divert must name a folder beside {folder}, got {target}")
            recover_folder(target)
        dest = target or folder
        if dest.exists():
            _carry_over(dest, staging, known_outputs)
        _write_json(staging / MANIFEST_NAME, _manifest(files, command))
        _fault("folder-staged")
        _swap(dest, staging, token)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap(folder: Path, staging: Path, token: str) -> None:
    if not folder.exists():
        os.rename(staging, folder)
        return
    if _exchange(staging, folder):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous plan
        return
    old = folder.parent / f".{folder.name}.{_OLD}-{token}"
    os.rename(folder, old)
    _fault("folder-between")
    os.rename(staging, folder)
    shutil.rmtree(old, ignore_errors=True)

