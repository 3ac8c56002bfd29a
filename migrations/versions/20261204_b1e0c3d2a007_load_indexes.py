"""load indexes: deals by creation time, technology contracts by last change

Found by the load test at 100,000 listings and 100,000 contracts (bench/load): the statistics
dashboard's funnel counted deals opened in a period with a sequential scan, and the dashboard's
cache reads MAX(tech_contracts.updated_at) as part of the register's version.

Revision ID: b1e0c3d2a007
Revises: b1e0c3d2a006
Create Date: 2026-12-04 02:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b1e0c3d2a007'
down_revision = 'b1e0c3d2a006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.create_index('ix_deals_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('tech_contracts', schema=None) as batch_op:
        batch_op.create_index('ix_tech_contracts_updated_at', ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('tech_contracts', schema=None) as batch_op:
        batch_op.drop_index('ix_tech_contracts_updated_at')
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_index('ix_deals_created_at')
