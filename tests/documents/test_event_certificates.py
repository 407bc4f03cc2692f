"""R-ESIGN: event certificates. Each act of signing gets a fresh key whose certificate binds
the exact bytes shown to the signer and how their identity was checked; the key is never
written anywhere and is dropped after the one signature; verification reports the identity
check per signature and refuses a certificate bound to other bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from documents import (
    CertificateAuthority,
    IssuedSigner,
    SignerRole,
    SigningEvent,
    Verdict,
    event_of,
    sign,
    verify,
)
from engine.calendar import SHANGHAI
from tests.documents.samples import BRANDING, LI, MEDIATOR, ZHANG


def _event(
    ca: CertificateAuthority,
    pdf: bytes,
    name: str,
    role: SignerRole,
    act: int,
    method: str,
    **extra: str,
) -> IssuedSigner:
    event = SigningEvent(
        act=act,
        document_sha256=hashlib.sha256(pdf).hexdigest(),
        document_length=len(pdf),
        identity_method=method,
        **extra,
    )
    return ca.issue_event(name, role, event)


def _sign_once(pdf: bytes, signer: IssuedSigner) -> bytes:
    signed = sign(pdf, signer, zone=SHANGHAI)
    signer.destroy_key()
    return signed


@pytest.fixture
def event_ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.development(tmp_path / "ca")


def test_r_esign_event_certificates_verify_with_identity_method(
    agreement_pdf: bytes, event_ca: CertificateAuthority
) -> None:
    ca = event_ca
    pdf = agreement_pdf
    pdf = _sign_once(pdf, _event(ca, pdf, ZHANG.name, SignerRole.PARTY, 1, "id_document"))
    pdf = _sign_once(
        pdf,
        _event(
            ca,
            pdf,
            LI.name,
            SignerRole.PARTY,
            2,
            "sms_otp",
            signed_by="李母",
            capacity="法定代理人",
        ),
    )
    pdf = _sign_once(pdf, _event(ca, pdf, MEDIATOR.name, SignerRole.MEDIATOR, 3, "password"))
    seal = ca.issue(BRANDING.seal, SignerRole.COMMITTEE, organisation=BRANDING.committee_name)
    pdf = sign(pdf, seal, zone=SHANGHAI)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert report.verdict is Verdict.VALID, report.summary_zh
    methods = [s.identity_method for s in report.signatures]
    assert methods == ["id_document", "sms_otp", "password", None]
    assert all(s.bound_to_document for s in report.signatures[:3])
    assert "出示身份证件" in report.signatures[0].summary_zh
    assert "由法定代理人李母本人签署" in report.signatures[1].summary_zh
    assert "手机短信验证码" in report.signatures[1].summary_zh


def test_r_esign_event_key_is_never_stored_and_destroyed_after_use(
    agreement_pdf: bytes, event_ca: CertificateAuthority
) -> None:
    ca = event_ca
    before = {p: p.read_bytes() for p in ca.signer_dir.rglob("*")} if ca.signer_dir.exists() else {}
    signer = _event(ca, agreement_pdf, ZHANG.name, SignerRole.PARTY, 7, "id_document")
    public = signer.certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _sign_once(agreement_pdf, signer)
    assert signer.key_destroyed
    with pytest.raises(AttributeError):
        _ = signer.private_key
    # nothing new on disk next to the CA, and nothing cached in the authority
    after = {p: p.read_bytes() for p in ca.signer_dir.rglob("*")} if ca.signer_dir.exists() else {}
    assert after == before
    assert all(i.certificate != signer.certificate for i in ca._issued.values())
    for path in (ca.signer_dir.parent).rglob("*"):
        if path.is_file():
            assert public not in path.read_bytes()


def test_r_esign_event_certificate_bound_to_other_bytes_is_invalid(
    agreement_pdf: bytes, event_ca: CertificateAuthority
) -> None:
    ca = event_ca
    other = agreement_pdf + b"\n% another version\n"
    signer = _event(ca, other, ZHANG.name, SignerRole.PARTY, 9, "id_document")
    pdf = _sign_once(agreement_pdf, signer)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    first = report.signatures[0]
    assert first.bound_to_document is False
    assert not first.ok
    assert "绑定的文书" in first.state_zh
    assert event_of(signer.certificate) is not None
