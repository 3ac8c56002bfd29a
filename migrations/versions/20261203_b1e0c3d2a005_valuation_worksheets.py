"""valuation: worksheets

知识产权价值评估 worksheets (income and cost approach) and pricing guidance.

Revision ID: b1e0c3d2a005
Revises: b1e0c3d2a004
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1e0c3d2a005'
down_revision = 'b1e0c3d2a004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('valuation_worksheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('achievement_id', sa.Integer(), nullable=True),
    sa.Column('patent_number', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['achievement_id'], ['achievements.id'], name=op.f('fk_valuation_worksheets_achievement_id_achievements'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_valuation_worksheets_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_valuation_worksheets_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_valuation_worksheets'))
    )
    with op.batch_alter_table('valuation_worksheets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_valuation_worksheets_achievement_id'), ['achievement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_valuation_worksheets_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_valuation_worksheets_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('valuation_worksheets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_valuation_worksheets_org_id'))
        batch_op.drop_index(batch_op.f('ix_valuation_worksheets_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_valuation_worksheets_achievement_id'))

    op.drop_table('valuation_worksheets')
