"""R-STATS pre-aggregated per unit and per day and month; revoked rulings recounted

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-01 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unit_period_counts",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("span", sa.String(length=5), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("dim", sa.String(length=12), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "cases",
                "overdue",
                "working_days_total",
                "working_days_cases",
                "applied",
                "confirmed",
                "rejected",
                "not_accepted",
                "withdrawn",
            )
        ),
        sa.PrimaryKeyConstraint("unit_id", "span", "period", "dim", "value"),
    )
    _back_fill()


def _back_fill() -> None:
    """Recount the facts of the cases whose ruling was revoked on an objection (they were
    counted as confirmed or rejected), then every count from the facts, set-based."""
    from mediation import aggregates
    from engine.repository import Database, Tx

    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT COUNT(*) FROM cases").scalar() == 0:
        return  # a new database: nothing to count, and no workflows need loading
    cursor = bind.connection.dbapi_connection.cursor()  # the migration's own transaction
    tx = Tx(Database(bind.engine), cursor)
    revoked = [
        int(case_id)
        for (case_id,) in tx.all(
            "SELECT DISTINCT case_id FROM audit_events WHERE trigger = 'uphold_objection'"
        )
    ]
    if revoked:
        from api.settings import get_settings
        from api.wiring import load_calendar, load_registry
        from mediation import facts

        registry = load_registry()
        calendar = load_calendar(get_settings().resolved_calendar_dir)
        for case_id in revoked:
            facts.refresh(tx, registry, calendar, case_id)
    aggregates.rebuild(tx)


def downgrade() -> None:
    op.drop_table("unit_period_counts")
