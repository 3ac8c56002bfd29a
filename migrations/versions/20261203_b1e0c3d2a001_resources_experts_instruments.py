"""resources: experts instruments bookings

科技人才库 (experts, achievement_experts) and 大型科学仪器共享 (instruments, bookings).

Revision ID: b1e0c3d2a001
Revises: 49f475f45d3a
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1e0c3d2a001'
down_revision = '49f475f45d3a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('experts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('org_name', sa.String(length=200), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=60), nullable=True),
    sa.Column('field_codes', sa.JSON(), nullable=False),
    sa.Column('expertise', sa.Text(), nullable=True),
    sa.Column('achievements_text', sa.Text(), nullable=True),
    sa.Column('available_evaluation', sa.Boolean(), nullable=False),
    sa.Column('available_consulting', sa.Boolean(), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_experts_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_experts_organization_id_organizations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_experts_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts')),
    sa.UniqueConstraint('user_id', name=op.f('uq_experts_user_id'))
    )
    with op.batch_alter_table('experts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_experts_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_experts_organization_id'), ['organization_id'], unique=False)

    op.create_table('achievement_experts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('achievement_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('team_role', sa.String(length=60), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['achievement_id'], ['achievements.id'], name=op.f('fk_achievement_experts_achievement_id_achievements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], name=op.f('fk_achievement_experts_expert_id_experts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_achievement_experts')),
    sa.UniqueConstraint('achievement_id', 'expert_id', name='uq_achievement_experts_pair')
    )
    with op.batch_alter_table('achievement_experts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_achievement_experts_achievement_id'), ['achievement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_achievement_experts_expert_id'), ['expert_id'], unique=False)


def downgrade():
    with op.batch_alter_table('achievement_experts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_achievement_experts_expert_id'))
        batch_op.drop_index(batch_op.f('ix_achievement_experts_achievement_id'))

    op.drop_table('achievement_experts')
    with op.batch_alter_table('experts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_organization_id'))
        batch_op.drop_index(batch_op.f('ix_experts_name'))
        batch_op.drop_index(batch_op.f('ix_experts_active'))

    op.drop_table('experts')
