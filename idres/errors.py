"""The library's exceptions: one base class, narrow subclasses, every problem at once.

User errors (bad config, bad profile file, bad option) are :class:`InputError`; each carries a list of
:class:`Problem` so a caller can print one line per problem. The CLI turns any :class:`IdresError` into
those lines and exit status 2, never a traceback.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where it is and what was expected.

    >>> str(Problem("domain.json", "RuleBasedMatching.MatchingRules[0]", "empty rule (got [])"))
    'domain.json: RuleBasedMatching.MatchingRules[0]: empty rule (got [])'
    """

    file: str | None
    location: str
    message: str

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.location) if p]
        return ": ".join([*parts, self.message])


class IdresError(Exception):
    """Base class of every error idres raises on purpose."""


class InputError(IdresError):
    """Bad user input; holds every problem found, not only the first."""

    def __init__(self, problems: Sequence[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(None, "", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(InputError):
    """A domain configuration that AWS would reject (or that idres cannot read)."""


class ProfileError(InputError):
    """A profile file that cannot be read as profiles."""


class ResultsError(InputError):
    """A results folder (or an id asked of it) that is missing or inconsistent."""


class ModelError(InputError):
    """A saved scoring model that does not fit the data or the config."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint when `name` is close to one of `choices`, else ''.

    >>> did_you_mean("MatchingRule", ["MatchingRules", "Enabled"])
    " (did you mean 'MatchingRules'?)"
    """
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def repeated_names(names: Iterable[str], location: str, what: str = "names") -> list[Problem]:
    """A problem naming the values given more than once in `names` (none: empty list).

    >>> [str(p) for p in repeated_names(["a", "b", "a"], "rules", "rule names")]
    ["rules: rule names must be unique (got ['a'])"]
    """
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
    return [Problem(None, location, f"{what} must be unique (got {dupes!r})")] if dupes else []
