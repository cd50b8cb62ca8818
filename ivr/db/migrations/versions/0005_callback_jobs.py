"""satisfaction call-backs: a job per selected completion (due, latest, status) and its placed attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 18:57:40.881774
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callback_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('latest_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('last_outcome', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['callback_candidates.id'], ),
    sa.ForeignKeyConstraint(['completion_id'], ['service_completions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('candidate_id'),
    sa.UniqueConstraint('completion_id')
    )
    with op.batch_alter_table('callback_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_jobs_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_jobs_status'), ['status'], unique=False)

    op.create_table('callback_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('placed_at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('answered_by', sa.String(length=30), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['callback_jobs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_sid'),
    sa.UniqueConstraint('job_id', 'number')
    )
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_attempts_job_id'), ['job_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_attempts_job_id'))

    op.drop_table('callback_attempts')
    with op.batch_alter_table('callback_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_callback_jobs_due_at'))

    op.drop_table('callback_jobs')
