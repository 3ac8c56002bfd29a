"""providers: offerings and service requests

The 1+7+N service system: service_offerings and service requests.

Revision ID: b1e0c3d2a002
Revises: b1e0c3d2a001
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1e0c3d2a002'
down_revision = 'b1e0c3d2a001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('service_offerings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('price_note', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_service_offerings_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_service_offerings_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_offerings'))
    )
    with op.batch_alter_table('service_offerings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_offerings_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_offerings_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_offerings_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('service_offerings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_offerings_org_id'))
        batch_op.drop_index(batch_op.f('ix_service_offerings_category'))
        batch_op.drop_index(batch_op.f('ix_service_offerings_active'))

    op.drop_table('service_offerings')
