"""Scale: per-case facts for the statistics (back-filled), the search index (pg_trgm / FTS5),
and the indexes the scoped lists need; the duplicate audit_events.case_id index dropped

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-01 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.models.columns import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("resolved_level", sa.String(length=20), nullable=True),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("risk_level", sa.String(length=20), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("agreement_effective_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("latest_performance", sa.String(length=20), nullable=True),
        sa.Column("latest_satisfaction", sa.String(length=20), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        sa.Column("not_accepted", sa.Boolean(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("case_id"),
    )
    with op.batch_alter_table("case_facts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_facts_registered_at"), ["registered_at"], unique=False
        )
    op.create_table(
        "case_fact_units",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("resolved_level", sa.String(length=20), nullable=True),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("risk_level", sa.String(length=20), nullable=False),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("latest_performance", sa.String(length=20), nullable=True),
        sa.Column("latest_satisfaction", sa.String(length=20), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        sa.Column("not_accepted", sa.Boolean(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("unit_id", "case_id"),
    )
    with op.batch_alter_table("case_fact_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_fact_units_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_case_fact_units_period",
            ["unit_id", "registered_at"],
            unique=False,
            postgresql_include=[
                "result",
                "resolved_level",
                "category_code",
                "risk_level",
                "overdue",
                "working_days",
                "latest_performance",
                "latest_satisfaction",
                "applied",
                "confirmed",
                "rejected",
                "not_accepted",
                "withdrawn",
            ],
        )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignments_open_user",
            ["user_id", "case_id"],
            unique=False,
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_case_id"))
    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_parties_party_id"), ["party_id"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_court_id"), ["court_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cases_referring_court_id"), ["referring_court_id"], unique=False
        )
    _search_index()
    _backfill_facts()


def _search_index() -> None:
    from mediation import search

    bind = op.get_bind()
    for statement in search.statements(bind.dialect.name):
        bind.exec_driver_sql(statement)
    if bind.dialect.name == "sqlite":
        for statement in search.SQLITE_BACKFILL:
            bind.exec_driver_sql(statement)


def _backfill_facts() -> None:
    """Every existing case's facts, recounted by the code the fire path runs."""
    from api.settings import get_settings
    from api.wiring import load_calendar, load_registry
    from mediation import facts
    from engine.repository import Database, Tx

    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT COUNT(*) FROM cases").scalar() == 0:
        return  # a new database: nothing to recount, and no workflows need loading
    cursor = bind.connection.dbapi_connection.cursor()  # the migration's own transaction
    tx = Tx(Database(bind.engine), cursor)
    calendar = load_calendar(get_settings().resolved_calendar_dir)
    facts.rebuild(tx, load_registry(), calendar, counts=False)  # their table: 0016


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("case", "case_gone", "party", "party_gone", "rename"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS case_search_{name}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS case_search")
    else:
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_cases_number_trgm")
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_parties_name_trgm")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_referring_court_id"))
        batch_op.drop_index(batch_op.f("ix_cases_grid_id"))
        batch_op.drop_index(batch_op.f("ix_cases_created_at"))
        batch_op.drop_index(batch_op.f("ix_cases_court_id"))
    with op.batch_alter_table("case_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_parties_party_id"))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_assignments_open_user",
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        )
    with op.batch_alter_table("case_fact_units", schema=None) as batch_op:
        batch_op.drop_index("ix_case_fact_units_period")
        batch_op.drop_index(batch_op.f("ix_case_fact_units_case_id"))
    op.drop_table("case_fact_units")
    op.drop_table("case_facts")
