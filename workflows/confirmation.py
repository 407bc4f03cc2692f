"""The application for judicial confirmation as the parties' own act (R-JC-PACKAGE; SPC-I
Art. 354; JC-2011 Art. 3): the 司法确认申请书 is prepared for the chosen court and applicants,
each applicant (or their 法定代理人) signs it themselves, and only an application every
applicant signed may be filed — the mediator helps file it but cannot apply for them.

A refused (不予受理) or withdrawn application is a closed paper: a new application, signed
again, is needed to apply (again, to the competent court) while the 30 days last.
"""

from __future__ import annotations

from typing import Any

from engine.errors import InvalidInput
from mediation.context import MediationContext
from workflows.hookset import HOOKS

APPLICATION = "confirmation_application"
KEY = "jc_application"


def _court(ctx: MediationContext) -> int | None:
    court: int | None = ctx.value("court_id", ctx.case.referring_court_id)
    return court


def _prepared(ctx: MediationContext) -> dict[str, Any] | None:
    prepared = ctx.data.get(KEY)
    return dict(prepared) if isinstance(prepared, dict) else None


@HOOKS.action("prepare_confirmation_application")
def prepare_confirmation_application(ctx: MediationContext) -> None:
    """The application for these applicants and this court; nobody has signed it yet."""
    applicants = sorted(int(p) for p in ctx.value("applicants"))
    if set(applicants) != {p.party_id for p in ctx.parties()}:
        raise InvalidInput(
            "司法确认须由双方当事人共同申请：共同申请人须为全体当事人", field="applicants"
        )
    court = _court(ctx)
    if court is None:
        raise InvalidInput("请选择受理司法确认的人民法院", field="court_id")
    if ctx.case.referring_court_id is not None and court != ctx.case.referring_court_id:
        raise InvalidInput(
            "委派调解的案件应向委派法院申请司法确认（民事诉讼法第205条）", field="court_id"
        )
    version = None
    digest = ctx.value("document_sha256")
    if digest:
        version = ctx.record_document(APPLICATION, digest, field="document_sha256").version
    ctx.update_data(
        KEY,
        {
            "applicants": applicants,
            "court_id": court,
            "prepared_at": ctx.now.isoformat(),
            "prepared_by": ctx.actor.user_id,
            "document_version": version,
            "signatures": {},
        },
    )


@HOOKS.action("record_application_signature")
def record_application_signature(ctx: MediationContext) -> None:
    """One applicant signed the prepared application (their own act: see the service)."""
    prepared = _prepared(ctx)
    if prepared is None:
        raise InvalidInput("请先制作司法确认申请书", field="party_id")
    party = ctx.case_party()
    if party.party_id not in prepared["applicants"]:
        raise InvalidInput(f"{party.name}不是本申请书的申请人", field="party_id")
    signatures: dict[str, Any] = dict(prepared["signatures"])
    if str(party.party_id) in signatures:
        raise InvalidInput(f"{party.name}已签署本申请书", field="party_id")
    version = prepared.get("document_version")
    digest = ctx.value("document_sha256")
    if digest:  # the signed application is a new version; the agreement's signatures stay apart
        version = ctx.record_document(APPLICATION, digest, field="document_sha256").version
    signatures[str(party.party_id)] = {
        "at": ctx.now.isoformat(),
        "signing_act": ctx.value("signing_act"),
        "identity_method": ctx.value("identity_method"),
        "signed_by": party.representative_name or party.name,
    }
    ctx.update_data(KEY, {**prepared, "signatures": signatures, "document_version": version})


@HOOKS.guard("application_signed_by_every_applicant")
def application_signed_by_every_applicant(ctx: MediationContext) -> str | None:
    """R-JC-PACKAGE: the application filed is the one every applicant signed themselves."""
    prepared = _prepared(ctx)
    if prepared is None:
        return (
            "请先制作司法确认申请书，并由全体申请人本人签名后再提交法院"
            "（民诉法解释第354条：双方当事人共同申请）"
        )
    applicants = ctx.value("applicants")
    if applicants is not None and sorted(int(p) for p in applicants) != prepared["applicants"]:
        return "提交的申请人与申请书所列申请人不一致，请重新制作申请书并由申请人签名"
    court = _court(ctx)  # None while the page only asks whether the step is open
    if court is not None and court != prepared["court_id"]:
        return "提交的受理法院与申请书所写法院不一致，请重新制作申请书并由申请人签名"
    names = {p.party_id: p.name for p in ctx.parties()}
    missing = [names[p] for p in prepared["applicants"] if str(p) not in prepared["signatures"]]
    if missing:
        return f"司法确认申请书尚未由以下申请人本人签名：{'、'.join(missing)}"
    return None


@HOOKS.action("file_signed_application")
def file_signed_application(ctx: MediationContext) -> None:
    """The filing names the signed version of the application it sent to the court."""
    prepared = _prepared(ctx) or {}
    confirmation = dict(ctx.data.get("confirmation", {}))
    confirmation["application_version"] = prepared.get("document_version")
    confirmation["application_signatures"] = prepared.get("signatures", {})
    ctx.update_data("confirmation", confirmation)


@HOOKS.action("close_confirmation_application")
def close_confirmation_application(ctx: MediationContext) -> None:
    """不予受理 / 撤回: that application is spent; applying again needs a new signed one."""
    if KEY in ctx.data:
        ctx.update_data(KEY, None)
