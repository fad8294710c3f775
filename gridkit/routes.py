"""Patrol routes (巡查路线): kept importable; the code lives in the :mod:`gridkit.routing` package.

``from gridkit.routes import patrol_routes`` keeps working; new code imports :mod:`gridkit.routing`.
"""

from gridkit.routing import *  # noqa: F403
from gridkit.routing import __all__  # noqa: F401
