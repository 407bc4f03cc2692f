"""`fengqiao ledger import|export` as an operator runs them: a table of problems and a non-zero
exit on a bad ledger, nothing stored; the import, then the same ledger out again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from tests.api.ledger.books import read_back, row, workbook

runner = CliRunner()


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("FENGQIAO_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["demo", "--no-documents"])
    assert result.exit_code == 0, result.output
    yield tmp_path / "var"
    get_settings.cache_clear()


def _committee(data_dir: Path) -> tuple[int, str]:
    with sqlite3.connect(data_dir / "fengqiao.db") as db:
        found = db.execute(
            "SELECT id, name FROM org_units WHERE kind = 'committee' ORDER BY id LIMIT 1"
        ).fetchone()
    return int(found[0]), str(found[1])


def _cases(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "fengqiao.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM cases").fetchone()[0])


def test_a_bad_ledger_prints_each_problem_and_stores_nothing(
    demo_dir: Path, tmp_path: Path
) -> None:
    _, committee = _committee(demo_dir)
    before = _cases(demo_dir)
    file = tmp_path / "台账.xlsx"
    file.write_bytes(workbook([row(调解组织=committee), row(调解组织=committee, 登记日期="昨天")]))
    result = runner.invoke(app, ["ledger", "import", str(file)])
    assert result.exit_code == 1
    assert "ledger_date_invalid" in result.output
    assert "登记日期" in result.output
    assert "4" in result.output
    assert "ledger_rows_invalid" in result.output
    assert _cases(demo_dir) == before


def test_import_then_export_the_same_ledger(demo_dir: Path, tmp_path: Path) -> None:
    committee_id, committee = _committee(demo_dir)
    before = _cases(demo_dir)
    file = tmp_path / "台账.xlsx"
    file.write_bytes(workbook([row(调解组织="", 申请人="程序测试甲")]))
    checked = runner.invoke(app, ["ledger", "import", str(file), "--unit", committee, "--dry-run"])
    assert checked.exit_code == 0, checked.output
    assert _cases(demo_dir) == before
    result = runner.invoke(app, ["ledger", "import", str(file), "--unit", str(committee_id)])
    assert result.exit_code == 0, result.output
    assert "导入 1 件案件" in result.output
    assert _cases(demo_dir) == before + 1
    out = tmp_path / "out.xlsx"
    exported = runner.invoke(
        app,
        [
            "ledger",
            "export",
            "--unit",
            str(committee_id),
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-01",
            "-o",
            str(out),
        ],
    )
    assert exported.exit_code == 0, exported.output
    assert [r["申请人"] for r in read_back(out.read_bytes())] == ["程序测试甲"]
    verified = runner.invoke(app, ["audit", "verify", "--full"])
    assert verified.exit_code == 0, verified.output
