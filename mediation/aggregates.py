"""R-STATS pre-aggregated: per unit, per local day and per month, how many cases count towards
each figure (table unit_period_counts), changed by the fire that changes a case's facts, in
its transaction, by the difference between the facts before and after. A report then reads
months × figures for its whole months and days × figures for the ragged ends of its period,
so its cost follows the length of the period and the number of units, not the cases.

Every fact is fixed when a fire sets it (the overdue flag is set by the timer's fire, working
days are counted to the agreement or the end), so no figure depends on "now" and none has to
stay case-level.

Hot rows: the fires of one district's cases registered in one month update the same month
rows; they are upserted in one statement in key order, last in the fire, so a waiting
transaction waits for a commit, never in a cycle.

Hand SQL on purpose: the counts a fire moves are written in its transaction (bench.engine,
"moving a fact every fire"); a report's reads are bench.scale's, at 1M cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Literal

from engine.calendar import SHANGHAI
from engine.repository import Tx
from mediation.queries import in_params

ALL_CASES = 0  # the unit_id of the rows that count every case (an administrator's report)
SUMS = (
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
CONFIRMATION = SUMS[4:]
# the facts of a case that the figures are counted from (case_facts and case_fact_units)
FIGURE_FACTS = (
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
)
KEY = ("unit_id", "span", "period", "dim", "value")
Key = tuple[int, str, int, str, str]
Vector = tuple[int, ...]
Span = Literal["day", "month"]


def _one() -> Vector:
    return (1,) + (0,) * (len(SUMS) - 1)


def contributions(fact: Any) -> dict[tuple[str, str], Vector]:
    """The (dim, value) rows one case adds to, each with what it adds."""
    days = fact.working_days
    result_row = (
        1,
        int(bool(fact.overdue)),
        int(days or 0),
        int(days is not None),
        *(int(bool(getattr(fact, name))) for name in CONFIRMATION),
    )
    found = {
        ("result", fact.result): result_row,
        ("category", fact.category_code): _one(),
        ("risk", fact.risk_level): _one(),
    }
    if fact.result == "successful":
        found[("resolved", fact.resolved_level or "unknown")] = _one()
        if fact.latest_performance is not None:
            found[("performance", fact.latest_performance)] = _one()
        if fact.latest_satisfaction is not None:
            found[("satisfaction", fact.latest_satisfaction)] = _one()
    return found


def _periods(fact: Any) -> tuple[tuple[Span, int], tuple[Span, int]]:
    return periods_of(fact.registered_at.astimezone(SHANGHAI).date())


def periods_of(day: date) -> tuple[tuple[Span, int], tuple[Span, int]]:
    """The day row and the month row a case registered on the local `day` counts in."""
    return ("day", _day_key(day)), ("month", day.year * 100 + day.month)


def _day_key(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def delta(
    before: Any | None, before_units: Iterable[int], after: Any | None, after_units: Iterable[int]
) -> dict[Key, Vector]:
    """What changes in the counts when a case's facts go from `before` to `after` (None: no
    facts), each counted for its units and for every case; the rows that do not change left
    out."""
    units = {ALL_CASES, *before_units}
    if (
        before is not None
        and after is not None
        and units == {ALL_CASES, *after_units}
        and before.registered_at == after.registered_at
    ):  # a fire on a case: the same rows lose and gain, so only what differs is spread
        return _spread(_difference(contributions(before), contributions(after)), after, units)
    changes: dict[Key, list[int]] = defaultdict(lambda: [0] * len(SUMS))
    for fact, held, sign in ((before, before_units, -1), (after, after_units, 1)):
        if fact is None:
            continue
        rows = contributions(fact)
        for span, period in _periods(fact):
            for unit in {ALL_CASES, *held}:
                for (dim, value), vector in rows.items():
                    total = changes[(unit, span, period, dim, value)]
                    for index, amount in enumerate(vector):
                        total[index] += sign * amount
    return {key: tuple(v) for key, v in sorted(changes.items()) if any(v)}


def _difference(
    before: Mapping[tuple[str, str], Vector], after: Mapping[tuple[str, str], Vector]
) -> dict[tuple[str, str], Vector]:
    zero = (0,) * len(SUMS)
    found = {}
    for row in before.keys() | after.keys():
        vector = tuple(
            a - b for a, b in zip(after.get(row, zero), before.get(row, zero), strict=True)
        )
        if any(vector):
            found[row] = vector
    return found


def _spread(
    rows: Mapping[tuple[str, str], Vector], fact: Any, units: Iterable[int]
) -> dict[Key, Vector]:
    spread = {
        (unit, span, period, dim, value): vector
        for span, period in _periods(fact)
        for unit in units
        for (dim, value), vector in rows.items()
    }
    return dict(sorted(spread.items()))


class BulkCounts:
    """The counts of many new cases at once (a 台账 import): like cases — one day, one set of
    units, one set of contributions — are grouped as they come and the sum applied once."""

    def __init__(self) -> None:
        self._groups: dict[tuple[date, tuple[int, ...], tuple[Any, ...]], int] = defaultdict(int)

    def add(self, day: date, units: Iterable[int], fact: Any) -> None:
        """One new case registered on the local `day`, held by `units` (its ancestry)."""
        rows = tuple(sorted(contributions(fact).items()))
        self._groups[(day, tuple(sorted(set(units))), rows)] += 1

    def apply(self, tx: Tx) -> None:
        # cases per (row, what one case adds) first, one dict increment each (most rows add
        # one case's 1); each row's sums then added up once
        counted: dict[tuple[Key, Vector], int] = defaultdict(int)
        for (day, units, rows), cases in self._groups.items():
            for span, period in periods_of(day):
                for unit in {ALL_CASES, *units}:
                    for (dim, value), vector in rows:
                        counted[((unit, span, period, dim, value), vector)] += cases
        changes: dict[Key, list[int]] = {}
        for (key, vector), cases in counted.items():
            total = changes.get(key)
            if total is None:
                changes[key] = [cases * amount for amount in vector]
            else:
                for index, amount in enumerate(vector):
                    total[index] += cases * amount
        apply_bulk(tx, {key: tuple(v) for key, v in changes.items() if any(v)})
        self._groups.clear()


_APPLY_BATCH = 500  # rows per statement: under SQLite's limit of bound parameters


def apply(tx: Tx, changes: Mapping[Key, Vector]) -> None:
    """Add the changes to the stored counts, in key order, a few hundred rows a statement."""
    ordered = sorted(changes.items())
    for start in range(0, len(ordered), _APPLY_BATCH):
        _upsert(tx, ordered[start : start + _APPLY_BATCH])


def _upsert(tx: Tx, changes: Sequence[tuple[Key, Vector]]) -> None:
    if not changes:
        return
    text, names = _upsert_sql(len(changes))
    values = [v for key, vector in changes for v in (*key, *vector)]
    tx.execute(text, dict(zip(names, values, strict=True)))


_ROW = KEY + SUMS
_UPSERTS: dict[int, tuple[str, tuple[str, ...]]] = {}
_CACHED_ROWS = 128


def _upsert_sql(rows: int) -> tuple[str, tuple[str, ...]]:
    """The upsert of `rows` rows and its parameter names in order, made once per size (a
    fire moves a few dozen rows; the same sizes come back)."""
    found = _UPSERTS.get(rows)
    if found is None:
        names = tuple(f"{name}{index}" for index in range(rows) for name in _ROW)
        width = len(_ROW)
        values = ", ".join(
            "(" + ", ".join(":" + n for n in names[i : i + width]) + ")"
            for i in range(0, len(names), width)
        )
        updates = ", ".join(f"{c} = unit_period_counts.{c} + excluded.{c}" for c in SUMS)
        text = (
            f"INSERT INTO unit_period_counts ({', '.join(_ROW)}) VALUES {values} "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
        )
        found = (text, names)
        if rows <= _CACHED_ROWS:  # a fire's; an import's batches of hundreds are built anew
            _UPSERTS[rows] = found
    return found


def apply_bulk(tx: Tx, changes: Mapping[Key, Vector]) -> None:
    """`apply` for a bulk load's hundred thousand rows: COPYed into a temporary table and
    upserted by one statement on PostgreSQL, one prepared single-row upsert run many times on
    SQLite. (A statement of 500 rows of named parameters costs SQLite a quadratic lookup of
    each name while parsing, 170 ms a statement: 193,525 rows of a 20,000-row ledger took 61 s.)"""
    if not changes:
        return
    ordered = sorted(changes.items())
    columns = ", ".join(KEY + SUMS)
    updates = ", ".join(f"{c} = unit_period_counts.{c} + excluded.{c}" for c in SUMS)
    conflict = f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
    if tx.db.dialect != "postgresql":
        marks = ", ".join(f":{c}" for c in KEY + SUMS)
        tx.execute_many(
            f"INSERT INTO unit_period_counts ({columns}) VALUES ({marks}) {conflict}",
            [dict(zip(KEY + SUMS, key + vector, strict=True)) for key, vector in ordered],
        )
        return
    tx.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS counts_added "
        "(LIKE unit_period_counts INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    tx.execute("TRUNCATE counts_added")
    tx.copy_rows("counts_added", KEY + SUMS, (key + vector for key, vector in ordered))
    tx.execute(
        f"INSERT INTO unit_period_counts ({columns}) SELECT {columns} FROM counts_added "
        f"ORDER BY {', '.join(KEY)} {conflict}"
    )


# --- reading -------------------------------------------------------------------------------


def ranges(start: date, end: date) -> list[tuple[Span, int, int]]:
    """The period [start, end] as whole months and the days left at either end."""
    found: list[tuple[Span, int, int]] = []
    first_whole = start if start.day == 1 else _next_month(start)
    after_whole = _month_start(end + timedelta(days=1))
    if first_whole >= after_whole:  # no whole month inside: days only
        return [("day", _day_key(start), _day_key(end))]
    if start < first_whole:
        found.append(("day", _day_key(start), _day_key(first_whole - timedelta(days=1))))
    last_whole = _month_start(after_whole - timedelta(days=1))
    found.append(
        (
            "month",
            first_whole.year * 100 + first_whole.month,
            last_whole.year * 100 + last_whole.month,
        )
    )
    if after_whole <= end:
        found.append(("day", _day_key(after_whole), _day_key(end)))
    return found


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def grouped(
    tx: Tx, start: date, end: date, unit_ids: Sequence[int]
) -> list[tuple[int, str, str, Vector]]:
    """For each unit, each (dim, value) and its sums over the cases registered in the period:
    (unit, dim, value, sums), rows of no case left out."""
    params: dict[str, Any] = {}
    units = in_params("u", sorted(set(unit_ids)), params)
    columns = ", ".join(SUMS)
    parts = []  # one index range each: an OR of them would make SQLite scan every unit row
    for index, (span, low, high) in enumerate(ranges(start, end)):
        params[f"s{index}"], params[f"lo{index}"], params[f"hi{index}"] = span, low, high
        parts.append(
            f"SELECT unit_id, dim, value, {columns} FROM unit_period_counts "
            f"WHERE unit_id IN ({units}) AND span = :s{index} "
            f"AND period BETWEEN :lo{index} AND :hi{index}"
        )
    sums = ", ".join(f"SUM({c})" for c in SUMS)
    rows = tx.all(
        f"SELECT unit_id, dim, value, {sums} FROM ({' UNION ALL '.join(parts)}) AS counted "
        "GROUP BY unit_id, dim, value",
        params,
    )
    found = []
    for unit_id, dim, value, *totals in rows:
        vector = tuple(int(v or 0) for v in totals)
        if vector[0]:
            found.append((int(unit_id), str(dim), str(value), vector))
    return found


# --- rebuilding ----------------------------------------------------------------------------


def _local_day(dialect: str) -> str:
    if dialect == "postgresql":
        zone = SHANGHAI.key  # the one definition of the zone (engine/calendar.py)
        return f"CAST(to_char(registered_at AT TIME ZONE '{zone}', 'YYYYMMDD') AS INTEGER)"
    # SQLite keeps UTC text; Beijing time has been UTC+8 without daylight saving since 1991
    return "CAST(strftime('%Y%m%d', registered_at, '+8 hours') AS INTEGER)"


_FLAG = "CASE WHEN {0} THEN 1 ELSE 0 END"
_FACTS = ", ".join(FIGURE_FACTS)


def _expected_sql(dialect: str, insert: str = "") -> str:
    """The day rows as the facts give them now: every case of case_fact_units for its units,
    and every case of case_facts for ALL_CASES, grouped set-based in the database (with
    `insert`, an INSERT of them)."""
    base = (
        f"SELECT unit_id, {_local_day(dialect)} AS period, {_FACTS} FROM case_fact_units "
        f"UNION ALL SELECT {ALL_CASES}, {_local_day(dialect)}, {_FACTS} FROM case_facts"
    )
    confirmation = ", ".join(f"SUM({_FLAG.format(c)})" for c in CONFIRMATION)
    zeros = ", ".join("0" for _ in CONFIRMATION)
    one = f"COUNT(*), 0, 0, 0, {zeros}"
    successful = "result = 'successful'"
    selects = [
        f"SELECT unit_id, 'day', period, 'result', result, COUNT(*), "
        f"SUM({_FLAG.format('overdue')}), COALESCE(SUM(working_days), 0), COUNT(working_days), "
        f"{confirmation} FROM base GROUP BY unit_id, period, result",
        f"SELECT unit_id, 'day', period, 'category', category_code, {one} FROM base "
        "GROUP BY unit_id, period, category_code",
        f"SELECT unit_id, 'day', period, 'risk', risk_level, {one} FROM base "
        "GROUP BY unit_id, period, risk_level",
        f"SELECT unit_id, 'day', period, 'resolved', COALESCE(resolved_level, 'unknown'), {one} "
        f"FROM base WHERE {successful} GROUP BY unit_id, period, "
        "COALESCE(resolved_level, 'unknown')",
        f"SELECT unit_id, 'day', period, 'performance', latest_performance, {one} FROM base "
        f"WHERE {successful} AND latest_performance IS NOT NULL "
        "GROUP BY unit_id, period, latest_performance",
        f"SELECT unit_id, 'day', period, 'satisfaction', latest_satisfaction, {one} FROM base "
        f"WHERE {successful} AND latest_satisfaction IS NOT NULL "
        "GROUP BY unit_id, period, latest_satisfaction",
    ]
    return f"WITH base AS ({base}) {insert}" + " UNION ALL ".join(selects)


def expected(tx: Tx) -> dict[Key, Vector]:
    """Every row the counts should hold (day and month), recounted from the facts."""
    days: dict[Key, Vector] = {}
    for unit_id, _day, period, dim, value, *sums in tx.all(_expected_sql(tx.db.dialect)):
        days[(int(unit_id), "day", int(period), str(dim), str(value))] = tuple(
            int(s or 0) for s in sums
        )
    found = dict(days)
    for (unit_id, _span, period, dim, value), vector in days.items():
        key = (unit_id, "month", period // 100, dim, value)
        held = found.get(key, (0,) * len(SUMS))
        found[key] = tuple(a + b for a, b in zip(held, vector, strict=True))
    return found


def stored(tx: Tx) -> dict[Key, Vector]:
    """Every row the counts hold for at least one case."""
    rows = tx.all(f"SELECT {', '.join(KEY + SUMS)} FROM unit_period_counts")
    found: dict[Key, Vector] = {}
    for unit_id, span, period, dim, value, *sums in rows:
        vector = tuple(int(s) for s in sums)
        if any(vector):
            found[(int(unit_id), str(span), int(period), str(dim), str(value))] = vector
    return found


def rebuild(tx: Tx) -> int:
    """Recount every row from the facts (the migration's back-fill); returns how many."""
    tx.execute("DELETE FROM unit_period_counts")
    columns = ", ".join(KEY + SUMS)
    tx.execute(_expected_sql(tx.db.dialect, insert=f"INSERT INTO unit_period_counts ({columns}) "))
    tx.execute(
        f"INSERT INTO unit_period_counts ({columns}) SELECT unit_id, 'month', period / 100, dim, "
        f"value, {', '.join(f'SUM({c})' for c in SUMS)} FROM unit_period_counts "
        "WHERE span = 'day' GROUP BY unit_id, period / 100, dim, value"
    )
    row = tx.one("SELECT COUNT(*) FROM unit_period_counts")
    return int(row[0]) if row else 0
