"""The preview: run every enabled job of a domain config on a profile table.

``idres.preview(config, profiles)`` is the Python API; the CLI's ``idres preview`` is a thin shell
over it. Both jobs read the same canonical profile table and their results are kept apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from idres import schema
from idres.config import DomainConfig, load_domain
from idres.results import PreviewResult, profile_ids_digest
from idres.rulebased import RuleBasedOptions, run_rule_based

if TYPE_CHECKING:
    from idres.mljob import MLOptions

log = logging.getLogger(__name__)


def preview(
    config: DomainConfig | str | Path,
    profiles: pl.DataFrame | pl.LazyFrame | str | Path,
    *,
    rule_based_options: RuleBasedOptions | None = None,
    ml_options: MLOptions | None = None,
    jobs: tuple[str, ...] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> PreviewResult:
    """Preview what the domain's identity resolution would do to `profiles`.

    `config` is a :class:`DomainConfig` or a path to one; `profiles` a canonical profile table
    (eager, or lazy as :func:`idres.profiles.scan_profiles` gives: the rule-based job then reads
    only the rule columns of every profile and the other columns of the profiles that merge) or a
    path to a profile file (Parquet is scanned). `jobs` restricts to ``("rule-based",)`` or ``("ml",)``; by default every
    job the config enables runs.

    >>> import polars as pl
    >>> from idres.config import parse_domain
    >>> from idres.profiles import canonicalize
    >>> cfg = parse_domain({"RuleBasedMatching": {"Enabled": True,
    ...     "MatchingRules": [{"Rule": ["EmailAddress"]}], "MaxAllowedRuleLevelForMerging": 1}})
    >>> p = canonicalize(pl.DataFrame({"ProfileId": ["1", "2", "3"],
    ...     "EmailAddress": ["A@x.com", "a@X.com ", "b@x.com"]}))
    >>> preview(cfg, p).rule_based.groups.select("ProfileId", "RuleLevel").rows()
    [('1', 1), ('2', 1)]
    """
    from idres.profiles import scan_profiles

    inputs: dict[str, Any] = {}
    if not isinstance(config, DomainConfig):
        inputs["config"] = str(config)
        config = load_domain(config)
    if not isinstance(profiles, pl.DataFrame | pl.LazyFrame):
        inputs["profiles"] = str(profiles)
        profiles = scan_profiles(profiles)
    ids = profiles.lazy().select(schema.PROFILE_ID).collect().get_column(schema.PROFILE_ID)
    wanted = set(jobs) if jobs else {"rule-based", "ml"}
    rb = None
    rules = config.RuleBasedMatching
    if "rule-based" in wanted and rules is not None and rules.Enabled:
        rb = run_rule_based(
            profiles,
            rules,
            domain_name=config.DomainName,
            options=rule_based_options,
            on_step=on_step,
        )
    ml = None
    if "ml" in wanted and config.Matching is not None and config.Matching.Enabled:
        from idres.mljob import run_ml_job

        frame = profiles if isinstance(profiles, pl.DataFrame) else profiles.collect()
        ml = run_ml_job(frame, config, options=ml_options, on_step=on_step)
    if rb is None and ml is None:
        log.warning("the config enables neither RuleBasedMatching nor Matching: nothing to preview")
    return PreviewResult(
        config=config,
        profile_count=ids.len(),
        profile_ids_sha256=profile_ids_digest(ids),
        rule_based=rb,
        ml=ml,
        inputs=inputs,
    )
