"""article_bands WITHOUT ROWID on SQLite: band rows are stored in their (band, hash, article_id) key

Revision ID: 0006_bands_without_rowid
Revises: 0005_sources_in_flight

Every new article writes 32 band rows. As a rowid table, SQLite kept each row in three b-trees:
the table, the primary-key index and ix_article_bands_article. WITHOUT ROWID the table is the
primary-key b-tree, so one insert fewer per row (the band rows of a 1,000-item first poll: 0.064
-> 0.057 ms of CPU per article, docs/benchmarks.md). ix_article_bands_article stays: deleting an
article cascades to its bands, and re-fingerprinting deletes them by article; without it each
of those would scan the whole table. SQLite cannot alter this in place, so the table is copied
into a new one. PostgreSQL has no such option and is left as it is.
"""
import sqlalchemy as sa
from alembic import op


revision = "0006_bands_without_rowid"
down_revision = "0005_sources_in_flight"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_bands(with_rowid=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_bands(with_rowid=True)


def _rebuild_bands(*, with_rowid: bool) -> None:
    """Copy article_bands into a table of the same columns, key, foreign key and index."""
    op.create_table(
        "article_bands_new",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band", "hash", "article_id"),
        sqlite_with_rowid=with_rowid,
    )
    op.execute("INSERT INTO article_bands_new (band, hash, article_id)"
               " SELECT band, hash, article_id FROM article_bands")
    op.drop_index("ix_article_bands_article", table_name="article_bands")
    op.drop_table("article_bands")
    op.rename_table("article_bands_new", "article_bands")
    op.create_index("ix_article_bands_article", "article_bands", ["article_id"])
