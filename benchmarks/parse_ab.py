"""A/B of `parse_feed` against another git ref (default: main): same ParsedFeed, and CPU time.

    PYTHONPATH=. python benchmarks/parse_ab.py [--ref main] [--rounds 7] [--no-check]

The ref's worker/core/feed.py is loaded from `git show`, with the ref's decode, xmlfeed and urls
modules bound while it loads (as benchmarks/clean_ab.py does for the cleaner). Check: for the
ingest benchmark's 5 feeds, every feed of tests/fixtures and of ../shared/corpus (feedparser's
own test corpus), both parse to equal ParsedFeeds (every ParsedEntry field, and each value's type)
or raise the same error; with and without the lxml fast path. Timing: the benchmark's feeds,
the two parsers interleaved in one process, process CPU time, best of the rounds, ms per item.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from typing import Any

from benchmarks.clean_ab import ROOT, SHARED_CANDIDATES, module_at, ref_helpers
from benchmarks.ingest import feed_bytes
from worker.core import feed as new_feed
from worker.gctuning import tune_for_ingest

HELPERS = ("worker/core/decode.py", "worker/core/xmlfeed.py", "worker/core/urls.py")
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def ref_parse_feed(ref: str) -> Callable[..., Any]:
    with ref_helpers(ref, HELPERS):
        module = module_at(ref, "worker/core/feed.py", "feedwash_ref_feed")
    return module.parse_feed  # type: ignore[no-any-return]


def corpus() -> list[tuple[str, bytes]]:
    feeds = [(f"bench-{n}", feed_bytes(n, 200)) for n in range(5)]
    roots = [ROOT / "tests" / "fixtures"]
    roots += [shared / "corpus" / "feedparser_tests" for shared in SHARED_CANDIDATES]
    for root in roots:
        if root.is_dir():
            feeds += [(str(path), path.read_bytes()) for path in sorted(root.rglob("*"))
                      if path.is_file() and path.suffix in (".xml", ".rss", ".atom", ".rdf", ".json")]
    return feeds


def outcome(parse: Callable[..., Any], data: bytes, fast_path: bool) -> Any:
    try:
        parsed = parse(data, "https://example.com/feed.xml", HEADERS, fast_path=fast_path)
    except Exception as error:  # the same error on both sides is an equal outcome
        return ("error", type(error).__name__, str(error))
    return parsed, [[type(value) for value in dataclasses.astuple(entry)] for entry in parsed.entries]


def check(old: Callable[..., Any], feeds: list[tuple[str, bytes]]) -> int:
    differ = entries = 0
    for name, data in feeds:
        for fast_path in (True, False):
            before, after = outcome(old, data, fast_path), outcome(new_feed.parse_feed, data, fast_path)
            if before != after:
                differ += 1
                print(f"DIFFERENT ({'fast' if fast_path else 'feedparser'}): {name}")
            elif fast_path and before[0] != "error":
                entries += len(before[0].entries)
    print(f"checked {len(feeds)} feeds ({entries} entries), both paths: {differ} differ")
    return differ


def timing(old: Callable[..., Any], rounds: int) -> None:
    feeds = [feed_bytes(n, 200) for n in range(5)]
    items = 5 * 200
    best = {"ref": float("inf"), "new": float("inf")}
    for _ in range(rounds):
        for label, parse in (("ref", old), ("new", new_feed.parse_feed)):
            start = time.process_time()
            for n, data in enumerate(feeds):
                parse(data, f"https://bench.example/{n}.xml", HEADERS)
            best[label] = min(best[label], time.process_time() - start)
    print(f"parse_feed CPU ms/item, best of {rounds}: ref {best['ref'] * 1e3 / items:.4f} -> "
          f"new {best['new'] * 1e3 / items:.4f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()
    old = ref_parse_feed(args.ref)
    differ = 0 if args.no_check else check(old, corpus())
    tune_for_ingest()
    timing(old, args.rounds)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
