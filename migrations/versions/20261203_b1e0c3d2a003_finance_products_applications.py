"""finance: products applications roadshows

科技金融: financial products, applications, investor follows, roadshows.

Revision ID: b1e0c3d2a003
Revises: b1e0c3d2a002
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1e0c3d2a003'
down_revision = 'b1e0c3d2a002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
