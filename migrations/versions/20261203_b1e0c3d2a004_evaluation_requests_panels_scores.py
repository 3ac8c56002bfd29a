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
    pass


def downgrade():
    pass
