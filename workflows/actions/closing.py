"""Actions that end a case: termination with the routes advised, closing, and the outcome
reported to a referring court."""

from __future__ import annotations

from mediation.context import MediationContext
from workflows.hookset import HOOKS

OTHER_ROUTES = "当事人可依法通过仲裁、行政或者司法等途径维护自己的权利"


@HOOKS.action("record_termination")
def record_termination(ctx: MediationContext) -> None:
    """R-TERMINATE: why mediation ended, and the routes the parties were told of."""
    reason_code = ctx.value("termination_reason")
    ctx.update_data(
        "termination",
        {"reason": reason_code, "routes_advised": OTHER_ROUTES, "at": ctx.now.isoformat()},
    )
    ctx.set_case(closed_at=ctx.now)


@HOOKS.action("close_case")
def close_case(ctx: MediationContext) -> None:
    """R-CLOSE: performance complete; the 结案报告 summary is kept."""
    ctx.update_data("closing_report", {"summary": ctx.value("summary"), "at": ctx.now.isoformat()})
    ctx.set_case(closed_at=ctx.now)


@HOOKS.action("report_to_referring_court")
def report_to_referring_court(ctx: MediationContext) -> None:
    """诉前委派: the delegating court gets the outcome back."""
    court = ctx.case.referring_court_id
    if court is None:
        return
    ctx.notify(
        "referral_outcome",
        f"court:{court}",
        {"outcome": ctx.transition.dest, "trigger": ctx.transition.trigger},
    )
