"""`fengqiao documents`: verify a paper, export one, bind the case file."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli._common import console, fail, settings_now

if TYPE_CHECKING:
    from api.settings import Settings

app = typer.Typer(help="文书：核验签名、导出协议书与裁定书、导出卷宗", no_args_is_help=True)


@app.command("verify")
def documents_verify(
    file: Annotated[Path, typer.Argument(help="要核验的 PDF 文书")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="另外信任的根证书（PEM 或 DER），可重复"),
    ] = None,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete", help="签署中的草稿：已有签名均有效、顺序正确时退出码也为 0"
        ),
    ] = False,
) -> None:
    """核验文书：每个签名的签署人、角色、时间、是否完好、是否受信任，以及整份文书的结论。

    信任本部署的 CA（数据目录下的开发用 CA 或配置的 PKCS#12）及 --trust 指定的证书。
    退出码：0 有效；1 无效（签名损坏、证书不受信任、签名人不符、签署后被修改、无法读取）；
    3 签署未完成（缺少计划中的签名，如草稿或被截掉后面修订的文件）；4 签署顺序不符。
    """
    from cryptography import x509

    from api.documents.authority import trust_roots
    from documents import DocumentError, Verdict, verify
    from documents.verification import local_time
    from engine.calendar import SHANGHAI

    try:
        pdf = file.read_bytes()
    except OSError as exc:
        raise fail(f"无法读取文件 {file}：{exc.strerror}", "file_unreadable") from exc
    try:
        roots: list[x509.Certificate | bytes] = [*trust_roots(settings_now())]
        roots += [path.read_bytes() for path in trust or []]
    except OSError as exc:
        raise fail(f"无法读取证书文件：{exc}", "file_unreadable") from exc
    try:
        report = verify(pdf, roots, zone=SHANGHAI)
    except DocumentError as exc:
        console.print(f"核验结论：无效。{exc.message_zh}", soft_wrap=True, highlight=False)
        raise fail(exc.message_zh, exc.code) from exc
    except ValueError as exc:
        raise fail(f"证书无法解析：{exc}", "certificate_unreadable") from exc
    yes_no = {True: "[green]是[/]", False: "[red]否[/]"}
    total = len(report.signatures)
    for index, signature in enumerate(report.signatures, start=1):
        when = (
            f"{local_time(signature.signing_time, SHANGHAI)}（北京时间）"
            if signature.signing_time
            else "—"
        )
        dev = "（开发用证书）" if signature.development_certificate else ""
        level = signature.modification_level
        lines = [
            f"[bold]签名 {index}/{total}[/]（{signature.field}，{signature.label}）",
            f"  签署人：{signature.signer_name}{dev}",
            f"  角色：{signature.role.label_zh if signature.role else '（未知）'}",
            f"  签署时间：{when}",
            f"  内容完好：{yes_no[signature.intact and signature.valid]}",
            f"  证书受信任：{yes_no[signature.trusted]}",
            f"  与签名栏相符：{yes_no[signature.matches_slot]}",
            f"  签署后改动：{_MODIFICATION_ZH.get(level, level)}",
        ]
        console.print("\n".join(lines), soft_wrap=True, highlight=False)
    console.print(report.headline_zh, soft_wrap=True, highlight=False)
    verdict = report.verdict
    if verdict is Verdict.INCOMPLETE and allow_incomplete:
        return
    if verdict is not Verdict.VALID:
        raise fail(
            f"文书核验结论为“{verdict.label_zh}”", f"document_{verdict.value}", verdict.exit_code
        )


_MODIFICATION_ZH = {
    "NONE": "无",
    "LTA_UPDATES": "仅补充验证数据",
    "FORM_FILLING": "仅后续签名",
    "ANNOTATIONS": "[yellow]添加了批注[/]",
    "OTHER": "[red]内容被修改[/]",
}


# Kinds whose signed versions are stored (the workflow's document kinds; tests keep them equal).
STORED_KINDS = {"agreement": "调解协议书文书", "ruling": "民事裁定书"}


def _latest_stored(settings: Settings, case_id: int, kind: str) -> tuple[int, str] | None:
    """The latest stored version of a case's document, read with the standard library's
    SQLite driver: no SQLAlchemy, no engine, no workflows to load. None when the database is
    not SQLite (the caller then goes through the engine). Exits when the case or the
    document does not exist.
    """
    import sqlite3

    url = settings.resolved_database_url
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    try:
        # SQLite's own driver, hand SQL: the render command starts without SQLAlchemy
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            if db.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None:
                raise fail(f"案件 {case_id} 不存在", "case_not_found")
            row = db.execute(
                "SELECT version, sha256 FROM documents WHERE case_id = ? AND kind = ? "
                "ORDER BY version DESC LIMIT 1",
                (case_id, kind),
            ).fetchone()
    except sqlite3.Error:
        return None  # not initialised, locked, …: the engine path says what is wrong
    if row is None:
        what = "协议扫描件" if kind == "agreement_scan" else STORED_KINDS[kind]
        raise fail(f"案件 {case_id} 尚无{what}", "document_not_found")
    return int(row[0]), str(row[1])


@app.command("render")
def documents_render(
    case_id: Annotated[int, typer.Argument(help="案件 id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 PDF 文件")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="文书种类：agreement（调解协议书，默认）、ruling（民事裁定书）、application、"
            "registration、transcript、confirmation_application、followup、legal_opinion",
        ),
    ] = "agreement",
    index: Annotated[
        int | None,
        typer.Option(
            "--index", min=1, help="第几次调解笔录 / 回访记录 / 法律意见（从 1 起，默认最新）"
        ),
    ] = None,
    scan: Annotated[
        bool, typer.Option("--scan", help="导出纸质签署的扫描件（婚姻、收养、继承类协议）")
    ] = False,
) -> None:
    """导出案件文书：调解协议书或民事裁定书的最新版本（签名一并导出），或按案件现状生成卷宗中的其他文书（只读，不签署、不存档）。"""
    settings = settings_now()
    if kind in STORED_KINDS or scan:
        if scan and kind != "agreement":
            raise fail("--scan 只适用于调解协议书（--kind agreement）", "invalid_input", 2)
        stored = "agreement_scan" if scan else kind
        found = _latest_stored(settings, case_id, stored)
        if found is not None:  # SQLite: read without building the engine (fast start)
            version, digest = found
            from api.document_store import open_document_store
            from documents.errors import DocumentError as StoreFailed

            try:
                data = open_document_store(settings).get(digest)
            except StoreFailed as exc:
                raise fail(exc.message_zh, exc.code) from exc
            output.write_bytes(data)
            note = f"第 {version} 版，SHA-256 {digest}"
            console.print(f"已写入 {output}（{note}）", soft_wrap=True)
            return
    from api.documents import DocumentService
    from api.documents.case_papers import CASE_FILE_KINDS
    from api.wiring import build_engine
    from documents import DocumentError
    from engine.errors import EngineError
    from engine.records import Actor
    from workflows.kinds import AGREEMENT, AGREEMENT_SCAN, RULING

    if kind not in (AGREEMENT, RULING) and kind not in CASE_FILE_KINDS:
        choices = "、".join((AGREEMENT, RULING, *CASE_FILE_KINDS))
        raise fail(f"未知的文书种类“{kind}”，可选：{choices}", "invalid_input", 2)
    if scan and kind != AGREEMENT:
        raise fail("--scan 只适用于调解协议书（--kind agreement）", "invalid_input", 2)
    try:
        engine = build_engine(settings)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    try:
        service = DocumentService(settings, engine)
        with engine.db.transaction(write=False) as tx:
            if tx.load_case(case_id) is None:
                raise fail(f"案件 {case_id} 不存在", "case_not_found")
        if kind in CASE_FILE_KINDS:
            data = service.render_case_document(case_id, Actor.system(), kind, index=index)
            note = "按案件现状生成，未签署、未存档"
        else:
            stored = AGREEMENT_SCAN if scan else kind
            latest = service.latest(case_id, stored)
            if latest is None:
                what = "协议扫描件" if scan else STORED_KINDS[kind]
                raise fail(f"案件 {case_id} 尚无{what}", "document_not_found")
            data = service.read(latest.sha256)
            note = f"第 {latest.version} 版，SHA-256 {latest.sha256}"
    except (DocumentError, EngineError) as exc:
        raise fail(exc.message_zh, exc.code) from exc
    finally:
        engine.db.engine.dispose()
    output.write_bytes(data)
    console.print(f"已写入 {output}（{note}）", soft_wrap=True)


@app.command("casefile")
def documents_casefile(
    case_id: Annotated[int, typer.Argument(help="案件 id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 PDF 文件")],
) -> None:
    """导出案件的卷宗：封面、卷内目录、按规定顺序排列的全部文书（签名原件作为附件），经调解委员会盖章；已结案的案件首次导出时归档，此后不变。"""
    from api.documents import DocumentService
    from api.services.case_file import CaseFileService
    from api.wiring import build_engine
    from documents import DocumentError
    from engine.errors import EngineError
    from engine.records import Actor

    settings = settings_now()
    try:
        engine = build_engine(settings)
    except EngineError as exc:
        raise fail(exc.message_zh, exc.code) from exc
    try:
        with engine.db.transaction(write=False) as tx:
            case = tx.load_case(case_id)
        if case is None:
            raise fail(f"案件 {case_id} 不存在", "case_not_found")
        service = CaseFileService(DocumentService(settings, engine))
        data = service.volume(case_id, Actor.system())
    except (DocumentError, EngineError) as exc:
        raise fail(exc.message_zh, exc.code) from exc
    finally:
        engine.db.engine.dispose()
    output.write_bytes(data)
    state = "已归档" if case.closed_at is not None else "未结案，未归档"
    console.print(f"已写入 {output}（卷宗，{state}）", soft_wrap=True)
