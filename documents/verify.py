"""Verify a signed document: each signature's integrity, trust and signer, and — through
pyHanko's difference analysis, not only the digest — whether anything but signatures was
added after it (a white rectangle over a term is caught here; poppler's pdfsig misses it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from documents.ca import DEV_MARK
from documents.errors import VerificationError
from documents.model import SignerRole
from documents.sign import Slot, _read, _slots

_LEVELS_ZH = {
    "NONE": "签署后无改动",
    "LTA_UPDATES": "签署后仅补充了验证数据",
    "FORM_FILLING": "签署后仅追加了签名或填写了表单",
    "ANNOTATIONS": "签署后添加了批注",
    "OTHER": "签署后内容被修改",
}


@dataclass(frozen=True)
class SignatureReport:
    """What one signature proves."""

    field: str
    label: str
    expected_name: str
    signer_name: str
    role: SignerRole | None
    signing_time: datetime | None
    intact: bool
    valid: bool
    trusted: bool
    certifying: bool
    coverage: str
    modification_level: str
    bottom_line: bool
    development_certificate: bool

    @property
    def matches_slot(self) -> bool:
        """The certificate names the person and role the field was made for."""
        expected = self.field.partition("_")[2]
        return self.signer_name == self.expected_name and (
            self.role is not None and self.role.value == expected
        )

    @property
    def ok(self) -> bool:
        return self.bottom_line and self.matches_slot

    @property
    def summary_zh(self) -> str:
        if not self.intact:
            state = "签名后内容被篡改，签名无效"
        elif not self.valid:
            state = "签名值无效"
        elif not self.trusted:
            state = "签名完好，但证书不是受信任机构签发"
        elif self.modification_level == "OTHER" or not self.bottom_line:
            state = "签名完好，但签署后文书被修改"
        elif not self.matches_slot:
            state = f"签名人与签名栏不符（应为{self.expected_name}）"
        else:
            state = "签名有效"
        when = f"，签署时间{self.signing_time:%Y-%m-%d %H:%M:%S %Z}" if self.signing_time else ""
        dev = "（开发用证书）" if self.development_certificate else ""
        return f"{self.label}{self.signer_name}{dev}{when}：{state}"


@dataclass(frozen=True)
class VerificationReport:
    """The whole document: every signature, the unsigned slots, and one verdict."""

    signatures: tuple[SignatureReport, ...]
    unsigned: tuple[Slot, ...]
    modified_after_last_signature: bool
    last_modification_level: str | None

    @property
    def complete(self) -> bool:
        """Every signatory has signed (R-AGREEMENT-EFFECT: in effect only then)."""
        return bool(self.signatures) and not self.unsigned

    @property
    def ok(self) -> bool:
        """Every signature is intact, trusted, in its own slot, and nothing else was changed."""
        return (
            bool(self.signatures)
            and all(s.ok for s in self.signatures)
            and self.last_modification_level in ("NONE", "LTA_UPDATES", None)
        )

    @property
    def summary_zh(self) -> str:
        lines = []
        if not self.signatures:
            lines.append("本文书没有电子签名。")
        elif self.ok:
            lines.append("核验通过：全部签名有效，签署后文书未被修改。")
        else:
            lines.append("核验未通过：文书或签名存在问题，请勿采信。")
        if self.modified_after_last_signature:
            level = _LEVELS_ZH.get(self.last_modification_level or "", "签署后文书被改动")
            lines.append(f"最后一个签名之后文书有追加内容：{level}。")
        lines.extend(s.summary_zh for s in self.signatures)
        if self.unsigned:
            waiting = "、".join(s.display for s in self.unsigned)
            lines.append(f"尚待签署：{waiting}（全部签署后协议方生效）。")
        return "\n".join(lines)


def _asn1(cert: x509.Certificate | bytes) -> Any:
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    data = cert
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


def verify(pdf: bytes, trust_roots: Iterable[x509.Certificate | bytes]) -> VerificationReport:
    """Validate every signature in `pdf` against `trust_roots` (no network fetching).

    Args:
        pdf: the signed document.
        trust_roots: CA certificates to trust (cryptography objects, DER or PEM bytes).

    Returns:
        A report per signature and for the document.

    Raises:
        VerificationError: `pdf` is not a readable PDF or a signature cannot be parsed.
    """
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = _read(pdf)
    slots = {s.field: s for s in _slots(reader)}
    context = ValidationContext(
        trust_roots=[_asn1(c) for c in trust_roots],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    reports = []
    statuses = []
    try:
        embedded = list(reader.embedded_signatures)
    except Exception as exc:
        raise VerificationError("无法读取文书中的签名") from exc
    for sig in embedded:
        try:
            status = validate_pdf_signature(sig, context)
        except Exception as exc:
            raise VerificationError(f"签名 {sig.field_name} 无法解析：{exc}") from exc
        statuses.append(status)
        slot = slots.get(sig.field_name)
        cert = x509.load_der_x509_certificate(status.signing_cert.dump())
        from documents.ca import common_name, role_of

        level = status.modification_level
        reports.append(
            SignatureReport(
                field=str(sig.field_name),
                label=slot.label if slot else str(sig.field_name),
                expected_name=slot.name if slot else "",
                signer_name=common_name(cert),
                role=role_of(cert),
                signing_time=status.signer_reported_dt,
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted),
                certifying=sig.docmdp_level is not None,
                coverage=status.coverage.name if status.coverage else "UNKNOWN",
                modification_level=level.name if level is not None else "UNKNOWN",
                bottom_line=bool(status.bottom_line),
                development_certificate=DEV_MARK in cert.subject.rfc4514_string(),
            )
        )
    signed_fields = {r.field for r in reports}
    unsigned = tuple(s for f, s in slots.items() if f not in signed_fields)
    last = reports[-1] if reports else None
    return VerificationReport(
        signatures=tuple(reports),
        unsigned=unsigned,
        modified_after_last_signature=bool(last and last.coverage != "ENTIRE_FILE"),
        last_modification_level=last.modification_level if last else None,
    )
