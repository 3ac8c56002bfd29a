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
    pass


def downgrade():
    pass
