"""PAdES signing, one incremental signature per signatory, in the order the document fixes.

The plan is read from the PDF itself: the renderer created one empty field per signatory
(`sig01_party`, `sig02_party`, `sig03_mediator`, `sig04_committee`), so signing needs no
state besides the bytes. The first signature certifies the document (DocMDP P=2: form
filling and signatures only), which makes any other later change detectable (R-ESIGN).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from PIL import Image

from documents import appearance
from documents.ca import IssuedSigner
from documents.errors import (
    AlreadySigned,
    ElectronicSignatureExcluded,
    NotASignatory,
    SigningError,
    SigningOutOfOrder,
    VerificationError,
)
from documents.model import SignerRole
from documents.render import ESIGN_INFO_KEY, ESIGN_WET_ONLY, FIELD_PREFIX

PDF_VERSION = (1, 7)  # PDF/A-3 is built on ISO 32000-1 (PDF 1.7)
_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True)
class Slot:
    """One signature field of a rendered document and whether it is signed yet."""

    field: str
    role: SignerRole
    name: str
    label: str
    signed: bool

    @property
    def display(self) -> str:
        return f"{self.label}{self.name}"


def _read(pdf: bytes) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        return PdfFileReader(io.BytesIO(pdf), strict=False)
    except Exception as exc:
        raise VerificationError("文件不是可读取的 PDF 文书") from exc


def _slots(reader: Any) -> tuple[Slot, ...]:
    from pyhanko.sign.fields import enumerate_sig_fields

    slots = []
    for name, value, ref in enumerate_sig_fields(reader):
        prefix, _, role_text = str(name).partition("_")
        if not prefix.startswith(FIELD_PREFIX):
            continue
        try:
            role = SignerRole(role_text)
        except ValueError:
            continue
        tooltip = str(ref.get_object().get("/TU", ""))
        label, _, signer = tooltip.partition("：")
        slots.append(Slot(str(name), role, signer, label, value is not None))
    return tuple(sorted(slots, key=lambda s: s.field))


def signing_plan(pdf: bytes) -> tuple[Slot, ...]:
    """The document's signature slots in signing order, each marked signed or not.

    Raises:
        VerificationError: `pdf` is not a readable PDF.
    """
    return _slots(_read(pdf))


def _is_wet_only(reader: Any) -> bool:
    info = reader.trailer_view.get("/Info")
    if info is None:
        return False
    return str(info.get_object().get(f"/{ESIGN_INFO_KEY}", "")) == ESIGN_WET_ONLY


class _LoadedKeySigner:
    """Builds a pyHanko SimpleSigner that keeps the parsed key (stock one re-parses per call)."""

    @staticmethod
    def create(issued: IssuedSigner) -> Any:
        from asn1crypto import keys, x509
        from pyhanko.sign.signers import SimpleSigner
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        key = issued.private_key

        class Signer(SimpleSigner):
            def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
                mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
                algo = mechanism.signature_algo
                hash_cls = _HASHES.get(digest_algorithm)
                if (
                    hash_cls is not None
                    and algo == "ecdsa"
                    and isinstance(key, ec.EllipticCurvePrivateKey)
                ):
                    return key.sign(data, ec.ECDSA(hash_cls()))
                if (
                    hash_cls is not None
                    and algo == "rsassa_pkcs1v15"
                    and isinstance(key, rsa.RSAPrivateKey)
                ):
                    return key.sign(data, padding.PKCS1v15(), hash_cls())
                return bytes(super().sign_raw(data, digest_algorithm))

            async def async_sign_raw(
                self, data: bytes, digest_algorithm: str, dry_run: bool = False
            ) -> bytes:
                del dry_run
                return self.sign_raw(data, digest_algorithm)

        der = serialization.Encoding.DER
        certificate = x509.Certificate.load(issued.certificate.public_bytes(der))
        key_info = keys.PrivateKeyInfo.load(
            key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        registry = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]  # untyped upstream
            [x509.Certificate.load(c.public_bytes(der)) for c in issued.chain]
        )
        return Signer(signing_cert=certificate, signing_key=key_info, cert_registry=registry)


@lru_cache(maxsize=1)
def _archival_writer_class() -> Any:
    """pyHanko's incremental writer, kept from touching what PDF/A-3 fixes.

    pyHanko declares PDF 2.0 in the catalog for ECDSA keys (ISO 32002) while the header
    says 1.7, and rewrites /Producer in the Info dictionary and the XMP packet differently
    (PDF/A wants them equal). A signature changes neither the version nor the metadata, so
    both stay as the renderer wrote them: PDF 1.7, one producer.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    class ArchivalWriter(IncrementalPdfFileWriter):
        def ensure_output_version(self, version: tuple[int, int]) -> None:
            capped = min(version, PDF_VERSION)
            super().ensure_output_version(capped)  # type: ignore[no-untyped-call]  # untyped upstream

        def _update_meta(self) -> None:
            return None

    return ArchivalWriter


@lru_cache(maxsize=1)
def _timed_signer_class() -> Any:
    """pyHanko's PdfSigner whose sessions claim a given signing time (pyHanko takes the
    wall clock and has no public parameter for it)."""
    from pyhanko.sign import signers

    class TimedPdfSigner(signers.PdfSigner):
        system_time: datetime | None = None

        def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
            session = super().init_signing_session(pdf_out, existing_fields_only)
            if self.system_time is not None:
                session.system_time = self.system_time
            return session

    return TimedPdfSigner


def _pyhanko_signer(issued: IssuedSigner) -> Any:
    if issued._pyhanko is None:
        issued._pyhanko = _LoadedKeySigner.create(issued)
    return issued._pyhanko


Mark = Literal["signature", "thumbprint", "seal"]
MARKS: dict[str, str] = {"signature": "签名", "thumbprint": "按指印", "seal": "盖章"}


def _appearance(
    slot: Slot, signature_png: bytes | None, mark: Mark, dated: str | None
) -> Image.Image:
    if slot.role.is_seal:
        return appearance.seal(slot.name, dated)
    if mark == "seal":  # an organisation party applies its own seal
        return appearance.seal(slot.name)
    if mark == "thumbprint":
        return appearance.thumbprint(slot.name)
    if signature_png is not None:
        return appearance.handwritten(signature_png)
    return appearance.typed_name(slot.name)


def _choose_slot(slots: tuple[Slot, ...], issued: IssuedSigner) -> Slot:
    identity = issued.identity
    mine = [s for s in slots if s.role == identity.role and s.name == identity.name]
    if not mine:
        expected = "、".join(s.display for s in slots)
        raise NotASignatory(
            f"{identity.name}（{identity.role.label_zh}）不是本文书的签署人；签署人为：{expected}",
            signer=identity.name,
            role=identity.role.value,
        )
    pending = [s for s in mine if not s.signed]
    if not pending:
        raise AlreadySigned(f"{identity.name}已经签署过本文书", field=mine[0].field)
    target = pending[0]
    next_slot = next(s for s in slots if not s.signed)
    if target != next_slot:
        raise SigningOutOfOrder(
            f"签署顺序不符：应先由{next_slot.display}签署，再由{target.display}签署",
            expected=next_slot.field,
            attempted=target.field,
        )
    return target


def sign(
    pdf: bytes,
    signer: IssuedSigner,
    *,
    zone: tzinfo,
    signature_png: bytes | None = None,
    timestamp_url: str | None = None,
    location: str | None = None,
    mark: Mark = "signature",
    signed_at: datetime | None = None,
    reason: str | None = None,
) -> bytes:
    """Add `signer`'s PAdES signature in its own field as an incremental update.

    Args:
        pdf: the document as rendered (or as returned by the previous `sign`).
        signer: an issued signer whose certificate names the expected signatory.
        zone: the host's zone (Beijing time), in which a seal's date is the signing day.
        signature_png: a handwritten signature image (parties); else the typed name is used.
        timestamp_url: an RFC 3161 time-stamping service, passed to pyHanko.
        location: where the signature was made, recorded in the signature dictionary.
        mark: how a party signs: its name (or `signature_png`), a thumbprint, or an
            organisation's seal; signatories other than parties always sign by name or seal.
        signed_at: the signing time the signature claims (timezone-aware; default now): the
            host passes the time its record of the signature carries, so the two agree. A
            seal prints its date (in `zone`) in its appearance: the day the last seal is applied
            is the agreement's date.
        reason: the signature's reason text; default "<label>签名" (e.g. who applied a seal).

    Returns:
        The PDF with one more signature.

    Raises:
        ElectronicSignatureExcluded: R-ESIGN-EXCLUDE — the document is for wet signatures.
        NotASignatory / AlreadySigned / SigningOutOfOrder: the plan refuses this signer now.
        SigningError: the document has no signature fields, or pyHanko failed.
    """
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.sign import signers
    from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
    from pyhanko.stamp import StaticStampStyle

    reader = _read(pdf)
    if _is_wet_only(reader):
        raise ElectronicSignatureExcluded(
            "本文书涉及婚姻、收养、继承等人身关系，依照电子签名法第三条不适用电子签名，"
            "请打印后亲笔签名并按指印，再上传扫描件"
        )
    slots = _slots(reader)
    if not slots:
        raise SigningError("本文书没有电子签名栏")
    slot = _choose_slot(slots, signer)
    if mark != "signature" and slot.role is not SignerRole.PARTY:
        raise SigningError(f"只有当事人可以{MARKS[mark]}代替签名", field=slot.field)
    certify = not any(s.signed for s in slots)

    when = signed_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise SigningError("签署时间须带时区")
    day = when.astimezone(zone).date()
    # the committee's seal carries the agreement's date; a court prints its date in the text
    dated = f"{day.year}年{day.month}月{day.day}日" if slot.role is SignerRole.COMMITTEE else None
    meta = signers.PdfSignatureMetadata(
        field_name=slot.field,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        name=signer.identity.name,
        reason=reason or f"{slot.label}{MARKS[mark] if slot.role is SignerRole.PARTY else '签署'}",
        location=location,
    )
    style = StaticStampStyle(
        background=PdfImage(_appearance(slot, signature_png, mark, dated)),
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(1),  # type: ignore[no-untyped-call]  # untyped upstream
        ),
    )
    timestamper = None
    if timestamp_url:
        from pyhanko.sign.timestamps import HTTPTimeStamper

        timestamper = HTTPTimeStamper(timestamp_url)
    try:
        writer = _archival_writer_class()(io.BytesIO(pdf), strict=False)
        pdf_signer = _timed_signer_class()(
            meta, _pyhanko_signer(signer), timestamper=timestamper, stamp_style=style
        )
        pdf_signer.system_time = when
        out = pdf_signer.sign_pdf(writer)
    except Exception as exc:
        raise SigningError(f"签名失败：{exc}", field=slot.field) from exc
    return bytes(out.getvalue())
