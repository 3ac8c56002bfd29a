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
    op.create_table('finance_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amount_min', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('amount_max', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('rate_min', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('rate_max', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('term_min', sa.Integer(), nullable=False),
    sa.Column('term_max', sa.Integer(), nullable=False),
    sa.Column('requirements', sa.Text(), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_finance_products_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_finance_products_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_products'))
    )
    with op.batch_alter_table('finance_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_products_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_products_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_products_status'), ['status'], unique=False)

    op.create_table('roadshows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('registration_deadline', sa.DateTime(), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=True),
    sa.Column('online_url', sa.String(length=500), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('organizer_id', sa.Integer(), nullable=True),
    sa.Column('organizer_org_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organizer_id'], ['users.id'], name=op.f('fk_roadshows_organizer_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organizer_org_id'], ['organizations.id'], name=op.f('fk_roadshows_organizer_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadshows'))
    )
    with op.batch_alter_table('roadshows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadshows_starts_at'), ['starts_at'], unique=False)

    op.create_table('finance_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=True),
    sa.Column('amount_requested', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('documents_note', sa.Text(), nullable=True),
    sa.Column('response_note', sa.Text(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('approved_amount', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('approved_rate', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('approved_term', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('disbursed_amount', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('disbursed_on', sa.Date(), nullable=True),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_finance_applications_applicant_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['institution_id'], ['organizations.id'], name=op.f('fk_finance_applications_institution_id_organizations')),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_finance_applications_org_id_organizations')),
    sa.ForeignKeyConstraint(['product_id'], ['finance_products.id'], name=op.f('fk_finance_applications_product_id_finance_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_applications'))
    )
    with op.batch_alter_table('finance_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_applications_decided_at'), ['decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_applications_disbursed_on'), ['disbursed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_applications_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_applications_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_applications_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_applications_status'), ['status'], unique=False)

    op.create_table('roadshow_projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadshow_id', sa.Integer(), nullable=False),
    sa.Column('achievement_id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['achievement_id'], ['achievements.id'], name=op.f('fk_roadshow_projects_achievement_id_achievements')),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_roadshow_projects_applicant_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['roadshow_id'], ['roadshows.id'], name=op.f('fk_roadshow_projects_roadshow_id_roadshows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadshow_projects')),
    sa.UniqueConstraint('roadshow_id', 'achievement_id', name='uq_roadshow_projects_roadshow_achievement')
    )
    with op.batch_alter_table('roadshow_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadshow_projects_roadshow_id'), ['roadshow_id'], unique=False)

    op.create_table('roadshow_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roadshow_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['roadshow_id'], ['roadshows.id'], name=op.f('fk_roadshow_registrations_roadshow_id_roadshows')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_roadshow_registrations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadshow_registrations')),
    sa.UniqueConstraint('roadshow_id', 'user_id', name='uq_roadshow_registrations_roadshow_user')
    )
    with op.batch_alter_table('roadshow_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadshow_registrations_roadshow_id'), ['roadshow_id'], unique=False)

    op.create_table('finance_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_finance_attachments_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['application_id'], ['finance_applications.id'], name=op.f('fk_finance_attachments_application_id_finance_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_attachments')),
    sa.UniqueConstraint('application_id', 'kind', 'ref_id', name='uq_finance_attachments_application_kind_ref')
    )
    with op.batch_alter_table('finance_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_attachments_application_id'), ['application_id'], unique=False)

    op.create_table('finance_repayments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['finance_applications.id'], name=op.f('fk_finance_repayments_application_id_finance_applications')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_finance_repayments_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_repayments'))
    )
    with op.batch_alter_table('finance_repayments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finance_repayments_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finance_repayments_paid_on'), ['paid_on'], unique=False)


def downgrade():
    with op.batch_alter_table('finance_repayments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_repayments_paid_on'))
        batch_op.drop_index(batch_op.f('ix_finance_repayments_application_id'))

    op.drop_table('finance_repayments')

    with op.batch_alter_table('finance_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_attachments_application_id'))

    op.drop_table('finance_attachments')

    with op.batch_alter_table('roadshow_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadshow_registrations_roadshow_id'))

    op.drop_table('roadshow_registrations')

    with op.batch_alter_table('roadshow_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadshow_projects_roadshow_id'))

    op.drop_table('roadshow_projects')

    with op.batch_alter_table('finance_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_applications_status'))
        batch_op.drop_index(batch_op.f('ix_finance_applications_product_id'))
        batch_op.drop_index(batch_op.f('ix_finance_applications_org_id'))
        batch_op.drop_index(batch_op.f('ix_finance_applications_institution_id'))
        batch_op.drop_index(batch_op.f('ix_finance_applications_disbursed_on'))
        batch_op.drop_index(batch_op.f('ix_finance_applications_decided_at'))

    op.drop_table('finance_applications')

    with op.batch_alter_table('roadshows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadshows_starts_at'))

    op.drop_table('roadshows')

    with op.batch_alter_table('finance_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finance_products_status'))
        batch_op.drop_index(batch_op.f('ix_finance_products_org_id'))
        batch_op.drop_index(batch_op.f('ix_finance_products_kind'))

    op.drop_table('finance_products')
