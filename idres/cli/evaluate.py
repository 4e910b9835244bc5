"""CLI commands: evaluate (registered on the shared app)."""

from __future__ import annotations
