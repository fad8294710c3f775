"""``python -m gridkit.cli``."""

from gridkit.cli import main

main()
