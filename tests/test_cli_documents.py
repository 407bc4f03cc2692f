"""`fengqiao documents verify|render` and the demo's signed agreements, as an operator sees
them: exit codes and messages are the contract."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import STORED_KINDS, app
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
    assert "核验结论：有效。" in checked.output
    assert checked.output.count("签署人：") == 4
    assert checked.output.count("北京时间") == 4  # each signing time once, in Beijing time
    assert "UTC" not in checked.output
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
    assert "核验结论：无效" in result.output


def test_r_agreement_effect_verify_exit_codes_for_incomplete_and_out_of_order(
    demo_dir: Path, tmp_path: Path
) -> None:
    from tests.documents.test_verdict import force_sign, revisions

    case_id, _ = _signed_cases(demo_dir, paper=False)[0]
    _, digest = _latest(demo_dir, case_id)
    signed = _stored(demo_dir, digest)
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(revisions(signed)[-2])  # the seal's revision removed
    result = runner.invoke(app, ["documents", "verify", str(cut)])
    assert result.exit_code == 3, result.output
    assert "核验结论：签署未完成" in result.output
    assert "尚缺签署：调解委员会印章" in result.output
    assert "document_incomplete" in result.output
    drafting = runner.invoke(app, ["documents", "verify", "--allow-incomplete", str(cut)])
    assert drafting.exit_code == 0, drafting.output

    from api.documents.authority import load_authority

    authority = load_authority(get_settings())
    plan = signing_plan(revisions(signed)[0])
    seal = next(s for s in plan if s.role.value == "committee")
    reordered = force_sign(
        revisions(signed)[0],
        authority.issue(seal.name, seal.role, organisation=seal.name),
        seal.field,
        certify=True,
    )
    out_of_order = tmp_path / "reordered.pdf"
    out_of_order.write_bytes(reordered)
    result = runner.invoke(app, ["documents", "verify", "--allow-incomplete", str(out_of_order)])
    assert result.exit_code == 4, result.output
    assert "签署顺序不符" in result.output


def test_documents_verify_garbage_is_invalid_without_traceback(
    demo_dir: Path, tmp_path: Path
) -> None:
    del demo_dir
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF")
    result = runner.invoke(app, ["documents", "verify", str(junk)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "核验结论：无效" in result.output


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


def test_r_jc_track_documents_render_exports_the_court_signed_ruling(
    demo_dir: Path, tmp_path: Path
) -> None:
    confirmed = [c for c, state in _signed_cases(demo_dir, paper=False) if state == "confirmed"]
    assert confirmed
    _, digest = _latest(demo_dir, confirmed[0], "ruling")
    out = tmp_path / "ruling.pdf"
    rendered = runner.invoke(
        app, ["documents", "render", str(confirmed[0]), "--kind", "ruling", "-o", str(out)]
    )
    assert rendered.exit_code == 0, rendered.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    checked = runner.invoke(app, ["documents", "verify", str(out)])
    assert checked.exit_code == 0, checked.output
    assert "核验结论：有效。民事裁定书" in checked.output
    none_yet = next(
        c for c, state in _signed_cases(demo_dir, paper=False) if state == "agreement_in_effect"
    )
    missing = runner.invoke(
        app, ["documents", "render", str(none_yet), "--kind", "ruling", "-o", str(out)]
    )
    assert missing.exit_code == 1
    assert "尚无民事裁定书" in missing.output


def test_r_agreement_fields_demo_agreements_read_like_real_ones(demo_dir: Path) -> None:
    """No stock sentences: each category's facts, each party's responsibility, named staff."""
    import subprocess

    texts = []
    for case_id, _ in _signed_cases(demo_dir, paper=False)[:6]:
        _, digest = _latest(demo_dir, case_id)
        text = subprocess.run(  # the store seals its files: read the plaintext through it
            ["pdftotext", "-enc", "UTF-8", "-", "-"],
            input=_stored(demo_dir, digest),
            capture_output=True,
            check=True,
        ).stdout.decode()
        texts.append("".join(text.split()))
    assert not any("双方因琐事发生争执" in t for t in texts)
    assert len({t.partition("纠纷主要事实")[2][:40] for t in texts}) == len(texts)
    for text in texts:
        assert text.count("责任") >= 3  # the heading and one line per party
        assert "调解员（签名）" in text
        assert not any(f"{short}调解员" in text for short in ("青石", "柳湾", "东桥", "河埠"))


HEAVY = ("sqlalchemy", "sqlmodel", "fastapi", "weasyprint", "pyhanko", "engine.runtime")


def test_the_cli_imports_nothing_heavy_at_start() -> None:
    import subprocess
    import sys

    probe = f"import api.cli, sys; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_documents_render_of_a_stored_agreement_builds_no_engine(
    demo_dir: Path, tmp_path: Path
) -> None:
    """The fast path: SQLite and the store only, so the command can run in a loop."""
    import os
    import subprocess
    import sys

    from workflows.kinds import AGREEMENT, RULING

    assert set(STORED_KINDS) == {AGREEMENT, RULING}
    case_id, _ = _signed_cases(demo_dir, paper=False)[0]
    _, digest = _latest(demo_dir, case_id)
    out = tmp_path / "fast.pdf"
    probe = (
        "import sys\n"
        "from api.cli import app\n"
        "try:\n"
        f"    app(['documents', 'render', '{case_id}', '-o', {str(out)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "FENGQIAO_DATA_DIR": str(demo_dir)}
    env.pop("FENGQIAO_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip().endswith("[]"), done.stdout
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
