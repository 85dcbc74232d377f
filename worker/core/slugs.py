"""Category names -> URL slugs, the same everywhere (feeds, OPML, web pages).

Chinese categories keep their characters: a slug is the name folded (NFKC, lower case, runs of
whitespace and URL-reserved characters to one "-"), so "新浪财经－国內" is "新浪财经-国內", and
URLs carry it percent-encoded. No transliteration: it would be lossy and collide.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_SEPARATORS = re.compile(r"[\s/\\?#%&+.]+")


def category_slug(name: str) -> str:
    """The slug of a category name; "" when nothing usable is left."""
    folded = unicodedata.normalize("NFKC", name).strip().lower()
    return _SEPARATORS.sub("-", folded).strip("-")


def slug_path(slug: str) -> str:
    """`slug` percent-encoded for a URL path segment (RFC 3986 unreserved stay as they are)."""
    return quote(slug, safe="-_~")
