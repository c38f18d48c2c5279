"""What an alert says beyond its title: the reporting sentence next to the party's own words,
the stance it switches from, an old-story mark and the claim's standing after it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('evidence') as batch:
        batch.add_column(sa.Column('context', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('previous_stance', sa.Text(), nullable=True))
        batch.add_column(sa.Column('previous_since', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('stale', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('standing', sa.Text(), server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('standing')
        batch.drop_column('stale')
        batch.drop_column('previous_since')
        batch.drop_column('previous_stance')
    with op.batch_alter_table('evidence') as batch:
        batch.drop_column('context')
