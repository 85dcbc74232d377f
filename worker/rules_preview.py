"""`feedwash rules test RULES_FILE SAMPLE`: what a rules file changes in one sample article.

The sample is a seed post (front matter + HTML body) or a bare HTML file. "Before" is the sample
cleaned with the generic rules only; "after" adds the rules of the file, so the diff shows exactly
what the file contributes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from worker.core.pipeline import clean_entry
from worker.core.rules import Rule, matching_rules, parse_rules
from worker.core.seed import parse_seed
from worker.core.types import CleanArticle, InputError, ParsedEntry


@dataclass(frozen=True)
class Preview:
    rules: tuple[Rule, ...]
    matched: tuple[str, ...]  # names of the rules that matched the sample (all, for bare HTML)
    before: CleanArticle
    after: CleanArticle

    def diff(self) -> list[str]:
        return list(difflib.unified_diff(
            self.before.text.splitlines(), self.after.text.splitlines(),
            "before (generic rules)", "after (with the rules file)", lineterm="", n=1,
        ))

    def removals(self) -> list[tuple[str, int, str]]:
        """(rule key, count, sample) for what this file's rules removed."""
        own = tuple(f"{name}:" for name in self.matched)
        removed = self.after.provenance.get("removed", {})
        return [(key, item["count"], item["sample"]) for key, item in removed.items()
                if key.startswith(own)]


def sample_entry(data: bytes, name: str) -> tuple[ParsedEntry, bool]:
    """(entry, is_seed). A file that is not a seed post is taken as a bare HTML body."""
    try:
        return parse_seed(data, name), True
    except InputError:
        text = data.decode("utf-8", errors="replace")
        return ParsedEntry(entry_key=name, title=name, html=text), False


def preview(rules_text: str, rules_name: str, sample: bytes, sample_name: str,
            source_url: str | None = None) -> Preview:
    rules = parse_rules(rules_text, rules_name)
    entry, is_seed = sample_entry(sample, sample_name)
    applied = matching_rules(rules, (entry.link, source_url, entry.base_url), entry.categories) \
        if is_seed else rules
    # Matching is done here, so the file's rules apply whatever the sample's categories are for
    # bare HTML; clean_entry's own matching then sees rules that always match.
    forced = tuple(_always(rule) for rule in applied)
    return Preview(
        rules=rules, matched=tuple(rule.name for rule in applied),
        before=clean_entry(entry, (), source_url), after=clean_entry(entry, forced, source_url),
    )


def _always(rule: Rule) -> Rule:
    return replace(rule, match_all=True)
