"""`fengqiao documents verify|render` and the demo's signed agreements, as an operator sees
them: exit codes and messages are the contract."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from documents import DocumentStore, signing_plan

runner = CliRunner()
SIGNED_STATES = (
    "agreement_in_effect",
    "jc_applied",
    "jc_reviewing",
    "confirmed",
    "jc_rejected",
    "followup",
    "closed",
)


def _use(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(data_dir))
    monkeypatch.delenv("FENGQIAO_DATABASE_URL", raising=False)
    monkeypatch.delenv("FENGQIAO_CA_PKCS12_FILE", raising=False)
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One demo district with real signed agreements, shared by the module (it takes ~10 s)."""
    home = tmp_path_factory.mktemp("cli-documents") / "var"
    with pytest.MonkeyPatch.context() as patch:
        _use(patch, home)
        assert runner.invoke(app, ["init"]).exit_code == 0
        loaded = runner.invoke(app, ["demo"])
        assert loaded.exit_code == 0, loaded.output
        assert "调解协议书已签署盖章" in loaded.output.replace("\n", "")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def demo_dir(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _use(monkeypatch, demo_home)
    yield demo_home
    get_settings.cache_clear()


def _signed_cases(data_dir: Path, *, paper: bool) -> list[tuple[int, str]]:
    marks = ",".join("?" * len(SIGNED_STATES))
    with sqlite3.connect(data_dir / "fengqiao.db") as db:
        rows = db.execute(
            f"SELECT c.id, c.state FROM cases c JOIN categories g ON g.code = c.category_code "
            f"WHERE c.state IN ({marks}) AND g.excluded_from_esign = ? "
            "AND json_extract(c.data, '$.agreement.oral') = 0 ORDER BY c.id",  # written ones
            (*SIGNED_STATES, paper),
        ).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def _latest(data_dir: Path, case_id: int, kind: str = "agreement") -> tuple[int, str]:
    with sqlite3.connect(data_dir / "fengqiao.db") as db:
        row = db.execute(
            "SELECT version, sha256 FROM documents WHERE case_id = ? AND kind = ? "
            "ORDER BY version DESC LIMIT 1",
            (case_id, kind),
        ).fetchone()
    assert row is not None, f"case {case_id} has no {kind}"
    return int(row[0]), str(row[1])


def _stored(data_dir: Path, digest: str) -> bytes:
    """A stored PDF, opened with the data dir's store key (the files are sealed at rest)."""
    key = bytes.fromhex((data_dir / "keys" / "store.key").read_text())
    return DocumentStore(data_dir / "documents", key=key).get(digest)


def test_demo_cases_past_signing_hold_fully_signed_agreements(demo_dir: Path) -> None:
    electronic = _signed_cases(demo_dir, paper=False)
    paper = _signed_cases(demo_dir, paper=True)
    assert len(electronic) >= 15
    assert paper  # R-ESIGN-EXCLUDE: the demo shows the paper path too
    for case_id, _ in electronic:
        version, digest = _latest(demo_dir, case_id)
        pdf = _stored(demo_dir, digest)
        assert hashlib.sha256(pdf).hexdigest() == digest
        plan = signing_plan(pdf)
        assert [(s.role.value, s.signed) for s in plan] == [
            ("party", True),
            ("party", True),
            ("mediator", True),
            ("committee", True),
        ], case_id
        assert version == 5  # draft + four signatures
    for case_id, _ in paper:
        _latest(demo_dir, case_id, "agreement_scan")


def test_documents_render_exports_the_latest_version_and_verify_passes(
    demo_dir: Path, tmp_path: Path
) -> None:
    case_id, _ = _signed_cases(demo_dir, paper=False)[0]
    version, digest = _latest(demo_dir, case_id)
    out = tmp_path / "agreement.pdf"
    rendered = runner.invoke(app, ["documents", "render", str(case_id), "-o", str(out)])
    assert rendered.exit_code == 0, rendered.output
    assert f"第 {version} 版" in rendered.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest

    checked = runner.invoke(app, ["documents", "verify", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "核验通过" in checked.output
    assert checked.output.count("签署人：") == 4
    for role in ("当事人", "调解员", "人民调解委员会（印章）"):
        assert f"角色：{role}" in checked.output
    assert checked.output.count("内容完好：是") == 4
    assert checked.output.count("证书受信任：是") == 4
    assert checked.output.count("签署后改动：仅后续签名") == 3
    assert "签署后改动：无" in checked.output  # the seal, last, covers the whole file
    assert checked.output.count("签署时间：2") == 4


def test_documents_verify_fails_on_a_tampered_copy(demo_dir: Path, tmp_path: Path) -> None:
    case_id, _ = _signed_cases(demo_dir, paper=False)[0]
    _, digest = _latest(demo_dir, case_id)
    pdf = bytearray(_stored(demo_dir, digest))
    at = pdf.index(b"/Contents", len(pdf) // 4)
    pdf[at - 200 : at - 199] = b"X" if pdf[at - 200 : at - 199] != b"X" else b"Y"
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(pdf))
    result = runner.invoke(app, ["documents", "verify", str(tampered)])
    assert result.exit_code == 1, result.output
    assert "核验未通过" in result.output


def test_documents_verify_trusts_only_this_deployment_or_given_roots(
    demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, _ = _signed_cases(demo_dir, paper=False)[0]
    _, digest = _latest(demo_dir, case_id)
    signed = tmp_path / "signed.pdf"  # a copy as exported: the store's files are sealed
    signed.write_bytes(_stored(demo_dir, digest))
    _use(monkeypatch, tmp_path / "elsewhere")  # a deployment with another (no) CA
    untrusted = runner.invoke(app, ["documents", "verify", str(signed)])
    assert untrusted.exit_code == 1
    assert "不是受信任机构签发" in untrusted.output
    assert untrusted.output.count("证书受信任：否") == 4
    assert not (tmp_path / "elsewhere" / "ca").exists()  # verifying never creates a CA
    root = demo_dir / "ca" / "dev-ca.crt.pem"
    trusted = runner.invoke(app, ["documents", "verify", str(signed), "--trust", str(root)])
    assert trusted.exit_code == 0, trusted.output


def test_documents_verify_refuses_what_is_not_a_pdf(demo_dir: Path, tmp_path: Path) -> None:
    del demo_dir
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    result = runner.invoke(app, ["documents", "verify", str(junk)])
    assert result.exit_code == 1
    assert "不是可读取的 PDF" in result.output
    missing = runner.invoke(app, ["documents", "verify", str(tmp_path / "nope.pdf")])
    assert missing.exit_code == 1
    assert "无法读取文件" in missing.output


def test_documents_render_says_what_is_missing(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    with sqlite3.connect(demo_dir / "fengqiao.db") as db:
        (intake,) = db.execute("SELECT min(id) FROM cases WHERE state = 'intake'").fetchone()
    none_yet = runner.invoke(app, ["documents", "render", str(intake), "-o", str(out)])
    assert none_yet.exit_code == 1
    assert "尚无调解协议书" in none_yet.output
    unknown = runner.invoke(app, ["documents", "render", "999999", "-o", str(out)])
    assert unknown.exit_code == 1
    assert "不存在" in unknown.output
    assert not out.exists()
    paper_case, _ = _signed_cases(demo_dir, paper=True)[0]
    scan = runner.invoke(app, ["documents", "render", str(paper_case), "--scan", "-o", str(out)])
    assert scan.exit_code == 0, scan.output
    assert out.read_bytes().startswith(b"%PDF-")


def test_init_refuses_without_the_cjk_font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, tmp_path / "var")
    monkeypatch.setenv("FENGQIAO_DOCUMENT_FONT_FAMILY", "Fengqiao Missing Serif SC")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 1
    assert "文书环境检查未通过" in result.output
    assert "未找到中文字体" in result.output
    assert not (tmp_path / "var" / "fengqiao.db").exists()  # nothing half-initialised
    get_settings.cache_clear()
