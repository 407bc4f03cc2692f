"""R-MINOR (民法典 Arts. 19–20, 23): a party under 18 acts through their 法定代理人, who takes
part in the sessions — a session is recorded only with every representative among those
present. (Who signs for the minor: workflows/actions.py and api/services/own_signing.py.)"""

from __future__ import annotations

from mediation.context import MediationContext
from workflows.hookset import HOOKS


@HOOKS.guard("representatives_attended")
def representatives_attended(ctx: MediationContext) -> str | None:
    """Every minor party's representative is named among the session's attendees."""
    present = {str(a).strip() for a in ctx.value("attendees", []) or []}
    absent = [
        f"{p.name}的法定代理人{p.representative_name}"
        for p in ctx.parties()
        if p.representative_name and p.representative_name not in present
    ]
    if absent:
        return (
            f"未成年当事人须由法定代理人参加调解，参加人员中没有：{'、'.join(absent)}"
            "（民法典第23条）"
        )
    return None
