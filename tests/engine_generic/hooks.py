"""The guards and actions of the test flows under flows/: a host of the engine other than
mediation, in a few lines."""

from __future__ import annotations

from engine.hooks import HookSet, TransitionContext

HOOKS = HookSet()


@HOOKS.guard("not_own_request")
def not_own_request(ctx: TransitionContext) -> str | None:
    """Nobody decides their own request."""
    if ctx.case.data.get("requested_by") == ctx.actor.user_id:
        return "不能审批自己的申请"
    return None


@HOOKS.guard("own_request")
def own_request(ctx: TransitionContext) -> str | None:
    """Only who asked may withdraw."""
    if ctx.case.data.get("requested_by") != ctx.actor.user_id:
        return "只能撤回自己的申请"
    return None


@HOOKS.action("record_decision")
def record_decision(ctx: TransitionContext) -> None:
    """Keep who decided, how and why on the case."""
    ctx.update_data(
        "decision",
        {
            "by": ctx.actor.user_id,
            "trigger": ctx.transition.trigger,
            "comment": ctx.value("comment"),
            "reason": ctx.reason,
        },
    )


@HOOKS.action("remind_director")
def remind_director(ctx: TransitionContext) -> None:
    """The director's period ran out: say so, change nothing else."""
    ctx.notify("leave_waiting", "director", {"state": ctx.case.state})


@HOOKS.action("record_approval")
def record_approval(ctx: TransitionContext) -> None:
    """Add the approving party's role to the case's approvals."""
    role = next(r for r in ctx.transition.roles if r in ctx.actor.roles)
    ctx.update_data("approvals", [*ctx.data.get("approvals", []), role])


@HOOKS.action("mark_overdue")
def mark_overdue(ctx: TransitionContext) -> None:
    """The offer's window closed with the case still open."""
    ctx.set_case(overdue=True)


@HOOKS.action("remind_parties")
def remind_parties(ctx: TransitionContext) -> None:
    """Two days before the offer lapses."""
    ctx.notify("offer_closing", "parties", {"closes_at": ctx.payload.get("closes_at")})
