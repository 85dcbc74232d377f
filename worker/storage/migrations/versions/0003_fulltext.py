"""full text: sources.full_text, articles.content_source, page_fetches, raw_payloads.kind

Revision ID: 0003_fulltext
Revises: 0002_dedup
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_fulltext"
down_revision = "0002_dedup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_text", sa.String(length=8), nullable=True))
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_source", sa.String(length=64), nullable=True))
    with op.batch_alter_table("raw_payloads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), nullable=False, server_default="feed"))

    op.create_table(
        "page_fetches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=2048), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=True),
        sa.Column("content_source", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.String(length=1024), nullable=True),
        sa.Column("last_modified", sa.String(length=128), nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "entry_key", name="uq_page_fetches_entry"),
    )
    op.create_index("ix_page_fetches_article", "page_fetches", ["article_id"], unique=False)
    op.create_index("ix_page_fetches_status", "page_fetches", ["status", "queued_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_page_fetches_status", table_name="page_fetches")
    op.drop_index("ix_page_fetches_article", table_name="page_fetches")
    op.drop_table("page_fetches")
    with op.batch_alter_table("raw_payloads", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("content_source")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("full_text")
