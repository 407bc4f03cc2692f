"""Signing in order and verifying: four signatures on an agreement hold in our verifier and in
poppler's pdfsig; byte edits break the digest; unsigned incremental updates (a white box
over a term, a changed amount, swapped pages) are caught by our difference analysis."""

from __future__ import annotations

import functools
import io
import re
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from documents import (
    AlreadySigned,
    CertificateAuthority,
    ElectronicSignatureExcluded,
    IssuedSigner,
    NotASignatory,
    Renderer,
    SignerRole,
    SigningOutOfOrder,
    Verdict,
    sign,
    signing_plan,
    verify,
)
from engine.calendar import SHANGHAI
from tests.documents.conftest import run_tool, write
from tests.documents.samples import AGREEMENT, BRANDING, FOLLOWUP


def _pdfsig(tmp_path: Path, pdf: bytes) -> str:
    return run_tool("pdfsig", str(write(tmp_path, "signed.pdf", pdf)))


def test_r_esign_four_signatures_validate_in_ours(
    signed_agreement: bytes, ca: CertificateAuthority
) -> None:
    report = verify(signed_agreement, ca.trust_roots, zone=SHANGHAI)
    assert report.ok, report.summary_zh
    assert report.complete
    assert not report.modified_after_last_signature
    assert [s.signer_name for s in report.signatures] == [
        "张三",
        "李四",
        "修丽君",
        "枫桥镇人民调解委员会",
    ]
    assert [s.role for s in report.signatures] == [
        SignerRole.PARTY,
        SignerRole.PARTY,
        SignerRole.MEDIATOR,
        SignerRole.COMMITTEE,
    ]
    first, *later = report.signatures
    assert first.certifying
    assert not any(s.certifying for s in later)
    assert all(s.intact and s.trusted and s.development_certificate for s in report.signatures)
    assert all(s.signing_time is not None and s.signing_time.tzinfo for s in report.signatures)
    assert report.verdict is Verdict.VALID
    assert report.summary_zh.startswith("核验结论：有效。")
    assert report.summary_zh.count("北京时间") == 4  # each time once, in Beijing time
    assert "UTC" not in report.summary_zh


def test_a_report_names_the_zone_it_tells_signing_times_in(
    signed_agreement: bytes, ca: CertificateAuthority
) -> None:
    in_utc = verify(signed_agreement, ca.trust_roots, zone=ZoneInfo("UTC")).summary_zh
    assert "北京时间" not in in_utc  # a time told in another zone is not called Beijing's
    assert in_utc.count("协调世界时") == 4
    in_tokyo = verify(signed_agreement, ca.trust_roots, zone=ZoneInfo("Asia/Tokyo")).summary_zh
    assert in_tokyo.count("Asia/Tokyo") == 4


def test_r_esign_four_signatures_validate_in_pdfsig(
    tmp_path: Path, signed_agreement: bytes
) -> None:
    out = _pdfsig(tmp_path, signed_agreement)
    assert out.count("Signature is Valid.") == 4, out
    assert out.count("Total document signed") == 1  # the seal, last, covers everything


def test_untrusted_root_is_reported(signed_agreement: bytes, tmp_path: Path) -> None:
    other = CertificateAuthority.development(tmp_path / "other-ca")
    report = verify(signed_agreement, other.trust_roots, zone=SHANGHAI)
    assert not report.ok
    assert not any(s.trusted for s in report.signatures)
    assert all(s.intact for s in report.signatures)
    assert "不是受信任机构签发" in report.summary_zh


def test_partly_signed_agreement_is_not_complete(
    agreement_pdf: bytes, agreement_signers: tuple[IssuedSigner, ...], ca: CertificateAuthority
) -> None:
    pdf = sign(agreement_pdf, agreement_signers[0], signature_png=None, zone=SHANGHAI)
    report = verify(pdf, ca.trust_roots, zone=SHANGHAI)
    assert not report.ok
    assert report.verdict is Verdict.INCOMPLETE
    assert not report.complete
    assert [s.name for s in report.unsigned] == ["李四", "修丽君", "枫桥镇人民调解委员会"]
    assert "签署未完成" in report.summary_zh
    assert (
        "尚缺签署：乙方李四、调解员修丽君、调解委员会印章枫桥镇人民调解委员会" in report.summary_zh
    )
    assert "协议书方发生效力" in report.summary_zh


# --- tampering ----------------------------------------------------------------------------


def test_flipping_one_signed_byte_is_detected_by_both(
    tmp_path: Path, signed_agreement: bytes, ca: CertificateAuthority
) -> None:
    data = bytearray(signed_agreement)
    offset = len(data) // 3  # inside the first revision, covered by every signature
    data[offset] ^= 0x01
    report = verify(bytes(data), ca.trust_roots, zone=SHANGHAI)
    assert not report.ok
    assert not any(s.intact for s in report.signatures)
    assert "篡改" in report.summary_zh
    out = _pdfsig(tmp_path, bytes(data))
    assert "Signature is Valid." not in out, out


@functools.lru_cache(maxsize=8)
def _glyph_hex(char: str) -> bytes:
    """The 4-hex-digit glyph id WeasyPrint writes for `char` (HarfBuzz keeps glyph ids)."""
    from fontTools.ttLib import TTCollection  # type: ignore[import-untyped]  # no stubs

    from documents.fonts import find_cjk_font

    with TTCollection(str(find_cjk_font().path), lazy=True) as collection:
        font = next(f for f in collection if f["name"].getBestFamilyName() == "Noto Serif CJK SC")
        return b"%04x" % font.getGlyphID(font.getBestCmap()[ord(char)])


def _first_page_content(pdf: bytes) -> tuple[bytes, bytes]:
    """The encoded and decoded content stream of page 1."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    page = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0].get_object()
    stream = page["/Contents"].get_object()
    return stream.encoded_data, stream.data


def _change_amount(decoded: bytes, digit: str = "9") -> bytes:
    """50,000.00 → 90,000.00 in the content stream (digits are separate TJ elements)."""
    needle = _glyph_hex("5") + b">0<" + _glyph_hex("0") + b">0<" + _glyph_hex(",")
    assert needle in decoded, "amount not found on page 1"
    return decoded.replace(needle, _glyph_hex(digit) + needle[4:], 1)


def _deflate(data: bytes, level: int, memory: int) -> bytes:
    """zlib with a given level and memory: one of them fits the original's length."""
    packer = zlib.compressobj(level, zlib.DEFLATED, 15, memory)
    return packer.compress(data) + packer.flush()


def test_changing_an_amount_in_place_is_detected_by_both(
    tmp_path: Path, signed_agreement: bytes, ca: CertificateAuthority
) -> None:
    encoded, decoded = _first_page_content(signed_agreement)
    for trimmed in range(40):  # drop the last decimal of a few coordinates until it fits
        edited = re.sub(rb"(\.\d{4})\d ", rb"\1 ", _change_amount(decoded), count=trimmed)
        changed = min(
            (_deflate(edited, level, memory) for level in range(1, 10) for memory in (8, 9)),
            key=len,
        )
        if len(changed) <= len(encoded):
            break
    assert len(changed) <= len(encoded)
    changed += b"\n" * (len(encoded) - len(changed))  # same length: offsets stay valid
    at = signed_agreement.index(encoded)
    tampered = signed_agreement[:at] + changed + signed_agreement[at + len(encoded) :]
    report = verify(tampered, ca.trust_roots, zone=SHANGHAI)
    assert not report.ok
    assert not any(s.intact for s in report.signatures)
    assert "Signature is Valid." not in _pdfsig(tmp_path, tampered)


def _append_revision(pdf: bytes, change: str) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if change == "white_box":
        box = generic.StreamObject(stream_data=b"q 1 1 1 rg 60 300 480 60 re f Q")
        writer.add_stream_to_page(0, writer.add_object(box))  # type: ignore[no-untyped-call]
    elif change == "amount":
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        stream = generic.StreamObject(stream_data=_change_amount(page["/Contents"].data))
        stream.compress()  # type: ignore[no-untyped-call]  # untyped upstream
        page["/Contents"] = writer.add_object(stream)
        writer.update_container(page)
    elif change == "swap_pages":
        pages = writer.root["/Pages"]
        kids = pages["/Kids"]
        pages["/Kids"] = generic.ArrayObject(list(reversed(kids)))
        writer.update_container(pages)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]  # untyped upstream
    return out.getvalue()


@pytest.mark.parametrize("change", ["white_box", "amount", "swap_pages"])
def test_unsigned_revision_after_signing_is_detected_by_ours_only(
    tmp_path: Path, signed_agreement: bytes, ca: CertificateAuthority, change: str
) -> None:
    tampered = _append_revision(signed_agreement, change)
    report = verify(tampered, ca.trust_roots, zone=SHANGHAI)
    assert not report.ok, report.summary_zh
    assert report.modified_after_last_signature
    assert report.last_modification_level == "OTHER"
    assert all(s.intact for s in report.signatures)  # the digests alone still match
    assert not any(s.bottom_line for s in report.signatures)
    assert report.verdict is Verdict.INVALID
    assert "核验结论：无效" in report.summary_zh
    assert "内容被修改" in report.summary_zh
    out = _pdfsig(tmp_path, tampered)
    assert out.count("Signature is Valid.") == 4  # poppler sees nothing wrong …
    assert "Total document signed" not in out  # … beyond "Not total document signed"
    assert out.count("Not total document signed") == 4


# --- the signing plan ---------------------------------------------------------------------


def test_signing_out_of_order_is_refused(
    agreement_pdf: bytes, agreement_signers: tuple[IssuedSigner, ...]
) -> None:
    with pytest.raises(SigningOutOfOrder, match="应先由甲方张三签署") as caught:
        sign(agreement_pdf, agreement_signers[2], zone=SHANGHAI)
    assert caught.value.code == "document_signing_out_of_order"
    assert caught.value.fields == {"expected": "sig01_party", "attempted": "sig03_mediator"}


def test_signing_twice_is_refused(
    agreement_pdf: bytes, agreement_signers: tuple[IssuedSigner, ...]
) -> None:
    once = sign(agreement_pdf, agreement_signers[0], zone=SHANGHAI)
    with pytest.raises(AlreadySigned, match="已经签署"):
        sign(once, agreement_signers[0], zone=SHANGHAI)
    assert [s.signed for s in signing_plan(once)] == [True, False, False, False]


def test_a_stranger_cannot_sign(agreement_pdf: bytes, ca: CertificateAuthority) -> None:
    stranger = ca.issue("王麻子", SignerRole.PARTY)
    with pytest.raises(NotASignatory, match="不是本文书的签署人"):
        sign(agreement_pdf, stranger, zone=SHANGHAI)
    wrong_role = ca.issue("张三", SignerRole.MEDIATOR)
    with pytest.raises(NotASignatory):
        sign(agreement_pdf, wrong_role, zone=SHANGHAI)


def test_r_esign_exclude_marriage_agreement_refuses_e_signatures(
    tmp_path: Path, renderer: Renderer, agreement_signers: tuple[IssuedSigner, ...]
) -> None:
    family = AGREEMENT.model_copy(
        update={"category": "婚姻家庭", "electronic_signature_excluded": True}
    )
    pdf = renderer.render(family, BRANDING, document_id="AGR-FAMILY")
    assert signing_plan(pdf)[:-1] == ()  # only the committee seal could be applied
    with pytest.raises(ElectronicSignatureExcluded, match="电子签名法第三条"):
        sign(pdf, agreement_signers[0], zone=SHANGHAI)
    text = run_tool("pdftotext", "-enc", "UTF-8", str(write(tmp_path, "f.pdf", pdf)), "-")
    assert "按指印" in "".join(text.split())


def test_handwritten_image_and_rsa_key_sign_and_verify(
    renderer: Renderer, ca: CertificateAuthority
) -> None:
    from PIL import Image

    png = io.BytesIO()
    Image.new("LA", (200, 80), (0, 0)).save(png, format="PNG")
    pdf = renderer.render(FOLLOWUP, BRANDING, document_id="HF-1")
    visitor = ca.issue(FOLLOWUP.visitor.name, SignerRole.VISITOR, key_type="rsa")
    signed = sign(
        pdf, visitor, signature_png=png.getvalue(), location="诸暨市枫桥镇", zone=SHANGHAI
    )
    report = verify(signed, ca.trust_roots, zone=SHANGHAI)
    assert report.ok, report.summary_zh
    assert report.complete
