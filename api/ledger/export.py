"""The same 台账 out again: every case registered in a unit's subtree in a period, one row per
case in the import's layout, so a ledger exported here imports elsewhere (R-PII: ID and phone
numbers masked unless an administrator asks for them in full, each such read logged)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from api.errors import Forbidden
from api.ledger.columns import (
    COLUMNS,
    FORM_LABELS,
    LEVEL_LABELS,
    OUTCOME_LABELS,
    PERFORMANCE_LABELS,
    SHEET_TITLE,
    STATE_OUTCOMES,
    LedgerResult,
)
from api.ledger.service import require_ledger_role
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput, NotFound
from engine.records import Actor, OrgUnitRow
from engine.repository import Tx
from mediation import ledger_queries
from mediation.engine import MediationEngine
from mediation.intake import ORIGIN_LABELS
from mediation.ledger_queries import LedgerParty
from mediation.spec import mediation_spec
from mediation.vocabulary import Role

BATCH = 2_000
EARLIEST, LATEST = date(1949, 10, 1), date(2999, 12, 31)
_ORIGINS = {origin.value: label for origin, label in ORIGIN_LABELS.items()}
FULL_NUMBERS_PURPOSE = "台账导出（完整身份证号码、电话）"
_READ = {False: "id_number,phone", True: "id_number,phone,guardian_id_number"}  # logged


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive

    def bounds(self) -> tuple[datetime, datetime]:
        first = datetime.combine(self.start, datetime.min.time(), tzinfo=SHANGHAI)
        after = datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
        return first, after


def export_unit(tx: Tx, actor: Actor, unit: str | int | None) -> OrgUnitRow | None:
    """The unit whose ledger is asked for (by id or name), in the actor's scope; None: all
    units (an administrator or the console only).

    Raises:
        NotFound, Forbidden.
    """
    require_ledger_role(actor, "导出台账")
    if unit is None or unit == "":
        if not actor.all_units:
            raise InvalidInput("请指定要导出台账的单位", field="unit")
        return None
    row = None
    if isinstance(unit, int) or str(unit).isdigit():
        row = tx.org_unit(int(unit))
    else:
        found = ledger_queries.unit_id_named(tx, str(unit))
        row = tx.org_unit(found) if found is not None else None
    if row is None:
        raise NotFound("组织", unit)
    if not actor.all_units and row.id not in actor.unit_ids:
        raise Forbidden(f"无权导出“{row.name}”的台账")
    return row


def export_ledger(
    engine: MediationEngine,
    actor: Actor,
    unit: str | int | None,
    period: Period,
    *,
    full_numbers: bool = False,
    progress: Callable[[int | None, int], None] | None = None,
) -> bytes:
    """The ledger of `unit`'s subtree for the period as an .xlsx workbook.

    Raises:
        Forbidden: no ledger role, the unit out of scope, or full numbers asked by anyone
            but an administrator.
        NotFound, InvalidInput.
    """
    if period.start > period.end:
        raise InvalidInput("起始日期不能晚于截止日期", field="from")
    if period.start < EARLIEST or period.end > LATEST:
        raise InvalidInput(f"日期须在 {EARLIEST} 至 {LATEST} 之间", field="from")
    if full_numbers and (Role.admin not in actor.roles or actor.user_id is None):
        raise Forbidden("导出完整的身份证号码和电话须由管理员以本人账号办理（--user）")
    from openpyxl import Workbook

    reads: list[dict[str, Any]] = []
    with engine.db.transaction(write=False) as tx:
        root = export_unit(tx, actor, unit)
        ids = _case_ids(tx, root, period)
        book = Workbook(write_only=True)  # after the checks: a refusal leaves no half sheet
        sheet = book.create_sheet(SHEET_TITLE)
        for index, column in enumerate(COLUMNS):
            sheet.column_dimensions[_letter(index)].width = column.width
        sheet.append([c.header for c in COLUMNS])
        if progress is not None:
            progress(len(ids), 0)
        serial = 0
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            for cells, party_ids, case_id in _rows(tx, engine, batch, full_numbers):
                serial += 1
                sheet.append([serial, *cells])
                reads.extend(
                    {"case_id": case_id, "party_id": p, "fields": _READ[guardian]}
                    for p, guardian in party_ids
                )
            if progress is not None:
                progress(len(ids), len(batch))
    if full_numbers and reads:
        _log(engine, actor, reads)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _case_ids(tx: Tx, root: OrgUnitRow | None, period: Period) -> list[int]:
    first, after = period.bounds()
    return ledger_queries.case_ids_registered(tx, first, after, root.path if root else None)


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.astimezone(SHANGHAI).date()


def _rows(
    tx: Tx, engine: MediationEngine, case_ids: Sequence[int], full_numbers: bool
) -> Iterator[tuple[list[Any], list[tuple[int, bool]], int]]:
    """Each case's cells, its parties (id, whether a representative's ID is stored) and id."""
    cases = ledger_queries.ledger_cases(tx, case_ids)
    parties = ledger_queries.ledger_parties(tx, case_ids)
    mediators = ledger_queries.mediator_names(tx, case_ids)
    risks = {
        (c.spec.id, c.spec.version): {r.code: r.label for r in mediation_spec(c.spec).risk_levels}
        for c in engine.registry.all()
    }
    for case in cases:
        data = case.data
        outcome = STATE_OUTCOMES.get(case.state)
        if outcome is None:
            outcome = LedgerResult.successful if case.result == "successful" else LedgerResult.open
        successful = outcome is LedgerResult.successful
        sides: dict[str, list[LedgerParty]] = {"applicant": [], "respondent": []}
        for party in parties.get(case.id, []):
            sides["applicant" if party.role == "applicant" else "respondent"].append(party)

        def numbers(side: list[LedgerParty], cipher: str, masked: str) -> str:
            values = [
                (
                    engine.pii.decrypt(getattr(p, cipher))
                    if full_numbers and getattr(p, cipher)
                    else getattr(p, masked) or ""
                )
                for p in side
            ]
            return "、".join(values) if any(values) else ""

        cells = [
            case.number,
            _day(case.created_at),
            case.committee_name,
            case.grid_name or "",
            case.category_name or "",
            _ORIGINS.get(case.origin, case.origin),
            FORM_LABELS.get(str(data.get("application_form", "")), ""),
            risks.get((case.spec_id, case.spec_version), {}).get(case.risk_level, case.risk_level),
        ]
        for side in (sides["applicant"], sides["respondent"]):
            cells += [
                "、".join(p.name for p in side),
                numbers(side, "id_number_cipher", "id_number_masked"),
                numbers(side, "phone_cipher", "phone_masked"),
                _each(side, "address"),
                # R-MINOR: the 法定代理人 recorded as a person (a guardian named alone, as
                # the older intake allowed, has no ID and no relation to give)
                _each(side, "guardian_name"),
                numbers(side, "guardian_id_cipher", "guardian_id_masked"),
                _each(side, "guardian_relation"),
            ]
        cells += [
            _text(case.summary),
            OUTCOME_LABELS[outcome],
            LEVEL_LABELS.get(case.resolved_level or "", "") if successful else "",
            _day(case.agreement_effective_at) if successful else None,
            _day(case.closed_at),
            PERFORMANCE_LABELS.get(case.latest_performance or "", "") if successful else "",
            "、".join(mediators.get(case.id, [])) or str(data.get("ledger_mediator", "")),
            _text(str(data.get("ledger_notes", ""))),
        ]
        party_ids = [
            (p.party_id, p.guardian_id_cipher is not None) for s in sides.values() for p in s
        ]
        yield cells, party_ids, case.id


def _each(side: Sequence[LedgerParty], column: str) -> str:
    """One value per party in order ("、" between, empty for a party without), or nothing."""
    values = [getattr(p, column) for p in side]
    return "、".join(str(v or "") for v in values) if any(values) else ""


def _text(value: str) -> str:
    """A cell as text, never a formula: summaries come from users (CSV injection)."""
    return "'" + value if value.startswith(("=", "+", "-", "@")) else value


def _log(engine: MediationEngine, actor: Actor, reads: list[dict[str, Any]]) -> None:
    """R-PII: every unmasked read logged, in its own committed transaction."""
    with engine.db.transaction(write=True) as tx:
        ledger_queries.log_pii_reads(
            tx, engine.clock.now(), actor.user_id, FULL_NUMBERS_PURPOSE, reads
        )
