"""R-ESIGN: on the v2 flows each party signs as their own act — after a recorded identity
check (ID shown to the mediator and typed, or a one-time code to their phone), on the version
shown, with an event certificate whose key is destroyed after use — and the mediator cannot
sign for them; the mediator re-enters their password; the seal names who applied it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader

from api.auth import hash_password
from api.authz import build_principal
from api.documents import DocumentService
from api.errors import OwnActRequired
from api.services.own_signing import OwnActSigning
from documents import Verdict, event_of
from engine.errors import InvalidInput
from engine.ports import FixedClock
from mediation.engine import MediationEngine
from tests.api.conftest import PNG, Recording
from tests.flow import Driver, open_case
from tests.world import APPLICANT_ID, RESPONDENT_ID, World


@pytest.fixture
def driver(
    engine: MediationEngine, world: World, clock: FixedClock, service: DocumentService
) -> Driver:
    driver = open_case(engine, world, clock, spec_version=2)
    driver.consent_all()
    driver.fire("mediator", "accept_at_room", room_id=world.units["room"])
    driver.assign("mediator", "mediator")
    actor = world.actors["mediator"]
    service.draft_agreement(
        driver.case_id,
        actor,
        driver.case.version,
        {
            "facts": "被申请人房屋滴水损坏申请人院墙",
            "issues": "修缮费用的承担",
            "responsibilities": driver.responsibilities(),
            "terms": driver.terms(),
        },
    )
    driver.fire("mediator", "start_signing")
    return driver


def _principal(engine: MediationEngine, world: World, key: str):  # type: ignore[no-untyped-def]
    with engine.db.transaction(write=False) as tx:
        return build_principal(tx, world.users[key])


def test_r_esign_mediator_cannot_sign_for_a_party(
    driver: Driver, service: DocumentService, world: World
) -> None:
    first = driver.party_ids()[0]
    before = driver.case.version
    with pytest.raises(OwnActRequired) as refused:
        service.sign_party(driver.case_id, world.actors["mediator"], before, first)
    assert refused.value.code == "own_act_required"
    assert "本人签署" in refused.value.message_zh
    assert driver.case.version == before
    with pytest.raises(OwnActRequired):
        service.sign_mediator(driver.case_id, world.actors["mediator"], before)


def test_r_esign_parties_sign_as_own_act_and_verification_shows_identity_check(
    driver: Driver,
    own: OwnActSigning,
    service: DocumentService,
    engine: MediationEngine,
    world: World,
    sender: Recording,
) -> None:
    mediator = _principal(engine, world, "mediator")
    first, second = driver.party_ids()
    # (a) the ID shown to the mediator, who types it: a wrong number is refused and counted
    _act, token = own.open_party_act(mediator, driver.case_id, first, "kiosk")
    assert APPLICANT_ID not in token
    assert "138" not in token
    with pytest.raises(InvalidInput, match="不符"):
        own.check_id_document(mediator, token, RESPONDENT_ID)
    with pytest.raises(InvalidInput, match="身份核验"):
        own.sign(token, read_and_agreed=True, signature_png=PNG)
    own.check_id_document(mediator, token, APPLICANT_ID.lower())
    with pytest.raises(InvalidInput, match="阅读"):
        own.sign(token, read_and_agreed=False, signature_png=PNG)
    own.sign(token, read_and_agreed=True, signature_png=PNG)
    with pytest.raises(InvalidInput, match="已使用"):  # single use
        own.sign(token, read_and_agreed=True, signature_png=PNG)
    # (b) a one-time code to the party's phone, through the pluggable sender
    _, link = own.open_party_act(mediator, driver.case_id, second, "link")
    assert own.send_code(link) == "139****1111"
    phone, message = sender.sent[-1]
    assert phone == "13900001111"
    code = re.search(r"\d{6}", message)
    assert code is not None
    with engine.db.transaction(write=False) as tx:
        stored = tx.one("SELECT otp_hash FROM signing_acts WHERE party_id = :p", {"p": second})
    assert stored is not None
    assert code.group() not in str(stored[0])
    wrong = "000000" if code.group() != "000000" else "111111"
    with pytest.raises(InvalidInput, match="不正确"):
        own.check_code(link, wrong)
    own.check_code(link, code.group())
    own.sign(link, read_and_agreed=True, signature_png=PNG)
    # the mediator: their own act, password re-entered now
    with engine.db.transaction(write=True) as tx:
        tx.execute(
            "UPDATE users SET password_hash = :h WHERE id = :id",
            {"h": hash_password("正确的密码1"), "id": world.users["mediator"]},
        )
    with pytest.raises(InvalidInput, match="密码不正确"):
        own.sign_as_mediator(mediator, driver.case_id, "wrong")
    own.sign_as_mediator(mediator, driver.case_id, "正确的密码1")
    service.apply_seal(driver.case_id, world.actors["mediator"], driver.case.version)
    assert driver.case.state == "agreement_in_effect"

    latest = service.latest(driver.case_id)
    assert latest is not None
    report = service.verify(latest.sha256)
    assert report.verdict is Verdict.VALID, report.summary_zh
    assert [s.identity_method for s in report.signatures] == [
        "id_document",
        "sms_otp",
        "password",
        None,
    ]
    # no key material of any event certificate remains in the store, the CA folder or the db
    pdf = service.read(latest.sha256)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    events = []
    for sig in reader.embedded_signatures:
        cert = x509.load_der_x509_certificate(sig.signer_cert.dump())
        if event_of(cert) is not None:
            events.append(cert)
    assert len(events) == 3
    files = [p for p in (service.settings.data_dir).rglob("*") if p.is_file()]
    assert not any(
        p.name.endswith(".key.pem") and "signers" in str(p) and _matches(p, events) for p in files
    )
    with engine.db.transaction(write=False) as tx:
        rows = tx.all("SELECT * FROM signing_acts WHERE case_id = :c", {"c": driver.case_id})
    text = repr(rows)
    assert "PRIVATE KEY" not in text
    assert len(rows) == 3
    assert all(r for r in rows)


def _matches(path: Path, certs: list) -> bool:  # type: ignore[type-arg]
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    mine = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return any(
        c.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == mine
        for c in certs
    )
