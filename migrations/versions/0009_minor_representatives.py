"""R-MINOR: a party's legal representative recorded as a person, and who signed for a party

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guardian_relation', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('guardian_id_cipher', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('guardian_id_masked', sa.String(length=30), nullable=True))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signer_name', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('signer_name')
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_column('guardian_id_masked')
        batch_op.drop_column('guardian_id_cipher')
        batch_op.drop_column('guardian_relation')
