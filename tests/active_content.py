"""What "no active content" means, checked on the markup (not on escaped text, where `&lt;script`
is just words): the helper the corpus, property and XSS tests share."""

from __future__ import annotations

import re

import lxml.html

from worker.core.clean import VIDEO_HOSTS

FORBIDDEN_TAGS = ("<script", "<style", "<!--", "<svg", "<math", "<object", "<embed", "<form",
                  "<meta", "<base", "<link", "<frame", "<applet", "<template", "<noscript", "<input",
                  "<button", "<textarea", "<select", "<xmp", "<plaintext", "<noembed", "<noframes")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "cite", "background", "poster", "xlink:href",
                  "data", "codebase", "dynsrc", "lowsrc"}
_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_SAFE_DATA_IMAGE = re.compile(r"^data:image/(png|gif|jpeg|jpg|webp|avif);base64,", re.I)
_IFRAME_HOST = re.compile(r"^https?://([^/:?#]+)", re.I)


def active_content(html: str) -> list[str]:
    """Everything in `html` that could run in a reader; empty when it is safe."""
    problems = [tag for tag in FORBIDDEN_TAGS if tag in html.lower()]
    if not html.strip():
        return problems
    for element in lxml.html.fragment_fromstring(html, create_parent="div").iter():
        if not isinstance(element.tag, str):
            problems.append("comment or processing instruction")
            continue
        for name, value in element.attrib.items():
            problems.extend(_attribute_problems(element.tag, name.lower(), value))
        if element.tag == "iframe":
            host = _IFRAME_HOST.match(element.get("src", ""))
            if not host or host.group(1).lower() not in VIDEO_HOSTS:
                problems.append(f"iframe {element.get('src')!r}")
    return problems


def _attribute_problems(tag: str, name: str, value: str) -> list[str]:
    if name.startswith("on") or name in ("style", "srcdoc", "formaction", "http-equiv"):
        return [f"<{tag} {name}=...>"]
    if name not in URL_ATTRIBUTES:
        return []
    compact = _NOISE.sub("", value).lower()
    if compact.startswith(("javascript:", "vbscript:", "livescript:")):
        return [f"<{tag} {name}={value!r}>"]
    image = tag == "img" and name == "src" and _SAFE_DATA_IMAGE.match(compact)
    if compact.startswith("data:") and not image:
        return [f"<{tag} {name}={value[:40]!r}>"]
    return []
