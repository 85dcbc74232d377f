"""Requests per second for /feeds/all.atom (50 items of ~8 KB news HTML) on the 200 path, the
304 path, and a static file of the same bytes served by the same server (Starlette
StaticFiles mounted on the same app, same uvicorn process), side by side.

    python benchmarks/serving.py [--seconds 5] [--connections 8]

The server runs in a child process on 127.0.0.1 (uvicorn, one worker); the load generator is
`wrk` when it is on PATH (Debian package `wrk`), else a bounded asyncio/httpx client. Every
run is bounded in time and sends traffic to loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fill_database(url: str, items: int) -> None:
    """`items` distinct articles of ~8 KB cleaned HTML, stored through the real storage code."""
    from worker.core.fingerprint import content_hash
    from worker.core.seed import parse_seed
    from worker.core.types import CleanArticle, ParsedEntry
    from worker.storage import repo
    from worker.storage.db import get_engine, transaction
    from worker.storage.migrate import upgrade

    upgrade(url)
    body = parse_seed((ROOT / "seeds" / "000_c783d7c486dca3b2.txt").read_bytes(), "seed").html
    body = (body * (8000 // max(len(body.encode()), 1) + 1))[:8000 // 3 * 3]
    now = datetime.now(UTC)
    with transaction(get_engine(url)) as session:
        source_id = repo.ensure_source(session, "feed", "https://bench.example/feed.xml", now, title="bench")
        for i in range(items):
            html = f"<p>第 {i} 篇</p>{body}"
            entry = ParsedEntry(f"bench-{i}", f"基准文章 {i}", html, f"https://bench.example/{i}.html",
                                "新浪财经", ("金融",), now - timedelta(minutes=i), None,
                                f"https://bench.example/{i}.jpg")
            article = CleanArticle(entry, html, html, html[:200], content_hash(html + str(i)), "1")
            repo.store_article(session, source_id, "https://bench.example/feed.xml", article,
                               hashlib.sha256(str(i).encode()).hexdigest(), now)


def render_rate(seconds: float = 3.0) -> float:
    """Uncached renders per second of the same document, in-process: what a 200 would cost
    without the render cache (query, sightings, FeedItems, lxml serialisation)."""
    from worker.publish import FeedRequest, build
    from worker.settings import get_settings
    from worker.storage.db import transaction

    settings = get_settings()
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        with transaction() as session:
            build(session, settings, FeedRequest("atom"))
        done += 1
    return done / seconds


def serve(port: int, static_dir: str) -> None:
    """Child process: the real app plus a static mount of the same bytes, under uvicorn."""
    import uvicorn
    from starlette.staticfiles import StaticFiles

    from worker.web.app import app

    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> float:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 30).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found or "Non-2xx or 3xx" in out:  # a 304 counts as a success here
        raise RuntimeError(f"wrk failed:\n{out}")
    return float(found.group(1))


async def _python_load(url: str, seconds: int, connections: int, headers: dict[str, str]) -> float:
    deadline = time.monotonic() + seconds
    done = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=10) as client:

        async def loop() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                response = await client.get(url)
                assert response.status_code in (200, 304)
                done += 1

        await asyncio.gather(*(loop() for _ in range(connections)))
    return done / seconds


def measure(url: str, seconds: int, connections: int, headers: dict[str, str]) -> float:
    if shutil.which("wrk"):
        return _wrk(url, seconds, connections, headers)
    return asyncio.run(_python_load(url, seconds, connections, headers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="median of this many runs per path")
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "STATIC_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return

    work = Path(tempfile.mkdtemp(prefix="feedwash-bench-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FEEDWASH_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
           "FEEDWASH_DATA_DIR": str(work / "data"), "FEEDWASH_BASE_URL": base,
           "PYTHONPATH": str(ROOT)}
    os.environ.update(env)
    _fill_database(env["FEEDWASH_DATABASE_URL"], args.items)
    static = work / "static"
    static.mkdir()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(static)], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                feed = httpx.get(f"{base}/feeds/all.atom", headers={"Accept-Encoding": "identity"})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        (static / "all.atom").write_bytes(feed.content)
        assert feed.content.count(b"<entry>") == args.items
        etag = feed.headers["etag"]
        identity = {"Accept-Encoding": "identity"}
        cases = {
            "feed 200 (identity)": (f"{base}/feeds/all.atom", identity),
            "feed 200 (gzip)": (f"{base}/feeds/all.atom", {"Accept-Encoding": "gzip"}),
            "feed 304 (If-None-Match)": (f"{base}/feeds/all.atom",
                                         {**identity, "If-None-Match": etag}),
            "static file 200 (identity)": (f"{base}/static/all.atom", identity),
        }
        results: dict[str, float] = {}
        for name, (url, headers) in cases.items():
            runs = [measure(url, args.seconds, args.connections, headers) for _ in range(args.runs)]
            results[name] = statistics.median(runs)
        renders = render_rate()
        tool = "wrk" if shutil.which("wrk") else "python asyncio/httpx"
        print(f"{args.items} items, {len(feed.content):,} bytes; {tool}, {args.connections} connections, "
              f"{args.seconds} s x {args.runs} runs (median)")
        print("| path | requests/s | vs static |")
        print("|---|---:|---:|")
        static_rps = results["static file 200 (identity)"]
        for name, rps in results.items():
            print(f"| {name} | {rps:,.0f} | {rps / static_rps:.2f}x |")
        print(f"| (no cache) render of the same feed, in-process | {renders:,.0f} | "
              f"{renders / static_rps:.2f}x |")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
