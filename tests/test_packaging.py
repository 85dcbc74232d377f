"""What pyproject.toml must declare for a plain `pip install .` (the Dockerfile's) to work."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def _declared() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = (re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", d) for d in deps)
    return {m[1].lower().replace("_", "-"): m[2] for m in pins if m}


def test_readabilitys_html_cleaner_is_a_direct_dependency() -> None:
    """readability-lxml imports lxml_html_clean, which it requests as the extra `lxml[html_clean]`:
    pip before 23.3 (Python 3.11's bundled 23.2.1) does not match that spelling to lxml's
    `html-clean` extra and installs nothing, so page extraction died with ModuleNotFoundError."""
    from importlib.metadata import version

    assert _declared().get("lxml-html-clean") == version("lxml_html_clean")
