"""Verify a signed document and give one verdict for it: valid only when every planned
signature is present, in the plan's order, by a trusted certificate of the slot's person and
role, and nothing but signatures was added after the first (pyHanko's difference analysis,
not only the digest: a white rectangle over a term is caught here; poppler's pdfsig misses it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from documents.ca import DEV_MARK
from documents.errors import VerificationError
from documents.model import SignerRole
from documents.render import KIND_INFO_KEY
from documents.signing import Slot, _read, _slots

_LEVELS_ZH = {
    "NONE": "签署后无改动",
    "LTA_UPDATES": "签署后仅补充了验证数据",
    "FORM_FILLING": "签署后仅追加了签名",
    "ANNOTATIONS": "签署后添加了批注",
    "OTHER": "签署后内容被修改",
}
_UNCHANGED_LEVELS = ("NONE", "LTA_UPDATES", "FORM_FILLING")

# What a complete set of signatures brings about, by document kind (the template's stem).
_EFFECT_ZH = {
    "agreement": "当事人、调解员签名并加盖调解委员会印章后，协议书方发生效力",
    "ruling": "加盖人民法院印章后，裁定书方为正式文本",
    "transcript": "当事人、调解员和记录人全部签名后，笔录方为完整",
    "confirmation_application": "申请人全部签名后，申请书方可提交人民法院",
    "application": "申请人签名后，申请书方为完整",
    "registration": "登记人签名后，登记表方为完整",
    "followup": "回访人签名后，回访记录方为完整",
    "legal_opinion": "承办律师签名后，法律意见书方为完整",
}
KIND_LABELS = {
    "agreement": "人民调解协议书",
    "ruling": "民事裁定书",
    "transcript": "人民调解笔录",
    "confirmation_application": "司法确认申请书",
    "application": "人民调解申请书",
    "registration": "人民调解受理登记表",
    "followup": "人民调解回访记录",
    "legal_opinion": "法律意见书",
    "case_file": "人民调解卷宗",
}


class Verdict(StrEnum):
    """The document's one verdict; `exit_code` is what `fengqiao documents verify` returns."""

    VALID = "valid"
    INVALID = "invalid"
    INCOMPLETE = "incomplete"
    OUT_OF_ORDER = "out_of_order"

    @property
    def label_zh(self) -> str:
        return _VERDICT_LABELS[self]

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]


_VERDICT_LABELS = {
    Verdict.VALID: "有效",
    Verdict.INVALID: "无效",
    Verdict.INCOMPLETE: "签署未完成",
    Verdict.OUT_OF_ORDER: "签署顺序不符",
}
# 2 is the command line's own usage error (typer); 3 and 4 are ours.
_EXIT_CODES = {
    Verdict.VALID: 0,
    Verdict.INVALID: 1,
    Verdict.INCOMPLETE: 3,
    Verdict.OUT_OF_ORDER: 4,
}


def local_time(value: datetime, zone: tzinfo) -> str:
    """`2026-11-30 14:05:09` in `zone` (the caller adds the zone's name once)."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


# what a reader calls a zone's time; any other zone is named by its IANA key
_ZONE_NAMES_ZH = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "UTC": "协调世界时"}


def zone_name_zh(zone: tzinfo) -> str:
    """The name a report gives the zone its times are told in (`北京时间` for China's)."""
    key = str(getattr(zone, "key", "") or zone)
    return _ZONE_NAMES_ZH.get(key, key)


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
    zone: tzinfo  # the zone `summary_zh` tells the signing time in (verify's caller's)
    in_plan: bool = True
    # R-ESIGN: an event certificate's identity check and whether it names these very bytes
    identity_method: str | None = None
    signed_by: str | None = None
    capacity: str | None = None
    bound_to_document: bool | None = None  # None: a standing certificate (seal, court, v1)

    @property
    def matches_slot(self) -> bool:
        """The certificate names the person and role the field was made for."""
        expected = self.field.partition("_")[2]
        return (
            self.in_plan
            and self.signer_name == self.expected_name
            and (self.role is not None and self.role.value == expected)
        )

    @property
    def ok(self) -> bool:
        return self.bottom_line and self.matches_slot and self.bound_to_document is not False

    @property
    def identity_zh(self) -> str | None:
        """How the signer's identity was checked, in words; None for a standing certificate."""
        if self.identity_method is None:
            return None
        from documents.ca import IDENTITY_METHODS

        method = IDENTITY_METHODS.get(self.identity_method, self.identity_method)
        who = (
            f"由{self.capacity or ''}{self.signed_by}本人签署，" if self.signed_by else "本人签署，"
        )
        return f"{who}身份核验：{method}"

    @property
    def state_zh(self) -> str:
        if not self.in_plan:
            return "签名不在本文书的签署计划中"
        if not self.intact:
            return "签名后内容被篡改，签名无效"
        if not self.valid:
            return "签名值无效"
        if not self.trusted:
            return "签名完好，但证书不是受信任机构签发"
        if self.modification_level not in _UNCHANGED_LEVELS or not self.bottom_line:
            return "签名完好，但签署后文书被修改"
        if not self.matches_slot:
            role = self.role.label_zh if self.role else "未知角色"
            return f"签名人与签名栏不符（应为{self.expected_name}，实为{role}{self.signer_name}）"
        if self.bound_to_document is False:
            return "签署事件证书所绑定的文书与签署的文书不符"
        return "签名有效"

    @property
    def summary_zh(self) -> str:
        when = (
            f"，{local_time(self.signing_time, self.zone)}（{zone_name_zh(self.zone)}）签署"
            if self.signing_time
            else ""
        )
        dev = "（开发用证书）" if self.development_certificate else ""
        identity = f"（{self.identity_zh}）" if self.identity_zh else ""
        return f"{self.label}{self.signer_name}{dev}{when}{identity}：{self.state_zh}"


@dataclass(frozen=True)
class VerificationReport:
    """The whole document: the plan, every signature in signing order, and one verdict."""

    signatures: tuple[SignatureReport, ...]
    plan: tuple[Slot, ...]
    kind: str | None
    modified_after_last_signature: bool
    last_modification_level: str | None
    first_certifies: bool = True

    @property
    def unsigned(self) -> tuple[Slot, ...]:
        """The planned slots nobody has signed (in plan order)."""
        signed = {s.field for s in self.signatures}
        return tuple(s for s in self.plan if s.field not in signed)

    @property
    def complete(self) -> bool:
        """Every planned signatory has signed (R-AGREEMENT-EFFECT: in effect only then)."""
        return bool(self.signatures) and not self.unsigned

    @property
    def in_plan_order(self) -> bool:
        """The signatures found are the plan's first ones, in the plan's order."""
        found = [s.field for s in self.signatures]
        return found == [s.field for s in self.plan[: len(found)]]

    @property
    def order_found_zh(self) -> str:
        return "→".join(f"{s.label}{s.signer_name}" for s in self.signatures) or "（无）"

    @property
    def order_planned_zh(self) -> str:
        return "→".join(s.display for s in self.plan)

    @property
    def problems_zh(self) -> tuple[str, ...]:
        """Why the document is invalid; empty when nothing is wrong with what is there."""
        problems = [s.summary_zh for s in self.signatures if not s.ok]
        if self.signatures and not self.first_certifies:
            problems.append("第一个签名没有锁定文书（未作认证签名），其后的改动无法排除")
        if self.modified_after_last_signature and self.last_modification_level not in (
            "NONE",
            "LTA_UPDATES",
        ):
            level = _LEVELS_ZH.get(self.last_modification_level or "", "签署后文书被改动")
            problems.append(f"最后一个签名之后文书有追加内容：{level}")
        if not self.plan and not self.signatures:
            problems.append("本文书既无签名栏也无电子签名，无从核验")
        return tuple(problems)

    @property
    def verdict(self) -> Verdict:
        if self.problems_zh:
            return Verdict.INVALID
        if not self.in_plan_order:
            return Verdict.OUT_OF_ORDER
        if self.unsigned:
            return Verdict.INCOMPLETE
        return Verdict.VALID

    @property
    def ok(self) -> bool:
        """Valid: the whole plan signed, in order, by the right people, nothing else changed."""
        return self.verdict is Verdict.VALID

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind or "", "文书")

    @property
    def headline_zh(self) -> str:
        """The verdict and what it rests on, without repeating each signature's line."""
        verdict = self.verdict
        paper = self.kind_label
        lines = []
        if verdict is Verdict.VALID:
            lines.append(
                f"核验结论：有效。{paper}的全部签名齐备、顺序正确、签名人相符，签署后未被修改。"
            )
        elif verdict is Verdict.INVALID:
            lines.append(f"核验结论：无效。{paper}或其签名存在问题，请勿采信：")
            lines.extend(f"  {p}" for p in self.problems_zh)
        elif verdict is Verdict.OUT_OF_ORDER:
            lines.append(f"核验结论：签署顺序不符，{paper}不发生效力。")
            lines.append(f"  实际顺序：{self.order_found_zh}")
            lines.append(f"  应有顺序：{self.order_planned_zh}")
        else:
            done = "已有签名均有效，但签名不全" if self.signatures else "尚无任何签名"
            lines.append(f"核验结论：签署未完成。{paper}{done}。")
        if verdict in (Verdict.INCOMPLETE, Verdict.OUT_OF_ORDER) and self.unsigned:
            waiting = "、".join(s.display for s in self.unsigned)
            effect = _EFFECT_ZH.get(self.kind or "")
            lines.append(f"  尚缺签署：{waiting}" + (f"（{effect}）" if effect else ""))
        return "\n".join(lines)

    @property
    def summary_zh(self) -> str:
        """The headline, then one line per signature."""
        return "\n".join([self.headline_zh, *(s.summary_zh for s in self.signatures)])


def _asn1(cert: x509.Certificate | bytes) -> Any:
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    data = cert
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """pyHanko logs hostile input with full tracebacks; our verdict says it once, in Chinese."""
    logger = logging.getLogger("pyhanko")
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


def _kind(reader: Any) -> str | None:
    try:
        info = reader.trailer_view.get("/Info")
        value = info.get_object().get(f"/{KIND_INFO_KEY}") if info is not None else None
    except Exception:  # a hostile /Info is no reason to refuse the signatures' check
        return None
    return str(value) if value is not None else None


def verify(
    pdf: bytes,
    trust_roots: Iterable[x509.Certificate | bytes],
    *,
    zone: tzinfo,
    kind: str | None = None,
) -> VerificationReport:
    """Validate every signature in `pdf` against `trust_roots` (no network fetching).

    Args:
        pdf: the signed document.
        trust_roots: CA certificates to trust (cryptography objects, DER or PEM bytes).
        zone: the zone the reports tell signing times in (the host's; documents has none).
        kind: the document kind (agreement, ruling, …) when the caller knows it; else read
            from the document information the renderer wrote.

    Returns:
        A report per signature and for the document, with its verdict.

    Raises:
        VerificationError: `pdf` is not a readable PDF or a signature cannot be parsed.
    """
    with _quiet_pyhanko():
        try:
            return _verify(pdf, trust_roots, kind, zone)
        except VerificationError:
            raise
        except Exception as exc:  # pyHanko raises many kinds on hostile input
            raise VerificationError("无法解析该 PDF 文件中的签名") from exc


def _verify(
    pdf: bytes, trust_roots: Iterable[x509.Certificate | bytes], kind: str | None, zone: tzinfo
) -> VerificationReport:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from documents.ca import common_name, event_of, role_of

    reader = _read(pdf)
    plan = _slots(reader)
    slots = {s.field: s for s in plan}
    context = ValidationContext(
        trust_roots=[_asn1(c) for c in trust_roots],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    reports = []
    try:
        embedded = list(reader.embedded_signatures)
    except Exception as exc:
        raise VerificationError("无法读取文书中的签名") from exc
    for sig in embedded:
        try:
            status = validate_pdf_signature(sig, context)
        except Exception as exc:
            raise VerificationError(f"签名 {sig.field_name} 无法解析") from exc
        slot = slots.get(sig.field_name)
        cert = x509.load_der_x509_certificate(status.signing_cert.dump())
        level = status.modification_level
        event = event_of(cert)
        bound = None
        if event is not None:
            prefix = pdf[: event.document_length]
            bound = (
                len(prefix) == event.document_length
                and hashlib.sha256(prefix).hexdigest() == event.document_sha256
            )
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
                zone=zone,
                in_plan=slot is not None,
                identity_method=event.identity_method if event else None,
                signed_by=event.signed_by if event else None,
                capacity=event.capacity if event else None,
                bound_to_document=bound,
            )
        )
    last = reports[-1] if reports else None
    first_certifies = not reports or (
        reports[0].certifying and not any(r.certifying for r in reports[1:])
    )
    return VerificationReport(
        signatures=tuple(reports),
        plan=plan,
        kind=kind or _kind(reader),
        modified_after_last_signature=bool(last and last.coverage != "ENTIRE_FILE"),
        last_modification_level=last.modification_level if last else None,
        first_certifies=first_certifies,
    )
