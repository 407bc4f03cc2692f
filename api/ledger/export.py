"""The same 台账 out again: every case registered in a unit's subtree in a period, one row per
case in the import's layout, so a ledger exported here imports elsewhere (R-PII: ID and phone
numbers masked unless an administrator asks for them in full, each such read logged)."""

from __future__ import annotations

import io
import json
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
    Outcome,
)
from api.ledger.service import require_ledger_role
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput, NotFound
from engine.records import Actor, OrgUnitRow
from engine.repository import Tx
from mediation.engine import MediationEngine as Engine
from mediation.intake import ORIGIN_LABELS
from mediation.queries import in_params
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
        found = tx.one("SELECT id FROM org_units WHERE name = :n OR short_name = :n", {"n": unit})
        row = tx.org_unit(int(found[0])) if found else None
    if row is None:
        raise NotFound("组织", unit)
    if not actor.all_units and row.id not in actor.unit_ids:
        raise Forbidden(f"无权导出“{row.name}”的台账")
    return row


def export_ledger(
    engine: Engine,
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
    params: dict[str, Any] = {"first": tx.codec.dt_out(first), "after": tx.codec.dt_out(after)}
    where = "c.created_at >= :first AND c.created_at < :after"
    if root is not None:
        params["path"] = root.path + "%"
        subtree = "SELECT id FROM org_units WHERE path LIKE :path"
        where += (
            f" AND (c.committee_id IN ({subtree}) OR c.org_unit_id IN ({subtree}) "
            f"OR c.grid_id IN ({subtree}))"
        )
    rows = tx.all(f"SELECT c.id FROM cases c WHERE {where} ORDER BY c.created_at, c.id", params)
    return [int(r[0]) for r in rows]


def _day(tx: Tx, value: Any) -> date | None:
    found = tx.codec.dt_in(value)
    return None if found is None else found.astimezone(SHANGHAI).date()


def _rows(
    tx: Tx, engine: Engine, case_ids: Sequence[int], full_numbers: bool
) -> Iterator[tuple[list[Any], list[tuple[int, bool]], int]]:
    """Each case's cells, its parties (id, whether a representative's ID is stored) and id."""
    params: dict[str, Any] = {}
    ids = in_params("c", case_ids, params)
    cases = tx.all(
        "SELECT c.id, c.number, c.created_at, CASE WHEN u.kind = 'room' THEN u.name "
        "ELSE m.name END, g.name, k.name, c.origin, c.data, "
        "c.risk_level, c.summary, c.state, c.spec_id, c.spec_version, f.result, "
        "f.resolved_level, c.agreement_effective_at, c.closed_at, f.latest_performance "
        "FROM cases c JOIN org_units u ON u.id = c.org_unit_id "
        "JOIN org_units m ON m.id = c.committee_id "
        "LEFT JOIN org_units g ON g.id = c.grid_id "
        "LEFT JOIN categories k ON k.code = c.category_code "
        f"LEFT JOIN case_facts f ON f.case_id = c.id WHERE c.id IN ({ids}) "
        "ORDER BY c.created_at, c.id",
        params,
    )
    parties: dict[int, list[Sequence[Any]]] = {}
    for row in tx.all(
        "SELECT cp.case_id, cp.role, p.id, p.name, p.address, p.id_number_cipher, "
        "p.id_number_masked, p.phone_cipher, p.phone_masked, p.guardian_name, "
        "p.guardian_id_cipher, p.guardian_id_masked, p.guardian_relation FROM case_parties cp "
        f"JOIN parties p ON p.id = cp.party_id WHERE cp.case_id IN ({ids}) ORDER BY cp.id",
        params,
    ):
        parties.setdefault(int(row[0]), []).append(row)
    mediators: dict[int, list[str]] = {}
    for case_id, name in tx.all(
        "SELECT a.case_id, u.display_name FROM assignments a JOIN users u ON u.id = a.user_id "
        f"WHERE a.case_id IN ({ids}) AND a.role = 'mediator' ORDER BY a.id",
        params,
    ):
        mediators.setdefault(int(case_id), []).append(str(name))
    risks = {
        (c.spec.id, c.spec.version): {r.code: r.label for r in mediation_spec(c.spec).risk_levels}
        for c in engine.registry.all()
    }
    for row in cases:
        case_id = int(row[0])
        data = row[7] if isinstance(row[7], dict) else json.loads(row[7] or "{}")
        outcome = STATE_OUTCOMES.get(row[10])
        if outcome is None:
            outcome = Outcome.successful if row[13] == "successful" else Outcome.open
        successful = outcome is Outcome.successful
        sides: dict[str, list[Sequence[Any]]] = {"applicant": [], "respondent": []}
        for party in parties.get(case_id, []):
            sides["applicant" if party[1] == "applicant" else "respondent"].append(party)

        def numbers(side: list[Sequence[Any]], cipher: int, masked: int) -> str:
            values = [
                (engine.pii.decrypt(p[cipher]) if full_numbers and p[cipher] else p[masked] or "")
                for p in side
            ]
            return "、".join(values) if any(values) else ""

        cells = [
            row[1],
            _day(tx, row[2]),
            row[3],
            row[4] or "",
            row[5] or "",
            _ORIGINS.get(row[6], row[6]),
            FORM_LABELS.get(str(data.get("application_form", "")), ""),
            risks.get((row[11], int(row[12])), {}).get(row[8], row[8]),
        ]
        for side in (sides["applicant"], sides["respondent"]):
            cells += [
                "、".join(p[3] for p in side),
                numbers(side, 5, 6),
                numbers(side, 7, 8),
                _each(side, 4),
                # R-MINOR: the 法定代理人 recorded as a person (a guardian named alone, as
                # the older intake allowed, has no ID and no relation to give)
                _each(side, 9),
                numbers(side, 10, 11),
                _each(side, 12),
            ]
        cells += [
            _text(row[9]),
            OUTCOME_LABELS[outcome],
            LEVEL_LABELS.get(row[14] or "", "") if successful else "",
            _day(tx, row[15]) if successful else None,
            _day(tx, row[16]),
            PERFORMANCE_LABELS.get(row[17] or "", "") if successful else "",
            "、".join(mediators.get(case_id, [])) or str(data.get("ledger_mediator", "")),
            _text(str(data.get("ledger_notes", ""))),
        ]
        yield cells, [(int(p[2]), p[10] is not None) for s in sides.values() for p in s], case_id


def _each(side: Sequence[Sequence[Any]], column: int) -> str:
    """One value per party in order ("、" between, empty for a party without), or nothing."""
    return "、".join(str(p[column] or "") for p in side) if any(p[column] for p in side) else ""


def _text(value: str) -> str:
    """A cell as text, never a formula: summaries come from users (CSV injection)."""
    return "'" + value if value.startswith(("=", "+", "-", "@")) else value


def _log(engine: Engine, actor: Actor, reads: list[dict[str, Any]]) -> None:
    """R-PII: every unmasked read logged, in its own committed transaction."""
    now = engine.clock.now()
    with engine.db.transaction(write=True) as tx:
        stamp = tx.codec.dt_out(now)
        tx.execute_many(
            "INSERT INTO pii_access_log (at, user_id, case_id, party_id, fields, purpose) "
            "VALUES (:at, :user_id, :case_id, :party_id, :fields, :purpose)",
            [
                {**r, "at": stamp, "user_id": actor.user_id, "purpose": FULL_NUMBERS_PURPOSE}
                for r in reads
            ],
        )
