"""The case file (卷宗) rendered from the case: application, registration, transcript,
confirmation application, follow-up and legal opinion each carry the facts the case records,
print with an embedded CJK font, and are read-only (nothing signed, stored or recorded)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.documents import DocumentService
from api.documents.case_papers import CASE_FILE_KINDS
from api.settings import Settings, get_settings
from documents import SignerRole
from engine.calendar import SHANGHAI
from engine.errors import CaseNotFound, InvalidInput, OutOfScope
from engine.ports import FixedClock
from engine.records import Actor
from mediation.engine import MediationEngine
from mediation.intake import RepresentativeIntake
from tests.api.conftest import Api
from tests.flow import Driver, open_case
from tests.rules import rule
from tests.workflows.test_standard_v2 import PARENT_ID, _with_minor
from tests.world import APPLICANT_ID, RESPONDENT_ID, World

COMMITTEE = "枫源村人民调解委员会"
COURT = "诸暨市人民法院枫桥人民法庭"
PLACE = "枫源村人民调解委员会调解室"
RECORD = "申请人王秀英：要求被申请人赔偿院墙修缮费用。\n被申请人李建国：同意赔偿，请求分期。"
OPINION = "被申请人应依民法典第二百九十六条承担修缮费用，分期支付不违反法律规定。"
NOTES = "被申请人已按期转账，双方关系缓和"
RISK = "邻里因排水沟走向仍有口角"


def drive_case_file(driver: Driver) -> None:
    """Intake → a recorded session → 三官一律 with a lawyer's opinion → agreement signed →
    judicial confirmation applied for → a follow-up visit."""
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.assign("mediator3", "recorder")
    driver.fire(
        "mediator",
        "record_session",
        place=PLACE,
        record=RECORD,
        attendees=["王秀英", "李建国", "村民代表张大伯"],
    )
    driver.assign("lawyer", "lawyer")
    driver.assign("police", "police")
    driver.fire("mediator", "escalate")  # to the panel: no room to name
    driver.fire("lawyer", "give_legal_opinion", opinion=OPINION, hours=2)
    driver.draft()
    driver.sign_all()
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )
    driver.fire(
        "mediator",
        "record_visit",
        performance="performed",
        satisfaction="satisfied",
        new_risks=RISK,
        notes=NOTES,
    )


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The text poppler reads from the PDF, without the line breaks layout put in."""
    path = tmp_path / "rendered.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return "".join(text.split())


def fonts_embedded(pdf: bytes, tmp_path: Path) -> list[tuple[str, str]]:
    """(font name, emb column) of every font pdffonts lists."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    lines = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]  # two header lines
    rows = []
    for line in lines:
        cells = line.split()
        emb = next(c for c in cells[-5:] if c in ("yes", "no"))  # emb, sub, uni, then object id
        rows.append((cells[0], emb))
    return rows


@pytest.fixture
def service(engine: MediationEngine, tmp_path: Path) -> DocumentService:
    return DocumentService(Settings(data_dir=tmp_path / "var"), engine)


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    return open_case(engine, world, clock)


EXPECTED = {
    "application": ("人民调解申请书", "王秀英", "李建国", "邻里", "相邻房屋滴水纠纷", COMMITTEE),
    "registration": (
        "人民调解受理登记表",
        "当事人申请（书面申请）",  # R-APPLY
        "蓝色（一般）",
        "相邻房屋滴水纠纷",
        "登记人杨光明",
        "王秀英",
        "李建国",
    ),
    "transcript": (
        "人民调解笔录",
        PLACE,
        "申请人王秀英：要求被申请人赔偿院墙修缮费用。",
        "被申请人李建国：同意赔偿，请求分期。",
        "主持调解杨光明（人民调解员）",  # the mediator; the village 中心户 did not hold it
        "记录人郭立新",
        "村民代表张大伯",
    ),
    "confirmation_application": (
        "司法确认申请书",
        COURT,
        "申请人：王秀英",
        "申请人：李建国",
        "人民调解协议书（编号：",
        f"{COMMITTEE}主持调解的证明",
    ),
    "followup": ("人民调解回访记录", "已履行", "满意", RISK, NOTES, "回访人杨光明"),
    "legal_opinion": ("法律意见书", "孙律师", "浙江枫桥律师事务所", OPINION, "相邻房屋滴水纠纷"),
}

ABSENT = {
    "confirmation_application": ("被申请人",),
    "transcript": ("陈阿明",),  # R-TRANSCRIPT: the 中心户 is no 调解员 of a room session
    "followup": ("回访方式", "未记录"),  # nothing printed that the case did not record
    "legal_opinion": ("未单独记录",),  # no placeholder analysis
}  # a joint application: both parties apply


@pytest.mark.parametrize("kind", CASE_FILE_KINDS)
def test_each_case_file_document_carries_what_the_case_records(
    driver: Driver, service: DocumentService, tmp_path: Path, kind: str
) -> None:
    drive_case_file(driver)
    pdf = service.render_case_document(driver.case_id, driver.world.actors["mediator"], kind)
    text = pdf_text(pdf, tmp_path)
    missing = [fact for fact in (driver.case.number, *EXPECTED[kind]) if fact not in text]
    assert missing == [], f"{kind} lacks {missing}: {text}"
    assert [fact for fact in ABSENT.get(kind, ()) if fact in text] == []
    assert APPLICANT_ID not in text  # R-PII: masked in every export
    assert RESPONDENT_ID not in text
    fonts = fonts_embedded(pdf, tmp_path)
    assert fonts, "the document has text, so it names fonts"
    assert all(emb == "yes" for _, emb in fonts), fonts


def test_rendering_the_case_file_records_nothing(
    driver: Driver, service: DocumentService, engine: MediationEngine
) -> None:
    drive_case_file(driver)
    before = driver.case.version
    with engine.db.engine.connect() as connection:
        documents = connection.execute(sa.text("SELECT count(*) FROM documents")).scalar_one()
        pii_reads = connection.execute(sa.text("SELECT count(*) FROM pii_access_log")).scalar()
    service.render_case_document(driver.case_id, driver.world.actors["mediator"], "transcript")
    with engine.db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM documents")).scalar_one() == (
            documents
        )
        assert connection.execute(sa.text("SELECT count(*) FROM pii_access_log")).scalar() == (
            pii_reads
        )
    assert driver.case.version == before
    assert service.store.digests() == []  # nothing stored either


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("transcript", "尚无调解记录"),
        ("followup", "尚无回访记录"),
        ("legal_opinion", "尚无律师出具的法律意见"),
        ("confirmation_application", "尚未申请司法确认"),
    ],
)
def test_nothing_of_that_kind_yet_is_refused_by_name(
    driver: Driver, service: DocumentService, kind: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        service.render_case_document(driver.case_id, driver.world.actors["mediator"], kind)
    assert caught.value.field in ("index", "confirmation")


def test_transcript_index_picks_the_session_and_refuses_one_not_held(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.assign("mediator3", "recorder")
    driver.fire("mediator", "record_session", place="村委会一楼", record="第一次调解：各执一词")
    driver.wait(days=1)
    driver.fire("mediator", "record_session", place="当事人家中", record="第二次调解：初步和解")
    actor = driver.world.actors["mediator"]
    first = pdf_text(
        service.render_case_document(driver.case_id, actor, "transcript", index=1), tmp_path
    )
    latest = pdf_text(service.render_case_document(driver.case_id, actor, "transcript"), tmp_path)
    assert "村委会一楼" in first
    assert "各执一词" in first
    assert "当事人家中" in latest
    assert "初步和解" in latest
    assert "各执一词" not in latest
    with pytest.raises(InvalidInput, match="只有 2 份调解笔录，没有第 3 份"):
        service.render_case_document(driver.case_id, actor, "transcript", index=3)


def test_r_transcript_the_mediator_is_never_also_the_recorder(
    driver: Driver, service: DocumentService
) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.fire("mediator", "record_session", place="调解室", record="双方陈述")
    actor = driver.world.actors["mediator"]
    with pytest.raises(InvalidInput, match="调解员以外的记录人") as caught:
        service.render_case_document(driver.case_id, actor, "transcript")
    assert caught.value.field == "recorder"
    driver.assign("mediator", "recorder")  # the mediator named recorder too: still refused
    with pytest.raises(InvalidInput, match="调解员以外的记录人"):
        service.render_case_document(driver.case_id, actor, "transcript")


def test_r_transcript_a_central_household_signs_as_such(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    driver.consent_all()
    driver.fire("household", "route_to_grid")
    driver.assign("mediator3", "recorder")
    driver.fire("household", "record_session", place="中心户家中", record="双方各自陈述")
    text = pdf_text(
        service.render_case_document(driver.case_id, driver.world.actors["mediator"], "transcript"),
        tmp_path,
    )
    assert "主持调解陈阿明（中心户）" in text
    assert "中心户（签名）" in text
    assert "记录人郭立新" in text
    assert "调解员（签名）" not in text


def test_the_case_file_is_scoped_like_the_case(driver: Driver, service: DocumentService) -> None:
    with pytest.raises((CaseNotFound, OutOfScope)):
        service.render_case_document(
            driver.case_id, driver.world.actors["outsider"], "registration"
        )


def test_case_file_route_serves_pdf_in_scope_only(api: Api) -> None:
    driver = open_case(api.engine, api.world, api.clock)
    drive_case_file(driver)
    path = f"/api/v1/cases/{driver.case_id}/case-file"
    ok = api.get("mediator", f"{path}/followup", index=1)
    assert ok.status_code == 200, ok.text
    assert ok.headers["content-type"] == "application/pdf"
    assert ok.content.startswith(b"%PDF-")
    assert api.get("outsider", f"{path}/followup").status_code == 404
    assert api.get("mediator", f"{path}/minutes").status_code == 422
    assert api.get("mediator", f"{path}/followup", index=0).status_code == 422
    fresh = open_case(api.engine, api.world, api.clock)
    nothing = api.get("mediator", f"/api/v1/cases/{fresh.case_id}/case-file/transcript")
    assert nothing.status_code == 422
    assert "尚无调解记录" in nothing.json()["detail"]
    # the QR code names version 0 of an unrecorded rendering: the verify page says not found
    documents: DocumentService = api.client.app.state.documents  # type: ignore[attr-defined]
    qr_id = documents.public_id(driver.case_id, "followup", 0)
    assert api.client.get(f"/verify/{qr_id}").status_code == 404


def test_cli_renders_the_registration_form(
    driver: Driver, sa_engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "cli"
    (home / "keys").mkdir(parents=True)
    (home / "keys" / "pii.key").write_text((b"k" * 32).hex())  # the test engine's PII key
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(home))
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", sa_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    output = tmp_path / "registration.pdf"
    try:
        result = CliRunner().invoke(
            app,
            [
                "documents",
                "render",
                str(driver.case_id),
                "-o",
                str(output),
                "--kind",
                "registration",
            ],
        )
        unknown = CliRunner().invoke(
            app, ["documents", "render", str(driver.case_id), "-o", str(output), "--kind", "x"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "未签署、未存档" in result.output.replace("\n", "")
    text = pdf_text(output.read_bytes(), tmp_path)
    assert driver.case.number in text
    assert "登记人杨光明" in text
    assert unknown.exit_code == 2
    assert "未知的文书种类" in unknown.output
    assert Actor.system().user_id is None  # the CLI renders as the system: no PII read to log


def _outline(pdf: bytes) -> list[str]:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    root = PdfFileReader(io.BytesIO(pdf)).root
    titles = []
    item = root["/Outlines"]["/First"] if "/Outlines" in root else None
    while item is not None:
        titles.append(str(item["/Title"]))
        following = item.get("/Next")
        item = following.get_object() if following is not None else None
    return titles


def _embedded(pdf: bytes) -> dict[str, bytes]:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    root = PdfFileReader(io.BytesIO(pdf)).root
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    return {
        str(names[i]): names[i + 1]["/EF"]["/F"].get_object().data for i in range(0, len(names), 2)
    }


def test_r_docs_the_volume_binds_the_papers_in_order_and_r_close_archives_it_once(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    from api.services.case_file import CaseFileService
    from documents import Verdict, verify
    from tests.api.test_documents_service import _payload

    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.assign("mediator3", "recorder")
    driver.fire("mediator", "record_session", place=PLACE, record=RECORD)
    mediator = driver.world.actors["mediator"]
    service.draft_agreement(driver.case_id, mediator, driver.case.version, _payload(driver))
    driver.fire("mediator", "start_signing")
    for party_id in driver.party_ids():
        service.sign_party(driver.case_id, mediator, driver.case.version, party_id)
    service.sign_mediator(driver.case_id, mediator, driver.case.version)
    service.apply_seal(driver.case_id, mediator, driver.case.version)
    driver.apply_confirmation()
    volumes = CaseFileService(service)
    draft = volumes.volume(driver.case_id, mediator)
    assert service.latest(driver.case_id, "case_file") is None  # open case: not archived
    assert "尚未归档" in pdf_text(draft, tmp_path)
    driver.fire("clerk", "accept_application")
    service.issue_ruling(
        driver.case_id,
        driver.world.actors["judge"],
        driver.case.version,
        outcome="confirmed",
        ruling_number="（2026）浙0681民特9号",
        reasoning="调解协议系双方自愿达成，不违反法律规定",
    )
    driver.fire("mediator", "start_followup")
    driver.fire("mediator", "record_visit", performance="performed", satisfaction="satisfied")
    driver.fire("mediator", "close", summary="协议已全部履行，结案")
    volume = volumes.volume(driver.case_id, mediator)
    expected = [
        "人民调解卷宗",
        "卷内目录",
        "人民调解申请书",
        "人民调解受理登记表",
        "当事人权利义务告知书",
        "人民调解笔录（第1次）",
        "人民调解协议书",
        "人民调解回访记录（第1次）",
        "司法确认申请书",
        "民事裁定书",
        "结案报告",
        "卷内备考表",
    ]
    assert _outline(volume) == expected
    text = pdf_text(volume, tmp_path)
    positions = [text.find(title) for title in expected[2:]]
    assert -1 not in positions
    toc = text.partition("卷内目录")[2]
    assert [toc.find(t) for t in expected[2:]] == sorted(toc.find(t) for t in expected[2:])
    assert "卷内第1页" in text
    assert driver.case.number in text
    # the signed original is embedded and its own signatures verify
    originals = _embedded(volume)
    assert sorted(originals) == ["agreement-v5.pdf", "ruling-v1.pdf"]
    for original in originals.values():
        assert verify(original, service.trust_roots, zone=SHANGHAI).verdict is Verdict.VALID
    # the committee seals the volume
    report = verify(volume, service.trust_roots, zone=SHANGHAI)
    assert report.verdict is Verdict.VALID, report.summary_zh
    assert [(s.role, s.signer_name) for s in report.signatures] == [
        (SignerRole.COMMITTEE, COMMITTEE)
    ]
    # write-once: archived at version 1 and served as it was, whatever happens later
    archived = service.versions(driver.case_id, "case_file")
    assert [v.version for v in archived] == [1]
    driver.wait(days=3)
    assert volumes.volume(driver.case_id, driver.world.actors["supervisor"]) == volume
    assert [v.version for v in service.versions(driver.case_id, "case_file")] == [1]


def test_r_docs_the_volume_route_is_scoped_and_pdf(api: Api) -> None:
    driver = open_case(api.engine, api.world, api.clock)
    drive_case_file(driver)
    path = f"/api/v1/cases/{driver.case_id}/case-file.pdf"
    ok = api.get("mediator", path)
    assert ok.status_code == 200, ok.text
    assert ok.headers["content-type"] == "application/pdf"
    assert _outline(ok.content)[:2] == ["人民调解卷宗", "卷内目录"]
    assert api.get("outsider", path).status_code == 404


def test_r_jc_window_the_application_cites_the_agreement_by_its_beijing_date(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    """Sealed at 00:30 on 3 March in Beijing (16:30 UTC the day before): the application
    cites the agreement of 3 March, the day it took effect, never the UTC date."""
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    driver.draft()
    driver.clock.set(datetime(2026, 3, 2, 16, 30, tzinfo=UTC))
    driver.sign_all()
    driver.apply_confirmation()
    pdf = service.render_case_document(
        driver.case_id, driver.world.actors["mediator"], "confirmation_application"
    )
    text = pdf_text(pdf, tmp_path)
    assert "于2026年3月3日经" in text
    assert "2026年3月2日经" not in text


def test_r_close_the_tick_archives_a_closed_cases_volume_once(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    """Whichever door closed the case (here a termination), its 卷宗 is archived soon after,
    not only when someone first asks for it; then it never changes."""
    from api.scheduler import Ticker
    from api.services.case_file import CaseFileService
    from engine.timers import TimerService

    volumes = CaseFileService(service)
    ticker = Ticker(
        driver.engine,
        timers=TimerService(driver.engine),
        dispatcher=None,
        calendar_dir=tmp_path / "calendar",
        archiver=lambda skip: volumes.archive_closed(skip=skip),
    )
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    assert ticker.archive_closed() == []  # open: nothing to archive
    driver.fire("mediator", "terminate", "双方分歧过大", termination_reason="positions_apart")
    ticker.tick()
    assert [v.version for v in service.versions(driver.case_id, "case_file")] == [1]
    assert ticker.archive_closed() == []  # once
    archived = service.latest(driver.case_id, "case_file")
    assert archived is not None
    assert volumes.volume(driver.case_id, driver.world.actors["supervisor"]) == service.read(
        archived.sha256
    )


@rule("R-MINOR")
def test_r_minor_the_legal_representative_is_printed_beside_the_minor(
    engine: MediationEngine, world: World, service: DocumentService, tmp_path: Path
) -> None:
    parent = RepresentativeIntake(name="王建华", id_number=PARENT_ID, relation="父亲")
    opened = engine.open_case(_with_minor(world, parent), world.actors["mediator"])
    pdf = service.render_case_document(opened.case_id, Actor.system(), "registration")
    text = pdf_text(pdf, tmp_path)
    assert "王小明" in text
    assert "法定代理人：王建华（父亲）" in text
