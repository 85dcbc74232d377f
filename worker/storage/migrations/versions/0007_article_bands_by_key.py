"""article_bands on SQLite without the foreign key and the article index: bands deleted by key

Revision ID: 0007_bands_by_key
Revises: 0006_bands_without_rowid

A first poll writes 32 band rows per article. On SQLite the foreign key (a parent lookup per row)
and ix_article_bands_article (a second b-tree per row) cost 0.020 of the 0.052 ms per article
that writing them took (docs/benchmarks.md). The index served two things: the cascade from a
deleted article and re-fingerprinting's delete by article. Both now go through
worker.storage.dedup.delete_bands_of, which deletes an article's rows by their key, computed
from the article's stored sketch, before the article goes; an article without a sketch of the
current version gets a scan. With the foreign key in place SQLite would still scan the table
for children on every article delete, so it goes too. PostgreSQL keeps both.

The downgrade brings back the foreign key and the index, and leaves out rows whose article is
gone (SQLite does not check the existing rows of a new foreign key).
"""
import sqlalchemy as sa
from alembic import op


revision = "0007_bands_by_key"
down_revision = "0006_bands_without_rowid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_bands(with_article_key=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_bands(with_article_key=True)


def _rebuild_bands(*, with_article_key: bool) -> None:
    """Copy article_bands into a WITHOUT ROWID table of the same columns and key, with or
    without the foreign key and ix_article_bands_article (SQLite alters neither in place)."""
    foreign_key = [sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE")]
    op.create_table(
        "article_bands_new",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        *(foreign_key if with_article_key else []),
        sa.PrimaryKeyConstraint("band", "hash", "article_id"),
        sqlite_with_rowid=False,
    )
    kept = " WHERE article_id IN (SELECT id FROM articles)" if with_article_key else ""
    op.execute("INSERT INTO article_bands_new (band, hash, article_id)"
               " SELECT band, hash, article_id FROM article_bands" + kept)
    if not with_article_key:
        op.drop_index("ix_article_bands_article", table_name="article_bands")
    op.drop_table("article_bands")
    op.rename_table("article_bands_new", "article_bands")
    if with_article_key:
        op.create_index("ix_article_bands_article", "article_bands", ["article_id"])
