"""polling: scheduling state on sources, fetch_log, raw_payloads

Revision ID: 0002_polling
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_polling"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_interval_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_interval_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("extra_headers", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("categories", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("redirect_url", sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column("redirect_streak", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("paused_reason", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("entry_rate_per_day", sa.Float(), nullable=True))

    op.create_table(
        "fetch_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("fetch_ms", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("new_entries", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("bytes_saved", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fetch_log_source", "fetch_log", ["source_id", "id"], unique=False)

    op.create_table(
        "raw_payloads",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("compression", sa.String(length=8), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_index("ix_raw_payloads_source", "raw_payloads", ["source_id", "fetched_at"], unique=False)
    op.create_index("ix_raw_payloads_fetched", "raw_payloads", ["fetched_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_raw_payloads_fetched", table_name="raw_payloads")
    op.drop_index("ix_raw_payloads_source", table_name="raw_payloads")
    op.drop_table("raw_payloads")
    op.drop_index("ix_fetch_log_source", table_name="fetch_log")
    op.drop_table("fetch_log")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        for column in ("entry_rate_per_day", "failing_since", "paused_reason", "redirect_streak",
                       "redirect_url", "categories", "extra_headers", "max_interval_minutes",
                       "min_interval_minutes"):
            batch_op.drop_column(column)
