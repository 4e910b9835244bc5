"""CLI commands: validate (registered on the shared app)."""

from __future__ import annotations
