"""The one place that reads the environment.

Every setting is `FEEDWASH_<NAME>`; defaults are the embedded laptop setup (SQLite, a broker
kept in a SQLite file, everything under ./data). Production sets the database and broker URLs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEEDWASH_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""  # default: sqlite file in data_dir
    broker_url: str = ""  # default: kombu's SQLAlchemy transport in data_dir (no server needed)
    seeds_dir: Path = Path("seeds")
    sources_file: Path = PROJECT_ROOT / "config" / "sources.yaml"
    rules_dir: Path = PROJECT_ROOT / "config" / "rules"
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"  # zone for naive seed dates
    tag_authority: str = "feedwash.local,2026"  # authority of the tag: URIs of output ids

    default_interval_minutes: int = 60
    dispatch_interval_seconds: int = 30
    seed_import_interval_seconds: int = 300
    dispatch_batch_size: int = 100

    fetch_timeout_seconds: float = 20.0
    fetch_connect_timeout_seconds: float = 10.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_max_redirects: int = 5

    short_text_chars: int = 120  # below this, the content hash also covers the title
    feed_limit: int = 50
    feed_max_limit: int = 500
    feed_page_size: int = 50  # RFC 5005 archive pages: fixed size, counted from the oldest article

    websub_hub: str = ""  # a WebSub hub URL: feeds carry rel="hub" and new articles ping it
    admin_token: str = ""  # bearer token of the /api/ admin API; empty: the admin API is off

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
