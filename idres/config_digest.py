"""A readable digest of a domain configuration: what idres will evaluate, with defaults made explicit.

:func:`digest` returns plain tables (title, column names, rows of strings) so the CLI, the HTML report
and tests can all render or read the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from idres.config import (
    AutoMerging,
    ConflictResolution,
    DomainConfig,
    ExportingConfig,
    Matching,
    RuleBasedMatching,
)

__all__ = ["DigestTable", "digest"]


@dataclass(frozen=True, slots=True)
class DigestTable:
    """One table of a digest: a title, column names and rows of display strings."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def digest(config: DomainConfig) -> list[DigestTable]:
    """The configuration as tables: domain, rule levels, selector, limits, auto-merging, schedule.

    >>> from idres.config import parse_domain
    >>> tables = digest(parse_domain({"RuleBasedMatching": {"Enabled": True,
    ...     "MatchingRules": [{"Rule": ["EmailAddress"]}, {"Rule": ["PhoneNumber", "LastName"]}],
    ...     "MaxAllowedRuleLevelForMerging": 1}}))
    >>> [t.title for t in tables]
    ['Domain', 'Rule-based matching', 'Rule levels', 'Attribute types selector']
    >>> tables[2].rows
    (('1', 'EmailAddress', 'match + merge'), ('2', 'PhoneNumber + LastName', 'match only'))
    """
    tables = [_domain(config)]
    if config.RuleBasedMatching is not None:
        tables += _rule_based(config.RuleBasedMatching)
    if config.Matching is not None:
        tables += _ml(config.Matching)
    return tables


def _kv(title: str, rows: list[tuple[str, str]]) -> DigestTable:
    return DigestTable(title, ("Setting", "Value"), tuple(rows))


def _domain(config: DomainConfig) -> DigestTable:
    given = config.model_fields_set
    rows = [
        ("DomainName", config.DomainName + ("" if "DomainName" in given else " (default)")),
        (
            "DefaultExpirationDays",
            f"{config.DefaultExpirationDays}"
            + ("" if "DefaultExpirationDays" in given else " (default)"),
        ),
        ("DeadLetterQueueUrl", config.DeadLetterQueueUrl or "none"),
    ]
    if config.DefaultEncryptionKey:
        rows.append(("DefaultEncryptionKey", config.DefaultEncryptionKey))
    if config.Tags:
        rows.append(("Tags", ", ".join(f"{k}={v}" for k, v in config.Tags.items())))
    return _kv("Domain", rows)


def _on(enabled: bool) -> str:
    return "yes" if enabled else "no (not run)"


def _conflict(given: ConflictResolution | None, effective: ConflictResolution) -> str:
    if effective.ConflictResolvingModel == "SOURCE":
        text = f"SOURCE: values from {effective.SourceName!r} win, else the most recent"
    else:
        text = "RECENCY: the most recently updated value wins"
    return text + ("" if given is not None else " (default)")


def _export(exporting: ExportingConfig | None) -> str:
    s3 = exporting.S3Exporting if exporting is not None else None
    if s3 is None:
        return "none"
    return f"s3://{s3.S3BucketName}/{s3.S3KeyName or ''}"


def _rule_based(rbm: RuleBasedMatching) -> list[DigestTable]:
    n = len(rbm.rules)
    top, merge = rbm.max_matching_level, rbm.max_merging_level
    matching = f"levels 1..{top}" + (
        "" if rbm.MaxAllowedRuleLevelForMatching else " (default: every rule)"
    )
    merging = (
        f"levels 1..{merge}" if merge else "none: match only (no MaxAllowedRuleLevelForMerging)"
    )
    settings = _kv(
        "Rule-based matching",
        [
            ("Enabled", _on(rbm.Enabled)),
            ("Rules", str(n)),
            ("Matching", matching),
            ("Merging", merging),
            ("Conflict resolution", _conflict(rbm.ConflictResolution, rbm.conflict_resolution)),
            ("Export", _export(rbm.ExportingConfig)),
        ],
    )
    levels = []
    for level, rule in enumerate(rbm.rules, start=1):
        if level > top:
            action = "not evaluated (above MaxAllowedRuleLevelForMatching)"
        elif merge is not None and level <= merge:
            action = "match + merge"
        else:
            action = "match only"
        levels.append((str(level), " + ".join(rule), action))
    selector = rbm.selector
    given = rbm.AttributeTypesSelector is not None
    model = selector.AttributeMatchingModel + ("" if given else " (default)")
    pairing = (
        "any selected sub-type with any other"
        if selector.AttributeMatchingModel == "MANY_TO_MANY"
        else "each sub-type only with itself"
    )
    types = DigestTable(
        "Attribute types selector",
        ("Rule attribute", "Sub-types compared"),
        (
            ("AttributeMatchingModel", f"{model}: {pairing}"),
            ("Address.*", ", ".join(selector.address_types)),
            ("PhoneNumber", ", ".join(selector.phone_fields)),
            ("EmailAddress", ", ".join(selector.email_fields)),
        ),
    )
    return [
        settings,
        DigestTable(
            "Rule levels", ("Level", "Attributes (all must match)", "Action"), tuple(levels)
        ),
        types,
    ]


def _ml(matching: Matching) -> list[DigestTable]:
    schedule = matching.schedule
    when = f"every {schedule.DayOfTheWeek} at {schedule.Time} UTC" + (
        "" if matching.JobSchedule is not None else " (default)"
    )
    rows = [
        ("Enabled", _on(matching.Enabled)),
        ("Schedule", when),
        ("Export", _export(matching.ExportingConfig)),
    ]
    auto = matching.AutoMerging
    rows += _auto_rows(auto)
    tables = [_kv("ML matching (Identity Resolution Job)", rows)]
    if auto is not None and auto.criteria:
        tables.append(
            DigestTable(
                "Auto-merge criteria (applied in order; any one merges)",
                ("Criterion", "Attributes (all must agree)"),
                tuple((str(i), " + ".join(c)) for i, c in enumerate(auto.criteria, start=1)),
            )
        )
    return tables


def _auto_rows(auto: AutoMerging | None) -> list[tuple[str, str]]:
    if auto is None:
        return [("AutoMerging", "not configured: nothing is merged")]
    threshold = auto.MinAllowedConfidenceScoreForMerging
    return [
        ("AutoMerging", _on(auto.Enabled)),
        (
            "Merge threshold",
            f"ConfidenceScore >= {threshold:g}"
            if threshold is not None
            else "none: every match group",
        ),
        ("Conflict resolution", _conflict(auto.ConflictResolution, auto.conflict_resolution)),
    ]
