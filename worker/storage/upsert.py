"""INSERT ... ON CONFLICT for both dialects: SQLite and PostgreSQL spell it the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, table: Any) -> Any:
    """A dialect-specific INSERT that offers on_conflict_do_nothing / on_conflict_do_update."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)
