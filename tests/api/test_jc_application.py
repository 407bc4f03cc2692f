"""R-JC-PACKAGE / R-ESIGN / R-MINOR on the v2 flows: the 司法确认申请书 is the parties' own
act — prepared for the court with the data it needs, signed by each applicant (or their
法定代理人) after a recorded identity check under an event certificate — and only an
application every applicant signed is filed; the mediator cannot sign or file it for them."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from api.authz import Principal, build_principal
from api.demo_signing import sign_as_own_acts
from api.documents import DocumentService
from api.services.jc_application import prepare_application
from api.services.jc_package import confirmation_package
from api.services.own_signing import OwnActSigning
from documents import Verdict
from engine.errors import GuardRejected, InvalidInput, ServiceStepRefused
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from mediation.intake import RepresentativeIntake
from tests.api.conftest import PNG, Recording
from tests.flow import Driver
from tests.rules import rule
from tests.workflows.test_standard_v2 import MINOR_ID, PARENT_ID, _with_minor
from tests.world import APPLICANT_ID, RESPONDENT_ID, World
from workflows.confirmation import APPLICATION


def _principal(engine: MediationEngine, world: World, key: str) -> Principal:
    with engine.db.transaction(write=False) as tx:
        return build_principal(tx, world.users[key])


def _to_signing(driver: Driver, service: DocumentService) -> None:
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=driver.world.units["room"])
    driver.assign("mediator", "mediator")
    service.draft_agreement(
        driver.case_id,
        driver.world.actors["mediator"],
        driver.case.version,
        {
            "facts": "被申请人房屋滴水损坏申请人院墙",
            "issues": "修缮费用的承担",
            "responsibilities": driver.responsibilities(),
            "terms": driver.terms(),
        },
    )
    driver.fire("mediator", "start_signing")


def _text(tmp_path: Path, pdf: bytes) -> str:
    path = tmp_path / "application.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return out.stdout.replace(" ", "")


@rule("R-JC-PACKAGE", "R-ESIGN", "R-JC-WINDOW")
def test_r_jc_package_every_applicant_signs_the_application_themselves_before_it_is_filed(
    engine: MediationEngine,
    world: World,
    clock: FixedClock,
    service: DocumentService,
    own: OwnActSigning,
    sender: Recording,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = engine.open_case(world.intake(spec_version=2), world.actors["mediator"])
    driver = Driver(engine, world, clock, result.case_id)
    _to_signing(driver, service)
    sign_as_own_acts(service, driver.case_id, world.actors["mediator"])
    assert driver.case.state == "agreement_in_effect"
    # R-ESIGN: the seal is the committee's key, applied by a named person, recorded
    [seal] = [
        e
        for e in engine.history(driver.case_id, world.actors["supervisor"])
        if e.trigger == "apply_seal"
    ]
    assert seal.payload["applied_by"] == "杨光明"
    agreement = service.latest(driver.case_id)
    assert agreement is not None
    reader = PdfFileReader(io.BytesIO(service.read(agreement.sha256)), strict=False)
    assert "经办人：杨光明" in str(reader.embedded_signatures[-1].sig_object["/Reason"])
    mediator = _principal(engine, world, "mediator")
    court = world.units["court"]
    first, second = driver.party_ids()

    # the mediator alone cannot apply: no application signed by the parties
    with pytest.raises(GuardRejected) as refused:
        driver.fire("mediator", "apply_confirmation", court_id=court, applicants=[first, second])
    assert refused.value.code == "guard_rejected"
    assert refused.value.guard == "application_signed_by_every_applicant"
    assert "全体申请人本人签名" in refused.value.reason_zh

    prepare_application(
        service, mediator, driver.case_id, driver.case.version, [first, second], court
    )
    text = _text(tmp_path, confirmation_package(service, mediator, driver.case_id))
    assert APPLICANT_ID in text  # the court needs the full numbers (R-JC-PACKAGE)
    assert "13900001111" in text

    # nor can the mediator sign it for a party where a signature is the party's act
    monkeypatch.setattr(engine, "open_services", frozenset())  # as served with documents
    with pytest.raises(ServiceStepRefused):
        engine.fire(
            driver.case_id,
            "sign_confirmation_application",
            world.actors["mediator"],
            driver.case.version,
            {"party_id": first},
        )

    # the first applicant on the kiosk, ID shown to the mediator
    _, token = own.open_party_act(mediator, driver.case_id, first, "kiosk", APPLICATION)
    own.check_id_document(mediator, token, APPLICANT_ID)
    own.sign(token, read_and_agreed=True, signature_png=PNG)
    with pytest.raises(GuardRejected, match="尚未由以下申请人本人签名：李建国"):
        driver.fire("mediator", "apply_confirmation", court_id=court, applicants=[first, second])

    # the second on their own phone, after a one-time code
    _, link = own.open_party_act(mediator, driver.case_id, second, "link", APPLICATION)
    own.send_code(link)
    _phone, message = sender.sent[-1]
    assert "司法确认申请书" in message
    code = re.search(r"\d{6}", message)
    assert code is not None
    own.check_code(link, code.group())
    own.sign(link, read_and_agreed=True, signature_png=PNG)

    case = driver.fire("mediator", "apply_confirmation", court_id=court, applicants=[first, second])
    assert case.state == "jc_applied"
    filed = case.data["confirmation"]
    latest = service.latest(driver.case_id, APPLICATION)
    assert latest is not None
    assert filed["application_version"] == latest.version == 3
    assert set(filed["application_signatures"]) == {str(first), str(second)}
    # what the court receives is the very PDF both applicants signed, with how each was checked
    assert confirmation_package(service, mediator, driver.case_id) == service.read(latest.sha256)
    report = service.verify(latest.sha256)
    assert report.verdict is Verdict.VALID, report.summary_zh
    assert [s.identity_method for s in report.signatures] == ["id_document", "sms_otp"]

    # withdrawn: that paper is spent; applying again needs a newly signed application
    driver.fire("mediator", "withdraw_application", reason="双方同意补充材料后再申请")
    with pytest.raises(GuardRejected, match="请先制作司法确认申请书"):
        driver.fire("mediator", "apply_confirmation", court_id=court, applicants=[first, second])


@rule("R-MINOR", "R-ESIGN")
def test_r_minor_the_representative_signs_in_person_and_a_16_year_old_cannot_sign_alone(
    engine: MediationEngine,
    world: World,
    clock: FixedClock,
    service: DocumentService,
    own: OwnActSigning,
) -> None:
    parent = RepresentativeIntake(name="王建华", id_number=PARENT_ID, relation="父亲")
    result = engine.open_case(_with_minor(world, parent), world.actors["mediator"])
    driver = Driver(engine, world, clock, result.case_id)
    _to_signing(driver, service)
    mediator = _principal(engine, world, "mediator")
    minor, other = driver.party_ids()
    act, token = own.open_party_act(mediator, driver.case_id, minor, "kiosk")
    assert (act.signer_name, act.capacity) == ("王建华", "法定代理人")
    with pytest.raises(InvalidInput, match="不符"):  # the 16-year-old's own ID signs nothing
        own.check_id_document(mediator, token, MINOR_ID)
    with pytest.raises(InvalidInput, match="身份证件"):  # no code to a phone for a minor
        own.send_code(token)
    own.check_id_document(mediator, token, PARENT_ID)
    own.sign(token, read_and_agreed=True, signature_png=PNG)
    _, token = own.open_party_act(mediator, driver.case_id, other, "kiosk")
    own.check_id_document(mediator, token, RESPONDENT_ID)
    own.sign(token, read_and_agreed=True, signature_png=PNG)
    with engine.db.transaction(write=False) as tx:
        signed = {s.party_id: s.signer_name for s in tx.signatures(driver.case_id)}
    assert signed[minor] == "王建华"
    latest = service.latest(driver.case_id)
    assert latest is not None
    report = service.verify(latest.sha256)
    assert report.signatures[0].identity_method == "id_document"


@rule("R-MINOR")
def test_r_minor_a_session_is_recorded_only_with_the_representative_present(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    parent = RepresentativeIntake(name="王建华", id_number=PARENT_ID, relation="父亲")
    result = engine.open_case(_with_minor(world, parent), world.actors["mediator"])
    driver = Driver(engine, world, clock, result.case_id)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=world.units["room"])
    driver.assign("mediator", "mediator")
    session: dict[str, Any] = {
        "place": "调解室",
        "record": "双方陈述",
        "read_back": True,
        "signed_by": driver.party_ids(),
    }
    with pytest.raises(GuardRejected, match="王小明的法定代理人王建华") as caught:
        driver.fire("mediator", "record_session", attendees=["王小明", "李建国"], **session)
    assert caught.value.guard == "representatives_attended"
    driver.fire("mediator", "record_session", attendees=["王建华", "王小明", "李建国"], **session)
    with engine.db.transaction(write=False) as tx:
        held = tx.one(
            "SELECT COUNT(*) FROM mediation_sessions WHERE case_id = :c", {"c": driver.case_id}
        )
    assert held is not None
    assert held[0] == 1
