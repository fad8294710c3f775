"""gridkit: community grid management (网格化管理).

Partition communities into balanced, street-bounded grids by households, population or area, and
check them against the rules of practice::

    import gridkit
    grids, assignment = gridkit.partition(communities, buildings, streets, target=300)
    gridkit.evaluate(grids, communities, buildings, assignment, streets=streets)
    gridkit.map(grids)                     # a folium map (offline=True for intranets)
    new = gridkit.regenerate(grids, assignment, communities, new_buildings, streets)  # 动态调整

Wardens, coverage and station siting live in :mod:`gridkit.wardens` and :mod:`gridkit.coverage`, street
graphs and patrol routes in :mod:`gridkit.network` and :mod:`gridkit.routing`, incidents and hot spots
in :mod:`gridkit.incidents` and :mod:`gridkit.hotspots`, exports in :mod:`gridkit.export`, the
one-command pipeline in :mod:`gridkit.pipeline`.
"""

from gridkit.errors import GridkitError, GridkitWarning, InputDataError, PartitionError
from gridkit.metrics import evaluate
from gridkit.partition import PartitionResult, partition
from gridkit.regenerate import RegenerateResult, regenerate
from gridkit.validate import Validation, validate_plan

__all__ = [
    "GridkitError",
    "GridkitWarning",
    "InputDataError",
    "PartitionError",
    "PartitionResult",
    "RegenerateResult",
    "Validation",
    "evaluate",
    "map",
    "partition",
    "regenerate",
    "validate_plan",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``gridkit.map`` is loaded on first use: folium is not needed to partition or to start the CLI."""
    if name == "map":
        from gridkit.maps import map as district_map  # noqa: PLC0415

        return district_map
    raise AttributeError(f"module 'gridkit' has no attribute {name!r}")
