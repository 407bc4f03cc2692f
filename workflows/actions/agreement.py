"""Actions of the agreement: drafting it (written or oral), each signature and the seal.

Agreement documents are all or nothing per case. The host's document service renders the
agreement before `draft_agreement` and passes its digest (`document_sha256`); from then on
every revision and every electronic signature must name the new version it produced, so the
signature rows and the document chain can never disagree. A deployment without the document
service fires the same triggers without digests: the case then has signature rows only.
On paper (R-ESIGN-EXCLUDE) each signature, the committee's seal included, is wet ink and
names the scan that shows it (`scan_sha256`, kind "agreement_scan"): the documents package
refuses to sign a wet-only agreement electronically at all, seal included.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.calendar import SHANGHAI
from engine.hooks import InvalidInput
from mediation.context import MediationContext
from workflows.agreement_content import agreement_fields, overdue_terms
from workflows.hookset import HOOKS
from workflows.kinds import AGREEMENT, AGREEMENT_SCAN


def _record_agreement_text(ctx: MediationContext) -> int | None:
    """The rendered agreement's new version, when the host rendered one (all or nothing)."""
    digest: str | None = ctx.value("document_sha256")
    if digest is None:
        if ctx.latest_document(AGREEMENT) is not None:
            raise InvalidInput(
                "本案协议书已生成文书：修改协议须同时提交重新生成的协议书（document_sha256）",
                field="document_sha256",
            )
        return None
    return ctx.record_document(AGREEMENT, digest, field="document_sha256").version


@HOOKS.action("draft_agreement")
def draft_agreement(ctx: MediationContext) -> None:
    """R-AGREEMENT-FIELDS: facts, disputed issues, responsibilities and structured terms."""
    agreement: dict[str, Any] = {
        "oral": False,
        **agreement_fields(
            ctx.payload, {p.party_id for p in ctx.parties()}, today=_beijing_date(ctx.now)
        ),
        "copies": len(ctx.parties()) + 1,  # R-COPIES
        "drafted_at": ctx.now.isoformat(),
        "warnings": [],
    }
    category = ctx.category()
    if category.excluded_from_confirmation:  # R-JC-EXCLUDE: warn now, block at application
        agreement["warnings"].append(f"“{category.name}”类协议依法不能申请司法确认")
    if category.excluded_from_esign:  # R-ESIGN-EXCLUDE
        agreement["warnings"].append(f"“{category.name}”类协议须纸质签名并按指印")
    version = _record_agreement_text(ctx)
    if version is not None:
        agreement["document_version"] = version
    ctx.update_data("agreement", agreement)
    ctx.set_case(resolved_level=ctx.case.level)


@HOOKS.action("record_oral_agreement")
def record_oral_agreement(ctx: MediationContext) -> None:
    """R-ORAL: recorded on a 口头协议登记表 and in effect the day it is reached."""
    content = ctx.value("content")
    ctx.update_data(
        "agreement", {"oral": True, "content": content, "reached_at": ctx.now.isoformat()}
    )
    ctx.set_case(resolved_level=ctx.case.level, agreement_effective_at=ctx.now)


def _scan_version(ctx: MediationContext) -> int:
    """R-ESIGN-EXCLUDE: a wet signature is proved by the scan that shows it."""
    digest: str | None = ctx.value("scan_sha256")
    if digest is None:
        raise InvalidInput("纸质签署须上传签名并按指印的协议扫描件", field="scan_sha256")
    return ctx.record_document(AGREEMENT_SCAN, digest, field="scan_sha256", allow_same=True).id


def _signed_version(ctx: MediationContext) -> int | None:
    """The agreement version this electronic signature produced (None without documents)."""
    digest: str | None = ctx.value("document_sha256")
    has_document = ctx.latest_document(AGREEMENT) is not None
    if digest is None:
        if has_document:
            raise InvalidInput(
                "本案协议书为电子文书：须在文书上签署，并提交签署后的文书摘要（document_sha256）",
                field="document_sha256",
            )
        return None
    if not has_document:
        raise InvalidInput(
            "本案尚未生成协议书文书，无法登记签署后的文书版本", field="document_sha256"
        )
    return ctx.record_document(AGREEMENT, digest, field="document_sha256").id


def _beijing_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _sign(
    ctx: MediationContext,
    signer_kind: str,
    party_id: int | None,
    method: str,
    signer_name: str | None = None,
) -> None:
    late = overdue_terms(ctx.data.get("agreement", {}), _beijing_date(ctx.now))
    if late:
        raise InvalidInput(
            f"协议约定的履行期限早于签署日期：{'、'.join(late)}；请先修订协议再签署",
            field="terms",
        )
    document_id = _scan_version(ctx) if method == "paper" else _signed_version(ctx)
    ctx.add_signature(
        signer_kind,
        party_id=party_id,
        method=method,
        document_id=document_id,
        signer_name=signer_name,
    )


def _on_paper(ctx: MediationContext) -> bool:
    return ctx.category().excluded_from_esign


@HOOKS.action("sign_party")
def sign_party(ctx: MediationContext) -> None:
    """A party signs, seals or fingerprints the agreement."""
    party = ctx.party_of(ctx.value("party_id"))
    method = "paper" if _on_paper(ctx) else ctx.value("method")
    if method is None:
        raise InvalidInput("请选择“签署方式”", field="method")
    if method == "paper" and not _on_paper(ctx) and ctx.latest_document(AGREEMENT) is not None:
        raise InvalidInput("本案已生成电子协议书，各方须按顺序在电子协议书上签署", field="method")
    _sign(ctx, "party", party.party_id, method)


@HOOKS.action("sign_party_or_representative")
def sign_party_or_representative(ctx: MediationContext) -> None:
    """R-MINOR: as `sign_party`, but a party with a legal representative signs through them,
    and the signature row names who signed."""
    party = ctx.party_of(ctx.value("party_id"))
    method = "paper" if _on_paper(ctx) else ctx.value("method")
    if method is None:
        raise InvalidInput("请选择“签署方式”", field="method")
    if method == "paper" and not _on_paper(ctx) and ctx.latest_document(AGREEMENT) is not None:
        raise InvalidInput("本案已生成电子协议书，各方须按顺序在电子协议书上签署", field="method")
    signer = party.representative_name if party.representative_relation else party.name
    _sign(ctx, "party", party.party_id, method, signer_name=signer)


@HOOKS.action("sign_mediator")
def sign_mediator(ctx: MediationContext) -> None:
    """The presiding mediator signs after the parties (in ink too when the parties must)."""
    _sign(ctx, "mediator", None, "paper" if _on_paper(ctx) else "electronic")


@HOOKS.action("apply_seal")
def apply_seal(ctx: MediationContext) -> None:
    """R-AGREEMENT-EFFECT / R-SEAL: the committee seal comes last; the agreement takes effect.

    On paper the seal is the committee's physical seal, shown on the final scan: a wet-only
    agreement has no signature fields and the documents package refuses to sign it.
    """
    _sign(ctx, "seal", None, "paper" if _on_paper(ctx) else "electronic")
    ctx.set_case(agreement_effective_at=ctx.now)
