"""R-ESIGN: signing acts (the signer's own act, its identity check and one-time code)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signing_acts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('document_kind', sa.String(length=40), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('signer_kind', sa.String(length=20), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('signer_name', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('identity_method', sa.String(length=20), nullable=True),
    sa.Column('identity_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('identity_checked_by', sa.Integer(), nullable=True),
    sa.Column('identity_failures', sa.Integer(), nullable=False),
    sa.Column('otp_hash', sa.String(length=200), nullable=True),
    sa.Column('otp_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('otp_attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('certificate_serial', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['identity_checked_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('signing_acts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_acts_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signing_acts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_acts_case_id'))
    op.drop_table('signing_acts')
