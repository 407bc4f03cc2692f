"""Objections to a judicial-confirmation ruling (R-JC-OBJECT; SPC-I Art. 372).

A party who objects to the ruling (confirming or rejecting the agreement) has 15 days from
receiving it; an interested third party (利害关系人) 6 months from knowing, or when they should
have known, that the ruling harms their civil rights. The court records each objection with
its dates and grounds, then upholds it (裁定撤销原裁定) or dismisses it (裁定驳回异议):
- a confirmation revoked leaves an agreement the court no longer backs: the case returns to
  mediation, where the parties may change the agreement or take the court route;
- a rejection revoked sends the application back to the court's review.

A timer marks when the parties' 15 days, counted from the ruling, have run: from then on
only an objection that proves a later receipt, or a third party's, is recorded.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from engine.calendar import SHANGHAI, months_later
from mediation.context import MediationContext
from workflows.hookset import HOOKS

OBJECTION_WINDOW = "objection_window"  # timer name
PARTY_OBJECTION_DAYS = 15
THIRD_PARTY_OBJECTION_MONTHS = 6
RULED = ("confirmed", "rejected")


def _confirmation(ctx: MediationContext) -> dict[str, Any]:
    confirmation: dict[str, Any] = ctx.data.get("confirmation", {})
    return confirmation


def _objections(ctx: MediationContext) -> list[dict[str, Any]]:
    return list(_confirmation(ctx).get("objections", []))


def _update(ctx: MediationContext, **changes: Any) -> None:
    ctx.update_data("confirmation", {**_confirmation(ctx), **changes})


def _ruled_on(ctx: MediationContext) -> date | None:
    decided = _confirmation(ctx).get("decided_at")
    if _confirmation(ctx).get("outcome") not in RULED or not decided:
        return None
    return datetime.fromisoformat(decided).astimezone(SHANGHAI).date()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def party_deadline(ctx: MediationContext, received_on: date) -> date:
    """The last day a party may object: 15 days from receipt, moved past a closing holiday
    by the deployment's calendar as every statutory period is."""
    return ctx.due(_start_of(received_on), PARTY_OBJECTION_DAYS).astimezone(SHANGHAI).date()


@HOOKS.action("open_objection_window")
def open_objection_window(ctx: MediationContext) -> None:
    """R-JC-OBJECT: after a ruling the parties have 15 days to object; counted here from the
    ruling, the earliest day they can have received it."""
    ctx.cancel_timers(kind="period", name=OBJECTION_WINDOW)
    closes = ctx.schedule(
        kind="period",
        name=OBJECTION_WINDOW,
        days=PARTY_OBJECTION_DAYS,
        working_days=False,
        on_expiry="close_objection_window",
        payload={"label": "当事人对司法确认裁定提出异议的期限"},
    )
    _update(ctx, objection_window_closes_at=closes.isoformat())


@HOOKS.action("close_objection_window")
def close_objection_window(ctx: MediationContext) -> None:
    """R-JC-OBJECT: the parties' 15 days from the ruling have run (recorded, not a refusal:
    a party who received the ruling later keeps their own 15 days)."""
    _update(ctx, objection_window_closed_at=ctx.now.isoformat())


@HOOKS.guard("ruling_issued")
def ruling_issued(ctx: MediationContext) -> str | None:
    if _ruled_on(ctx) is None:
        return "本案尚无司法确认裁定，无从提出异议"
    return None


@HOOKS.guard("objection_in_time")
def objection_in_time(ctx: MediationContext) -> str | None:
    """R-JC-OBJECT: 15 days from receipt for a party, 6 months from knowing for a third party."""
    ruled = _ruled_on(ctx)
    today = ctx.now.astimezone(SHANGHAI).date()
    received: date | None = ctx.value("received_on")
    lodged: date | None = ctx.value("lodged_on")
    if ruled is None:
        return "本案尚无司法确认裁定，无从提出异议"
    if received is None or lodged is None:
        return None  # listing the actions: the dates are asked for (and required) on firing
    if lodged > today:
        return "提出异议的日期不能晚于今天"
    if received > lodged:
        return "收到裁定（或知道权益受损）的日期不能晚于提出异议的日期"
    if ctx.value("objector_kind") == "party":
        if ctx.value("party_id") is None:
            return "当事人提出异议须指明是哪一方当事人"
        if received < ruled:
            return f"收到裁定书的日期不能早于裁定作出之日（{ruled:%Y年%m月%d日}）"
        last = party_deadline(ctx, received)
        if lodged > last:
            return (
                f"当事人应当自收到裁定之日起十五日内提出异议（收到 {received:%Y年%m月%d日}，"
                f"期限至 {last:%Y年%m月%d日}），已超过期限"
            )
        return None
    if not ctx.value("objector_name"):
        return "利害关系人提出异议须写明其姓名或名称"
    last = months_later(received, THIRD_PARTY_OBJECTION_MONTHS)
    if lodged > last:
        return (
            "利害关系人应当自知道或者应当知道其民事权益受到侵害之日起六个月内提出异议"
            f"（期限至 {last:%Y年%m月%d日}），已超过期限"
        )
    return None


@HOOKS.guard("objection_pending")
def objection_pending(ctx: MediationContext) -> str | None:
    if not any(o["decision"] is None for o in _objections(ctx)):
        return "没有待审查的异议"
    return None


@HOOKS.action("record_objection")
def record_objection(ctx: MediationContext) -> None:
    """R-JC-OBJECT: who objects, when they received (or learned of) the ruling, when they
    objected, and why; the court then decides it."""
    party_id = ctx.value("party_id") if ctx.value("objector_kind") == "party" else None
    name = ctx.party_of(party_id).name if party_id is not None else ctx.value("objector_name")
    objection = {
        "objector_kind": ctx.value("objector_kind"),
        "party_id": party_id,
        "objector": name,
        "received_on": ctx.value("received_on").isoformat(),
        "lodged_on": ctx.value("lodged_on").isoformat(),
        "grounds": ctx.value("grounds"),
        "recorded_at": ctx.now.isoformat(),
        "recorded_by": ctx.actor.user_id,
        "decision": None,
    }
    _update(ctx, objections=[*_objections(ctx), objection])


def _decide(ctx: MediationContext, decision: str) -> dict[str, Any]:
    objections = _objections(ctx)
    index = next(i for i, o in enumerate(objections) if o["decision"] is None)
    objections[index] = {
        **objections[index],
        "decision": decision,
        "decided_at": ctx.now.isoformat(),
        "decided_by": ctx.actor.user_id,
        "reason": ctx.reason,
    }
    _update(ctx, objections=objections)
    return objections[index]


def _tell_parties(ctx: MediationContext, objection: dict[str, Any]) -> None:
    body = {"decision": objection["decision"], "objector": objection["objector"]}
    ctx.notify("objection_decided", "parties", body)


@HOOKS.action("dismiss_objection")
def dismiss_objection(ctx: MediationContext) -> None:
    """R-JC-OBJECT: 异议不成立，裁定驳回 — the ruling stands."""
    decided = _decide(ctx, "dismissed")
    ctx.notify(
        "objection_decided", "parties", {"decision": "dismissed", "objector": decided["objector"]}
    )


@HOOKS.action("uphold_objection")
def uphold_objection(ctx: MediationContext) -> None:
    """R-JC-OBJECT: 异议成立，裁定撤销原裁定 — the ruling no longer stands."""
    decided = _decide(ctx, "upheld")
    previous = _confirmation(ctx).get("outcome")
    _update(
        ctx,
        outcome="revoked",
        revoked_outcome=previous,
        revoked_at=ctx.now.isoformat(),
    )
    ctx.cancel_timers(kind="period", name=OBJECTION_WINDOW)
    ctx.notify(
        "objection_decided", "parties", {"decision": "upheld", "objector": decided["objector"]}
    )
