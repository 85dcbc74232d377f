"""Alembic environment: the URL comes from the caller's config or from feedwash settings."""

from __future__ import annotations

from alembic import context

from worker.settings import get_settings
from worker.storage.db import make_engine
from worker.storage.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url()
engine = make_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=url.startswith("sqlite"),  # SQLite alters tables by copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
