"""Assessments: the article-level stance on each claim an article is related to.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Text(), nullable=False),
    sa.Column('stance', sa.Text(), nullable=False),
    sa.Column('party', sa.Text(), nullable=False),
    sa.Column('party_kind', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('cue', sa.Text(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stance IN ('confirms', 'denies', 'discusses', 'unrelated')", name=op.f('ck_assessments_stance')),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_assessments_article_id_articles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('article_id', 'claim_id', name=op.f('uq_assessments_article_id_claim_id'))
    )
    op.create_index(op.f('ix_assessments_claim_id'), 'assessments', ['claim_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_assessments_claim_id'), table_name='assessments')
    op.drop_table('assessments')
