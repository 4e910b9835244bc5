"""idres: an offline simulator of Amazon Connect Customer Profiles identity resolution."""

from __future__ import annotations

from idres.errors import ConfigError, IdresError, InputError, Problem, ProfileError

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "IdresError",
    "InputError",
    "Problem",
    "ProfileError",
    "__version__",
]
