"""The `fengqiao` command as an operator uses it: exit codes and messages are the contract."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("FENGQIAO_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


@pytest.fixture
def demo_dir(data_dir: Path) -> Path:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["demo", "--no-documents"])
    assert result.exit_code == 0, result.output
    return data_dir


def test_init_is_repeatable_and_creates_the_store(data_dir: Path) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    assert "新增纠纷类型 18 个" in first.output
    second = runner.invoke(app, ["init"])
    assert second.exit_code == 0
    assert "新增纠纷类型 0 个" in second.output
    assert (data_dir / "fengqiao.db").exists()
    assert (data_dir / "keys" / "pii.key").exists()


def test_demo_needs_init_first(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code != 0


def test_demo_spreads_cases_over_every_state_and_loads_once(demo_dir: Path) -> None:
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        states = {row[0] for row in db.execute("SELECT DISTINCT state FROM cases")}
        (count,) = db.execute("SELECT count(*) FROM cases").fetchone()
    assert 55 <= count <= 70
    expected = {
        "intake", "central_household", "mediation_room", "joint_mediation", "agreement_drafted",
        "signing", "agreement_in_effect", "jc_applied", "jc_reviewing", "confirmed",
        "jc_rejected", "followup", "closed", "terminated", "withdrawn", "inadmissible",
        "returned_to_court",
    }  # fmt: skip
    assert expected <= states
    again = runner.invoke(app, ["demo", "--if-empty"])
    assert again.exit_code == 0
    assert "跳过" in again.output
    assert runner.invoke(app, ["demo"]).exit_code != 0  # never doubles the district


def test_audit_verify_passes_then_names_the_altered_case_and_event(demo_dir: Path) -> None:
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        case_id, seq = db.execute(
            "SELECT case_id, seq FROM audit_events WHERE seq = 2 ORDER BY case_id LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE audit_events SET reason = '篡改' WHERE case_id = ? AND seq = ?", (case_id, seq)
        )
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert str(case_id) in broken.output
    assert "审计链校验失败" in broken.output


def test_audit_checkpoint_then_verify_names_an_event_deleted_after_it(demo_dir: Path) -> None:
    made = runner.invoke(app, ["audit", "checkpoint"])
    assert made.exit_code == 0, made.output
    assert len(list((demo_dir / "checkpoints").glob("checkpoint-*.json"))) == 1
    assert "检查点一致" in runner.invoke(app, ["audit", "verify"]).output
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        case_id, seq = db.execute(
            "SELECT case_id, MAX(seq) FROM audit_events GROUP BY case_id HAVING MAX(seq) > 2 "
            "ORDER BY case_id LIMIT 1"
        ).fetchone()
        prev = db.execute(
            "SELECT hash, dest_state, version FROM audit_events WHERE case_id = ? AND seq = ?",
            (case_id, seq - 1),
        ).fetchone()
        db.execute("DELETE FROM audit_events WHERE case_id = ? AND seq = ?", (case_id, seq))
        db.execute(
            "UPDATE cases SET audit_head = ?, audit_seq = ?, state = ?, version = ? WHERE id = ?",
            (prev[0], seq - 1, prev[1], prev[2], case_id),
        )
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"案件 {case_id} 第 {seq} 条事件" in broken.output
    assert "检查点记录的事件不存在" in broken.output


@pytest.mark.usefixtures("data_dir")
def test_workflows_list_and_validate_the_shipped_specs() -> None:
    listed = runner.invoke(app, ["workflows", "list"])
    assert listed.exit_code == 0
    assert "standard" in listed.output
    assert "court_referral" in listed.output
    assert runner.invoke(app, ["workflows", "validate"]).exit_code == 0


def test_workflows_validate_names_file_and_line_of_a_broken_spec(tmp_path: Path) -> None:
    from workflows import WORKFLOWS_DIR

    text = (WORKFLOWS_DIR / "standard" / "v1.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "standard" / "v1.yaml"
    broken.parent.mkdir()
    broken.write_text(text.replace("all_parties_consented", "all_parties_consent", 1), "utf-8")
    result = runner.invoke(app, ["workflows", "validate", str(broken)])
    assert result.exit_code == 1
    assert "v1.yaml" in result.output
    assert "all_parties_consented" in result.output  # the did-you-mean hint


def test_workflows_graph_writes_an_svg_with_chinese_labels(tmp_path: Path) -> None:
    out = tmp_path / "standard.svg"
    result = runner.invoke(app, ["workflows", "graph", "standard", "-o", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    assert "中心户调解" in svg
    missing = runner.invoke(app, ["workflows", "graph", "nosuchflow", "-o", str(out)])
    assert missing.exit_code == 1


def test_worker_once_fires_what_is_due_and_the_demo_keeps_its_spread(demo_dir: Path) -> None:
    first = runner.invoke(app, ["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert "失败 0" in first.output
    again = runner.invoke(app, ["worker", "--once"])
    assert "到期 0 项" in again.output  # nothing fires twice
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        states = {row[0] for row in db.execute("SELECT DISTINCT state FROM cases")}
        (overdue,) = db.execute("SELECT count(*) FROM cases WHERE overdue").fetchone()
    assert {"central_household", "agreement_in_effect", "jc_applied"} <= states
    assert overdue >= 1  # the demo's late case is now under 超期督办
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    listed = runner.invoke(app, ["outbox", "list", "--status", "pending"])
    assert listed.exit_code == 0
    assert "overdue" in listed.output
    assert runner.invoke(app, ["timers", "list"]).exit_code == 0


def test_outbox_retry_without_a_channel_says_so(demo_dir: Path) -> None:
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        db.execute("UPDATE outbox SET status = 'dead' WHERE id = (SELECT min(id) FROM outbox)")
    result = runner.invoke(app, ["outbox", "retry"])
    assert result.exit_code == 1
    assert "已重新排队 1 条通知" in result.output
    assert "FENGQIAO_WEBHOOK_URL" in result.output


def test_calendar_import_takes_a_new_year_and_recomputes_provisional_deadlines(
    demo_dir: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        db.execute("UPDATE timers SET provisional = 1 WHERE status = 'pending'")
    notice = tmp_path / "notice.yaml"
    notice.write_text(
        "year: 2027\nsource: 国务院办公厅通知\n"
        "holidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-01}\nworkdays: []\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["calendar", "import", str(notice)])
    assert result.exit_code == 0, result.output
    assert (demo_dir / "calendar" / "2027.yaml").exists()
    assert "重算暂定期限" in result.output
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        (left,) = db.execute(
            "SELECT count(*) FROM timers WHERE status = 'pending' AND provisional"
        ).fetchone()
    assert left == 0
    listed = runner.invoke(app, ["calendar", "list"])
    assert "2027" in listed.output
    assert "国务院办公厅通知" in listed.output


def test_calendar_import_refuses_a_broken_file_and_keeps_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    notice = tmp_path / "notice.yaml"
    notice.write_text("year: 2027\nholiday: []\n", encoding="utf-8")
    result = runner.invoke(app, ["calendar", "import", str(notice)])
    assert result.exit_code == 1
    assert "未知的键" in result.output
    assert not (data_dir / "calendar" / "2027.yaml").exists()


def test_stats_reports_the_demo_district_and_refuses_bad_options(demo_dir: Path) -> None:
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        (count,) = db.execute("SELECT count(*) FROM cases").fetchone()
        (agreed,) = db.execute(  # an agreement in effect, and the case not sent back
            "SELECT count(*) FROM cases WHERE agreement_effective_at IS NOT NULL AND state NOT IN "
            "('terminated', 'returned_to_court', 'central_household', 'mediation_room', "
            "'joint_mediation')"
        ).fetchone()
        (district,) = db.execute("SELECT id FROM org_units WHERE parent_id IS NULL").fetchone()
    result = runner.invoke(app, ["stats", "--from", "2000-01-01", "--unit", str(district)])
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line.split("│")[2].strip()
             for line in result.output.splitlines() if line.count("│") == 3}  # fmt: skip
    assert lines["受理"] == str(count)
    assert lines["调解成功"] == str(agreed)
    assert lines["化解率（成功 ÷ 受理）"] == f"{agreed / count:.1%}"
    bad_date = runner.invoke(app, ["stats", "--from", "三月"])
    assert bad_date.exit_code == 1
    assert "invalid_date" in bad_date.output
    missing = runner.invoke(app, ["stats", "--unit", "999999"])
    assert missing.exit_code == 1
    assert "not_found" in missing.output
