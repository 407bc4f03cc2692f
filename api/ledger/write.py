"""Storing checked ledger rows set-based: the cases in their recorded state, their parties
(ID and phone numbers encrypted, R-PII), one hash-chained audit event each ("imported from
ledger FILE row N"), their per-case statistics facts, a visit for a recorded performance and
the clock of a case still open — what `open_case` and `fire` would have written, in one
transaction, a few statements per thousand rows instead of a dozen per case."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

from api.ledger.checks import CaseRow, PartyRow
from api.ledger.columns import IMPORT_TRIGGER, OUTCOME_LABELS, OUTCOME_STATES, LedgerResult
from engine.audit import GENESIS_HASH, event_hash
from engine.calendar import SHANGHAI, month_period_days
from engine.machine import CompiledSpec
from engine.models.columns import dumps
from engine.records import Actor
from engine.repository import Tx
from engine.spec import ClockSpec, DeadlineSpec
from mediation import aggregates, facts, ledger_queries, search, validation
from mediation.engine import MediationEngine
from mediation.numbering import format_number
from mediation.statistics import classify

BATCH = 5_000
SQLITE_CACHE_KIB = 256 * 1024  # for this connection (pooled: it keeps the larger cache)
# the hours a ledger's dates are stored at (Beijing time): registered in the morning, the
# agreement at noon, the case closed in the afternoon — so one day's steps keep their order
REGISTERED_AT, AGREED_AT, CLOSED_AT = time(9), time(12), time(17)
CONSENT_SOURCE = "台账记载"


@dataclass(frozen=True, slots=True)
class ImportSource:
    """Which file the rows came from, as the audit trail names it."""

    file: str
    sha256: str


def _at(day: date | None, hour: time) -> datetime | None:
    return None if day is None else datetime.combine(day, hour, tzinfo=SHANGHAI)


def _allocate(tx: Tx, table: str, count: int) -> list[int]:
    """`count` new primary keys for `table`, taken under the transaction's write lock (SQLite)
    or from the table's sequence (PostgreSQL), so rows can name each other before insert."""
    if count == 0:
        return []
    # hand SQL: each dialect's own key allocation, on the import's measured path (bench/ledger)
    if tx.db.dialect == "postgresql":
        rows = tx.all(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)",
            {"n": count},
        )
        return [int(r[0]) for r in rows]
    row = tx.one(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    first = int(row[0]) + 1 if row else 1
    return list(range(first, first + count))


def number_cases(tx: Tx, engine: MediationEngine, rows: Sequence[CaseRow]) -> None:
    """Give each row without a case number the next one of its committee and year (R-NUMBER:
    after every number stored or in the file), and move the counters past the file's."""
    last: dict[tuple[int, int], int] = {}
    for row in rows:
        if row.seq is not None:
            key = (row.office_id, row.year)
            last[key] = max(last.get(key, 0), row.seq)
    wanted = {(r.office_id, r.registered.year) for r in rows} | set(last)
    for office, year in wanted:
        stored = ledger_queries.last_seq(tx, office, year)
        last[(office, year)] = max(last.get((office, year), 0), stored)
    for row in rows:
        if row.number is None:
            key = (row.office_id, row.registered.year)
            last[key] += 1
            row.year, row.seq = key[1], last[key]
            row.number = format_number(
                engine.number_pattern, year=row.year, committee_abbr=row.office_abbr, seq=row.seq
            )
    ledger_queries.raise_counters(tx, last)


class Writer:
    """The rows of one import, buffered per table and written in batches."""

    def __init__(
        self,
        tx: Tx,
        engine: MediationEngine,
        compiled: CompiledSpec,
        actor: Actor,
        source: ImportSource,
        paths: dict[int, str],
    ) -> None:
        self.tx = tx
        self.engine = engine
        self.compiled = compiled
        self.actor = actor
        self.source = source
        self.paths = paths
        self.now = engine.clock.now()
        self.roles = ",".join(sorted(actor.roles))
        self.codec = tx.codec
        self.case_ids: list[int] = []
        self._stamps: dict[datetime | None, Any] = {None: None}
        self._days: dict[tuple[date, date], int] = {}
        self.counts = aggregates.BulkCounts()  # R-STATS: the report's counts, applied at the end

    def _stamp(self, value: datetime | None) -> Any:
        """The stored form of a datetime; a ledger's dates repeat, so each is encoded once."""
        found = self._stamps.get(value, self)
        if found is self:
            found = self._stamps[value] = self.codec.dt_out(value)
        return found

    def write(self, rows: Sequence[CaseRow], progress: Callable[[int], None]) -> list[int]:
        if self.tx.db.dialect == "sqlite":  # the growing indexes stay in memory while loading
            self.tx.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # SQLite's own setting
        else:
            return self._write_overlapped(rows, progress)
        with search.bulk_load(self.tx) as index:
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                case_ids = _allocate(self.tx, "cases", len(batch))
                party_ids = _allocate(self.tx, "parties", sum(len(r.parties) for r in batch))
                self._store(self._prepare(batch, case_ids, iter(party_ids)))
                index(case_ids[0], case_ids[-1])
                progress(len(batch))
        self.counts.apply(self.tx)
        return self.case_ids

    def _write_overlapped(
        self, rows: Sequence[CaseRow], progress: Callable[[int], None]
    ) -> list[int]:
        """PostgreSQL: one batch is COPYed by a second thread (waiting on the server, the
        GIL released) while this one prepares the next; the keys are all taken first, so
        the connection serves one thread at a time. Its trigram indexes follow the rows."""
        case_ids = _allocate(self.tx, "cases", len(rows))
        party_ids = iter(_allocate(self.tx, "parties", sum(len(r.parties) for r in rows)))
        with ThreadPoolExecutor(max_workers=1) as pool:
            storing: Future[None] | None = None
            done = 0
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                tables = self._prepare(batch, case_ids[start : start + len(batch)], party_ids)
                if storing is not None:
                    storing.result()
                    progress(done)
                storing, done = pool.submit(self._store, tables), len(batch)
            if storing is not None:
                storing.result()
                progress(done)
        self.counts.apply(self.tx)
        return self.case_ids

    def _prepare(
        self, rows: Sequence[CaseRow], case_ids: Sequence[int], party_ids: Iterator[int]
    ) -> dict[str, list[dict[str, Any]]]:
        tables: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
        for row, case_id in zip(rows, case_ids, strict=True):
            self._case(row, case_id, party_ids, tables)
        tables["units"].sort(key=lambda r: (r["unit_id"], r["case_id"]))  # B-tree order
        self.case_ids.extend(case_ids)
        return tables

    def _store(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        for name, table in _TABLES.items():
            table.store(self.tx, tables[name])

    def _case(
        self,
        row: CaseRow,
        case_id: int,
        party_ids: Iterable[int],
        out: dict[str, list[dict[str, Any]]],
    ) -> None:
        spec, dt = self.compiled.spec, self._stamp
        state_name = OUTCOME_STATES[row.outcome] or spec.initial
        state = self.compiled.states[state_name]
        registered = _at(row.registered, REGISTERED_AT)
        assert registered is not None
        assert row.number is not None
        assert row.seq is not None
        successful = row.outcome is LedgerResult.successful
        effective = _at(row.agreement_date, AGREED_AT) if successful else None
        closed = _at(row.closed_date, CLOSED_AT)
        imported = {"file": self.source.file, "row": row.row, "sha256": self.source.sha256}
        data: dict[str, Any] = {"ledger_import": imported}
        if row.application_form is not None:
            data["application_form"] = row.application_form
        if row.mediator:
            data["ledger_mediator"] = row.mediator
        if row.notes:
            data["ledger_notes"] = row.notes
        payload = {
            "number": row.number,
            "origin": row.origin,
            **({"application_form": row.application_form} if row.application_form else {}),
            "category": row.category_code,
            "risk_level": row.risk_level,
            "parties": len(row.parties),
            "spec": f"{spec.id}@v{spec.version}",
            "registered": row.registered.isoformat(),
            "outcome": OUTCOME_LABELS[row.outcome],
            "ledger": imported,
        }
        reason = f"从台账 {self.source.file} 第 {row.row} 行导入"
        roles = self.roles
        head = event_hash(
            prev_hash=GENESIS_HASH,
            case_id=case_id,
            seq=1,
            at=self.now,
            actor_id=self.actor.user_id,
            actor_name=self.actor.name,
            actor_roles=roles,
            trigger=IMPORT_TRIGGER,
            source_state=None,
            dest_state=state_name,
            version=1,
            payload=payload,
            reason=reason,
        )
        out["events"].append(
            {
                "case_id": case_id,
                "at": dt(self.now),
                "actor_id": self.actor.user_id,
                "actor_name": self.actor.name,
                "actor_roles": roles,
                "trigger": IMPORT_TRIGGER,
                "dest_state": state_name,
                "payload": dumps(payload),
                "reason": reason,
                "prev_hash": GENESIS_HASH,
                "hash": head,
            }
        )
        resolved = row.resolved_level if successful else None
        out["cases"].append(
            {
                "id": case_id,
                "number": row.number,
                "committee_id": row.office_id,
                "year": row.year,
                "seq": row.seq,
                "spec_id": spec.id,
                "spec_version": spec.version,
                "state": state_name,
                "level": state.level or "intake",
                "resolved_level": resolved,
                "category": row.category_code,
                "summary": row.summary,
                "risk": row.risk_level,
                "origin": row.origin,
                "org_unit_id": row.org_unit_id,
                "grid_id": row.grid_id,
                "registrar": self.actor.user_id,
                "data": dumps(data),
                "head": head,
                "created": dt(registered),
                "updated": dt(self.now),
                "entered": dt(closed if state.final and closed else registered),
                "effective": dt(effective),
                "closed": dt(closed) if state.final else None,
            }
        )
        consent = (
            "consented" if row.outcome in (LedgerResult.successful, LedgerResult.failed) else None
        )
        for party, party_id in zip(row.parties, party_ids, strict=False):
            out["parties"].append(self._party(party_id, party))
            out["case_parties"].append(
                {
                    "case_id": case_id,
                    "party_id": party_id,
                    "role": party.role,
                    "consent": consent or "pending",
                    "consent_at": dt(registered) if consent else None,
                    "source": CONSENT_SOURCE if consent else None,
                }
            )
        if successful and row.performance is not None:
            out["visits"].append(
                {
                    "case_id": case_id,
                    "at": dt(closed or effective),
                    "performance": row.performance,
                    "notes": reason,
                }
            )
        result = classify(state, effective)
        ended = closed if result == "failed" else effective if result == "successful" else None
        days = None
        if ended is not None:
            days = self._working_days(row.registered, ended.astimezone(SHANGHAI).date())
        fact = {
            "case_id": case_id,
            "registered_at": dt(registered),
            "committee_id": row.office_id,
            "org_unit_id": row.org_unit_id,
            "grid_id": row.grid_id,
            "result": result,
            "resolved_level": (resolved or "unknown") if result == "successful" else None,
            "category_code": row.category_code,
            "risk_level": row.risk_level,
            "overdue": False,
            "working_days": days,
            "agreement_effective_at": dt(effective),
            "closed_at": dt(closed) if state.final else None,
            "latest_performance": row.performance if successful else None,
            "latest_satisfaction": None,
            "applied": False,
            "confirmed": False,
            "rejected": False,
            "not_accepted": False,
            "withdrawn": False,
        }
        out["facts"].append(fact)
        units = {row.office_id, row.org_unit_id, row.grid_id} - {None}
        shared = {name: fact[name] for name in facts.UNIT_COLUMNS[1:]}
        held = sorted(facts.ancestry(self.paths[u] for u in units if u is not None))
        for unit_id in held:
            out["units"].append({**shared, "unit_id": unit_id})
        self.counts.add(registered.astimezone(SHANGHAI).date(), held, SimpleNamespace(**fact))
        if not state.final:
            out["timers"].extend(self._periods(case_id, state_name, registered))

    def _working_days(self, start: date, end: date) -> int:
        """R-STATS handling days; a ledger's (registered, ended) pairs repeat."""
        key = (start, end)
        found = self._days.get(key)
        if found is None:
            found = self._days[key] = self.engine.calendar.working_days_between(start, end)
        return found

    def _party(self, party_id: int, party: PartyRow) -> dict[str, Any]:
        pii, codec = self.engine.pii, self.codec
        birth = party.birth_date
        rep = party.representative  # R-MINOR: stored as open_case stores one
        return {
            "id": party_id,
            "name": party.name,
            "sex": party.sex,
            "birth_date": birth.isoformat() if birth and codec.sqlite else birth,
            "address": party.address,
            "id_cipher": pii.encrypt(party.id_number) if party.id_number else None,
            "id_index": pii.blind_index(party.id_number) if party.id_number else None,
            "id_masked": validation.mask_id_number(party.id_number) if party.id_number else None,
            "phone_cipher": pii.encrypt(party.phone) if party.phone else None,
            "phone_index": pii.blind_index(party.phone) if party.phone else None,
            "phone_masked": validation.mask_phone(party.phone) if party.phone else None,
            "guardian": rep.name if rep else None,
            "relation": rep.relation if rep else None,
            "guardian_cipher": pii.encrypt(rep.id_number) if rep else None,
            "guardian_masked": validation.mask_id_number(rep.id_number) if rep else None,
            "now": self._stamp(self.now),
        }

    def _periods(self, case_id: int, state: str, start: datetime) -> list[dict[str, Any]]:
        """The deadline and clocks a case entering `state` at `start` runs under (as the
        engine starts them on entry): due in the past for an old case, so the tick flags it."""
        compiled, found = self.compiled, []
        periods: list[tuple[str, str, DeadlineSpec | ClockSpec]] = []
        deadline = compiled.states[state].deadline
        if deadline is not None:
            periods.append(("state_deadline", state, deadline))
        for name in compiled.clock_starts.get(state, ()):
            clock = next(c for c in compiled.spec.clocks if c.name == name)
            periods.append(("clock", name, clock))
        for kind, name, period in periods:
            days = period.days
            if isinstance(period, ClockSpec) and period.months:
                days = month_period_days(start, period.months)
            due = self.engine.calendar.add_days(start, days, working_days=period.working_days)
            timer = {
                "case_id": case_id,
                "kind": kind,
                "name": name,
                "due_at": self.codec.dt_out(due.due_at),
                "on_expiry": period.on_expiry,
                "provisional": due.provisional,
                "working_days": period.working_days,
                "days": days,
                "payload": "{}",
                "now": self.codec.dt_out(start),
            }
            found.append(timer)
            if period.reminder is not None:
                reminder_due = due.due_at - timedelta(days=period.reminder.days_before)
                payload = {
                    "closes_at": due.due_at.isoformat(),
                    "period": name,
                    "days_before": period.reminder.days_before,
                }
                found.append(
                    timer
                    | {
                        "kind": "reminder",
                        "due_at": self.codec.dt_out(reminder_due),
                        "on_expiry": period.reminder.action,
                        "payload": dumps(payload),
                    }
                )
        return found


@dataclass(frozen=True, slots=True)
class _Table:
    """Where one buffer goes: the table, its columns filled from the buffered rows' keys, and
    the columns every imported row has the same value in."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column, key of the buffered row)
    fixed: tuple[tuple[str, Any], ...] = ()

    def store(self, tx: Tx, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        names = [c for c, _ in self.columns] + [c for c, _ in self.fixed]
        values = itemgetter(*(k for _, k in self.columns))
        fixed = tuple(v for _, v in self.fixed)
        tx.copy_rows(self.name, names, [values(row) + fixed for row in rows])  # COPY (bench/ledger)


def _same(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, n) for n in names)


# in foreign-key order
_TABLES = {
    "parties": _Table(
        "parties",
        (
            *_same("id", "name", "sex", "birth_date", "address"),
            ("id_number_cipher", "id_cipher"),
            ("id_number_index", "id_index"),
            ("id_number_masked", "id_masked"),
            *_same("phone_cipher", "phone_index", "phone_masked"),
            ("guardian_name", "guardian"),
            ("guardian_relation", "relation"),
            ("guardian_id_cipher", "guardian_cipher"),
            ("guardian_id_masked", "guardian_masked"),
            ("created_at", "now"),
        ),
        (("kind", "person"),),
    ),
    "cases": _Table(
        "cases",
        (
            *_same("id", "number", "committee_id", "year", "seq", "spec_id", "spec_version"),
            *_same("state", "level", "resolved_level"),
            ("category_code", "category"),
            ("summary", "summary"),
            ("risk_level", "risk"),
            *_same("origin", "org_unit_id", "grid_id"),
            ("registrar_id", "registrar"),
            ("data", "data"),
            ("audit_head", "head"),
            ("created_at", "created"),
            ("updated_at", "updated"),
            ("state_entered_at", "entered"),
            ("agreement_effective_at", "effective"),
            ("closed_at", "closed"),
        ),
        (("state_sessions", 0), ("overdue", False), ("version", 1), ("audit_seq", 1)),
    ),
    "case_parties": _Table(
        "case_parties",
        (
            *_same("case_id", "party_id", "role", "consent", "consent_at"),
            ("consent_source", "source"),
        ),
    ),
    "events": _Table(
        "audit_events",
        _same(
            "case_id",
            "at",
            "actor_id",
            "actor_name",
            "actor_roles",
            "trigger",
            "dest_state",
            "payload",
            "reason",
            "prev_hash",
            "hash",
        ),
        (("seq", 1), ("source_state", None), ("version", 1)),
    ),
    "visits": _Table(
        "visits", (("case_id", "case_id"), ("visited_at", "at"), *_same("performance", "notes"))
    ),
    "facts": _Table("case_facts", _same(*facts.FACT_COLUMNS)),
    "units": _Table("case_fact_units", _same(*facts.UNIT_COLUMNS)),
    "timers": _Table(
        "timers",
        (
            *_same("case_id", "kind", "name", "due_at", "on_expiry", "provisional"),
            *_same("working_days", "days", "payload"),
            ("created_at", "now"),
        ),
        (("status", "pending"), ("attempts", 0)),
    ),
}
