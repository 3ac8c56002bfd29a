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

    op.create_table('instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=True),
    sa.Column('manufacturer', sa.String(length=200), nullable=True),
    sa.Column('field_code', sa.String(length=8), nullable=True),
    sa.Column('specs', sa.Text(), nullable=True),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('fee', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('fee_unit', sa.String(length=30), nullable=True),
    sa.Column('availability_notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=True),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('contact_email', sa.String(length=200), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_instruments_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_instruments_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruments'))
    )
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruments_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruments_field_code'), ['field_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruments_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruments_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruments_status'), ['status'], unique=False)

    op.create_table('instrument_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('requester_org_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('sample_description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_instrument_bookings_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_bookings_instrument_id_instruments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_instrument_bookings_requester_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requester_org_id'], ['organizations.id'], name=op.f('fk_instrument_bookings_requester_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_bookings'))
    )
    with op.batch_alter_table('instrument_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_bookings_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instrument_bookings_requester_org_id'), ['requester_org_id'], unique=False)
        batch_op.create_index('ix_instrument_bookings_slot', ['instrument_id', 'status', 'starts_at'], unique=False)

    _create_overlap_guard()


# Two approved bookings of one instrument never overlap ([starts_at, ends_at) half-open, so
# 10:00–12:00 and 12:00–14:00 may both be approved). The database enforces it, so no interleaving
# of concurrent approvals can break it: PostgreSQL with an exclusion constraint (GiST over the
# instrument id and the time range; btree_gist provides `=` for integers), SQLite with triggers
# (SQLite serialises writers, so a trigger reading the committed rows is enough).
OVERLAP_CONSTRAINT = 'ex_instrument_bookings_no_overlap'
SQLITE_TRIGGERS = ('tr_instrument_bookings_no_overlap_insert', 'tr_instrument_bookings_no_overlap_update')
SQLITE_OVERLAP = """
CREATE TRIGGER {name} BEFORE {event} ON instrument_bookings
FOR EACH ROW WHEN NEW.status = 'approved'
BEGIN
    SELECT RAISE(ABORT, 'instrument booking overlaps an approved booking')
    WHERE EXISTS (
        SELECT 1 FROM instrument_bookings AS other
        WHERE other.instrument_id = NEW.instrument_id
          AND other.status = 'approved'
          AND other.id IS NOT NEW.id
          AND other.starts_at < NEW.ends_at
          AND NEW.starts_at < other.ends_at
    );
END
"""


def _create_overlap_guard():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
        op.execute(
            f'ALTER TABLE instrument_bookings ADD CONSTRAINT {OVERLAP_CONSTRAINT} '
            "EXCLUDE USING gist (instrument_id WITH =, tsrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status = 'approved')"
        )
    elif dialect == 'sqlite':
        op.execute(SQLITE_OVERLAP.format(name=SQLITE_TRIGGERS[0], event='INSERT'))
        op.execute(SQLITE_OVERLAP.format(name=SQLITE_TRIGGERS[1], event='UPDATE'))


def _drop_overlap_guard():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(f'ALTER TABLE instrument_bookings DROP CONSTRAINT IF EXISTS {OVERLAP_CONSTRAINT}')
    elif dialect == 'sqlite':
        for name in SQLITE_TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')


def downgrade():
    _drop_overlap_guard()
    with op.batch_alter_table('instrument_bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_instrument_bookings_slot')
        batch_op.drop_index(batch_op.f('ix_instrument_bookings_requester_org_id'))
        batch_op.drop_index(batch_op.f('ix_instrument_bookings_requester_id'))

    op.drop_table('instrument_bookings')
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruments_status'))
        batch_op.drop_index(batch_op.f('ix_instruments_org_id'))
        batch_op.drop_index(batch_op.f('ix_instruments_name'))
        batch_op.drop_index(batch_op.f('ix_instruments_field_code'))
        batch_op.drop_index(batch_op.f('ix_instruments_district'))

    op.drop_table('instruments')
    with op.batch_alter_table('achievement_experts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_achievement_experts_expert_id'))
        batch_op.drop_index(batch_op.f('ix_achievement_experts_achievement_id'))

    op.drop_table('achievement_experts')
    with op.batch_alter_table('experts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_organization_id'))
        batch_op.drop_index(batch_op.f('ix_experts_name'))
        batch_op.drop_index(batch_op.f('ix_experts_active'))

    op.drop_table('experts')
