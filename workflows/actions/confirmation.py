"""Actions of judicial confirmation (司法确认): the window to apply, waivers, the application
and the court's acceptance, review, ruling, and the reminders of its time limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.hooks import InvalidInput
from mediation.context import MediationContext
from workflows.hookset import HOOKS
from workflows.kinds import RULING


@HOOKS.action("apply_for_confirmation")
def apply_for_confirmation(ctx: MediationContext) -> None:
    """R-JC-COURT / R-JC-PACKAGE: a joint application to the competent court."""
    applicants = ctx.value("applicants")
    party_ids = {p.party_id for p in ctx.parties()}
    if set(applicants) != party_ids:
        raise InvalidInput(
            "司法确认须由双方当事人共同申请：共同申请人须为全体当事人", field="applicants"
        )
    court: int | None = ctx.value("court_id", ctx.case.referring_court_id)
    if court is None:
        raise InvalidInput("请选择受理司法确认的人民法院", field="court_id")
    if ctx.case.referring_court_id is not None and court != ctx.case.referring_court_id:
        raise InvalidInput(
            "委派调解的案件应向委派法院申请司法确认（民事诉讼法第205条）", field="court_id"
        )
    ctx.set_case(court_id=court)
    ctx.update_data(
        "confirmation",
        {"applied_at": ctx.now.isoformat(), "court_id": court, "applicants": sorted(party_ids)},
    )
    ctx.notify("confirmation_applied", f"court:{court}", {"court_id": court})


def _confirmation(ctx: MediationContext, **changes: Any) -> None:
    ctx.update_data("confirmation", {**ctx.data.get("confirmation", {}), **changes})


@HOOKS.action("accept_application")
def accept_application(ctx: MediationContext) -> None:
    """R-JC-ACCEPT: the court accepts and its 15-day review begins."""
    _confirmation(ctx, accepted_at=ctx.now.isoformat(), accepted_by=ctx.actor.user_id)


@HOOKS.action("decline_application")
def decline_application(ctx: MediationContext) -> None:
    """R-JC-TRACK: 不予受理, with the court's reason."""
    _confirmation(ctx, outcome="not_accepted", reason=ctx.reason, decided_at=ctx.now.isoformat())


@HOOKS.action("withdraw_application")
def withdraw_application(ctx: MediationContext) -> None:
    """R-JC-TRACK: the parties withdraw their application (撤回)."""
    _confirmation(ctx, outcome="withdrawn", reason=ctx.reason, decided_at=ctx.now.isoformat())


@HOOKS.action("extend_review")
def extend_review(ctx: MediationContext) -> None:
    """R-JC-REVIEW: the president approves 10 more days, once."""
    approver = ctx.value("approved_by")
    ctx.extend_timers(kind="state_deadline", name=ctx.case.state, days=10)
    _confirmation(ctx, extended=True, extension_approved_by=approver)


def _ruling_version(ctx: MediationContext) -> int | None:
    """The court-signed 民事裁定书, when the court issues it through the document service."""
    digest: str | None = ctx.value("document_sha256")
    if digest is None:
        return None
    return ctx.record_document(RULING, digest, field="document_sha256").version


@HOOKS.action("confirm_agreement")
def confirm_agreement(ctx: MediationContext) -> None:
    """R-JC-TRACK: 裁定有效 — the agreement becomes enforceable (R-ENFORCE: 2 years)."""
    _confirmation(
        ctx,
        outcome="confirmed",
        ruling_number=ctx.value("ruling_number"),
        judge_id=ctx.actor.user_id,
        decided_at=ctx.now.isoformat(),
        ruling_version=_ruling_version(ctx),
    )
    ctx.notify("confirmation_ruled", "parties", {"outcome": "confirmed"})


@HOOKS.action("reject_agreement")
def reject_agreement(ctx: MediationContext) -> None:
    """R-JC-TRACK: 裁定驳回 on one of the grounds of SPC-I Art. 358."""
    ground = ctx.value("ground")
    _confirmation(
        ctx,
        outcome="rejected",
        ground=ground,
        ruling_version=_ruling_version(ctx),
        ruling_number=ctx.value("ruling_number"),
        judge_id=ctx.actor.user_id,
        decided_at=ctx.now.isoformat(),
    )
    ctx.notify("confirmation_ruled", "parties", {"outcome": "rejected", "ground": ground})


@HOOKS.action("remind_confirmation_window")
def remind_confirmation_window(ctx: MediationContext) -> None:
    """R-JC-WINDOW: the 30 days to apply for judicial confirmation are about to run out."""
    closes_at = ctx.payload.get("closes_at")
    for recipient in ("parties", "mediator"):
        ctx.notify(
            "confirmation_window_closing",
            recipient,
            {"closes_at": closes_at, "rule": "R-JC-WINDOW"},
        )


@HOOKS.action("remind_court_acceptance")
def remind_court_acceptance(ctx: MediationContext) -> None:
    """R-JC-ACCEPT: the 3 days to decide on acceptance have passed."""
    ctx.notify("court_reminder", f"court:{ctx.case.court_id}", {"rule": "R-JC-ACCEPT"})


@HOOKS.action("remind_court_review")
def remind_court_review(ctx: MediationContext) -> None:
    """R-JC-REVIEW: the review period (15 days, or 25 with extension) has passed."""
    ctx.notify("court_reminder", f"court:{ctx.case.court_id}", {"rule": "R-JC-REVIEW"})


@HOOKS.action("remind_hard_limit")
def remind_hard_limit(ctx: MediationContext) -> None:
    """R-JC-REVIEW: 30 days from filing, the limit the court must not exceed."""
    ctx.notify("court_reminder", f"court:{ctx.case.court_id}", {"rule": "R-JC-REVIEW-HARD"})


# --- v2 (issue 14): named anew where v1's behaviour must stay as it was recorded -------------

CONFIRMATION_WINDOW = "jc_window"  # timer name of the 30 days to apply (R-JC-WINDOW)
CONFIRMATION_WINDOW_DAYS = 30
CONFIRMATION_REMINDER_DAYS = 5


def _schedule_confirmation_window(ctx: MediationContext) -> None:
    """The 30 days count from the agreement taking effect, however often the parties apply;
    a window already closed expires at the next tick and follow-up begins."""
    effective = ctx.case.agreement_effective_at or ctx.now
    ctx.cancel_timers(kind="period", name=CONFIRMATION_WINDOW)
    ctx.cancel_timers(kind="reminder", name=CONFIRMATION_WINDOW)
    closes = ctx.schedule(
        kind="period",
        name=CONFIRMATION_WINDOW,
        days=CONFIRMATION_WINDOW_DAYS,
        working_days=False,
        on_expiry="start_followup",
        payload={"label": "司法确认申请期限"},
        start=effective,
    )
    if ctx.now < closes - timedelta(days=CONFIRMATION_REMINDER_DAYS):
        ctx.schedule(
            kind="reminder",
            name=CONFIRMATION_WINDOW,
            days=CONFIRMATION_WINDOW_DAYS - CONFIRMATION_REMINDER_DAYS,
            working_days=False,
            on_expiry="remind_confirmation_window",
            payload={"label": "司法确认申请期限", "closes_at": closes.isoformat()},
            start=effective,
        )


@HOOKS.action("open_confirmation_window")
def open_confirmation_window(ctx: MediationContext) -> None:
    """R-JC-WINDOW: the parties have 30 days from the agreement taking effect to apply."""
    _schedule_confirmation_window(ctx)


@HOOKS.action("reopen_confirmation_window")
def reopen_confirmation_window(ctx: MediationContext) -> None:
    """R-JC-PACKAGE: after 不予受理 or 撤回 the parties may apply again (to the competent
    court) while their 30 days last; then follow-up begins."""
    _schedule_confirmation_window(ctx)


@HOOKS.action("record_confirmation_waiver")
def record_confirmation_waiver(ctx: MediationContext) -> None:
    """R-JC-WINDOW: a party declines judicial confirmation in writing (kept with its text)."""
    party = ctx.party_of(ctx.value("party_id"))
    waivers = dict(ctx.data.get("confirmation_waivers", {}))
    waivers[str(party.party_id)] = {"at": ctx.now.isoformat(), "statement": ctx.value("statement")}
    ctx.update_data("confirmation_waivers", waivers)
