"""Builds the engine and its ports from settings: the one place where configuration becomes
objects. Everything below api/ receives these through constructors."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa

from api.authz import COURT_QUEUE_STATES
from api.keys import load_pii_key
from api.settings import Settings
from engine.calendar import WorkingCalendar
from engine.pii import AesGcmProtector
from engine.ports import Clock, SystemClock
from engine.registry import Registry, Requirements
from engine.repository.connection import configure_engine
from mediation.engine import MediationEngine
from mediation.policy import Policy
from mediation.repository import MediationDatabase
from workflows import HOOKS, WORKFLOWS_DIR


def make_sa_engine(url: str, *, echo: bool = False) -> sa.Engine:
    """An SQLAlchemy engine with Fengqiao's SQLite settings (WAL, foreign keys, BEGIN)."""
    # hide_parameters: SQL parameters (password hashes, encrypted PII, search terms) never
    # appear in an error message or the echo log
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
    else:
        engine = sa.create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            pool_size=10,
            max_overflow=20,  # no pre-ping: a dead connection is replaced by the statement
        )  # that finds it (engine/repository/connection.py), not by a round trip before every use
    configure_engine(engine)
    return engine


# Steps a host service performs (it renders or signs a paper, then fires the trigger): the
# generic actions door refuses them unless the deployment runs without documents.
SERVICE_STEPS: dict[str, frozenset[str]] = {
    "documents": frozenset(
        {
            "draft_agreement",
            "revise_agreement",
            "sign_party",
            "sign_mediator",
            "apply_seal",
            # R-JC-PACKAGE: the application rendered for the court, signed by each applicant
            "prepare_confirmation_application",
            "sign_confirmation_application",
        }
    ),
    "court": frozenset({"confirm", "reject"}),
}
# What a refusal at the generic door calls each service (ServiceStepRefused's message).
SERVICE_LABELS = {"documents": "文书服务（生成并签署文书）", "court": "法院裁定服务（生成裁定书）"}
# Names the code relies on beyond the service steps: statistics count these triggers, the
# court queue lists these states, the document service stores these kinds.
REQUIREMENTS = Requirements(
    services=SERVICE_STEPS,
    service_labels=SERVICE_LABELS,
    triggers=frozenset({"apply_confirmation", "accept_application", "record_visit"}),
    states=frozenset({*COURT_QUEUE_STATES, "agreement_in_effect", "followup"}),
    document_kinds=frozenset({"agreement", "agreement_scan", "ruling"}),
)


@cache
def load_registry() -> Registry:
    """The flows under workflows/, checked against every name the code relies on; read once
    per process (they are the package's own files, and a registry is never changed)."""
    return Registry.from_directory(WORKFLOWS_DIR, HOOKS, REQUIREMENTS)


def load_calendar(calendar_dir: Path) -> WorkingCalendar:
    calendar = WorkingCalendar.from_chinesecalendar()
    if calendar_dir.is_dir():
        calendar = calendar.load_directory(calendar_dir)
    return calendar


def build_engine(
    settings: Settings, *, clock: Clock | None = None, create_key: bool = False
) -> MediationEngine:
    database = MediationDatabase(
        make_sa_engine(settings.resolved_database_url, echo=settings.sql_echo)
    )
    return MediationEngine(
        database,
        load_registry(),
        clock=clock or SystemClock(),
        calendar=load_calendar(settings.resolved_calendar_dir),
        pii=AesGcmProtector(load_pii_key(settings.resolved_pii_key_file, create=create_key)),
        number_pattern=settings.case_number_pattern,
        policy=Policy(
            followup_days=settings.followup_days, visit_grace_days=settings.visit_grace_days
        ),
        open_services=frozenset() if settings.document_service else frozenset(SERVICE_STEPS),
    )
