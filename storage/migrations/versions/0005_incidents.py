"""Incidents about claimwatch itself and their ops notices, delivered through the outbox: a
delivery is now of an alert or of a notice.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('open_key', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('open_key', name=op.f('uq_incidents_open_key'))
    )
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_notices_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    op.create_index(op.f('ix_notices_incident_id'), 'notices', ['incident_id'], unique=False)
    with op.batch_alter_table('deliveries') as batch:
        batch.alter_column('alert_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('notice_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_deliveries_notice_id_notices'), 'notices', ['notice_id'], ['id'])
    op.create_index(op.f('ix_deliveries_notice_id'), 'deliveries', ['notice_id'], unique=False)
    op.create_index(op.f('ix_delivery_attempts_at'), 'delivery_attempts', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_delivery_attempts_at'), table_name='delivery_attempts')
    op.drop_index(op.f('ix_deliveries_notice_id'), table_name='deliveries')
    op.execute("DELETE FROM delivery_attempts WHERE delivery_id IN "
               "(SELECT id FROM deliveries WHERE alert_id IS NULL)")
    op.execute("DELETE FROM deliveries WHERE alert_id IS NULL")
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_constraint(op.f('fk_deliveries_notice_id_notices'), type_='foreignkey')
        batch.drop_column('notice_id')
        batch.alter_column('alert_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f('ix_notices_incident_id'), table_name='notices')
    op.drop_table('notices')
    op.drop_table('incidents')
