"""Invited participants (R-INVITE; PML Art. 20): relatives, neighbours, experts or others the
committee invites to help mediate take part only with the parties' recorded consent.

The mediator records the invitation (who, in what capacity); each party's consent or refusal
is recorded with its time; a session whose attendees name an invitee is recorded only when
every party consented to that invitee. One refusal keeps the invitee out. (三官一律 members are
assigned to the case, and their assignment carries the parties' consent already.)
"""

from __future__ import annotations

from typing import Any

from engine.errors import InvalidInput
from mediation.context import MediationContext
from workflows.hookset import HOOKS


def _invitations(ctx: MediationContext) -> list[dict[str, Any]]:
    return [dict(i) for i in ctx.data.get("invitations", [])]


def _find(invitations: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((i for i in invitations if i["name"] == name.strip()), None)


@HOOKS.action("invite_participant")
def invite_participant(ctx: MediationContext) -> None:
    """R-INVITE: who is invited and in what capacity; no party has consented yet."""
    invitations = _invitations(ctx)
    name = str(ctx.value("name")).strip()
    if _find(invitations, name) is not None:
        raise InvalidInput(f"已邀请过“{name}”", field="name")
    invitations.append(
        {
            "name": name,
            "kind": ctx.value("kind"),
            "capacity": ctx.value("capacity"),
            "invited_at": ctx.now.isoformat(),
            "invited_by": ctx.actor.user_id,
            "consents": {},
        }
    )
    ctx.update_data("invitations", invitations)


@HOOKS.action("record_invitation_consent")
def record_invitation_consent(ctx: MediationContext) -> None:
    """R-INVITE: one party's consent to (or refusal of) one invitee, with its time."""
    invitations = _invitations(ctx)
    invitee = _find(invitations, str(ctx.value("invitee")))
    if invitee is None:
        known = "、".join(i["name"] for i in invitations) or "（尚无邀请）"
        raise InvalidInput(f"没有邀请过此人；已邀请：{known}", field="invitee")
    party = ctx.party_of(ctx.value("party_id"))
    invitee["consents"] = {
        **invitee["consents"],
        str(party.party_id): {"consent": bool(ctx.value("consent")), "at": ctx.now.isoformat()},
    }
    ctx.update_data("invitations", invitations)


@HOOKS.guard("invitees_consented")
def invitees_consented(ctx: MediationContext) -> str | None:
    """R-INVITE: every invitee the session's attendees name has every party's consent."""
    attendees = {str(a).strip() for a in ctx.value("attendees", []) or []}
    parties = {str(p.party_id): p.name for p in ctx.parties()}
    for invitee in _invitations(ctx):
        if invitee["name"] not in attendees:
            continue
        consents = invitee["consents"]
        refused = [parties[p] for p, c in consents.items() if p in parties and not c["consent"]]
        if refused:
            return f"{'、'.join(refused)}不同意邀请{invitee['name']}参加调解"
        missing = [name for p, name in parties.items() if p not in consents]
        if missing:
            return f"邀请{invitee['name']}参加调解，尚未记录{'、'.join(missing)}的同意"
    return None
