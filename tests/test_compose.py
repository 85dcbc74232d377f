"""docker-compose.yml is valid, and its feedwash services work as written.

No Docker engine runs here, so `docker-compose config` (installed by scripts/ensure-tools, which
`make test` runs) checks the file, and the integration test runs each feedwash service's `command`
with its `environment` verbatim as local processes, changing only what must differ on this
machine: the database (a fresh, empty one: `migrate` must create the schema), the broker (a
dedicated Redis database), the seeds and data folders, the seed import interval, and the web
port. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
import redis
import yaml
from sqlalchemy import create_engine, text

from tests.conftest import PG_SERVER, REDIS_URL, ROOT, SEED_FILE

COMPOSE_FILE = ROOT / "docker-compose.yml"
SEED_TITLE = "北京市多措并举推动消费帮扶工作取得新成效"
# Flushed by the test: helpers running side by side give each its own (test_celery.py's is
# FEEDWASH_TEST_REDIS_DB).
BROKER = f"{REDIS_URL}/{os.environ.get('FEEDWASH_TEST_COMPOSE_REDIS_DB', '11')}"
BIN = Path(sys.executable).parent  # the venv's bin: feedwash, celery
FEEDWASH_SERVICES = ("migrate", "worker", "beat", "web")
LONG_RUNNING = ("worker", "beat", "web")
SHARED_ENV = {
    "FEEDWASH_DATABASE_URL": "postgresql+psycopg://feedwash:feedwash@postgres:5432/feedwash",
    "FEEDWASH_BROKER_URL": "redis://redis:6379/0",
    "FEEDWASH_SEEDS_DIR": "/app/seeds",
    "FEEDWASH_DATA_DIR": "/data",
    "FEEDWASH_BASE_URL": "http://localhost:8000",
}
MIGRATE_TIMEOUT = 120
FEED_TIMEOUT = 60
STOP_TIMEOUT = 20


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def test_compose_config_is_valid() -> None:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is not installed: run scripts/ensure-tools (`make test` does)"
    result = subprocess.run([exe, "-f", str(COMPOSE_FILE), "config", "-q"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stdout}\n{result.stderr}"


def test_compose_shape() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *FEEDWASH_SERVICES}
    assert compose["x-feedwash-env"] == SHARED_ENV
    for name in FEEDWASH_SERVICES:
        service = services[name]
        command = service["command"]
        assert isinstance(command, list) and all(isinstance(a, str) for a in command), name
        assert command[0] == "feedwash", name
        assert service["environment"] == SHARED_ENV, name
        assert "./seeds:/app/seeds:ro" in service["volumes"], name
    beats = [n for n, s in services.items() if s.get("command", [])[:2] == ["feedwash", "beat"]]
    assert beats == ["beat"] and "deploy" not in services["beat"] and "scale" not in services["beat"]
    for name in ("postgres", "redis", *LONG_RUNNING):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"].get("restart", "no") == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in LONG_RUNNING:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["beat"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["web"]["ports"] == ["8000:8000"]
    assert services["web"]["command"][-4:] == ["--host", "0.0.0.0", "--port", "8000"]


# --- the services, run as local processes -----------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _localize(command: list[str], port: int) -> list[str]:
    """The compose command with the venv's executable, loopback host and a free port."""
    args = [str(BIN / command[0]), *command[1:]]
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in args:
            args[args.index(flag) + 1] = value
    return args


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty database (no schema): the `migrate` service must create it."""
    name = f"feedwash_compose_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Celery's warm shutdown, uvicorn's graceful exit); if that hangs, SIGKILL the
    process group it leads (its pool children too) while its id is still certainly ours."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else "(no log)"


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_compose_services_run_on_this_machine(fresh_database: str, tmp_path: Path) -> None:
    services = _compose()["services"]
    redis.Redis.from_url(BROKER).flushdb()
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy2(SEED_FILE, seeds / SEED_FILE.name)
    port = _free_port()
    overrides = {
        "FEEDWASH_DATABASE_URL": fresh_database,
        "FEEDWASH_BROKER_URL": BROKER,
        "FEEDWASH_SEEDS_DIR": str(seeds),
        "FEEDWASH_DATA_DIR": str(tmp_path / "data"),
        "FEEDWASH_SEED_IMPORT_INTERVAL_SECONDS": "2",
    }
    # This machine's environment minus any FEEDWASH_* (the suite's fixtures set some), then the
    # service's environment exactly as written, then the overrides above.
    base = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWASH_")}

    def env_of(name: str) -> dict[str, str]:
        return {**base, **{k: str(v) for k, v in services[name]["environment"].items()}, **overrides}

    def command_of(name: str) -> list[str]:
        return _localize(services[name]["command"], port)

    logs = {name: tmp_path / f"{name}.log" for name in FEEDWASH_SERVICES}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    started = time.monotonic()
    try:
        with logs["migrate"].open("wb") as log:
            migrate = subprocess.run(command_of("migrate"), env=env_of("migrate"), stdout=log,
                                     stderr=subprocess.STDOUT, timeout=MIGRATE_TIMEOUT, check=False)
        assert migrate.returncode == 0, f"migrate exited {migrate.returncode}"

        for name in LONG_RUNNING:
            with logs[name].open("wb") as log:  # the child keeps its own descriptor
                processes[name] = subprocess.Popen(command_of(name), env=env_of(name), stdout=log,
                                                   stderr=subprocess.STDOUT, start_new_session=True)

        url = f"http://127.0.0.1:{port}/feeds/all.atom"
        body = b""
        deadline = time.monotonic() + FEED_TIMEOUT
        with httpx.Client(trust_env=False, timeout=5) as client:  # no proxy: loopback only
            while SEED_TITLE.encode() not in body:
                dead = {n: p.returncode for n, p in processes.items() if p.poll() is not None}
                assert not dead, f"services exited early: {dead}"
                assert time.monotonic() < deadline, f"{url} lacks the seed after {FEED_TIMEOUT} s"
                time.sleep(0.5)
                try:
                    response = client.get(url)
                except httpx.TransportError:
                    continue  # web not listening yet
                if response.status_code == 200:
                    body = response.content
        print(f"seed in the feed after {time.monotonic() - started:.1f} s")

        parsed = feedparser.parse(body)
        assert not parsed.bozo, f"feed does not parse: {parsed.get('bozo_exception')!r}"
        assert [entry.title for entry in parsed.entries] == [SEED_TITLE]

        # The compose healthchecks, run the same way: web's /healthz probe, the worker's ping.
        web_probe = services["web"]["healthcheck"]["test"]
        assert web_probe[:2] == ["CMD", "python"]
        probe = [sys.executable, *(a.replace(":8000/", f":{port}/") for a in web_probe[2:])]
        assert subprocess.run(probe, env=base, timeout=30, check=False).returncode == 0
        kind, script = services["worker"]["healthcheck"]["test"]
        assert kind == "CMD-SHELL" and script.startswith("celery ")
        script = f"{BIN / 'celery'} {script.removeprefix('celery ').replace('$$', '$')}"
        ping = subprocess.run(script, shell=True, env={**env_of("worker"), "HOSTNAME": socket.gethostname()},
                              capture_output=True, text=True, timeout=60, check=False)
        assert ping.returncode == 0, f"worker healthcheck failed:\n{ping.stdout}\n{ping.stderr}"

        # Let beat re-run the seed import at least once more: a re-import adds nothing.
        done = re.compile(r"Task worker\.tasks\.import_seeds\[[^\]]+\] succeeded")
        deadline = time.monotonic() + 20
        while len(done.findall(_tail(logs["worker"], 10**7))) < 2:
            assert time.monotonic() < deadline, "beat did not schedule import_seeds twice in 20 s"
            time.sleep(0.5)
    finally:
        for process in processes.values():
            _stop(process)
        for name, path in logs.items():
            print(f"----- {name} log -----\n{_tail(path)}")
        print(f"services ran {time.monotonic() - started:.1f} s")

    # Graceful stop: 0, or uvicorn's re-raised SIGTERM after its orderly shutdown (Docker: 143).
    exits = {name: process.returncode for name, process in processes.items()}
    assert set(exits) == set(LONG_RUNNING), exits
    assert set(exits.values()) <= {0, -signal.SIGTERM}, f"unclean shutdown: {exits}"
    engine = create_engine(fresh_database)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM articles")).scalar_one() == 1
    finally:
        engine.dispose()
