"""Replicas and lease holders: each daemon process registers with a heartbeat, and every
source and delivery lease records its holder, so a dead process's leases are reclaimed at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence
import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('replicas',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('host', sa.Text(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replicas'))
    )
    with op.batch_alter_table('sources') as batch:
        batch.add_column(sa.Column('leased_by', sa.Text(), nullable=True))
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('leased_by', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('leased_by')
    with op.batch_alter_table('sources') as batch:
        batch.drop_column('leased_by')
    op.drop_table('replicas')
