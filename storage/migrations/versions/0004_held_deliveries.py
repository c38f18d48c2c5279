"""Held deliveries: digest and fold channels keep an alert's delivery until its message goes
out, and record which deliveries went out in one message (for the per-hour limit).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('hold', sa.Text(), nullable=True))
        batch.add_column(sa.Column('hold_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_deliveries_target'), 'deliveries', ['channel', 'target_index', 'status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_deliveries_target'), table_name='deliveries')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('batch_id')
        batch.drop_column('hold_until')
        batch.drop_column('hold')
