"""Real processes for the fault scenarios: a private Redis, a private PostgreSQL cluster, a feed
server that can be slow and counts concurrent requests, and feedwash's worker, beat and web app.

Everything binds 127.0.0.1 on a free port. The machine's shared Redis (6379) and PostgreSQL
(5432) are never restarted: the scenarios that restart a server restart their own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], seconds: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(every)
    raise AssertionError(f"not within {seconds} s: {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# ---- Redis ----------------------------------------------------------------------------------

class RedisServer:
    """A private redis-server without persistence: a restart loses every queued message, the
    worst case for the broker."""

    def __init__(self, log_dir: Path, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no",
             *(["--requirepass", self.password] if self.password else [])],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: _port_open(self.port), 10, f"redis on {self.port}")

    def kill(self) -> None:
        """Abrupt: SIGKILL, no shutdown handshake; connections see a reset."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self, down_seconds: float = 0) -> None:
        self.kill()
        time.sleep(down_seconds)
        self.start()


# ---- PostgreSQL -----------------------------------------------------------------------------

class PostgresCluster:
    """A throwaway cluster (initdb into /tmp, run as the `postgres` user: initdb refuses root)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="feedwash-faults-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", "--locale=C.UTF-8")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-o", options, "-w",
                  "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """fast: every open session is terminated, its open transaction rolled back."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_seconds: float = 0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def server_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def destroy(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# ---- the feed server ------------------------------------------------------------------------

# Item links point at a closed loopback port: nothing a scenario triggers (a full-text fetch of a
# short item, say) may resolve or reach a name outside this machine.
LINK_BASE = "http://127.0.0.1:9/news"


def rss(title: str, items: list[tuple[str, str]], now: datetime | None = None) -> bytes:
    """An RSS 2.0 document; items are (guid, text), newest first."""
    now = now or datetime.now(UTC)
    body = "".join(
        f"<item><title>{title} {guid}</title><guid>{guid}</guid><link>{LINK_BASE}/{guid}</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate>"
        f"<description><![CDATA[<p>{text}</p><p>{title}, {guid}: enough words to be an article "
        f"body and not a short text hashed with its title.</p>]]></description></item>"
        for i, (guid, text) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
            f"</title><link>{LINK_BASE}/</link>{body}</channel></rss>").encode()


Behaviour = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class FeedServer:
    """One threaded HTTP server on loopback; a behaviour per path. Records, per path, how many
    requests it got and the most that were in flight at once."""

    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    host: str = "127.0.0.1"  # any 127.x.y.z: still loopback

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    @contextmanager
    def running(self) -> Iterator[FeedServer]:
        server_ref = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with server_ref.lock:
                    server_ref.requests[path] += 1
                    server_ref.in_flight[path] += 1
                    server_ref.max_in_flight[path] = max(server_ref.max_in_flight[path],
                                                         server_ref.in_flight[path])
                try:
                    behaviour = server_ref.behaviours.get(path)
                    if behaviour is None:
                        send(self, 404, b"not found", "text/plain")
                    else:
                        behaviour(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client (a killed worker, a deadline) went away
                finally:
                    with server_ref.lock:
                        server_ref.in_flight[path] -= 1

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer((self.host, 0), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            httpd.shutdown()
            httpd.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
         content_type: str = "application/rss+xml; charset=utf-8", **headers: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def static_feed(body: bytes, delay: float = 0) -> Behaviour:
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        send(handler, 200, body)
    return behaviour


# ---- feedwash processes ---------------------------------------------------------------------

def feedwash_env(database_url: str, broker_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "seeds").mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FEEDWASH_DATABASE_URL": database_url,
           "FEEDWASH_BROKER_URL": broker_url, "FEEDWASH_DATA_DIR": str(data_dir),
           "FEEDWASH_SEEDS_DIR": str(data_dir / "seeds"),
           "FEEDWASH_SOURCES_FILE": str(data_dir / "no-sources.yaml"),
           "FEEDWASH_ALLOW_PRIVATE_NETWORKS": "1",  # the feed server is on loopback
           "FEEDWASH_DISPATCH_INTERVAL_SECONDS": "1", "FEEDWASH_SEED_IMPORT_INTERVAL_SECONDS": "3600",
           "FEEDWASH_BASE_URL": "http://feedwash.test",
           "FEEDWASH_FULL_TEXT_DEFAULT": "never"}  # the scenarios are about feeds, not pages
    env.update(extra)
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def kill9(self) -> None:
        """kill -9 of the whole process group: the worker and its pool children die at once."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()
            except ProcessLookupError:
                pass

    def children(self) -> list[int]:
        """The pids of this process's children (a Celery worker's pool processes)."""
        found: list[int] = []
        for task in Path(f"/proc/{self.popen.pid}/task").glob("*/children"):
            found.extend(int(pid) for pid in task.read_text().split())
        return found

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    log: IO[bytes] = log_path.open("ab")
    popen = subprocess.Popen([sys.executable, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                             cwd=ROOT, start_new_session=True)
    log.close()
    return Proc(name, popen, log_path)


def celery_worker(name: str, env: dict[str, str], log_dir: Path, concurrency: int = 1) -> Proc:
    return start(name, ["-m", "celery", "-A", "worker.celery_app:app", "worker", "--loglevel=INFO",
                        f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
                        "--without-heartbeat", "-n", f"{name}@%h"], env, log_dir)


def celery_beat(name: str, env: dict[str, str], log_dir: Path) -> Proc:
    schedule = log_dir / f"{name}-schedule"
    return start(name, ["-m", "celery", "-A", "worker.celery_app:app", "beat", "--loglevel=INFO",
                        f"--schedule={schedule}"], env, log_dir)


def web_app(env: dict[str, str], log_dir: Path, port: int) -> Proc:
    proc = start("web", ["-m", "worker.cli", "serve", "--port", str(port)], env, log_dir)
    wait_for(lambda: _port_open(port), 30, "the web app listening")
    return proc


def seed_post(n: int) -> bytes:
    """A small, distinct seed post (Hexo front matter + raw HTML body)."""
    return (f"\n---\ntitle: 'Seed story {n}'\ncategories:\n - tests\nauthor: faults\n"
            f"date: Tue, 22 Feb 2022 03:0{n % 10}:31 GMT\n---\n\n<div><p>Seed story number {n}: "
            f"a body long enough to be an article of its own, told in plain words, {n} times over."
            f"</p></div>\n").encode()


@dataclass
class GrowingFeed:
    """A feed that gains one item per request (a window of the newest `window` items); records
    every guid it served."""

    name: str
    delay: float = 0.0
    window: int = 5
    served: set[str] = field(default_factory=set)
    calls: int = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        self.calls += 1
        newest = self.calls
        items = [(f"{self.name}-{k}", f"item {k} of {self.name}")
                 for k in range(newest, max(newest - self.window, 0), -1)]
        self.served.update(guid for guid, _ in items)
        time.sleep(self.delay)
        send(handler, 200, rss(self.name, items))


class KeepDue:
    """Makes every polled feed due again `interval` seconds after its last poll (production
    intervals are minutes; the scenarios need several rounds in seconds). Claimed sources
    (lease held) are left alone, so this never hands out a source that is being polled."""

    def __init__(self, database_url: str, interval: float = 0.0) -> None:
        self.dsn = database_url.replace("postgresql+psycopg", "postgresql")
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        while not self._stop.wait(0.3):
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=2) as connection:
                    connection.execute(
                        "UPDATE sources SET next_poll_at = last_polled_at + make_interval(secs => %s) "
                        "WHERE kind = 'feed' AND lease_until IS NULL AND last_polled_at IS NOT NULL "
                        "AND next_poll_at > last_polled_at + make_interval(secs => %s)",
                        (self.interval, self.interval))
            except psycopg.Error:
                pass  # the server is being restarted

    def __enter__(self) -> KeepDue:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
