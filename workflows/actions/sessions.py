"""Actions of mediation sessions and the mediation period: sessions and their transcripts,
legal opinions, extensions of the period by consent, the entrusted clock, overdue flags."""

from __future__ import annotations

from decimal import Decimal

from engine.hooks import InvalidInput
from mediation.context import MediationContext
from workflows.agreement_content import plain_number
from workflows.hookset import HOOKS


@HOOKS.action("record_session")
def record_session(ctx: MediationContext) -> None:
    """R-TRANSCRIPT / R-PUBLIC: one session with its record, counted against the tier limit."""
    ctx.add_session(
        place=ctx.value("place"),
        public=bool(ctx.value("public", False)),
        attendees=list(ctx.value("attendees", [])),
        record=ctx.value("record"),
        held_at=ctx.now,
    )
    ctx.set_case(state_sessions=ctx.case.state_sessions + 1)


@HOOKS.action("give_legal_opinion")
def give_legal_opinion(ctx: MediationContext) -> None:
    """A 三官一律 lawyer's legal opinion (法律意见书), kept with the case; hours for pro bono."""
    opinion = ctx.value("opinion")
    hours = plain_number(ctx.value("hours", Decimal(0)))
    opinions = [
        *ctx.data.get("legal_opinions", []),
        {"by": ctx.actor.user_id, "at": ctx.now.isoformat(), "opinion": opinion, "hours": hours},
    ]
    ctx.update_data("legal_opinions", opinions)


@HOOKS.action("extend_mediation_deadline")
def extend_mediation_deadline(ctx: MediationContext) -> None:
    """R-DL-PM: longer than a month only with both parties' recorded consent."""
    if ctx.value("parties_consented") is not True:
        raise InvalidInput("延长调解期限须经双方当事人同意并记录", field="parties_consented")
    days: int = ctx.value("days")
    clock: str = ctx.value("clock", "mediation_limit")
    if ctx.extend_timers(kind="clock", name=clock, days=days) == 0:
        raise InvalidInput("没有可延长的调解期限", field="clock")
    if ctx.case.overdue:
        ctx.set_case(overdue=False)


@HOOKS.action("flag_overdue")
def flag_overdue(ctx: MediationContext) -> None:
    """R-DL-PM: the mediation period passed; 超期督办 by the supervisor."""
    if not ctx.case.overdue:
        ctx.update_data("overdue_reason", "mediation_limit")
    ctx.set_case(overdue=True)
    ctx.notify("overdue", "supervisor", {"state": ctx.case.state})


@HOOKS.action("record_extension_consent")
def record_extension_consent(ctx: MediationContext) -> None:
    """R-DL-PM: one party's own consent to a longer mediation, with its time and source."""
    party = ctx.party_of(ctx.value("party_id"))
    consents = dict(ctx.data.get("extension_consents", {}))
    consents[str(party.party_id)] = {"at": ctx.now.isoformat(), "source": ctx.value("source")}
    ctx.update_data("extension_consents", consents)


@HOOKS.action("extend_mediation_by_consent")
def extend_mediation_by_consent(ctx: MediationContext) -> None:
    """R-DL-PM: the month is extended once every party consented (guarded); the consents
    are spent on this extension and kept in its record."""
    days: int = ctx.value("days")
    extended = sum(
        ctx.extend_timers(kind="clock", name=clock.name, days=days)
        for clock in ctx.spec.clocks
        if clock.on_expiry == "flag_overdue"
    )
    if extended == 0:
        raise InvalidInput("没有正在计算的调解期限可延长", field="days")
    extensions = [
        *ctx.data.get("extensions", []),
        {"at": ctx.now.isoformat(), "days": days, "consents": ctx.data["extension_consents"]},
    ]
    ctx.update_data("extensions", extensions)
    ctx.update_data("extension_consents", {})
    if ctx.case.overdue:
        ctx.set_case(overdue=False)


ENTRUSTED_CLOCK = "entrusted_limit"
SIMPLIFIED_PROCEDURE_DAYS = 7  # R-DL-ENTRUSTED: simplified procedure; the spec's 15 is ordinary


@HOOKS.action("start_entrusted_clock")
def start_entrusted_clock(ctx: MediationContext) -> None:
    """R-DL-ENTRUSTED: from the mediator signing for the materials, 15 days (the flow's clock)
    or 7 under the simplified procedure; started here, the flow's own 15 days then stand aside."""
    procedure: str = ctx.value("procedure")
    ctx.update_data("entrustment", {"procedure": procedure, "received_at": ctx.now.isoformat()})
    if procedure == "simplified":
        ctx.schedule(
            kind="clock",
            name=ENTRUSTED_CLOCK,
            days=SIMPLIFIED_PROCEDURE_DAYS,
            working_days=False,
            on_expiry="flag_overdue",
            payload={"label": "委托调解期限（简易程序7日）"},
        )


@HOOKS.action("record_session_with_transcript")
def record_session_with_transcript(ctx: MediationContext) -> None:
    """R-TRANSCRIPT / R-PUBLIC: as `record_session`, and the 调解记录 was read to the parties
    and signed by each of them; a public session names the parties who asked for it."""
    if ctx.value("read_back") is not True:
        raise InvalidInput("调解记录须当场向当事人宣读（或交其阅读）并记录", field="read_back")
    signed = set(ctx.value("signed_by", []))
    unsigned = [p.name for p in ctx.parties() if p.party_id not in signed]
    if unsigned:
        raise InvalidInput(
            f"调解记录须由各方当事人签名，尚未签名：{'、'.join(unsigned)}", field="signed_by"
        )
    requested = sorted(set(ctx.value("public_requested_by", [])))
    public = bool(ctx.value("public", False))
    if public and not requested:
        raise InvalidInput(
            "公开调解须由当事人提出：请登记提出公开调解的当事人（人民调解法第23条）",
            field="public_requested_by",
        )
    record_session(ctx)
    transcripts = [
        *ctx.data.get("transcripts", []),
        {
            "at": ctx.now.isoformat(),
            "read_back": True,
            "signed_by": sorted(signed),
            "public_requested_by": requested if public else [],
            "recorder": ctx.actor.user_id,
        },
    ]
    ctx.update_data("transcripts", transcripts)
