"""Shared fixtures: the embedded sample (partitioned once per session), synthetic street grids,
the real Moabit data (slow tests; skipped when ../shared/data is absent) and the Hypothesis profile.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
for folder in (TESTS, REPO / "scripts"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from synthetic import make_district  # noqa: E402

import gridkit  # noqa: E402
from gridkit.samples import load_sample  # noqa: E402

# Small, derandomized runs: the same examples on every machine and every run, no flaky deadlines.
# No shrinking: each example is a whole partition, and shrinking a failure can take many minutes;
# the failing example is printed as drawn (with its make_district arguments).
settings.register_profile(
    "gridkit",
    max_examples=20,
    deadline=None,
    derandomize=True,
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("gridkit")


def run_partition(*args, **kwargs):
    """``gridkit.partition`` recording every warning; returns ``(result, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = gridkit.partition(*args, **kwargs)
    return result, list(caught)


@pytest.fixture(scope="session")
def sample():
    """The embedded sample district 锦官街道 (EPSG:4326)."""
    return load_sample()


@pytest.fixture(scope="session")
def sample_run(sample):
    """The whole sample partitioned once per session with the communities' own targets."""
    return run_partition(sample.communities, sample.buildings, sample.streets, seed=0)


@pytest.fixture(scope="session")
def sample_result(sample_run):
    return sample_run[0]


@pytest.fixture(scope="session")
def fine_district():
    """6×6 blocks of 100 m, 9 buildings of 5–15 households each: atoms fine against a target of 300."""
    return make_district(6, 6, per_side=3, households=(5, 15), seed=3)


@pytest.fixture(scope="session")
def fine_run(fine_district):
    d = fine_district
    return run_partition(d.communities, d.buildings, d.streets, target=300, seed=0)


@pytest.fixture(scope="session")
def fine_result(fine_run):
    return fine_run[0]


@pytest.fixture(scope="session")
def moabit():
    """Moabit, Berlin (EPSG:25833) via scripts/realdata.py; the test skips when the data is absent."""
    realdata = pytest.importorskip("realdata", reason="scripts/realdata.py not importable")
    try:
        return realdata.load_moabit()
    except FileNotFoundError as exc:
        pytest.skip(f"Moabit data absent: {exc}")
