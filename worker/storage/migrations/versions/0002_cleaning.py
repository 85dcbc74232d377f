"""cleaning: derived fields, provenance and the raw body (so re-cleaning never refetches)

Revision ID: 0002_cleaning
Revises: 0002_polling
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_cleaning"
down_revision = "0002_polling"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=False,
                                      server_default="und"))
        batch_op.add_column(sa.Column("reading_length", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("provenance", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("raw_html", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("raw_base_url", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        for column in ("raw_base_url", "raw_html", "provenance", "reading_length", "language"):
            batch_op.drop_column(column)
