"""The ``gridkit`` command: a thin layer over the library, in Chinese or English.

One module per area of work registers its commands on the shared Typer ``app``. Exit codes: 0
success; 1 a hard invariant failed; 2 wrong usage; 3 bad input data (the message names the file, the
feature and the column); 4 internal error (the traceback is saved to a file; see ``_common``).
"""

from __future__ import annotations

# each import registers that module's commands on ``app``
from gridkit.cli import export as _export  # noqa: F401
from gridkit.cli import incidents as _incidents  # noqa: F401
from gridkit.cli import partition as _partition  # noqa: F401
from gridkit.cli import regenerate as _regenerate  # noqa: F401
from gridkit.cli import report as _report  # noqa: F401
from gridkit.cli import routes as _routes  # noqa: F401
from gridkit.cli import run as _run  # noqa: F401
from gridkit.cli import validate as _validate_cli  # noqa: F401
from gridkit.cli import wardens as _wardens  # noqa: F401
from gridkit.cli._common import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - entry point for python -m gridkit.cli
    """Run the command line."""
    app(prog_name="gridkit")
