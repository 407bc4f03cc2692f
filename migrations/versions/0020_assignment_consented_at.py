"""The assignment's consent column takes the engine's neutral name: consented_at

The engine records when the consent an assignment needed was given; whose consent it is (the
parties', under 人民调解法 Art. 20) is the flow's word, kept in its payloads and the HTTP API.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain rename on both databases (SQLite ≥ 3.25 renames in place, keeping the indexes
    # and foreign keys a batch copy would rebuild).
    op.alter_column("assignments", "parties_consented_at", new_column_name="consented_at")


def downgrade() -> None:
    op.alter_column("assignments", "consented_at", new_column_name="parties_consented_at")
