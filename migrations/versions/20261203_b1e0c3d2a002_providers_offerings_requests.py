"""providers: offerings and service requests

The 1+7+N service system: service_offerings, service_requests (with their notes) and
service_ratings.

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
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('turnaround_days', sa.Integer(), nullable=True),
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
        batch_op.create_index(batch_op.f('ix_service_offerings_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_offerings_org_id'), ['org_id'], unique=False)

    op.create_table('service_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offering_id', sa.Integer(), nullable=False),
    sa.Column('provider_org_id', sa.Integer(), nullable=False),
    sa.Column('requester_org_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('desired_date', sa.Date(), nullable=True),
    sa.Column('contact_preference', sa.String(length=16), nullable=False),
    sa.Column('achievement_id', sa.Integer(), nullable=True),
    sa.Column('demand_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('quote_note', sa.Text(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('result_text', sa.Text(), nullable=True),
    sa.Column('result_file_name', sa.String(length=200), nullable=True),
    sa.Column('result_file_path', sa.String(length=200), nullable=True),
    sa.Column('result_file_mime', sa.String(length=100), nullable=True),
    sa.Column('result_file_size', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('response_seconds', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['achievement_id'], ['achievements.id'], name=op.f('fk_service_requests_achievement_id_achievements'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['demand_id'], ['demands.id'], name=op.f('fk_service_requests_demand_id_demands'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['offering_id'], ['service_offerings.id'], name=op.f('fk_service_requests_offering_id_service_offerings')),
    sa.ForeignKeyConstraint(['provider_org_id'], ['organizations.id'], name=op.f('fk_service_requests_provider_org_id_organizations')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_service_requests_requester_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_org_id'], ['organizations.id'], name=op.f('fk_service_requests_requester_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_requests'))
    )
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_offering_id'), ['offering_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_provider_org_id'), ['provider_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_requester_org_id'), ['requester_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_status'), ['status'], unique=False)

    op.create_table('service_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('offering_id', sa.Integer(), nullable=False),
    sa.Column('provider_org_id', sa.Integer(), nullable=False),
    sa.Column('rater_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['offering_id'], ['service_offerings.id'], name=op.f('fk_service_ratings_offering_id_service_offerings')),
    sa.ForeignKeyConstraint(['provider_org_id'], ['organizations.id'], name=op.f('fk_service_ratings_provider_org_id_organizations')),
    sa.ForeignKeyConstraint(['rater_id'], ['users.id'], name=op.f('fk_service_ratings_rater_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'], name=op.f('fk_service_ratings_request_id_service_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_ratings')),
    sa.UniqueConstraint('request_id', name=op.f('uq_service_ratings_request_id'))
    )
    with op.batch_alter_table('service_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_ratings_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_ratings_offering_id'), ['offering_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_ratings_provider_org_id'), ['provider_org_id'], unique=False)

    op.create_table('service_request_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_service_request_messages_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_service_request_messages_org_id_organizations')),
    sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'], name=op.f('fk_service_request_messages_request_id_service_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_request_messages'))
    )
    with op.batch_alter_table('service_request_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_request_messages_request_id'), ['request_id'], unique=False)


def downgrade():
    with op.batch_alter_table('service_request_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_request_messages_request_id'))

    op.drop_table('service_request_messages')
    with op.batch_alter_table('service_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_ratings_provider_org_id'))
        batch_op.drop_index(batch_op.f('ix_service_ratings_offering_id'))
        batch_op.drop_index(batch_op.f('ix_service_ratings_created_at'))

    op.drop_table('service_ratings')
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_requests_status'))
        batch_op.drop_index(batch_op.f('ix_service_requests_requester_org_id'))
        batch_op.drop_index(batch_op.f('ix_service_requests_provider_org_id'))
        batch_op.drop_index(batch_op.f('ix_service_requests_offering_id'))
        batch_op.drop_index(batch_op.f('ix_service_requests_created_at'))

    op.drop_table('service_requests')
    with op.batch_alter_table('service_offerings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_offerings_org_id'))
        batch_op.drop_index(batch_op.f('ix_service_offerings_district'))
        batch_op.drop_index(batch_op.f('ix_service_offerings_category'))
        batch_op.drop_index(batch_op.f('ix_service_offerings_active'))

    op.drop_table('service_offerings')
