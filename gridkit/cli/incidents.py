"""``gridkit incidents`` commands (being written)."""

from __future__ import annotations
