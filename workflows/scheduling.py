"""The next session's time and place, announced to the parties before it happens.

Kept in the case's data (`next_session`) by the engine's own fire, like the police reports
and legal opinions: one next session per case at a time, every scheduling, rescheduling and
cancellation an audited event with its payload, no extra table or read for the pages (the
case row already carries it). A session whose time has passed is no longer "next"
(`upcoming_session`), whether or not it was recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.hooks import InvalidInput
from mediation.context import MediationContext
from workflows.hookset import HOOKS

NEXT_SESSION = "next_session"
MAX_AHEAD = timedelta(days=366)


@HOOKS.action("schedule_session")
def schedule_session(ctx: MediationContext) -> None:
    """Set (or move) the next session: a time still to come, a place, an optional note."""
    at: datetime = ctx.value("at")
    if at <= ctx.now:
        raise InvalidInput("下次调解的时间须晚于现在", field="at")
    if at - ctx.now > MAX_AHEAD:
        raise InvalidInput("下次调解的时间不能晚于一年以后", field="at")
    previous = ctx.data.get(NEXT_SESSION)
    ctx.update_data(
        NEXT_SESSION,
        {
            "at": at.isoformat(),
            "place": ctx.value("place"),
            "note": ctx.value("note") or "",
            "by": ctx.actor.user_id,
            "scheduled_at": ctx.now.isoformat(),
            "replaces": previous.get("at") if isinstance(previous, dict) else None,
        },
    )


@HOOKS.action("cancel_session")
def cancel_session(ctx: MediationContext) -> None:
    """Call off the next session (the reason is the event's); nothing is scheduled then."""
    if upcoming_session(ctx.data, ctx.now) is None:
        raise InvalidInput("目前没有已安排、尚未举行的调解", field="reason")
    ctx.update_data(NEXT_SESSION, None)


def upcoming_session(data: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The scheduled session when it is still to come: {at (datetime), place, note}."""
    entry = data.get(NEXT_SESSION)
    if not isinstance(entry, dict):
        return None
    at = datetime.fromisoformat(str(entry["at"]))
    if at <= now:
        return None
    return {"at": at, "place": str(entry["place"]), "note": str(entry.get("note", ""))}
