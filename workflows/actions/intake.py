"""Actions from intake to a mediator: consent, assignment, risk, referral to the police,
moving to a room, the grid and corrected addresses, and refusing a matter."""

from __future__ import annotations

from engine.hooks import InvalidInput
from mediation.context import MediationContext
from workflows.hookset import HOOKS

# Vocabularies (codes and labels) are data: workflows/vocabularies/<name>.yaml.
INVITED_ROLES = frozenset({"lawyer", "judge", "prosecutor", "police"})  # R-INVITE


@HOOKS.action("record_consent")
def record_consent(ctx: MediationContext) -> None:
    """R-START / R-NOTICE: a party agrees to mediation; time and source are kept."""
    party = ctx.party_of(ctx.value("party_id"))
    ctx.record_consent(party, "consented", ctx.value("source"))
    if ctx.value("notice_acknowledged"):
        ctx.acknowledge_notice(party)


@HOOKS.action("record_refusal")
def record_refusal(ctx: MediationContext) -> None:
    """R-START: one party refusing ends mediation; the refusal is recorded with its source."""
    party = ctx.party_of(ctx.value("party_id"))
    ctx.record_consent(party, "refused", ctx.value("source"))
    ctx.set_case(closed_at=ctx.now)


@HOOKS.action("assign_member")
def assign_member(ctx: MediationContext) -> None:
    """R-MEDIATOR / R-INVITE: assign a mediator or invite a 三官一律 member."""
    user_id: int = ctx.value("user_id")
    role: str = ctx.value("role")
    label = ctx.label_of("assignable_roles", role)
    if role != "recorder" and not any(h.user_id == user_id for h in ctx.users_holding((role,))):
        raise InvalidInput(f"该人员不担任{label}，不能以此角色参与", field="role")
    if any(a.active and a.user_id == user_id and a.role == role for a in ctx.assignments()):
        raise InvalidInput(f"该人员已是本案的{label}", field="user_id")
    consented = bool(ctx.value("parties_consented"))
    if role in INVITED_ROLES and not consented:
        raise InvalidInput(
            "邀请律师、法官、检察官或民警参与调解须经当事人同意（人民调解法第20条）",
            field="parties_consented",
        )
    ctx.assign(user_id, role, consented=consented)


@HOOKS.action("unassign_member")
def unassign_member(ctx: MediationContext) -> None:
    """R-MEDIATOR: parties may ask to change the mediator (PML Art. 23)."""
    if ctx.unassign(ctx.value("user_id"), ctx.value("role")) == 0:
        raise InvalidInput("该人员当前未担任此角色", field="user_id")


@HOOKS.action("reassess_risk")
def reassess_risk(ctx: MediationContext) -> None:
    """R-RISK: change the case's risk level on the spec's scale."""
    ctx.set_case(risk_level=ctx.value("risk_level"))


@HOOKS.action("report_to_police")
def report_to_police(ctx: MediationContext) -> None:
    """R-RISK: a dispute that may turn criminal is reported to the police, with time."""
    station: str = ctx.value("station")
    summary: str = ctx.value("summary")
    reports = [
        *ctx.data.get("police_reports", []),
        {"at": ctx.now.isoformat(), "station": station, "summary": summary},
    ]
    ctx.update_data("police_reports", reports)
    ctx.notify("police_report", station, {"summary": summary})


@HOOKS.action("move_to_room")
def move_to_room(ctx: MediationContext) -> None:
    """The case enters the named room's queue at once (its mediators see it); the timer's
    escalation names none and leaves the case with its committee, whose mediators see it."""
    room = ctx.value("room_id")
    if room is not None:
        ctx.set_case(org_unit_id=room)


@HOOKS.action("record_inadmissible")
def record_inadmissible(ctx: MediationContext) -> None:
    """R-INADMISSIBLE: refuse and record where the matter belongs."""
    referral = ctx.value("referral_advice")
    ctx.update_data("inadmissible", {"referral_advice": referral, "at": ctx.now.isoformat()})
    ctx.set_case(closed_at=ctx.now)


@HOOKS.action("correct_party_address")
def correct_party_address(ctx: MediationContext) -> None:
    """A party's address as written at intake was wrong; the old one stays in the history."""
    party = ctx.party_of(ctx.value("party_id"))
    ctx.correct_address(party, ctx.value("address"))


@HOOKS.action("set_grid")
def set_grid(ctx: MediationContext) -> None:
    """The grid the case belongs to, picked by a person: an address match only suggests."""
    ctx.set_case(grid_id=ctx.value("grid_id"))
