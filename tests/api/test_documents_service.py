"""The document service against the law: a real agreement is rendered, signed in turn by both
parties, the mediator and the committee seal, recorded as a version chain, and verified by
our verifier and by poppler's pdfsig; refused steps change nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.documents import DocumentService
from api.documents.core import check_environment
from documents import (
    AlreadySigned,
    ElectronicSignatureExcluded,
    FontUnavailable,
    NotASignatory,
    SigningOutOfOrder,
    signing_plan,
)
from engine.errors import ConcurrentUpdate, InvalidInput
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.flow import Driver, open_case
from tests.world import APPLICANT_ID, World
from workflows.kinds import AGREEMENT, AGREEMENT_SCAN


def _payload(driver: Driver) -> dict[str, object]:
    return {
        "facts": "被申请人房屋滴水损坏申请人院墙",
        "issues": "修缮费用的承担；修缮期限",
        "responsibilities": driver.responsibilities(),
        "terms": driver.terms(),
    }


def _in_room(driver: Driver) -> None:
    """A case mediated in a personal-brand room, ready for its agreement."""
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")


def _draft(driver: Driver, service: DocumentService) -> None:
    actor = driver.world.actors["mediator"]
    service.draft_agreement(driver.case_id, actor, driver.case.version, _payload(driver))
    driver.fire("mediator", "start_signing")


def _sign_parties(driver: Driver, service: DocumentService) -> None:
    for party_id in driver.party_ids():
        service.sign_party(
            driver.case_id, driver.world.actors["mediator"], driver.case.version, party_id
        )


def _snapshot(driver: Driver) -> tuple[int, list[tuple[object, ...]], list[tuple[object, ...]]]:
    with driver.engine.db.engine.connect() as connection:
        documents = connection.execute(
            sa.text("SELECT id, kind, version, sha256 FROM documents WHERE case_id = :c"),
            {"c": driver.case_id},
        ).all()
        signatures = connection.execute(
            sa.text("SELECT id, signer_kind FROM signatures WHERE case_id = :c"),
            {"c": driver.case_id},
        ).all()
    return driver.case.version, [tuple(r) for r in documents], [tuple(r) for r in signatures]


@pytest.fixture
def driver(engine: MediationEngine, world: World, clock: FixedClock) -> Driver:
    return open_case(engine, world, clock)


def test_r_agreement_effect_four_signatures_verify_in_ours_and_pdfsig(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    _in_room(driver)
    _draft(driver, service)
    _sign_parties(driver, service)
    mediator = driver.world.actors["mediator"]
    service.sign_mediator(driver.case_id, mediator, driver.case.version)
    assert driver.case.agreement_effective_at is None  # never before the seal
    service.apply_seal(driver.case_id, mediator, driver.case.version)
    case = driver.case
    assert case.state == "agreement_in_effect"
    assert case.agreement_effective_at == driver.clock.now()

    latest = service.latest(driver.case_id)
    assert latest is not None
    report = service.verify(latest.sha256)
    assert report.ok, report.summary_zh
    assert report.complete
    assert [(s.signer_name, s.role) for s in report.signatures] == [
        ("王秀英", "party"),
        ("李建国", "party"),
        ("杨光明", "mediator"),
        ("枫源村人民调解委员会", "committee"),  # R-SEAL: the room's parent committee seals
    ]
    # the seal claims the time the engine recorded: the agreement's date is that day
    assert report.signatures[-1].signing_time == case.agreement_effective_at
    if shutil.which("pdfsig") is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    path = tmp_path / "agreement.pdf"
    path.write_bytes(service.read(latest.sha256))
    done = subprocess.run(
        ["pdfsig", str(path)], capture_output=True, text=True, check=False, timeout=60
    )
    out = done.stdout + done.stderr
    assert out.count("Signature is Valid.") == 4, out
    assert out.count("Total document signed") == 1, out


def test_agreement_versions_form_a_chain_and_nothing_is_overwritten(
    driver: Driver, service: DocumentService
) -> None:
    _in_room(driver)
    mediator = driver.world.actors["mediator"]
    service.draft_agreement(driver.case_id, mediator, driver.case.version, _payload(driver))
    revised = {
        **_payload(driver),
        "responsibilities": [
            {"party_id": p, "responsibility": "双方各自承担一半责任"} for p in driver.party_ids()
        ],
    }
    service.revise_agreement(driver.case_id, mediator, driver.case.version, revised)
    driver.fire("mediator", "start_signing")
    _sign_parties(driver, service)
    service.sign_mediator(driver.case_id, mediator, driver.case.version)
    service.apply_seal(driver.case_id, mediator, driver.case.version)

    versions = service.versions(driver.case_id)
    assert [v.version for v in versions] == [1, 2, 3, 4, 5, 6]  # draft, revision, 4 signatures
    assert [v.parent_id for v in versions] == [None, *(v.id for v in versions[:-1])]
    assert len({v.sha256 for v in versions}) == 6
    for version in versions:  # every version is still there, unchanged (get checks the digest)
        assert service.read(version.sha256)
    plans = [signing_plan(service.read(v.sha256)) for v in versions]
    assert [sum(s.signed for s in plan) for plan in plans] == [0, 0, 1, 2, 3, 4]
    with driver.engine.db.transaction(write=False) as tx:
        linked = tx.signature_documents(driver.case_id)
    assert linked == [
        ("party", driver.party_ids()[0], versions[2].id),
        ("party", driver.party_ids()[1], versions[3].id),
        ("mediator", None, versions[4].id),
        ("seal", None, versions[5].id),
    ]
    assert driver.case.data["agreement"]["document_version"] == 2
    events = driver.engine.history(driver.case_id, driver.world.actors["supervisor"])
    recorded = [e.payload.get("document_sha256") for e in events if "document_sha256" in e.payload]
    assert recorded == [v.sha256 for v in versions]  # the audit chain covers every digest


def test_signing_out_of_order_twice_or_by_a_non_signatory_changes_nothing(
    driver: Driver, service: DocumentService
) -> None:
    _in_room(driver)
    _draft(driver, service)
    mediator = driver.world.actors["mediator"]
    applicant, respondent = driver.party_ids()

    before = _snapshot(driver)
    with pytest.raises(SigningOutOfOrder, match="应先由申请人王秀英签署"):
        service.sign_mediator(driver.case_id, mediator, driver.case.version)
    with pytest.raises(SigningOutOfOrder, match="应先由申请人王秀英签署"):
        service.apply_seal(driver.case_id, mediator, driver.case.version)
    with pytest.raises(SigningOutOfOrder):
        service.sign_party(driver.case_id, mediator, driver.case.version, respondent)
    with pytest.raises(InvalidInput, match="不是本案当事人"):
        service.sign_party(driver.case_id, mediator, driver.case.version, 99999)
    assert _snapshot(driver) == before

    service.sign_party(driver.case_id, mediator, driver.case.version, applicant)
    before = _snapshot(driver)
    with pytest.raises(AlreadySigned, match="王秀英已经签署过"):
        service.sign_party(driver.case_id, mediator, driver.case.version, applicant)
    assert _snapshot(driver) == before

    service.sign_party(driver.case_id, mediator, driver.case.version, respondent)
    before = _snapshot(driver)
    with pytest.raises(NotASignatory, match="郭立新（调解员）不是本文书的签署人"):
        service.sign_mediator(driver.case_id, driver.world.actors["mediator3"], before[0])
    with pytest.raises(ConcurrentUpdate):
        service.sign_mediator(driver.case_id, mediator, before[0] - 1)
    assert _snapshot(driver) == before
    service.sign_mediator(driver.case_id, mediator, driver.case.version)
    assert len(_snapshot(driver)[2]) == 3


def test_r_esign_exclude_inheritance_is_signed_on_paper_and_sealed_in_ink(
    engine: MediationEngine, world: World, clock: FixedClock, service: DocumentService
) -> None:
    driver = open_case(engine, world, clock, category_code="inheritance")
    _in_room(driver)
    _draft(driver, service)
    mediator = world.actors["mediator"]
    [printed] = service.versions(driver.case_id)
    assert signing_plan(service.read(printed.sha256)) == ()  # no e-signature fields at all
    before = _snapshot(driver)
    with pytest.raises(ElectronicSignatureExcluded, match="电子签名法第三条"):
        service.sign_party(driver.case_id, mediator, driver.case.version, driver.party_ids()[0])
    with pytest.raises(ElectronicSignatureExcluded):
        service.apply_seal(driver.case_id, mediator, driver.case.version)
    with pytest.raises(InvalidInput, match="PDF"):
        service.sign_on_paper(driver.case_id, mediator, driver.case.version, "apply_seal", b"x")
    with pytest.raises(InvalidInput, match="纸质签署只适用于"):
        service.sign_on_paper(driver.case_id, mediator, driver.case.version, "close", b"%PDF-")
    assert _snapshot(driver) == before

    scans = [service.renderer.html_to_pdf(f"<p>扫描件第{n}版</p>") for n in range(3)]
    for party_id, scan in zip(driver.party_ids(), scans, strict=False):
        service.sign_on_paper(
            driver.case_id, mediator, driver.case.version, "sign_party", scan, party_id=party_id
        )
    service.sign_on_paper(driver.case_id, mediator, driver.case.version, "sign_mediator", scans[2])
    service.sign_on_paper(driver.case_id, mediator, driver.case.version, "apply_seal", scans[2])
    assert driver.case.state == "agreement_in_effect"

    scanned = service.versions(driver.case_id, AGREEMENT_SCAN)
    assert [(v.version, v.sha256) for v in scanned] == [
        (1, service.store.put(scans[0])),
        (2, service.store.put(scans[1])),
        (3, service.store.put(scans[2])),
    ]
    assert [v.parent_id for v in scanned] == [None, scanned[0].id, scanned[1].id]
    assert service.versions(driver.case_id, AGREEMENT) == [printed]  # the print is untouched
    with engine.db.transaction(write=False) as tx:
        methods = [s.method for s in tx.signatures(driver.case_id)]
        linked = [d for _, _, d in tx.signature_documents(driver.case_id)]
    assert methods == ["paper"] * 4
    assert linked == [scanned[0].id, scanned[1].id, scanned[2].id, scanned[2].id]


def test_r_pii_drafting_decrypts_ids_for_the_document_and_logs_it(
    driver: Driver, service: DocumentService
) -> None:
    _in_room(driver)
    _draft(driver, service)
    [draft] = service.versions(driver.case_id)
    assert draft.version == 1
    with driver.engine.db.engine.connect() as connection:
        logged = connection.execute(
            sa.text("SELECT user_id, fields FROM pii_access_log WHERE case_id = :c"),
            {"c": driver.case_id},
        ).all()
    assert [tuple(r) for r in logged] == [
        (driver.world.users["mediator"], "id_number,phone"),
        (driver.world.users["mediator"], "id_number,phone"),
    ]
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(
        ["pdftotext", "-", "-"],
        input=service.read(draft.sha256),
        capture_output=True,
        check=True,
        timeout=60,
    )
    text = done.stdout.decode()
    assert APPLICANT_ID in text  # R-AGREEMENT-FIELDS: the full number, as the law requires
    assert "13812341234" in text
    assert "枫源村人民调解委员会老杨调解工作室" in text  # the room's own name is printed


def test_a_bad_draft_is_refused_before_anything_is_rendered(
    driver: Driver, service: DocumentService
) -> None:
    _in_room(driver)
    version = driver.case.version
    bad = {**_payload(driver), "terms": [{**driver.terms()[0], "obligor": 99999}]}
    with pytest.raises(InvalidInput, match="第1条：义务人须为本案当事人"):
        service.draft_agreement(driver.case_id, driver.world.actors["mediator"], version, bad)
    assert driver.case.version == version
    assert service.store.digests() == []


def test_check_environment_refuses_without_the_cjk_font() -> None:
    check_environment()  # this machine has Noto Serif CJK SC and HarfBuzz subsetting
    with pytest.raises(FontUnavailable, match=r"未找到中文字体.*fonts-noto-cjk"):
        check_environment("Fengqiao Missing Serif SC")


def _in_effect(driver: Driver, service: DocumentService) -> None:
    _in_room(driver)
    _draft(driver, service)
    _sign_parties(driver, service)
    mediator = driver.world.actors["mediator"]
    service.sign_mediator(driver.case_id, mediator, driver.case.version)
    service.apply_seal(driver.case_id, mediator, driver.case.version)


def _apply_and_accept(driver: Driver) -> None:
    world = driver.world
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=world.units["court"],
        applicants=driver.party_ids(),
    )
    driver.fire("clerk", "accept_application")


def test_r_jc_track_the_court_signs_its_ruling_and_the_case_records_it(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    _in_effect(driver, service)
    _apply_and_accept(driver)
    judge = driver.world.actors["judge"]
    service.issue_ruling(
        driver.case_id,
        judge,
        driver.case.version,
        outcome="confirmed",
        ruling_number="（2026）浙0681民特1号",
        reasoning="调解协议系双方自愿达成，内容不违反法律规定。",
    )
    case = driver.case
    assert case.state == "confirmed"
    assert case.data["confirmation"]["ruling_version"] == 1
    ruling = service.latest(driver.case_id, "ruling")
    assert ruling is not None
    report = service.verify(ruling.sha256)
    assert report.ok, report.summary_zh
    assert [(s.signer_name, s.role) for s in report.signatures] == [
        ("诸暨市人民法院枫桥人民法庭", "court")
    ]
    pdf = tmp_path / "ruling.pdf"
    pdf.write_bytes(service.read(ruling.sha256))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = text.replace(" ", "").replace("\n", "")
    for expected in (
        "民事裁定书",
        "（2026）浙0681民特1号",
        "王秀英",
        "李建国",
        "赵法官",
        "吴书记员",
    ):
        assert expected in flat, expected
    assert case.number in flat
    assert "调解工作室" not in flat  # a court document carries no room's branding


def test_r_jc_track_a_rejection_needs_a_ground_and_changes_nothing_without_one(
    driver: Driver, service: DocumentService
) -> None:
    _in_effect(driver, service)
    _apply_and_accept(driver)
    before = _snapshot(driver)
    judge = driver.world.actors["judge"]
    with pytest.raises(InvalidInput, match="驳回须写明理由"):
        service.issue_ruling(
            driver.case_id,
            judge,
            driver.case.version,
            outcome="rejected",
            ruling_number="（2026）浙0681民特2号",
            reasoning="协议内容不明确。",
        )
    assert _snapshot(driver) == before
    service.issue_ruling(
        driver.case_id,
        judge,
        driver.case.version,
        outcome="rejected",
        ruling_number="（2026）浙0681民特2号",
        reasoning="协议第一项履行内容不明确。",
        ground="unclear",
    )
    case = driver.case
    assert (case.state, case.data["confirmation"]["ground"]) == ("jc_rejected", "unclear")
    assert case.data["confirmation"]["ruling_version"] == 1


def test_r_seal_the_committee_that_mediates_seals_and_the_number_stays(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    """A case registered by one committee and mediated by another: the mediating committee
    makes and seals the agreement, the case keeps its number, and the paper names both."""
    number = driver.case.number
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["other_committee"])
    driver.fire(
        "supervisor",
        "assign",
        user_id=driver.world.users["outsider"],
        role="mediator",
        parties_consented=True,
    )
    outsider = driver.world.actors["outsider"]
    service.draft_agreement(driver.case_id, outsider, driver.case.version, _payload(driver))
    latest = service.latest(driver.case_id)
    assert latest is not None
    plan = signing_plan(service.read(latest.sha256))
    assert [(s.role.value, s.name) for s in plan][2:] == [
        ("mediator", "外村调解员"),
        ("committee", "东溪村人民调解委员会"),
    ]
    path = tmp_path / "moved.pdf"
    path.write_bytes(service.read(latest.sha256))
    text = "".join(
        subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout.split()
    )
    assert driver.case.number == number
    assert f"编号：{number}" in text
    assert "本纠纷由枫源村人民调解委员会受理登记（编号不变），移送" in text
    assert "中心户" not in text.partition("各方责任")[0]  # no 中心户 as the agreement's mediator


def test_r_agreement_effect_a_party_may_press_a_thumbprint_but_only_an_organisation_seals(
    driver: Driver, service: DocumentService
) -> None:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    _in_room(driver)
    _draft(driver, service)
    applicant, respondent = driver.party_ids()[:2]
    mediator = driver.world.actors["mediator"]
    service.sign_party(driver.case_id, mediator, driver.case.version, applicant, mark="thumbprint")
    with pytest.raises(InvalidInput, match="只有单位当事人可以盖章") as caught:
        service.sign_party(driver.case_id, mediator, driver.case.version, respondent, mark="seal")
    assert caught.value.field == "mark"
    latest = service.latest(driver.case_id)
    assert latest is not None
    reader = PdfFileReader(io.BytesIO(service.read(latest.sha256)))
    (signature,) = reader.embedded_signatures
    assert str(signature.sig_object["/Reason"]) == "申请人按指印"


def test_r_jc_track_a_ruling_reads_as_a_court_paper(
    driver: Driver, service: DocumentService, tmp_path: Path
) -> None:
    """Both joint applicants are 申请人, the 书记员 is a court clerk even when the judge
    accepted the application, dates are Chinese, sentences end, the author is the court."""
    _in_effect(driver, service)
    driver.fire(
        "mediator",
        "apply_confirmation",
        court_id=driver.world.units["court"],
        applicants=driver.party_ids(),
    )
    driver.fire("judge", "accept_application")  # the judge, not the clerk, accepted it
    service.issue_ruling(
        driver.case_id,
        driver.world.actors["judge"],
        driver.case.version,
        outcome="rejected",
        ruling_number="（2026）浙0681民特3号",
        reasoning="协议内容不明确",
        ground="unclear",
    )
    ruling = service.latest(driver.case_id, "ruling")
    assert ruling is not None
    pdf = tmp_path / "ruling.pdf"
    pdf.write_bytes(service.read(ruling.sha256))
    text = "".join(
        subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout.split()
    )
    assert "申请人：王秀英" in text
    assert "申请人：李建国" in text
    assert "被申请人" not in text
    layout = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert re.search(r"书记员\s+吴书记员", layout), layout  # the court's clerk
    assert re.search(r"审判员\s+赵法官", layout)
    assert not re.search(r"书记员\s+赵法官", layout)
    assert "本院认为，协议内容不明确。" in text
    assert "2026年4月1日前" in text  # the term's deadline, in Chinese
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, text=True)
    assert "Author:          诸暨市人民法院枫桥人民法庭" in info.stdout
