"""evaluation: requests panels scores

成果评价: evaluation requests, expert panels, scores, reports.

Revision ID: b1e0c3d2a004
Revises: b1e0c3d2a003
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1e0c3d2a004'
down_revision = 'b1e0c3d2a003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('achievement_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('provider_org_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('overall', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('grade', sa.String(length=1), nullable=True),
    sa.Column('report_number', sa.String(length=20), nullable=True),
    sa.Column('badge_hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['achievement_id'], ['achievements.id'], name=op.f('fk_evaluation_requests_achievement_id_achievements')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_evaluation_requests_assigned_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_evaluation_requests_closed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_evaluation_requests_org_id_organizations')),
    sa.ForeignKeyConstraint(['provider_org_id'], ['organizations.id'], name=op.f('fk_evaluation_requests_provider_org_id_organizations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_evaluation_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_requests')),
    sa.UniqueConstraint('report_number', name=op.f('uq_evaluation_requests_report_number'))
    )
    with op.batch_alter_table('evaluation_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_requests_achievement_id'), ['achievement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_requests_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_requests_provider_org_id'), ['provider_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_requests_status'), ['status'], unique=False)


    op.create_table('evaluation_panel_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('revised_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], name=op.f('fk_evaluation_panel_members_expert_id_experts')),
    sa.ForeignKeyConstraint(['request_id'], ['evaluation_requests.id'], name=op.f('fk_evaluation_panel_members_request_id_evaluation_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_panel_members')),
    sa.UniqueConstraint('request_id', 'expert_id', name='uq_evaluation_panel_members_pair')
    )
    with op.batch_alter_table('evaluation_panel_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_panel_members_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_panel_members_request_id'), ['request_id'], unique=False)

    op.create_table('evaluation_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Numeric(precision=4, scale=1), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['evaluation_panel_members.id'], name=op.f('fk_evaluation_scores_member_id_evaluation_panel_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_scores')),
    sa.UniqueConstraint('member_id', 'dimension', name='uq_evaluation_scores_member_dimension')
    )
    with op.batch_alter_table('evaluation_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_scores_member_id'), ['member_id'], unique=False)


def downgrade():
    with op.batch_alter_table('evaluation_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_scores_member_id'))

    op.drop_table('evaluation_scores')
    with op.batch_alter_table('evaluation_panel_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_panel_members_request_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_panel_members_expert_id'))

    op.drop_table('evaluation_panel_members')
    with op.batch_alter_table('evaluation_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_requests_status'))
        batch_op.drop_index(batch_op.f('ix_evaluation_requests_provider_org_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_requests_org_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_requests_achievement_id'))

    op.drop_table('evaluation_requests')
