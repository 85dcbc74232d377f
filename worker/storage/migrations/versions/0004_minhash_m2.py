"""near-duplicate sketches m2: clear the m1 sketches, bands and clusters, to be re-fingerprinted

Revision ID: 0004_minhash_m2
Revises: 0003_fulltext

worker.core.neardup.SIGNATURE_VERSION goes from m1 to m2 (numpy hashing, other values): an m1
band hash never equals an m2 one, and neardup.unpack reads an m1 sketch as empty, so stale rows
would only hide near duplicates. This clears them; `feedwash db upgrade` (also the compose
`migrate` service and `feedwash run`) then fingerprints every article left without a sketch
(worker.articles.reindex: bands, then the clusters again, in storing order). Clusters go too:
they follow from the sketches, and an m1 cluster whose members no longer match under m2 would
otherwise stay. The downgrade clears the same way, for `feedwash articles reindex` of the m1
code. No schema change.
"""
from alembic import op


revision = "0004_minhash_m2"
down_revision = "0003_fulltext"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _clear_sketches()


def downgrade() -> None:
    _clear_sketches()


def _clear_sketches() -> None:
    op.execute("DELETE FROM article_bands")
    op.execute("UPDATE articles SET minhash = NULL, cluster_id = NULL "
               "WHERE minhash IS NOT NULL OR cluster_id IS NOT NULL")
    op.execute("DELETE FROM clusters")
