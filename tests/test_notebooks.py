"""The notebooks in ``notebooks/`` are stored without outputs and run top to bottom (slow, in CI)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: notebooks that read ../shared/data (skipped, with the reason, where it is absent)
NEEDS_SHARED_DATA = {"02_moabit_vs_peers.ipynb"}


def _shared_data() -> Path:
    import os  # noqa: PLC0415

    env = os.environ.get("GRIDKIT_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: a code cell has stored outputs"
            assert cell.execution_count is None


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    from nbclient import NotebookClient  # noqa: PLC0415

    if path.name in NEEDS_SHARED_DATA and not (_shared_data() / "moabit").is_dir():
        pytest.skip(f"{path.name} needs the shared data folder ({_shared_data()})")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "text/html" in o.get("data", {})]
    assert images, f"{path.name} shows no rich output (maps, tables)"
