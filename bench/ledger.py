"""台账 import at scale (issue 12 point 6): a 100,000-row ledger workbook imported in one go.

The workbook is generated first (not timed): 20 committees of one district, each case with two
parties (valid ID and phone numbers), registered over 2023–2025 with its number, 70 % mediated
to an agreement (most performed), 10 % failed, 5 % refused, 15 % still open. Then
`import_ledger` reads it (streamed, in a forked process from 5,000 rows), checks every row
and stores every case with its parties, audit event, facts, visit and clocks in one
transaction; timed from the file's bytes to the commit, split into reading + checking and
writing. Target: under 60 s on SQLite.

    python -m bench.ledger --rows 100000 [--url postgresql+psycopg://…/fengqiao_bench]
    make bench BENCH=ledger        # FENGQIAO_LEDGER_ROWS (default 100000)
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
from openpyxl.utils import get_column_letter

from api.ledger import import_ledger
from api.ledger.columns import COLUMNS
from api.ledger.read import ReadAside
from bench.common import fresh_database
from engine.calendar import WorkingCalendar
from engine.ports import FixedClock
from mediation.validation import check_digit
from tests.conftest import make_engine
from tests.world import build_world

COMMITTEES = 20
FIRST = date(2023, 1, 1)
DAYS = 3 * 365
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉力红玲峰春雪梅琳"
CATEGORIES = ("邻里", "合同", "婚姻家庭", "山林土地承包")


def _committees(sa_engine: sa.Engine, street: int) -> list[tuple[str, str]]:
    """COMMITTEES committees in communities of the street: (name, short name)."""
    found = []
    with sa_engine.begin() as conn:
        for n in range(COMMITTEES):

            def unit(kind: str, name: str, parent: int, short: str = "") -> int:
                new = conn.execute(
                    sa.text(
                        "INSERT INTO org_units (kind, name, short_name, parent_id, path, address) "
                        "VALUES (:k, :n, :s, :p, '/', '') RETURNING id"
                    ),
                    {"k": kind, "n": name, "s": short, "p": parent},
                ).scalar_one()
                parent_path = conn.execute(
                    sa.text("SELECT path FROM org_units WHERE id = :p"), {"p": parent}
                ).scalar_one()
                conn.execute(
                    sa.text("UPDATE org_units SET path = :p WHERE id = :i"),
                    {"p": f"{parent_path}{new}/", "i": new},
                )
                return int(new)

            community = unit("community", f"第{n + 1}村", street)
            name = f"第{n + 1}村人民调解委员会"
            unit("committee", name, community, f"C{n:02d}")
            found.append((name, f"C{n:02d}"))
    return found


def _id_number(rng: random.Random) -> str:
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 60))
    body = f"330681{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + check_digit(body)


def workbook(rows: int, committees: list[tuple[str, str]], seed: int = 12) -> bytes:
    """The ledger as Excel and WPS save one: strings in the shared-strings table, dates as
    serial numbers with a date format, empty cells left out, the sheet's dimension stated."""
    rng = random.Random(seed)
    strings: dict[str, int] = {}
    lines: list[str] = []

    def cell(ref: str, value: Any) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, date):
            return f'<c r="{ref}" s="1"><v>{(value - EXCEL_EPOCH).days}</v></c>'
        if isinstance(value, int):
            return f'<c r="{ref}"><v>{value}</v></c>'
        index = strings.setdefault(str(value), len(strings))
        return f'<c r="{ref}" t="s"><v>{index}</v></c>'

    letters = [get_column_letter(i + 1) for i in range(len(COLUMNS))]

    def line(number: int, values: list[Any]) -> None:
        cells = "".join(cell(f"{letters[i]}{number}", v) for i, v in enumerate(values))
        lines.append(f'<row r="{number}">{cells}</row>')

    line(1, [c.header for c in COLUMNS])
    days = sorted(FIRST + timedelta(days=rng.randrange(DAYS)) for _ in range(rows))
    counters: dict[tuple[str, int], int] = {}
    for index, day in enumerate(days, start=1):
        name, short = committees[rng.randrange(len(committees))]
        seq = counters[(short, day.year)] = counters.get((short, day.year), 0) + 1
        roll = rng.random()
        outcome = ("调解成功", "调解不成", "当事人拒绝调解", "")[
            0 if roll < 0.7 else 1 if roll < 0.8 else 2 if roll < 0.85 else 3
        ]
        agreed = day + timedelta(days=rng.randrange(1, 20)) if outcome == "调解成功" else None
        ended = outcome in ("调解不成", "当事人拒绝调解")
        closed = day + timedelta(days=rng.randrange(1, 30)) if ended else agreed
        people = [rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) for _ in range(2)]
        values: dict[str, Any] = {
            "serial": index,
            "number": f"（{day.year}）{short}调字第{seq:04d}号",
            "registered": day,
            "unit": name,
            "category": rng.choice(CATEGORIES),
            "origin": "当事人申请",
            "application_form": rng.choice(("书面申请", "口头申请")),
            "risk": "蓝色",
            "applicants": people[0],
            "applicant_ids": _id_number(rng),
            "applicant_phones": f"13{rng.randrange(10**9):09d}",
            "applicant_addresses": f"{name[:-7]}{rng.randrange(1, 30)}组{rng.randrange(1, 80)}号",
            "respondents": people[1],
            "respondent_ids": _id_number(rng),
            "respondent_phones": f"15{rng.randrange(10**9):09d}",
            "summary": "相邻房屋滴水、通行纠纷，双方协商未果申请调解",
            "outcome": outcome,
            "agreement_date": agreed,
            "closed_date": closed,
            "performance": rng.choice(("已履行", "已履行", "部分履行")) if agreed else "",
            "mediator": rng.choice(SURNAMES) + rng.choice(GIVEN),
        }
        line(index + 1, [values.get(c.key) for c in COLUMNS])
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    dimension = f"A1:{letters[-1]}{rows + 1}"
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK,
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/styles.xml": _STYLES,
        "xl/sharedStrings.xml": f'<sst xmlns="{_NS}" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">{shared}</sst>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_NS}"><dimension ref="{dimension}"/>'
        f"<sheetData>{''.join(lines)}</sheetData></worksheet>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(
                name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + text
            )
    return out.getvalue()


EXCEL_EPOCH = date(1899, 12, 30)
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_CONTENT_TYPES = (
    f'<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
_ROOT_RELS = (
    f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets><sheet name="人民调解案件登记台账" '
    'sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
_STYLES = (
    f'<styleSheet xmlns="{_NS}"><fonts count="1"><font><sz val="11"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs></styleSheet>"
)


def measure(
    rows: int, url: str | None, folder: Path, read_aside: ReadAside = "fork"
) -> dict[str, Any]:
    sa_engine = fresh_database(url, folder, "ledger.db")
    world = build_world(sa_engine)
    committees = _committees(sa_engine, world.units["street"])
    engine = make_engine(
        sa_engine,
        FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC)),
        WorkingCalendar.from_chinesecalendar(),
    )
    began = time.perf_counter()
    content = workbook(rows, committees)
    generated = time.perf_counter() - began
    marks: dict[str, float] = {}

    def progress(stage: str, _total: int | None, _advance: int) -> None:
        marks.setdefault(stage, time.perf_counter())

    server = _server_cpu(sa_engine)
    started, cpu, reader = time.perf_counter(), time.process_time(), _children_cpu()
    report = import_ledger(
        engine,
        world.actors["system"],
        content,
        file_name="bench.xlsx",
        progress=progress,
        read_aside=read_aside,
    )
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    reader = _children_cpu() - reader
    server_cpu = _server_cpu(sa_engine, server)
    load = os.getloadavg()[0]
    assert report.imported == rows, report
    with sa_engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT COUNT(*) FROM cases").scalar_one()
    assert stored == rows
    sa_engine.dispose()
    checked = marks.get("写入", started + took) - started
    return {
        "backend": "PostgreSQL" if url else "SQLite",
        "rows": rows,
        "read_aside": read_aside,
        "size_mb": len(content) / 2**20,
        "generated_s": generated,
        "import_s": took,
        "cpu_s": cpu,
        "reader_cpu_s": reader,
        "server_cpu_s": server_cpu,
        "load": load,
        "check_s": checked,
        "write_s": took - checked,
    }


def _server_cpu(sa_engine: sa.Engine, before: dict[int, float] | None = None) -> Any:
    """PostgreSQL on this machine: CPU seconds of the database's backends, per process
    (`before` None) or used since `before` (a sum); SQLite or an unreadable /proc: None."""
    if sa_engine.dialect.name != "postgresql":
        return None if before is not None else {}
    aside = sa.create_engine(sa_engine.url, poolclass=sa.NullPool)  # not a pooled backend
    with aside.connect() as conn:
        pids = [
            int(p)
            for (p,) in conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ]
    aside.dispose()
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    if before is None:
        return used
    if not used:
        return None
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in used.items())


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (the reader the import forks)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(postgres_url: str | None) -> list[dict[str, Any]]:
    rows = int(os.environ.get("FENGQIAO_LEDGER_ROWS", "100000"))
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results.append(measure(rows, None, Path(folder)))
        if postgres_url:
            results.append(measure(rows, postgres_url, Path(folder)))
    return results


def describe(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | rows | workbook | import, file → commit (< 60 s) | read + check | write "
        "| rows/s | CPU: importing process + its reader process | CPU: PostgreSQL backends "
        "| load average (2 cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        server = r.get("server_cpu_s")
        lines.append(
            f"| {r['backend']} | {r['rows']:,} | {r['size_mb']:.1f} MB | {r['import_s']:.1f} s "
            f"| {r['check_s']:.1f} s | {r['write_s']:.1f} s | {r['rows'] / r['import_s']:,.0f} "
            f"| {r['cpu_s']:.1f} s + {r['reader_cpu_s']:.1f} s "
            f"| {'' if server is None else f'{server:.1f} s'} | {r['load']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", help="a PostgreSQL database, emptied first")
    parser.add_argument(
        "--read-aside",
        choices=["fork", "forkserver", "inline"],
        default="fork",
        help="how the reader process starts: fork (the CLI's), forkserver (the API route's)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        result = measure(args.rows, args.url, Path(folder), args.read_aside)
    print(describe([result]))
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
