"""The web pages in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium,
installed by scripts/ensure-browser; Playwright never downloads a browser). JavaScript is off,
because the pages must work without it. Screenshots go to docs/screenshots/ (committed) or to
$FEEDWASH_SCREENSHOT_DIR."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from sqlalchemy import update

from tests.conftest import ROOT
from tests.publishing_support import BASE_TIME, add_articles, import_fixture_seeds, live_server
from worker.storage.db import transaction
from worker.storage.models import SeedFile, Sighting, Source
from worker.web.app import app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SIZES = {"": {"width": 1280, "height": 900}, "-phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(os.environ.get("FEEDWASH_SCREENSHOT_DIR", ROOT / "docs" / "screenshots"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "run scripts/ensure-browser (make test does) to install Chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _loopback_only(blocked: list[str]) -> object:
    """Requests leave this machine only to 127.0.0.1; anything else (the article's own images
    on the news site) is aborted and recorded."""

    def handle(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(f"{route.request.resource_type} {route.request.url}")
            route.abort()

    return handle


def _walk(page: Page, base: str, suffix: str) -> None:
    page.goto(base + "/")
    expect(page.locator("h1")).to_have_text("feedwash")
    expect(page.locator("table.health")).to_contain_text("示例来源")
    expect(page.locator("table.feeds")).to_contain_text("Category: 新浪财经－国內")
    alternate = page.locator('link[rel="alternate"][type="application/atom+xml"]')
    expect(alternate).to_have_attribute("href", "/feeds/all.atom")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[suffix]["width"], "the page scrolls sideways"
    page.screenshot(path=str(SCREENSHOTS / f"index{suffix}.png"), full_page=True)

    page.get_by_role("link", name="北京市多措并举推动消费帮扶工作取得新成效").click()
    expect(page.locator("article h1")).to_have_text("北京市多措并举推动消费帮扶工作取得新成效")
    expect(page.locator("article")).to_contain_text("强化组织领导")
    expect(page.locator("article")).not_to_contain_text("责任编辑")
    expect(page.locator("#cluster + *")).to_contain_text("sighting")
    assert page.url.startswith(base + "/articles/")
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[suffix]["width"]
    page.screenshot(path=str(SCREENSHOTS / f"article{suffix}.png"), full_page=False)

    page.get_by_role("link", name="← all articles").click()
    expect(page.locator("h2#newest")).to_be_visible()
    assert page.url == base + "/"
    page.go_back()
    expect(page.locator("article h1")).to_contain_text("消费帮扶")


def _freeze_times() -> None:
    """Fixed times on the page: the committed screenshots then stay byte-identical run to run."""
    with transaction() as session:
        session.execute(update(Source).values(created_at=BASE_TIME, next_poll_at=BASE_TIME))
        session.execute(update(SeedFile).values(updated_at=BASE_TIME))
        session.execute(update(Sighting).values(first_seen_at=BASE_TIME, last_seen_at=BASE_TIME))


def test_index_to_article_and_back(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser: Browser
) -> None:
    import_fixture_seeds(tmp_path)
    add_articles("https://news.example.cn/feed.xml", 3)
    _freeze_times()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(app, monkeypatch) as base:
        for suffix, size in SIZES.items():
            blocked: list[str] = []
            context = browser.new_context(viewport=size, java_script_enabled=False,
                                          is_mobile=bool(suffix), locale="zh-CN")
            context.route("**/*", _loopback_only(blocked))
            try:
                _walk(context.new_page(), base, suffix)
            finally:
                context.close()
            # Only the article's own pictures live elsewhere: no CDN, no script, no stylesheet.
            assert all(entry.startswith("image ") for entry in blocked), blocked
    for name in ("index.png", "article.png", "index-phone.png", "article-phone.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
