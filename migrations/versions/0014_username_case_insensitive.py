"""Usernames unique in any letter case, enforced by the database

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-01 01:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Stops on existing duplicates (two accounts `Admin` and `admin`) rather than guess which
    # one is the person's: an operator renames one, then runs the upgrade again.
    op.create_index(
        "ux_users_username_lower", "users", [sa.func.lower(sa.column("username"))], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_users_username_lower", table_name="users")
