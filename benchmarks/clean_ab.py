"""The cleaner of a git ref (default `main`) against the working tree's: same output, and how fast.

    PYTHONPATH=$PWD python benchmarks/clean_ab.py [--ref main] [--fragments 20000] [--runs 5] [--no-check]

`worker/core/clean.py` and `worker/core/rules.py` of the ref are loaded from `git show` into
modules of their own; each cleaner gets the shipped rules compiled by its own rules module.
Check (unless --no-check): every CleanedHtml field equal (removed counts and samples including
their order) on every post of the shared corpora (../shared/corpus), on the ingest benchmark's
1,000 articles and on random fragments from the property-test grammar and the fuzz tokens, with
the shipped rules (and for a quarter of the fragments TEST_RULES) applied where they match; an
input the ref raises on must make this cleaner raise the same. Speed: clean_html over the ingest
benchmark's articles (rules `common` + `sina-finance`, as poll_source applies them), old and new
passes interleaved, best of --runs, process CPU time, in ms per item.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.ingest import FEED_BASE, feed_bytes  # noqa: E402  (sets a scratch data dir first)
from worker.core import clean as new_clean  # noqa: E402
from worker.core import rules as new_rules  # noqa: E402
from worker.core.feed import parse_feed  # noqa: E402
from worker.core.seed import parse_seed  # noqa: E402
from worker.core.types import CleanedHtml, InputError, ParsedEntry  # noqa: E402

SHARED_CANDIDATES = (ROOT.parent / "shared", ROOT.parent.parent / "shared")


# The ref's cleaner iterated a set of elements in _drop_text, whose order follows memory
# addresses; this cleaner takes them in document order. For inputs where the order matters the
# ref's output is compared as patched to document order too (and such inputs are counted).
SET_ORDER = ("    for block in lined:\n",
             "    for block in [e for e in body.iter() if e in lined] if len(lined) > 1 else lined:\n")


def module_at(ref: str, path: str, name: str, patch: tuple[str, str] | None = None) -> types.ModuleType:
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{path}"], check=True,
                            capture_output=True, text=True).stdout
    if patch is not None:
        if source.count(patch[0]) != 1:
            raise SystemExit(f"{ref}:{path} has no single {patch[0]!r} to patch")
        source = source.replace(*patch)
    module = types.ModuleType(name)
    module.__file__ = f"{ref}:{path}"
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


# The modules the cleaner and rules import from: the ref's, while the ref's cleaner and rules are
# loaded (their `from worker.core.x import ...` binds names then), so the ref is timed and checked
# whole and not with this tree's helpers.
HELPERS = ("worker/core/plaintext.py", "worker/core/selectors.py")


@contextlib.contextmanager
def ref_helpers(ref: str, helpers: tuple[str, ...] = HELPERS) -> Iterator[None]:
    """The ref's versions of these modules in sys.modules while the block runs."""
    saved = {}
    for path in helpers:
        name = path[:-len(".py")].replace("/", ".")
        saved[name] = sys.modules.get(name)
        sys.modules[name] = module_at(ref, path, "feedwash_ref_" + Path(path).stem)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module


# Not shipped: selectors of every kind (combinators and pseudo-classes among simple ones, which
# must see the tree the earlier ones leave), a rename chain, an attribute filter, text rules.
TEST_RULES = """
name: clean-ab
match: {categories: [clean-ab]}
remove: ['.ad', 'p:first-child', 'div > span.keyword', '[id^="quote_"]', 'li + li']
unwrap: ['span', 'div > em', 'font', 'a.keyword', 'td:last-child']
rename: {'b': i, 'i + u': s, 'font[cms-style*="strong-Bold"]': strong, 'strong': b, 'div.video': iframe,
         'span.pic': img}
attributes: [{select: img, drop: [alt]}, {select: 'a', keep: [href], when: '^https?:'}]
drop_text: ['^alert', '^0 likes$', 'hello']
"""


def shipped_rules(rules_module: Any) -> tuple[Any, ...]:
    found: list[Any] = []
    for file in sorted((ROOT / "config" / "rules").glob("*.yaml")):
        found.extend(rules_module.parse_rules(file.read_text("utf-8"), str(file)))
    return tuple(found)


def check_rules(rules_module: Any) -> tuple[Any, ...]:
    return (*shipped_rules(rules_module), *rules_module.parse_rules(TEST_RULES, "clean_ab.TEST_RULES"))


def benchmark_entries(feeds: int = 5, items: int = 200) -> list[ParsedEntry]:
    entries: list[ParsedEntry] = []
    for n in range(feeds):
        entries.extend(parse_feed(feed_bytes(n, items), f"{FEED_BASE}/{n}.rss").entries)
    return entries


def corpus_entries() -> Iterator[tuple[str, ParsedEntry]]:
    shared = next((root for root in SHARED_CANDIDATES if (root / "corpus").is_dir()), None)
    if shared is None:
        print("no ../shared corpus here: corpus posts skipped", file=sys.stderr)
        return
    for path in [shared / "seeds" / "000_c783d7c486dca3b2.txt",
                 *sorted((shared / "corpus" / "hexo_posts").glob("*")),
                 *sorted((shared / "corpus" / "hexo_rebuilt").rglob("*.md"))]:
        with contextlib.suppress(InputError):
            yield str(path), parse_seed(path.read_bytes(), path.name)
    for path in sorted((shared / "corpus" / "feedparser_tests").rglob("*.xml")):
        with contextlib.suppress(InputError, ValueError):
            for entry in parse_feed(path.read_bytes(), f"https://feedparser.test/{path.name}").entries:
                yield str(path), entry


def fragments(count: int, seed: int = 7) -> Iterator[str]:
    """Half from the property tests' grammar (tests/test_clean_properties.py), half from the fuzz
    test's token soup (tests/test_fuzz.py), drawn with a seeded random.Random (no hypothesis)."""
    from tests.test_clean_properties import ATTRS, TAGS, URLS
    from tests.test_fuzz import HTML_TOKENS
    rng = random.Random(seed)
    texts = ["hello", "　　缩进", "{brace}", "&#123;x&#125;", "<", "&amp;", "a b", "", "\u3000",
             "alert(1)", "expression(alert(1))", "]]>", "--", "<!--x-->", "责任编辑：张三",
             "海量资讯、精准解读，尽在新浪财经APP", " \n ", "0 likes", "中文", "\xa0", "<br>", "\ud800"]
    # References to control characters, now and then (the ref raises on many: see check()).
    controls = ["&#12;", "&#11;", "&#1;", "&#x85;", "&#13;"]

    def text() -> str:
        return rng.choice(controls) if rng.random() < 0.01 else rng.choice(texts)
    extra_tags = ["h1", "h3", "thead", "tbody", "th", "caption", "center", "article", "header", "u",
                  "sup", "small", "ol", "dl", "dt", "dd", "hr", "param", "source", "track", "keygen"]
    # Classes and ids the shipped rules look for, alone and among others.
    classes = ["article-editor", "appendQr_wrap", "clearfix appendQr_wrap", "keyword", "ad", "x",
               "media-title", "category", "el-popover", "support-author", "zhuanzai", "x\tkeyword",
               "keyword-x", "Keyword", "resource-content-citation", "video", "pic", ""]
    ids = ["stock_sh600000", "quote_sh600000", "artibody", "x", "link1111", "qb-sougou-search", "quote_",
           "QUOTE_1", ""]

    def attribute() -> str:
        name = rng.choice([*ATTRS, "class", "class", "id", "id", "hidden", "cms-style", "referrerpolicy",
                           "rel", "target", "align", "data-original", "sandbox", "loading", "colspan",
                           "datetime"])
        if name == "class":
            value = rng.choice(classes)
        elif name == "id":
            value = rng.choice(ids)
        elif name == "cms-style":
            value = rng.choice(["font-L strong-Bold", "font-L", "strong-bold"])
        elif name in ("href", "src", "action", "formaction", "xlink:href", "data-src", "background",
                      "srcdoc"):
            value = rng.choice(URLS)
        else:
            value = rng.choice(["1", "0", "x", "display:none", "color:red;background:url(javascript:x)",
                                "alert(1)", "refresh", "0;url=javascript:alert(1)"])
        quote = rng.choice(['"', "'", ""])
        if value == "" or (quote == "" and any(c in value for c in " \t'\"<>=")):
            quote = '"'
        return f" {name}={quote}{value}{quote}"

    def node(depth: int) -> str:
        if depth > 4 or rng.random() < 0.35:
            return text()
        if rng.random() < 0.2:
            return "".join(node(depth + 1) for _ in range(rng.randint(0, 3)))
        tag = rng.choice(TAGS + extra_tags)
        if rng.random() < 0.2:
            tag = tag.upper() if rng.random() < 0.5 else tag.capitalize()
        attrs = "".join(attribute() for _ in range(rng.randint(0, 3)))
        inner = "".join(node(depth + 1) for _ in range(rng.randint(0, 4)))
        closing = rng.choice([f"</{tag}>", f"</{tag}>", "", f"</{tag} >"])
        return f"<{tag}{attrs}>{inner}{closing}"

    for i in range(count):
        if i % 2:
            yield "".join(node(0) for _ in range(rng.randint(1, 4)))
        else:
            pieces = []
            for _ in range(rng.randint(0, 40)):
                if rng.random() < 0.6:
                    pieces.append(rng.choice(HTML_TOKENS) if rng.random() < 0.5 else text())
                else:
                    pieces.append("".join(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0, 0x3000)]))
                                          for _ in range(rng.randint(0, 8))))
            yield "".join(pieces)


def fields(cleaned: CleanedHtml) -> tuple[Any, ...]:
    return (cleaned.html, cleaned.text, list(cleaned.removed.items()), list(cleaned.samples.items()),
            cleaned.images)


def outcome(clean: Callable[..., CleanedHtml], *args: Any) -> tuple[Any, ...]:
    try:
        return fields(clean(*args))
    except Exception as exc:  # (the ref has inputs it raises on: the same must happen here)
        return ("raised", type(exc).__name__, str(exc))


def check(old: Any, ordered: Any, old_rules: tuple[Any, ...], new_rules_: tuple[Any, ...],
          fragment_count: int) -> int:
    """Raises SystemExit at the first difference; returns on how many inputs the ref's output
    depended on its set order (`ordered`: the ref patched to document order)."""
    old_by_name = {rule.name: rule for rule in old_rules}

    def both(name: str, raw: str, urls: tuple[str | None, ...], categories: tuple[str, ...],
             base: str | None) -> None:
        matched = new_rules.matching_rules(new_rules_, urls, categories)
        old_matched = [old_by_name[r.name] for r in matched]
        a = outcome(old.clean_html, raw, old_matched, base)
        b = outcome(new_clean.clean_html, raw, matched, base)
        if a == b and a[0] == "raised":
            both_raised.append(name)
        if a != b:
            if a[0] == "raised" and b[0] != "raised":
                ref_raised.append(name)  # (main's C0-control character references: see below)
                return
            a = outcome(ordered.clean_html, raw, old_matched, base)
            if a == b:
                unstable.append(name)
                return
            first = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
            raise SystemExit(f"DIFFERENT on {name}, field {first}:\n{raw[:2000]!r}\n"
                             f"old: {str(a[first])[:3000]}\nnew: {str(b[first])[:3000]}")

    unstable: list[str] = []
    ref_raised: list[str] = []
    both_raised: list[str] = []
    count = 0
    for name, entry in corpus_entries():
        both(name, entry.html, (entry.link, entry.base_url), entry.categories,
             entry.base_url or entry.link)
        count += 1
    print(f"corpus posts and feed entries: {count} identical")
    bench = benchmark_entries()
    for entry in bench:
        both(entry.entry_key, entry.html, (entry.link, entry.base_url), entry.categories,
             entry.base_url or entry.link)
    print(f"benchmark articles: {len(bench)} identical")
    # Fragments: with no rules, with the Sina rules, with every rule, with the test rules and the
    # Sina ones; with and without a base URL.
    every = tuple({category for rule in new_rules_ for category in rule.categories})
    n = 0
    for n, raw in enumerate(fragments(fragment_count), 1):
        categories = ((), ("新浪财经",), every, ("clean-ab", "新浪财经"))[n % 4]
        base = "https://news.example/a/1" if n % 2 else None
        both(f"fragment {n}", raw, (base,), categories, base)
    print(f"random fragments: {n} identical")
    print(f"of these, {len(unstable)} identical only to the ref in document order (SET_ORDER): "
          f"{unstable[:20]}")
    # A character reference to a C0 control (&#12;) puts the character in the tree, and setting
    # a text with it raises ValueError in lxml: the ref raised where stripping indentation moved
    # such a text, and where this cleaner strips it before moving it, it does not.
    print(f"of these, {len(ref_raised)} where the ref raised and this cleaner did not: {ref_raised[:20]}")
    print(f"of these, {len(both_raised)} where both raised the same: {both_raised[:20]}")
    return len(unstable)


def cpu_ms_per_item(work: Callable[[], None], items: int) -> float:
    start = time.process_time()
    work()
    return (time.process_time() - start) * 1000 / items


def speed(old: Any, new: Any, old_rules: tuple[Any, ...], new_rules_: tuple[Any, ...], runs: int) -> None:
    entries = benchmark_entries()
    matched = new_rules.matching_rules(new_rules_, (entries[0].link,), entries[0].categories)
    old_matched = [next(r for r in old_rules if r.name == m.name) for m in matched]
    jobs = [(e.html, e.base_url or e.link) for e in entries]
    print(f"rules: {[r.name for r in matched]}")

    def run(module: Any, rules: Any) -> Callable[[], None]:
        def work() -> None:
            for raw, base in jobs:
                module.clean_html(raw, rules, base)
        return work

    old_times, new_times = [], []
    for _ in range(runs):
        old_times.append(cpu_ms_per_item(run(old, old_matched), len(jobs)))
        new_times.append(cpu_ms_per_item(run(new_clean, matched), len(jobs)))
    print(f"clean_html, {len(jobs)} benchmark articles, CPU ms/item, best of {runs} (all runs):")
    print(f"  old {min(old_times):.3f}  ({', '.join(f'{t:.3f}' for t in old_times)})")
    print(f"  new {min(new_times):.3f}  ({', '.join(f'{t:.3f}' for t in new_times)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main")
    parser.add_argument("--fragments", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-check", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)
    with ref_helpers(args.ref):
        old_rules_module = module_at(args.ref, "worker/core/rules.py", "feedwash_ref_rules")
        old = module_at(args.ref, "worker/core/clean.py", "feedwash_ref_clean")
        try:
            ordered = module_at(args.ref, "worker/core/clean.py", "feedwash_ref_clean_ordered",
                                SET_ORDER)
        except SystemExit:  # a ref that takes the blocks in document order already
            ordered = old
    # One nh3.Cleaner for all: the order in which it writes set_tag_attribute_values (the
    # <iframe> sandbox/loading/referrerpolicy) differs between Cleaner instances (a Rust HashMap).
    old._SANITIZER = ordered._SANITIZER = new_clean._SANITIZER
    old_rules = shipped_rules(old_rules_module)
    new_rules_ = shipped_rules(new_rules)
    if not args.no_check:
        check(old, ordered, check_rules(old_rules_module), check_rules(new_rules), args.fragments)
    if not args.no_speed:
        speed(old, new_clean, old_rules, new_rules_, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
