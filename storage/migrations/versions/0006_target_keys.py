"""Deliveries are addressed by a stable key of their target (a hash of its URL), not by its
position in the channel's list, so reordering a channel's targets cannot misroute an alert.

`target_key` is alerts/deliver.py `target_key(url)`: a truncated sha256 of the normalised URL,
never the URL. Rows queued before this revision have no URL to hash: they keep `target_key`
NULL and their old `target_index`, and the daemon adopts them at start (storage/alerting.py
`reconcile_targets`): a pending one whose position still holds a target with the same masked
label, unique in its channel, gets that target's key; any other is failed with the reason.
`target_index` is NULL for every row written from now on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f('ix_deliveries_target'), table_name='deliveries')
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('target_key', sa.Text(), nullable=True))
        batch.alter_column('target_index', existing_type=sa.Integer(), nullable=True)
        batch.drop_constraint(op.f('uq_deliveries_alert_id_channel_target_index'), type_='unique')
        batch.create_unique_constraint(op.f('uq_deliveries_alert_id_channel_target_key'),
                                       ['alert_id', 'channel', 'target_key'])
    op.create_index(op.f('ix_deliveries_target'), 'deliveries', ['channel', 'target_key', 'status'],
                    unique=False)


def downgrade() -> None:
    # Key-addressed rows have no position: pending ones cannot be routed by index any more.
    op.execute("UPDATE deliveries SET status = 'failed', "
               "last_error = 'queued by a newer claimwatch (target keys); downgraded' "
               "WHERE target_index IS NULL AND status = 'pending'")
    op.execute("UPDATE deliveries SET target_index = -1 - id WHERE target_index IS NULL")
    op.drop_index(op.f('ix_deliveries_target'), table_name='deliveries')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_constraint(op.f('uq_deliveries_alert_id_channel_target_key'), type_='unique')
        batch.create_unique_constraint(op.f('uq_deliveries_alert_id_channel_target_index'),
                                       ['alert_id', 'channel', 'target_index'])
        batch.alter_column('target_index', existing_type=sa.Integer(), nullable=False)
        batch.drop_column('target_key')
    op.create_index(op.f('ix_deliveries_target'), 'deliveries', ['channel', 'target_index', 'status'],
                    unique=False)
