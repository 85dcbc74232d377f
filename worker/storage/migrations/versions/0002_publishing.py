"""poll_events: one row per feed poll, the history /metrics reads (outcome, fetch latency,
bytes received, bytes a 304 saved, articles ingested)

Revision ID: 0002_publishing
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_publishing'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('poll_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('fetch_seconds', sa.Float(), nullable=True),
    sa.Column('bytes_received', sa.BigInteger(), nullable=False),
    sa.Column('bytes_saved', sa.BigInteger(), nullable=False),
    sa.Column('new_articles', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('poll_events', schema=None) as batch_op:
        batch_op.create_index('ix_poll_events_source', ['source_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('poll_events', schema=None) as batch_op:
        batch_op.drop_index('ix_poll_events_source')
    op.drop_table('poll_events')
