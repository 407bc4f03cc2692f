"""The whole verdict (R-AGREEMENT-EFFECT, R-ESIGN): a document is valid only when the whole
plan is signed, in order, by the right people; a file cut back at an earlier %%EOF is
incomplete, signatures applied in the wrong order (by a tool that ignores our plan) are out
of order, and a foreign certificate makes it invalid — here and against pdfsig's view."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from documents import (
    CertificateAuthority,
    IssuedSigner,
    Renderer,
    SignerRole,
    Verdict,
    VerificationError,
    sign,
    verify,
)
from documents.signing import _pyhanko_signer
from engine.calendar import SHANGHAI
from tests.documents.conftest import run_tool, write
from tests.documents.samples import BRANDING, RULING


def force_sign(pdf: bytes, signer: IssuedSigner, field: str, *, certify: bool) -> bytes:
    """Sign `field` with pyHanko directly, as an attacker's tool would: no plan, no order."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter

    meta = signers.PdfSignatureMetadata(
        field_name=field,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = signers.PdfSigner(meta, _pyhanko_signer(signer)).sign_pdf(writer)
    return bytes(out.getvalue())


def revisions(pdf: bytes) -> list[bytes]:
    """Every earlier state of the file: cut after each %%EOF (what a careless copy keeps)."""
    ends = [m.end() for m in re.finditer(rb"%%EOF\r?\n?", pdf)]
    return [pdf[:end] for end in ends]


def test_r_agreement_effect_every_earlier_revision_is_incomplete(
    signed_agreement: bytes, ca: CertificateAuthority
) -> None:
    cuts = revisions(signed_agreement)
    assert len(cuts) == 5  # rendered + four signatures
    assert verify(cuts[-1], ca.trust_roots, zone=SHANGHAI).verdict is Verdict.VALID
    missing = ["甲方张三", "乙方李四", "调解员修丽君", "调解委员会印章枫桥镇人民调解委员会"]
    for signed, cut in enumerate(cuts[:-1]):
        report = verify(cut, ca.trust_roots, zone=SHANGHAI)
        assert report.verdict is Verdict.INCOMPLETE, report.summary_zh
        assert not report.ok
        assert [s.display for s in report.unsigned] == missing[signed:]
        assert "核验结论：签署未完成" in report.headline_zh
        assert "全部签名有效" not in report.summary_zh
        assert Verdict.INCOMPLETE.exit_code == 3


def test_r_agreement_effect_seal_cut_off_is_incomplete_not_valid(
    signed_agreement: bytes, ca: CertificateAuthority
) -> None:
    without_seal = revisions(signed_agreement)[-2]
    report = verify(without_seal, ca.trust_roots, zone=SHANGHAI)
    assert report.verdict is Verdict.INCOMPLETE
    assert "尚缺签署：调解委员会印章枫桥镇人民调解委员会" in report.headline_zh
    assert "协议书方发生效力" in report.headline_zh


def test_r_esign_seal_first_certifying_is_out_of_order(
    agreement_pdf: bytes,
    agreement_signers: tuple[IssuedSigner, ...],
    ca: CertificateAuthority,
    tmp_path: Path,
) -> None:
    zhang, li, mediator, seal = agreement_signers
    pdf = force_sign(agreement_pdf, seal, "sig04_committee", certify=True)
    pdf = force_sign(pdf, zhang, "sig01_party", certify=False)
    pdf = force_sign(pdf, li, "sig02_party", certify=False)
    pdf = force_sign(pdf, mediator, "sig03_mediator", certify=False)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert report.complete
    assert report.verdict is Verdict.OUT_OF_ORDER, report.summary_zh
    assert report.order_found_zh.startswith("调解委员会印章枫桥镇人民调解委员会→甲方张三")
    assert "实际顺序" in report.headline_zh
    assert "应有顺序：甲方张三→乙方李四→调解员修丽君→调解委员会印章" in report.headline_zh
    # pdfsig checks each signature alone: four valid ones, nothing about their order
    out = run_tool("pdfsig", str(write(tmp_path, "reordered.pdf", pdf)))
    assert out.count("Signature is Valid.") == 4


def test_r_esign_seal_second_is_out_of_order(
    agreement_pdf: bytes, agreement_signers: tuple[IssuedSigner, ...], ca: CertificateAuthority
) -> None:
    zhang, li, mediator, seal = agreement_signers
    pdf = sign(agreement_pdf, zhang, zone=SHANGHAI)
    pdf = force_sign(pdf, seal, "sig04_committee", certify=False)
    pdf = force_sign(pdf, li, "sig02_party", certify=False)
    pdf = force_sign(pdf, mediator, "sig03_mediator", certify=False)
    assert verify(pdf, ca.trust_roots, zone=SHANGHAI).verdict is Verdict.OUT_OF_ORDER


def test_r_esign_mediator_and_seal_without_parties_is_out_of_order(
    agreement_pdf: bytes, agreement_signers: tuple[IssuedSigner, ...], ca: CertificateAuthority
) -> None:
    _, _, mediator, seal = agreement_signers
    pdf = force_sign(agreement_pdf, mediator, "sig03_mediator", certify=True)
    pdf = force_sign(pdf, seal, "sig04_committee", certify=False)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert report.verdict is Verdict.OUT_OF_ORDER
    assert "尚缺签署：甲方张三、乙方李四" in report.headline_zh
    assert Verdict.OUT_OF_ORDER.exit_code == 4


def test_r_esign_wrong_role_in_a_slot_is_invalid(
    agreement_pdf: bytes, ca: CertificateAuthority
) -> None:
    impostor = ca.issue("张三", SignerRole.MEDIATOR)  # the right name, the wrong role
    pdf = force_sign(agreement_pdf, impostor, "sig01_party", certify=True)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert report.verdict is Verdict.INVALID
    assert "签名人与签名栏不符" in report.headline_zh


def test_r_esign_first_signature_not_certifying_is_invalid(
    agreement_pdf: bytes, agreement_signers: tuple[IssuedSigner, ...], ca: CertificateAuthority
) -> None:
    pdf = force_sign(agreement_pdf, agreement_signers[0], "sig01_party", certify=False)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert report.verdict is Verdict.INVALID
    assert "未作认证签名" in report.headline_zh


def test_r_esign_foreign_certificates_are_invalid_in_ours_and_pdfsig(
    agreement_pdf: bytes, ca: CertificateAuthority, tmp_path: Path
) -> None:
    foreign = CertificateAuthority.development(tmp_path / "foreign")
    pdf = agreement_pdf
    for name, role in (
        ("张三", SignerRole.PARTY),
        ("李四", SignerRole.PARTY),
        ("修丽君", SignerRole.MEDIATOR),
        (BRANDING.seal, SignerRole.COMMITTEE),
    ):
        pdf = sign(pdf, foreign.issue(name, role), zone=SHANGHAI)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert report.verdict is Verdict.INVALID
    assert report.headline_zh.count("证书不是受信任机构签发") == 4
    out = run_tool("pdfsig", str(write(tmp_path, "foreign.pdf", pdf)))
    # poppler, given no trust store of ours, cannot tell a foreign CA from ours at all:
    assert out.count("Signature is Valid.") == 4


def test_r_esign_pdfsig_agrees_that_a_truncated_file_has_fewer_signatures(
    signed_agreement: bytes, ca: CertificateAuthority, tmp_path: Path
) -> None:
    cut = revisions(signed_agreement)[2]
    out = run_tool("pdfsig", str(write(tmp_path, "cut.pdf", cut)))
    assert out.count("Signature is Valid.") == 2  # poppler sees two good signatures …
    report = verify(cut, ca.trust_roots, zone=SHANGHAI)
    assert len(report.signatures) == 2  # … and so do we, but we know two are missing
    assert report.verdict is Verdict.INCOMPLETE


def test_hostile_input_is_one_error_without_tracebacks(
    signed_agreement: bytes, ca: CertificateAuthority, caplog: pytest.LogCaptureFixture
) -> None:
    broken = signed_agreement.replace(b"/ByteRange", b"/ByteRangX", 1)
    mangled = signed_agreement[: len(signed_agreement) // 2] + b"garbage" * 40
    caplog.set_level(logging.DEBUG)
    outcomes = []
    for data in (broken, mangled, b"%PDF-1.7\n%%EOF", b"not a pdf"):
        try:
            outcomes.append(verify(data, ca.trust_roots, zone=SHANGHAI).verdict.value)
        except VerificationError as exc:
            outcomes.append(exc.code)
    assert outcomes == ["document_unreadable"] * 4
    assert not [r for r in caplog.records if r.name.startswith("pyhanko") and r.exc_info]


def test_r_jc_track_ruling_signed_by_the_court_is_valid(
    renderer: Renderer, ca: CertificateAuthority
) -> None:
    pdf = renderer.render(RULING, BRANDING, document_id="RUL-1")
    unsigned = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert unsigned.verdict is Verdict.INCOMPLETE
    assert "协议" not in unsigned.headline_zh  # a ruling is worded as a ruling
    assert "民事裁定书" in unsigned.headline_zh
    court = ca.issue(RULING.court, SignerRole.COURT, organisation=RULING.court)
    report = verify(sign(pdf, court, zone=SHANGHAI), ca.trust_roots, zone=SHANGHAI)
    assert report.verdict is Verdict.VALID, report.summary_zh
    assert report.kind == "ruling"
