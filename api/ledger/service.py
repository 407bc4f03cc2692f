"""Importing a 台账 workbook: read, check every row, then store all of it in one transaction
— or nothing when a row fails (by default), or only the good rows when asked — and say which
rows and columns were wrong. The CLI and the API route both call `import_ledger`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from api.errors import Forbidden
from api.ledger.checks import CaseRow, Context, check_row
from api.ledger.columns import Problem
from api.ledger.read import LedgerUnreadable, ReadAside, RowError, open_sheet
from api.ledger.write import ImportSource, Writer, number_cases
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput
from engine.records import Actor
from engine.repository import Tx
from mediation import ledger_queries
from mediation.engine import MediationEngine
from mediation.vocabulary import ROLE_LABELS, Role

SPEC_ID = "standard"
# who keeps a committee's 台账: its mediators, the supervising 司法所/区县 staff, administrators
# (and the console, as the system actor)
LEDGER_ROLES = frozenset({Role.mediator, Role.supervisor, Role.admin, Role.system})


def require_ledger_role(actor: Actor, what: str) -> None:
    """Raises:
    Forbidden: none of the actor's roles keeps a ledger.
    """
    if actor.roles.isdisjoint(LEDGER_ROLES):
        labels = "、".join(ROLE_LABELS[r] for r in sorted(LEDGER_ROLES - {Role.system}))
        raise Forbidden(f"{what}须由以下角色办理：{labels}", required_roles=sorted(LEDGER_ROLES))


class LedgerRejected(InvalidInput):
    """A ledger with problems: every one listed (row, column, message, code); nothing stored."""

    code = "ledger_rows_invalid"
    title_zh = "台账有误，未导入"

    def __init__(self, errors: list[RowError], warnings: list[RowError] | None = None) -> None:
        rows = len({e.row for e in errors})
        super().__init__(
            f"台账有 {len(errors)} 处错误（涉及 {rows} 行），未导入任何案件；请改正后重新导入"
        )
        self.fields["errors"] = [e.as_dict() for e in errors]
        self.fields["warnings"] = [w.as_dict() for w in warnings or []]
        self.problems = errors
        self.warnings = warnings or []


@dataclass
class ImportReport:
    rows: int  # data rows read
    imported: int
    case_ids: list[int]
    errors: list[RowError]  # the rows left out (only with good_rows_only)
    warnings: list[RowError]
    dry_run: bool = False
    numbers: list[str] = field(default_factory=list)


Progress = Callable[[str, int | None, int], None]  # (stage, total or None, advance)


def _quiet(_stage: str, _total: int | None, _advance: int) -> None:
    return None


def import_ledger(
    engine: MediationEngine,
    actor: Actor,
    content: bytes | Path,
    *,
    file_name: str,
    default_unit: str | None = None,
    good_rows_only: bool = False,
    dry_run: bool = False,
    progress: Progress = _quiet,
    read_aside: ReadAside = "fork",
) -> ImportReport:
    """Import a ledger workbook as `actor` (who must be able to register cases); a long
    sheet is read on in a process started the `read_aside` way (api.ledger.read).

    Raises:
        LedgerRejected: the file or a row has problems (and good rows only was not asked),
            or no row at all could be imported.
        Forbidden: the actor's roles do not keep a ledger.
    """
    require_ledger_role(actor, "导入台账")
    compiled = engine.registry.latest(SPEC_ID)
    raw = content.read_bytes() if isinstance(content, Path) else content
    source = ImportSource(Path(file_name).name, hashlib.sha256(raw).hexdigest())
    try:
        sheet = open_sheet(raw, read_aside)
    except LedgerUnreadable as exc:
        raise LedgerRejected(exc.problems) from exc
    today = engine.clock.now().astimezone(SHANGHAI).date()
    good: list[CaseRow] = []
    errors: list[RowError] = []
    count = 0
    with engine.db.transaction(write=True) as tx:
        context = Context.load(tx, compiled, actor, today, sheet.headers, default_unit)
        if default_unit and context.default_unit is None:
            raise LedgerRejected(
                [RowError(0, "--unit", f"调解组织“{default_unit}”不存在", Problem.unit_unknown)]
            )
        progress("检查", sheet.total, 0)
        for number, cells in sheet.rows:
            count += 1
            checked = check_row(context, number, cells)
            if isinstance(checked, list):
                errors.extend(checked)
            else:
                good.append(checked)
            if count % 1000 == 0:
                progress("检查", sheet.total, 1000)
        progress("检查", sheet.total, count % 1000)
        good = _numbers_free(tx, good, errors, sheet.headers.get("number", "案件编号"))
        if count == 0:
            errors.append(RowError(sheet.header_row + 1, "", "表头下没有数据行", Problem.empty))
        if errors and (not good_rows_only or not good):
            raise LedgerRejected(sorted(errors, key=_order), sheet.warnings)
        report = ImportReport(count, 0, [], sorted(errors, key=_order), sheet.warnings, dry_run)
        if dry_run:
            report.imported = len(good)
            return report
        number_cases(tx, engine, good)
        paths = ledger_queries.unit_paths(tx)
        writer = Writer(tx, engine, compiled, actor, source, paths)
        progress("写入", len(good), 0)
        report.case_ids = writer.write(good, lambda n: progress("写入", len(good), n))
        report.imported = len(good)
        report.numbers = [row.number or "" for row in good]
    return report


def _order(error: RowError) -> tuple[int, str]:
    return error.row, error.column


def _numbers_free(
    tx: Tx, rows: list[CaseRow], errors: list[RowError], header: str
) -> list[CaseRow]:
    """The rows whose case number (when given) is neither repeated in the file nor stored
    already; the others become errors."""
    seen: dict[str, int] = {}
    seqs: dict[tuple[int, int, int], int] = {}
    kept: list[CaseRow] = []
    for row in rows:
        if row.number is None or row.seq is None:
            kept.append(row)
            continue
        first = seen.get(row.number) or seqs.get((row.office_id, row.year, row.seq))
        if first is not None:
            errors.append(
                RowError(
                    row.row,
                    header,
                    f"案件编号“{row.number}”与第 {first} 行重复",
                    Problem.number_duplicate,
                )
            )
            continue
        seen[row.number] = seqs[(row.office_id, row.year, row.seq)] = row.row
        kept.append(row)
    numbered = [r for r in kept if r.number is not None]
    stored: set[str] = set()
    for start in range(0, len(numbered), 500):
        batch = [r.number for r in numbered[start : start + 500] if r.number is not None]
        stored |= ledger_queries.numbers_stored(tx, batch)
    taken: set[tuple[int, int, int]] = set()
    for office, year in {(r.office_id, r.year) for r in numbered}:
        taken.update((office, year, s) for s in ledger_queries.seqs_taken(tx, office, year))
    free = []
    for row in kept:
        if row.number is not None and (
            row.number in stored or (row.office_id, row.year, row.seq) in taken
        ):
            errors.append(
                RowError(
                    row.row,
                    header,
                    f"案件编号“{row.number}”已存在于系统中",
                    Problem.number_exists,
                )
            )
            continue
        free.append(row)
    return free
