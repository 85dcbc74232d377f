"""worker.core.selectors: a Finder finds exactly what each selector's XPath finds."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.core.clean import clean_html, parse_body
from worker.core.rules import compile_selector, parse_rules
from worker.core.selectors import Finder, simple_form

SIMPLE = ['span[id^="quote_"]', '[class*="appendQr"]', "p.article-editor", 'span[id^="stock_"]', "a.keyword",
          'font[cms-style*="strong-Bold"]', "ul#link1111", ".el-popover", "img", "*", "P.Keyword", "[ID=x]",
          '[lang|="en"]', '[lang|=""]', '[href$=".jpg"]', '[href$=""]', '[class~="a"]', '[title~="a b"]',
          '[data-x=""]', "[data-x]", ".a.b", "#x.a", "p, span.a", "a.keyword, [class*=key]", 'div[id^=""]',
          '[class*=""]', "span[title='x y']", '[class~="a\\09 b"]', '[href="x" s]']
NOT_SIMPLE = [".media-title .category", "p > a", "p:first-child", '[class="a" i]', "a:not(.x)", "p + p",
              "*|p", "[xlink\\:href]"]
TAGS = ["p", "span", "a", "div", "font", "img", "ul", "P", "Span"]
ATTRS = ["id", "class", "ID", "Class", "lang", "href", "title", "data-x", "cms-style"]
VALUES = ["", "x", "a", "a b", " a\tb ", "a\nb", "a\x0cb", "en", "en-US", "EN", "x.jpg", ".jpg", "quote_1",
          "stock_", "appendQr_wrap", "clearfix appendQr", "keyword", "Keyword", "keyword-x", "article-editor",
          "font-L strong-Bold", "el-popover", "link1111", "&#97;ppendQr", "a\u3000b"]


@st.composite
def documents(draw: st.DrawFn) -> str:
    def element(depth: int) -> str:
        tag = draw(st.sampled_from(TAGS))
        attrs = "".join(f' {draw(st.sampled_from(ATTRS))}="{draw(st.sampled_from(VALUES))}"'
                        for _ in range(draw(st.integers(0, 3))))
        if draw(st.booleans()):
            attrs += f" {draw(st.sampled_from(ATTRS))}"  # a valueless attribute
        children = "".join(element(depth + 1) for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))))
        return f"<{tag}{attrs}>t{children}</{tag}>"
    return "".join(element(0) for _ in range(draw(st.integers(1, 4))))


def test_which_selectors_are_simple() -> None:
    assert all(simple_form(css) is not None for css in SIMPLE)
    assert all(simple_form(css) is None for css in [*NOT_SIMPLE, "svg|a"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_finder_finds_what_xpath_finds(html: str) -> None:
    body = parse_body(f"<body class='keyword'>{html}</body>")
    assert body is not None
    selectors = [compile_selector(css, "test") for css in SIMPLE + NOT_SIMPLE]
    expected = [selector.xpath(body) if selector.simple is not None else None for selector in selectors]
    assert Finder([(s.xpath, s.simple) for s in selectors])(body) == expected
    for selector, found in zip(selectors, expected, strict=True):  # each alone: the walk by tag
        assert Finder([(selector.xpath, selector.simple)])(body) == [found], selector.css


def test_selectors_that_are_not_simple_see_the_tree_earlier_ones_left() -> None:
    rules = parse_rules("""
name: t
match: {all: true}
remove: ['.x', 'p:first-child']
unwrap: ['span', 'div > em']
rename: {'b': i, 'i + u': s}
""", "test")
    out = clean_html('<div><span class="x">s</span><p>a</p><p>b</p><span><em>c</em></span>d<b>e</b>'
                     "<u>f</u></div>", rules)
    # p:first-child once .x is gone; div > em once the span is unwrapped; i + u once b is an i.
    assert out.html == "<div><p>b</p>cd<i>e</i><s>f</s></div>"
    assert out.removed == {"t: remove .x": 1, "t: remove p:first-child": 1, "t: unwrap span": 1,
                           "t: unwrap div > em": 1}


def test_values_that_look_like_code_are_only_matched() -> None:
    # The Finder's walk is Python written for the selectors: their names and values must reach it
    # as data, never as source.
    values = ["x') or True or ('", "{c}", "__import__('os')", "{0}", "a'b", "} {"]
    body = parse_body("<body>" + "".join(f'<p title="{v}" data-x="{v}">t</p>' for v in values)
                      + '<p title="other">t</p></body>')
    assert body is not None
    csses = [f'[title="{v}"]' for v in values] + [f'p[data-x^="{values[0]}"]']
    selectors = [compile_selector(css, "test") for css in csses]
    assert all(selector.simple is not None for selector in selectors)
    found = Finder([(s.xpath, s.simple) for s in selectors])(body)
    assert found == [s.xpath(body) for s in selectors]
    assert [len(hits or ()) for hits in found] == [1] * len(csses)
