"""dedup: canonical URL, near-duplicate clusters, LSH bands, article versions, tombstones

Revision ID: 0002_dedup
Revises: 0002_cleaning
Create Date: 2026-11-29 05:40:00

The new articles columns are added with plain ALTER TABLE ADD COLUMN (SQLite allows a nullable
column with a REFERENCES clause that way): a batch copy of `articles` would drop and recreate
the parent table that sightings cascade from.
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_dedup"
down_revision = "0002_cleaning"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("representative_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # A SQLite downgrade leaves these columns in place (see downgrade): add only what is missing.
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("articles")}
    if "canonical_url" not in existing:
        op.add_column("articles", sa.Column("canonical_url", sa.String(length=2048), nullable=True))
    if "cluster_id" not in existing:
        _add_cluster_id()
    if "minhash" not in existing:
        op.add_column("articles", sa.Column("minhash", sa.LargeBinary(), nullable=True))
    op.create_index("ix_articles_canonical_url", "articles", ["canonical_url"])
    op.create_index("ix_articles_cluster_id", "articles", ["cluster_id"])

    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("diff_ratio", sa.Float(), nullable=True),
        sa.Column("bumped", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "version", name="uq_article_versions"),
    )
    op.create_table(
        "article_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band", "hash", "article_id"),
    )
    op.create_index("ix_article_bands_article", "article_bands", ["article_id"])
    op.create_table(
        "tombstones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_tombstones_key"),
    )


def _add_cluster_id() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE articles ADD COLUMN cluster_id INTEGER "
                   "REFERENCES clusters (id) ON DELETE SET NULL")
    else:
        op.add_column("articles", sa.Column("cluster_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_articles_cluster_id", "articles", "clusters", ["cluster_id"], ["id"],
                              ondelete="SET NULL")


def downgrade() -> None:
    op.drop_table("tombstones")
    op.drop_index("ix_article_bands_article", table_name="article_bands")
    op.drop_table("article_bands")
    op.drop_table("article_versions")
    op.drop_index("ix_articles_cluster_id", table_name="articles")
    op.drop_index("ix_articles_canonical_url", table_name="articles")
    if op.get_bind().dialect.name == "sqlite":
        # Dropping a REFERENCES column means a batch copy of `articles`, and dropping the old
        # table cascades (foreign keys are on) to every sighting. The three nullable columns
        # are invisible to 0001's code: leave them, only clear the cluster references.
        op.execute("UPDATE articles SET cluster_id = NULL")
    else:
        op.drop_constraint("fk_articles_cluster_id", "articles", type_="foreignkey")
        op.drop_column("articles", "minhash")
        op.drop_column("articles", "cluster_id")
        op.drop_column("articles", "canonical_url")
    op.drop_table("clusters")
