"""satisfaction call-backs: service completions, do-not-call list, sampling policy, monthly candidates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 18:44:13.849973
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('do_not_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phone')
    )
    op.create_table('sampling_policy_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('service_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('service_type', sa.String(length=50), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=False),
    sa.Column('customer_phone', sa.String(length=40), nullable=False),
    sa.Column('customer_language', sa.String(length=10), nullable=False),
    sa.Column('employee', sa.String(length=100), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('amount_charged', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'external_id')
    )
    with op.batch_alter_table('service_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_completions_completed_at'), ['completed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_completions_service_type'), ['service_type'], unique=False)
    op.create_table('callback_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('selected', sa.Boolean(), nullable=False),
    sa.Column('exclusion_reason', sa.String(length=50), nullable=True),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['completion_id'], ['service_completions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('completion_id')
    )
    with op.batch_alter_table('callback_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_candidates_month'), ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('callback_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_candidates_month'))
    op.drop_table('callback_candidates')
    with op.batch_alter_table('service_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_completions_service_type'))
        batch_op.drop_index(batch_op.f('ix_service_completions_completed_at'))
    op.drop_table('service_completions')
    op.drop_table('sampling_policy_versions')
    op.drop_table('do_not_call')
