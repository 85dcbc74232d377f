"""At most N requests in flight per host, across all workers.

With a Redis broker the slots live in Redis (one sorted set per host: member = slot token,
score = when the slot expires), so every worker process and machine shares them, and a slot
whose worker crashed frees itself when its expiry passes. Otherwise (the embedded SQLite
broker: one machine) the slots are lock files in the data folder, one per slot, held with
flock(): every process on the machine that shares the data folder (the prefork worker's
children, `poll`, `run`) sees them, and the kernel releases a crashed process's locks. A
semaphore in the process stands in only where lock files cannot be used.

Waiting for a slot is bounded: after `politeness_wait_seconds` the caller gets HostBusy and
the scheduler tries again soon; feedwash never queues up behind a slow host.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

try:
    import fcntl
except ImportError:  # not POSIX: the in-process semaphore is all there is
    fcntl = None  # type: ignore[assignment]

from worker.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "feedwash:politeness:"

# Drop expired slots, then take one if fewer than ARGV[1] are held. Redis's clock, not the
# workers', decides expiry, so skewed worker clocks cannot steal or leak slots.
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
  return 1
end
return 0
"""


class HostBusy(Exception):
    """No request slot for the host within the wait limit."""


_local_lock = threading.Lock()
_local_semaphores: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_clients: dict[str, redis.Redis] = {}
_warned: set[Path] = set()


def slot_lifetime(settings: Settings) -> float:
    """A held slot outlives any request that can still be running (then it is a crash)."""
    return settings.fetch_total_timeout_seconds + settings.fetch_connect_timeout_seconds + 30


@contextmanager
def host_slot(host: str, settings: Settings) -> Iterator[None]:
    """Hold one of the host's `max_requests_per_host` slots for the duration of the block."""
    host = host.lower()
    broker = settings.resolved_broker_url()
    if broker.startswith(("redis://", "rediss://")):
        token = _acquire_redis(broker, host, settings)
        if token is not None:
            try:
                yield
            finally:
                _release_redis(broker, host, token)
            return
    with _machine_slot(host, settings):
        yield


@contextmanager
def _machine_slot(host: str, settings: Settings) -> Iterator[None]:
    """A slot shared by every process using this data folder: one of N lock files held with
    flock(). flock locks belong to the open file, so threads of one process exclude each other
    too, and a process that dies releases its slot with its file descriptors."""
    folder = settings.data_dir / "politeness"
    try:
        if fcntl is None:
            raise OSError("no fcntl")
        folder.mkdir(parents=True, exist_ok=True)
        fd: int | None = _acquire_lock_file(folder, host, settings)  # HostBusy goes up
    except OSError as exc:  # e.g. a read-only data folder
        fd = None
        if folder not in _warned:  # once per folder, not once per fetch
            _warned.add(folder)
            log.warning("politeness: no lock files in %s (%s); limiting requests per host within "
                        "this process only", folder, exc)
    if fd is None:
        with _local_slot(host, settings):
            yield
        return
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire_lock_file(folder: Path, host: str, settings: Settings) -> int:
    """The descriptor of the first free slot file of the host, locked; HostBusy after the wait."""
    stem = hashlib.sha256(host.encode()).hexdigest()[:24]  # any host name makes a safe file name
    deadline = time.monotonic() + settings.politeness_wait_seconds
    pause = 0.02
    while True:
        for slot in range(settings.max_requests_per_host):
            fd = os.open(folder / f"{stem}.{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        if time.monotonic() >= deadline:
            raise HostBusy(_busy_message(host, settings))
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _acquire_redis(url: str, host: str, settings: Settings) -> str | None:
    """A slot token, or None when Redis cannot be reached (the lock files stand in)."""
    token = uuid.uuid4().hex
    key = KEY_PREFIX + host
    deadline = time.monotonic() + settings.politeness_wait_seconds
    pause = 0.02
    try:
        client = _client(url)
        while True:
            if client.eval(_ACQUIRE, 1, key, settings.max_requests_per_host, slot_lifetime(settings), token):
                return token
            if time.monotonic() >= deadline:
                raise HostBusy(_busy_message(host, settings))
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
    except redis.RedisError as exc:
        log.warning("politeness: Redis unreachable (%s); limiting %s on this machine only", exc, host)
        return None


def _release_redis(url: str, host: str, token: str) -> None:
    try:
        _client(url).zrem(KEY_PREFIX + host, token)
    except redis.RedisError as exc:  # the slot expires on its own
        log.warning("politeness: could not release a slot for %s: %s", host, exc)


def _client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        _clients[url] = client
    return client


@contextmanager
def _local_slot(host: str, settings: Settings) -> Iterator[None]:
    limit = settings.max_requests_per_host
    with _local_lock:
        semaphore = _local_semaphores.setdefault((host, limit), threading.BoundedSemaphore(limit))
    if not semaphore.acquire(timeout=settings.politeness_wait_seconds):
        raise HostBusy(_busy_message(host, settings))
    try:
        yield
    finally:
        semaphore.release()


def _busy_message(host: str, settings: Settings) -> str:
    return (f"politeness: {host} already has {settings.max_requests_per_host} requests in flight; "
            f"no slot within {settings.politeness_wait_seconds:g} s")
