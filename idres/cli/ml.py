"""CLI commands: ml (registered on the shared app)."""

from __future__ import annotations
