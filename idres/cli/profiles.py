"""CLI commands: profiles (registered on the shared app)."""

from __future__ import annotations
