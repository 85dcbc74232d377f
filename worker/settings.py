"""The one place that reads the environment.

Every setting is `FEEDWASH_<NAME>`; defaults are the embedded laptop setup (SQLite, a broker
kept in a SQLite file, everything under ./data). Production sets the database and broker URLs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEEDWASH_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""  # default: sqlite file in data_dir
    broker_url: str = ""  # default: kombu's SQLAlchemy transport in data_dir (no server needed)
    seeds_dir: Path = Path("seeds")
    # Relative to the working directory, like seeds_dir: `make run` and the Docker image (WORKDIR
    # /app) both start where config/ is; an installed wheel does not carry it.
    sources_file: Path = Path("config/sources.yaml")
    rules_dir: Path = Path("config/rules")
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"  # zone for naive seed dates
    tag_authority: str = "feedwash.local,2026"  # authority of the tag: URIs of output ids

    default_interval_minutes: int = 60
    dispatch_interval_seconds: int = 30
    seed_import_interval_seconds: int = 300
    dispatch_batch_size: int = 100
    # Backpressure: claim no more while this many polls are queued or running (0: no limit). A
    # fleet that falls behind would otherwise queue ever more, and past the lease a source
    # still queued is claimed a second time (docs/reliability.md, one million sources).
    dispatch_max_in_flight: int = 2000
    # Reliability (docs/reliability.md). A claimed feed is due again after the lease even if its
    # poll task was lost (worker killed, broker restarted without persistence).
    poll_lease_seconds: int = 15 * 60
    # Redis broker: a message taken by a worker that died (kill -9, power loss) goes back to the
    # queue after this many seconds. Must exceed the longest task (a poll is bounded by the fetch
    # deadline + politeness wait, ~90 s by default), else a slow task is delivered twice.
    broker_visibility_timeout_seconds: int = 3600
    broker_restore_interval_seconds: int = 10  # how often workers look for such messages

    # Scheduling (worker.core.schedule): bounds of the adaptive interval, backoff, giving up.
    min_interval_minutes: int = 10
    max_interval_minutes: int = 24 * 60
    backoff_base_minutes: int = 5
    backoff_cap_minutes: int = 24 * 60
    dead_after_days: float = 7.0
    schedule_jitter: float = 0.1
    fetch_log_keep: int = 50  # fetch_log rows kept per source
    archive_days: float = 14.0  # raw payloads older than this are pruned

    # Limits on what a feed server can make a worker do (docs/polling.md "Fetching").
    fetch_timeout_seconds: float = 20.0  # each read/write of the socket
    fetch_connect_timeout_seconds: float = 10.0
    fetch_total_timeout_seconds: float = 60.0  # the whole fetch, redirects included
    fetch_max_bytes: int = 10 * 1024 * 1024  # decoded body
    fetch_max_redirects: int = 5
    entry_max_chars: int = 1_000_000  # a feed entry's HTML beyond this is cut before cleaning
    seed_max_bytes: int = 5 * 1024 * 1024  # a bigger seed file is a recorded error, never read
    allow_private_networks: bool = False  # SSRF guard off: loopback/LAN/link-local feeds allowed
    max_requests_per_host: int = 2  # in flight at once, across all workers
    politeness_wait_seconds: float = 30.0  # longest wait for a per-host slot

    # Full text (issue 8): the mode of sources that set none ("never", "auto" or "always"), and
    # the length under which `auto` takes a feed's text for a summary and fetches the page.
    full_text_default: Literal["never", "auto", "always"] = "auto"
    full_text_min_chars: int = 300
    full_text_attempts: int = 3  # a page fetch that failed transiently is tried this often in all

    short_text_chars: int = 120  # below this, the content hash also covers the title
    # Dedup (docs/dedup.md): near-duplicate thresholds, cluster representative, update churn.
    neardup_threshold: float = 0.7  # estimated Jaccard of 5-char shingles
    neardup_min_chars: int = 200  # shorter texts never join a cluster (not evidence)
    neardup_containment: float = 0.85  # or: this share of the smaller text is in the larger,
    neardup_containment_min_jaccard: float = 0.5  # ... with at least this Jaccard,
    neardup_containment_min_shingles: int = 400  # ... and both texts at least this long
    cluster_representative: str = "earliest"  # or "longest"
    update_trivial_ratio: float = 0.98  # diff ratio above which a content change may be trivial
    update_trivial_max_chars: int = 12  # ... if at most this many characters changed
    update_max_per_day: int = 3  # content updates per article per day that move `updated`
    feed_limit: int = 50
    feed_max_limit: int = 500
    feed_page_size: int = 50  # RFC 5005 archive pages: fixed size, counted from the oldest article

    websub_hub: str = ""  # a WebSub hub URL: feeds carry rel="hub" and new articles ping it
    admin_token: str = ""  # bearer token of the /api/ admin API; empty: the admin API is off

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        """Checked up front: otherwise the first seed import fails on it, file after file."""
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r} (an IANA name, e.g. Asia/Shanghai)") from None
        return zone

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'feedwash.db').resolve()}"

    def resolved_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return f"sqla+sqlite:///{(self.data_dir / 'broker.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
