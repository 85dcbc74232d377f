"""matching_rules (hosts parsed once per entry) picks exactly the rules Rule.matches picks."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.config import load_rules
from worker.core.rules import Rule, matching_rules, parse_rules

RULES = load_rules(Path(__file__).resolve().parent.parent / "config" / "rules")
EXTRA = parse_rules("""
rules:
  - name: by-pattern
    match: {url_patterns: ['/finance/\\d+']}
    remove: [p.x]
  - name: empty-domain-edge
    match: {domains: [example.org]}
    remove: [p.y]
""", "inline")


Urls = tuple[str | None, ...]


def _one_by_one(rules: tuple[Rule, ...], urls: Urls, categories: tuple[str, ...]) -> tuple[Rule, ...]:
    found = [rule for rule in rules if rule.matches(urls, categories)]
    return tuple(sorted(found, key=lambda rule: rule.match_all))


CASES = [
    (("https://finance.sina.com.cn/china/doc-1.shtml", None, None), ()),
    (("https://finance.sina.com.cn/china/doc-1.shtml", None, "https://finance.sina.com.cn/"), ("新浪财经",)),
    (("https://FINANCE.SINA.CN/x",), ()),
    (("https://notsina.com.cn/x",), ()),
    (("https://www.ithome.com/0/1.htm", "https://www.cnbeta.com.tw/articles/1.htm"), ()),
    (("https://example.org/finance/12",), ()),
    (("https://sub.example.org./x", ""), ("异次元软件世界", "Dribbble")),
    ((None, None), ("少数派 sspai",)),
    (("not a url", "//host-only.example.org/p"), ()),
    ((), ()),
]


@pytest.mark.parametrize(("urls", "categories"), CASES)
def test_matching_rules_equals_rule_by_rule(urls: Urls, categories: tuple[str, ...]) -> None:
    rules = RULES + EXTRA  # a url pattern: no answers kept
    assert matching_rules(rules, urls, categories) == _one_by_one(rules, urls, categories)


def test_answers_kept_by_host_equal_rule_by_rule() -> None:
    """The shipped rules have no url_patterns: answers are kept per (hosts, categories)."""
    assert not any(rule.url_patterns for rule in RULES)
    same_hosts = [(("https://finance.sina.com.cn/china/doc-2.shtml?from=x", None, None), ()),
                  (("https://www.ithome.com/0/2.htm", "https://www.cnbeta.com.tw/articles/2.htm"), ())]
    for rules in (RULES, list(RULES), RULES, RULES[:3], RULES + EXTRA, RULES):
        for urls, categories in [*CASES, *same_hosts] * 2:
            assert matching_rules(rules, urls, categories) == _one_by_one(tuple(rules), urls, categories)


def test_an_unparsable_url_raises_as_before() -> None:
    with pytest.raises(ValueError):
        _one_by_one(RULES, ("http://[::1/x",), ())
    with pytest.raises(ValueError):
        matching_rules(RULES, ("http://[::1/x",), ())


def test_a_missing_rules_folder_is_reported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Seed import loads the rules for every file: a missing folder was one warning per file."""
    missing = tmp_path / "no-rules"
    with caplog.at_level("WARNING", logger="worker.config"):
        assert load_rules(missing) == () and load_rules(missing) == ()
    assert [r.getMessage() for r in caplog.records] == [
        f"rules folder {missing} does not exist: articles get generic cleaning only"]
