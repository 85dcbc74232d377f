"""Helpers for the publishing tests: synthetic articles stored through the real storage code,
and the real app served by uvicorn on 127.0.0.1 in a thread."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.conftest import FIXTURES, SEED_FILE
from worker import ingest
from worker.core.fingerprint import content_hash
from worker.core.types import CleanArticle, ParsedEntry
from worker.settings import get_settings
from worker.storage import repo
from worker.storage.db import transaction

BASE_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def add_articles(
    source_url: str, count: int, start: int = 0, categories: Sequence[str] = ("科技",),
    title: str = "文章", source_title: str | None = "示例来源",
) -> list[int]:
    """Store `count` distinct articles from one feed source; returns their ids in order."""
    now = ingest.utcnow()
    ids = []
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", source_url, now, title=source_title)
        for i in range(start, start + count):
            text = f"第 {i} 篇正文：Tom & Jerry <3 的故事，编号 {i}。" * 3
            html = f"<p>第 {i} 篇正文：<b>Tom &amp; Jerry</b> &lt;3 的故事。</p>"
            entry = ParsedEntry(
                entry_key=f"{source_url}#{i}", title=f"{title} {i} & <不是标签>", html=html,
                link=f"https://news.example.cn/{i}.html", author="张三",
                categories=tuple(categories), published=BASE_TIME + timedelta(hours=i),
                lead_image=f"https://img.example.cn/{i}.jpg",
            )
            article = CleanArticle(entry, html, text, text[:60], content_hash(text, entry.title), "1",
                                   lead_image=entry.lead_image)
            raw = hashlib.sha256(f"{source_url}{i}".encode()).hexdigest()
            ids.append(repo.store_article(session, source_id, source_url, article, raw, now).article_id)
    return ids


def import_fixture_seeds(tmp_path: Path) -> None:
    """The shipped seed post and the two fixture posts, through the real seed import."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "000.txt").write_bytes(SEED_FILE.read_bytes())
    for post in sorted((FIXTURES / "posts").glob("*.md")):
        (folder / post.name).write_bytes(post.read_bytes())
    report = ingest.import_seeds(folder)
    # sina_beijing_consumption_aid.md is the shipped seed again: a duplicate.
    assert (report.imported, report.duplicates, report.errors) == (2, 1, []), report


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port; FEEDWASH_BASE_URL names it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("FEEDWASH_BASE_URL", base)
    get_settings.cache_clear()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class RecordingApp:
    """ASGI wrapper that records (method, path, request headers, status) of every request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, dict[str, str], int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status: list[int] = []

        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, record)
        self.seen.append((scope["method"], scope["path"], headers, status[0] if status else 0))
