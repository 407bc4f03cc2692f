"""Web admin: branding per org unit (a committee's seal text, a committee's or room's logo)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 22:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'  # main chains 0003 → 0005 → 0007; the lead rechains
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('seal_text', sa.String(length=40), nullable=True)
        )
        batch_op.add_column(sa.Column('logo_png', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.drop_column('logo_png')
        batch_op.drop_column('seal_text')
