"""An article's derived values, a git ref's code (default `main`) against the working tree's: the
same values, and how fast.

    PYTHONPATH=$PWD python benchmarks/derive_ab.py [--ref main] [--texts 20000] [--rounds 15] [--no-check]

What is compared: `pipeline.finish_entry` (URLs, NFKC form, summary, content hash, reading length,
language, lead image, provenance: the CleanArticle's every field and its NFKC form's text and code
points) and the near-duplicate fingerprint that storage computes from it (`dedup.fingerprint_for`
is `neardup.sketch_and_bands` on the carried NFKC form: sketch values, set size, band hashes and the
packed bytes). The ref's `worker/core` modules of these (nfkc, urls, text, derive, fingerprint,
neardup, pipeline) are loaded from `git show` into modules of their own, each seeing the ref's
versions of the others.

Check (unless --no-check), on: the ingest benchmark's 1,000 cleaned articles, every post of the
shared corpora (../shared/corpus) cleaned with the shipped rules, and --texts generated texts
(CJK, kana, hangul, astral characters, Σ and İ, compatibility characters whose NFKC has spaces,
every kind of Unicode whitespace, empty and very short texts, long repeated texts) with generated
links and images; plus the sketch of random code-point arrays (few distinct characters: many
repeated shingles). Speed: each function over the benchmark's 1,000 articles, the ref's and this
tree's passes alternated, process CPU time, medians over --rounds, in microseconds per article.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.clean_ab import benchmark_entries, corpus_entries, module_at, shipped_rules  # noqa: E402
from worker.core import derive, fingerprint, neardup, nfkc, pipeline, rules, text, urls  # noqa: E402
from worker.core.types import CleanedHtml, ParsedEntry  # noqa: E402
from worker.storage.dedup import DedupPolicy  # noqa: E402

# In import order: each module's `from worker.core.x import ...` must find the ref's x.
MODULES = ("nfkc", "urls", "text", "derive", "fingerprint", "neardup", "pipeline")


def ref_modules(ref: str) -> dict[str, types.ModuleType]:
    loaded: dict[str, types.ModuleType] = {}
    saved = {name: sys.modules[f"worker.core.{name}"] for name in MODULES}
    try:
        for name in MODULES:
            module = module_at(ref, f"worker/core/{name}.py", f"feedwash_ref_{name}")
            sys.modules[f"worker.core.{name}"] = loaded[name] = module
    finally:
        sys.modules.update({f"worker.core.{name}": module for name, module in saved.items()})
    return loaded


NEW = {"nfkc": nfkc, "urls": urls, "text": text, "derive": derive, "fingerprint": fingerprint,
       "neardup": neardup, "pipeline": pipeline}

# ---- inputs ------------------------------------------------------------------------------------

# Characters generated texts are made of, by kind. Whitespace: everything str.split() splits on
# and what NFKC turns into a space; compatibility characters whose NFKC starts with a space
# (U+00A8, U+00B4, U+FE70...); Σ and İ (lower-cased by context); astral letters, emoji and CJK.
WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()] + ["\u00a8", "\u00b4", "\u02d8", "\ufe70",
                                                                        "\u2002", "\u3000", "\u00a0"]
PIECES = {
    "cjk": list("中文新闻北京上海经济增长，。！？：；（）《》…“”、"),
    "kana": list("ひらがなカタカナです。"),
    "hangul": list("한국어뉴스"),
    "latin": [*"AbcXyz019 .-'’éÉß", "it's", "well-known", "3.5", "a.b.c", "a..b", ".a", "x-"],
    "wide": list("ＡＢＣａｂｃ０１２①②㈠㍿ﬁ…"),
    "case": list("ΣσςΑΒİIıi\u0307"),
    "astral": list("𝐀𝐁🛒😀𠀀𠀁𐐀𐐨\U0002a6a5"),
    "space": WHITESPACE,
    "odd": ["\u0301", "\u200b", "\ufeff", "\x00", "\x1f", "\U000e0001", "\ufffd", "\uffff"],
}
KINDS = list(PIECES)
LINKS = [None, "", "https://example.com/a?utm_source=x&id=3", "http://Example.COM:80/b#frag",
         "https://finance.sina.com.cn/x.shtml?from=feed&utm_medium=rss", "javascript:alert(1)",
         "//cdn.example.com/x", "https://例子.测试/路径?q=中文", "ftp://x/y", " https://a.b/c "]
IMAGES = [None, "", "https://picsum.photos/200", "https://img.example.com/a.png",
          "data:image/png;base64,x", "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png",
          "/relative.png", " https://x.y/z.jpg "]


def generated_text(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.05:
        return rng.choice(["", " ", "\n", "a", "中", "Σ", "İ", "𝐀", "ab cd", "……", "\u3000\u3000"])
    kinds = rng.sample(KINDS, rng.randint(1, 4))
    size = rng.choice([3, 10, 50, 200, 800, 2500]) if shape < 0.97 else 9000
    chars = [rng.choice(PIECES[rng.choice(kinds)]) for _ in range(rng.randint(0, size))]
    out = "".join(chars)
    if rng.random() < 0.1:  # repeated text: many equal shingles
        out = out[:rng.randint(5, 60)] * rng.randint(2, 80)
    return out


def generated_bodies(count: int, seed: int = 11) -> Iterator[pipeline.CleanedBody]:
    rng = random.Random(seed)
    for i in range(count):
        body_text = generated_text(rng)
        images = tuple(rng.choice(IMAGES[1:]) or "x" for _ in range(rng.randint(0, 2)))
        cleaned = CleanedHtml(html=f"<p>{body_text}</p>", text=body_text, removed={"r": 1} if i % 3 else {},
                              samples={"r": body_text[:10]} if i % 3 else {}, images=images)
        entry = ParsedEntry(entry_key=f"g{i}", title=generated_text(rng)[:80], html=cleaned.html,
                            link=rng.choice(LINKS), lead_image=rng.choice(IMAGES))
        yield pipeline.CleanedBody(entry, (), cleaned)


def real_bodies(corpus: bool) -> tuple[list[pipeline.CleanedBody], list[pipeline.CleanedBody]]:
    shipped = shipped_rules(rules)
    bench = [pipeline.clean_body(entry, shipped, entry.link) for entry in benchmark_entries()]
    shared = []
    if corpus:
        for _, entry in corpus_entries():
            try:
                shared.append(pipeline.clean_body(entry, shipped, entry.link))
            except Exception:  # what the cleaner refuses has no derived values
                continue
    return bench, shared


# ---- check -------------------------------------------------------------------------------------

def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as error:  # both sides must fail alike
        return ("raised", type(error).__name__)


def derived(mods: dict[str, Any], body: pipeline.CleanedBody, policy: DedupPolicy) -> Any:
    article = mods["pipeline"].finish_entry(body)
    form = article.nfkc_form
    sketch, bands = mods["neardup"].sketch_and_bands(article.text, policy.near, form)
    alone = mods["neardup"].sketch(article.text)  # without the carried form
    # Sketches as tuples: each side has its own Sketch class
    return (article, form.text, form.codes.tolist(), (sketch.signature, sketch.size), bands,
            mods["neardup"].pack(sketch), (alone.signature, alone.size),
            mods["fingerprint"].content_hash(article.text, "t", 120))


def check(ref: dict[str, Any], sets: dict[str, Sequence[pipeline.CleanedBody]], policy: DedupPolicy) -> int:
    failures = 0
    for name, bodies in sets.items():
        bad = 0
        for body in bodies:
            old = outcome(lambda b=body: derived(ref, b, policy))
            new = outcome(lambda b=body: derived(NEW, b, policy))
            if old != new:
                bad += 1
                if bad <= 3:
                    print(f"  DIFFERENT ({name}): {body.cleaned.text[:80]!r}", file=sys.stderr)
        print(f"{name}: {len(bodies)} articles, {bad} different")
        failures += bad
    rng = np.random.default_rng(5)
    shapes = [(2, 40), (3, 5000), (30, 300), (1000, 2000), (0x110000, 20), (0x110000, 70_000)]
    arrays = [rng.integers(0, alphabet, size, dtype=np.uint32)
              for alphabet, size in shapes for _ in range(300)]
    arrays += [np.full(n, 7, dtype=np.uint32) for n in range(12)]
    bad = sum(ref["neardup"]._signature_values(a)[1] != neardup._signature_values(a)[1]
              or not np.array_equal(ref["neardup"]._signature_values(a)[0], neardup._signature_values(a)[0])
              for a in arrays)
    print(f"random code-point arrays: {len(arrays)} sketches, {bad} different")
    return failures + bad


# ---- speed -------------------------------------------------------------------------------------

Timed = tuple[Callable[[Any], Any], Sequence[Any]]  # a function and what it is called on


def alternated(pairs: dict[str, tuple[Timed, Timed]], rounds: int, chunk: int = 100) -> None:
    """Per round, chunk by chunk: the ref's function on a chunk, then this tree's on the same
    chunk (the other order every other round), so a busy second core weighs on both alike."""
    for name, sides in pairs.items():
        times: dict[str, list[float]] = {"ref": [], "new": []}
        count = len(sides[0][1])
        for round_ in range(rounds):
            spent = {"ref": 0.0, "new": 0.0}
            order = list(zip(("ref", "new"), sides, strict=True))
            if round_ % 2:
                order.reverse()
            for start in range(0, count, chunk):
                for side, (fn, items) in order:
                    begin = time.process_time()
                    for item in items[start:start + chunk]:
                        fn(item)
                    spent[side] += time.process_time() - begin
            for side, seconds in spent.items():
                times[side].append(seconds * 1e6 / count)
        before, after = statistics.median(times["ref"]), statistics.median(times["new"])
        print(f"| {name} | {before:.1f} | {after:.1f} | {before - after:+.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="main")
    parser.add_argument("--texts", type=int, default=20_000, help="generated texts to check")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()
    ref = ref_modules(args.ref)
    for mods in (ref, NEW):  # tables built before anything is timed, as tune_for_ingest does
        mods["neardup"].sketch("x \u03a3"), mods["derive"].classify("x"), mods["nfkc"].nfkc_form("，")
    policy = DedupPolicy.from_settings()
    bench, shared = real_bodies(corpus=not args.no_check)
    if not args.no_check:
        sets = {"benchmark": bench, "corpus": shared, "generated": list(generated_bodies(args.texts))}
        if check(ref, sets, policy):
            raise SystemExit("the working tree's derived values differ from the ref's")
    old_articles = [ref["pipeline"].finish_entry(body) for body in bench]
    new_articles = [pipeline.finish_entry(body) for body in bench]
    print(f"\nref {args.ref} vs working tree, {len(bench)} benchmark articles, medians of {args.rounds} "
          "alternated rounds, CPU µs per article\n")
    print("| function | ref | this tree | saved |\n|---|---:|---:|---:|")
    near = policy.near
    alternated({
        "finish_entry (with content_hash)": (
            (ref["pipeline"].finish_entry, bench), (pipeline.finish_entry, bench)),
        "content_hash (given the NFKC form)": (
            (lambda a: ref["fingerprint"].content_hash(a.text, a.entry.title, 120, a.nfkc_form),
             old_articles),
            (lambda a: fingerprint.content_hash(a.text, a.entry.title, 120, a.nfkc_form), new_articles)),
        "summarize": ((lambda a: ref["text"].summarize(a.text), old_articles),
                      (lambda a: text.summarize(a.text), new_articles)),
        "reading_length_and_language": (
            (lambda a: ref["derive"].reading_length_and_language(a.text), old_articles),
            (lambda a: derive.reading_length_and_language(a.text), new_articles)),
        "fingerprint_for (sketch and bands from the NFKC form)": (
            (lambda a: ref["neardup"].sketch_and_bands(a.text, near, a.nfkc_form), old_articles),
            (lambda a: neardup.sketch_and_bands(a.text, near, a.nfkc_form), new_articles)),
    }, args.rounds)


if __name__ == "__main__":
    main()
