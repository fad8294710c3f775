"""gridkit: community grid management (网格化管理).

Partition communities into balanced, street-bounded grids by households, population or area, and
check them against the rules of practice::

    import gridkit
    grids, assignment = gridkit.partition(communities, buildings, streets, target=300)
    gridkit.evaluate(grids, communities, buildings, assignment, streets=streets)
"""

from gridkit.errors import GridkitError, GridkitWarning, InputDataError, PartitionError
from gridkit.maps import map
from gridkit.metrics import evaluate
from gridkit.partition import PartitionResult, partition

__all__ = [
    "GridkitError",
    "GridkitWarning",
    "InputDataError",
    "PartitionError",
    "PartitionResult",
    "evaluate",
    "map",
    "partition",
]
__version__ = "0.1.0"
