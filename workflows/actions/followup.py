"""Actions of follow-up after an agreement: planned visits (by the calendar or by risk),
recorded visits, overdue visits and urging performance with the enforcement deadlines."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from engine.calendar import SHANGHAI
from engine.hooks import InvalidInput
from mediation.context import MediationContext
from workflows.hookset import HOOKS


@HOOKS.action("record_visit")
def record_visit(ctx: MediationContext) -> None:
    """R-FOLLOWUP: performance, satisfaction, new risks and the visitor; settles a due visit."""
    term_index: int | None = ctx.value("term_index")
    terms = ctx.data.get("agreement", {}).get("terms", [])
    if term_index is not None and not term_index < len(terms):
        raise InvalidInput(f"本协议没有第{term_index + 1}条", field="term_index")
    performance = ctx.value("performance")
    method = ctx.value("method")
    ctx.add_visit(
        term_index=term_index,
        performance=performance,
        satisfaction=ctx.value("satisfaction"),
        new_risks=ctx.value("new_risks"),
        notes=ctx.value("notes", ""),
    )
    visits: dict[str, dict[str, Any]] = dict(ctx.data.get("visits_due", {}))
    key = ctx.value("visit")
    if key is None and term_index is not None:
        key = f"term_{term_index}"
    if key is None:  # the earliest visit still open
        open_keys = sorted(
            (v["due_at"], k)
            for k, v in visits.items()
            if v["status"] in ("scheduled", "due", "overdue")
        )
        key = open_keys[0][1] if open_keys else None
    if key is not None:
        if key not in visits:
            raise InvalidInput(f"没有名为“{key}”的回访安排", field="visit")
        visits[key] = {**visits[key], "status": "done", "performance": performance}
        if method is not None:
            visits[key]["method"] = method
        ctx.update_data("visits_due", visits)
        ctx.cancel_timers(kind="followup", name=key)
        ctx.cancel_timers(kind="visit_overdue", name=key)
        if not any(v["status"] == "overdue" for v in visits.values()) and _visit_overdue_only(ctx):
            ctx.set_case(overdue=False)


def _visit_overdue_only(ctx: MediationContext) -> bool:
    """The case's overdue flag came from a late visit, not from the mediation limit."""
    return bool(ctx.data.get("overdue_reason") == "visit")


def _visitor(ctx: MediationContext) -> int | None:
    """The 中心户 next door if the case has one, else its mediator (R-FOLLOWUP)."""
    active = [a for a in ctx.assignments() if a.active]
    for role in ("central_household", "mediator"):
        for assignment in active:
            if assignment.role == role:
                return assignment.user_id
    return None


@HOOKS.action("schedule_followups")
def schedule_followups(ctx: MediationContext) -> None:
    """R-FOLLOWUP: one visit after each term's performance deadline, plus the standard visits."""
    visitor = _visitor(ctx)
    visits: dict[str, dict[str, Any]] = dict(ctx.data.get("visits_due", {}))
    terms = ctx.data.get("agreement", {}).get("terms", [])
    plan: list[tuple[str, str, datetime, int]] = []
    for index, term in enumerate(terms):
        deadline = date.fromisoformat(term["due_date"])
        start = datetime.combine(deadline, time(0, 0), tzinfo=SHANGHAI)
        plan.append((f"term_{index}", f"第{index + 1}条履行期限届满回访", start, 1))
    for days in ctx.policy.followup_days:
        plan.append((f"day_{days}", f"协议生效后第{days}日回访", ctx.now, days))
    for key, label, start, days in plan:
        due_at = ctx.schedule(
            kind="followup",
            name=key,
            days=days,
            working_days=False,
            on_expiry="visit_due",
            payload={"visit": key, "label": label, "visitor": visitor},
            start=start,
        )
        visits[key] = {
            "label": label,
            "due_at": due_at.isoformat(),
            "visitor": visitor,
            "status": "scheduled",
        }
    ctx.update_data("visits_due", visits)


@HOOKS.action("visit_due")
def visit_due(ctx: MediationContext) -> None:
    """A follow-up visit is due: tell the visitor, and watch for it being late."""
    key = ctx.text("visit", "回访")
    visits: dict[str, dict[str, Any]] = dict(ctx.data.get("visits_due", {}))
    entry = visits.get(key or "")
    if entry is None or entry["status"] == "done":
        return
    visits[key or ""] = {**entry, "status": "due"}
    ctx.update_data("visits_due", visits)
    visitor = entry.get("visitor")
    ctx.notify(
        "visit_due",
        f"user:{visitor}" if visitor else f"unit:{ctx.case.org_unit_id}",
        {"visit": key, "label": entry["label"]},
    )
    ctx.schedule(
        kind="visit_overdue",
        name=key or "",
        days=ctx.policy.visit_grace_days,
        working_days=True,
        on_expiry="flag_visit_overdue",
        payload={"visit": key, "label": entry["label"]},
    )


@HOOKS.action("flag_visit_overdue")
def flag_visit_overdue(ctx: MediationContext) -> None:
    """A due visit went unrecorded: flag the case and tell the supervisor (超期督办)."""
    key = ctx.text("visit", "回访") or ""
    visits: dict[str, dict[str, Any]] = dict(ctx.data.get("visits_due", {}))
    entry = visits.get(key)
    if entry is None or entry["status"] == "done":
        return
    visits[key] = {**entry, "status": "overdue"}
    ctx.update_data("visits_due", visits)
    if not ctx.case.overdue:
        ctx.update_data("overdue_reason", "visit")
    ctx.set_case(overdue=True)
    ctx.notify("visit_overdue", "supervisor", {"visit": key, "label": entry["label"]})


@HOOKS.action("urge_performance")
def urge_performance(ctx: MediationContext) -> None:
    """R-NONPERFORM: urge performance, then advise suing or enforcement if confirmed."""
    confirmed = ctx.data.get("confirmation", {}).get("outcome") == "confirmed"
    urge: dict[str, Any] = {"at": ctx.now.isoformat()}
    if confirmed:
        deadlines = _enforcement_deadlines(ctx)
        urge["enforcement_deadlines"] = deadlines
        urge["advice"] = "可向作出确认裁定的人民法院申请强制执行：" + "；".join(
            f"第{d['term']}条（履行期限 {d['due_date']}）须于 {d['deadline']} 前申请"
            + ("（该年节假日安排尚未公布，届时请核实）" if d["provisional"] else "")
            for d in deadlines
        )
    else:
        urge["advice"] = "可就调解协议的履行向人民法院提起诉讼"
    ctx.update_data("urges", [*ctx.data.get("urges", []), urge])


def _enforcement_deadlines(ctx: MediationContext) -> list[dict[str, Any]]:
    """R-ENFORCE (CPL Art. 250): two years from the last day of each term's performance
    period; a period that ends on a rest day runs to the next working day (Art. 85).

    Each term counts from its own deadline. Where terms are instalments of one obligation
    the law counts from the last instalment, so this errs early, never late."""
    deadlines = []
    for index, term in enumerate(ctx.data.get("agreement", {}).get("terms", [])):
        due = date.fromisoformat(term["due_date"])
        try:
            anniversary = due.replace(year=due.year + 2)
        except ValueError:  # 29 February: the period ends on the last day of that month
            anniversary = due.replace(year=due.year + 2, day=28)
        start = datetime.combine(due, time(0, 0), tzinfo=SHANGHAI)
        end = ctx.period_end(start, (anniversary - due).days)
        deadlines.append(
            {
                "term": index + 1,
                "due_date": due.isoformat(),
                "deadline": end.due_at.astimezone(SHANGHAI).date().isoformat(),
                "provisional": end.provisional,
            }
        )
    return deadlines


PERIODIC_VISITS_MAX = 12  # a periodic plan is finite; the mediator plans more if needed


@HOOKS.action("schedule_followups_by_risk")
def schedule_followups_by_risk(ctx: MediationContext) -> None:
    """R-FOLLOWUP: the visits of `schedule_followups`, plus periodic visits for a case whose
    risk level the scale gives `visit_every_days`, until the last term's deadline."""
    schedule_followups(ctx)
    risk = ctx.mediation_spec.risk(ctx.case.risk_level)
    if risk is None or risk.visit_every_days is None:
        return
    every = risk.visit_every_days
    terms = ctx.data.get("agreement", {}).get("terms", [])
    last = max((date.fromisoformat(t["due_date"]) for t in terms), default=None)
    today = ctx.now.astimezone(SHANGHAI).date()
    span = max((last - today).days if last else 0, every)
    visitor = _visitor(ctx)
    visits: dict[str, dict[str, Any]] = dict(ctx.data.get("visits_due", {}))
    for number in range(1, min(span // every, PERIODIC_VISITS_MAX) + 1):
        key = f"periodic_{number}"
        label = f"高风险案件定期回访（第{number}次）"
        due_at = ctx.schedule(
            kind="followup",
            name=key,
            days=every * number,
            working_days=False,
            on_expiry="visit_due",
            payload={"visit": key, "label": label, "visitor": visitor},
        )
        visits[key] = {
            "label": label,
            "due_at": due_at.isoformat(),
            "visitor": visitor,
            "status": "scheduled",
        }
    ctx.update_data("visits_due", visits)
