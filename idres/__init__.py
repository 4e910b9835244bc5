"""idres: an offline simulator of Amazon Connect Customer Profiles identity resolution.

>>> import idres
>>> result = idres.preview("datasets/domain-rules.json", "datasets/sample-profiles.jsonl")
>>> result.rule_based.summary["ProfilesReviewed"]
360
"""

from __future__ import annotations

# First: sets how Polars' allocator keeps freed memory, which must happen before Polars loads.
from idres import allocator as _allocator  # noqa: F401
from idres.config import DomainConfig, load_domain, parse_domain
from idres.errors import (
    ConfigError,
    IdresError,
    InputError,
    ModelError,
    Problem,
    ProfileError,
    ResultsError,
)
from idres.evaluate import Metrics, evaluate
from idres.pipeline import preview
from idres.profiles import canonicalize, read_profiles, scan_profiles, write_profiles
from idres.results import PreviewResult, ResultsFolder, write_results
from idres.rulebased import RuleBasedOptions, RuleBasedResult, run_rule_based
from idres.synth import SynthParams, generate

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DomainConfig",
    "IdresError",
    "InputError",
    "Metrics",
    "ModelError",
    "PreviewResult",
    "Problem",
    "ProfileError",
    "ResultsError",
    "ResultsFolder",
    "RuleBasedOptions",
    "RuleBasedResult",
    "SynthParams",
    "__version__",
    "canonicalize",
    "evaluate",
    "generate",
    "load_domain",
    "parse_domain",
    "preview",
    "read_profiles",
    "run_rule_based",
    "scan_profiles",
    "write_profiles",
    "write_results",
]
