"""sources: a partial index on lease_until, for the dispatcher's count of polls in flight

Revision ID: 0005_sources_in_flight
Revises: 0004_minhash_m2

The dispatcher now counts the sources it has claimed and not yet seen polled (lease_until set)
before claiming more (backpressure, worker/tasks.py). Only those rows are in the index, so the
count stays an index scan of the in-flight sources however many sources there are.
"""
import sqlalchemy as sa
from alembic import op


revision = "0005_sources_in_flight"
down_revision = "0004_minhash_m2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sources_in_flight", "sources", ["lease_until"],
                    postgresql_where=sa.text("lease_until IS NOT NULL"),
                    sqlite_where=sa.text("lease_until IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_sources_in_flight", table_name="sources")
