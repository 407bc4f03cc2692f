"""Guards of the mediation flows: pure checks that return None or say, in Chinese, why not.

Guards must not demand payload fields: `available_triggers` evaluates them without one.
The engine checks the payload against the transition's declared fields before any guard
runs; guards read the typed values (`ctx.value`), never the raw payload.
"""

from __future__ import annotations

import re
from datetime import datetime

from mediation.context import MediationContext
from workflows.hookset import HOOKS

PANEL_OFFICIALS = ("judge", "prosecutor", "police")
CONFIRMATION_WINDOW_DAYS = 30  # R-JC-WINDOW: PML Art. 33, CPL Art. 205
REVIEW_DAYS = 15  # R-JC-REVIEW: JC-2011 Art. 5


def _names(parties: list[str]) -> str:
    return "、".join(parties)


@HOOKS.guard("all_parties_consented")
def all_parties_consented(ctx: MediationContext) -> str | None:
    """R-START: mediation is voluntary; every party must have agreed to it."""
    waiting = [p.name for p in ctx.parties() if p.consent != "consented"]
    if waiting:
        return f"以下当事人尚未同意调解：{_names(waiting)}（人民调解法第17条）"
    return None


@HOOKS.guard("notice_acknowledged")
def notice_acknowledged(ctx: MediationContext) -> str | None:
    """R-NOTICE: the rights-and-duties notice is acknowledged before the first session."""
    waiting = [p.name for p in ctx.parties() if p.notice_acknowledged_at is None]
    if waiting:
        return f"以下当事人尚未签收《当事人权利义务告知书》：{_names(waiting)}"
    return None


@HOOKS.guard("within_session_limit")
def within_session_limit(ctx: MediationContext) -> str | None:
    """Local tier limits (e.g. 江阴“331”): attempts allowed at this level before moving up."""
    limit = ctx.source_state.max_sessions
    if limit is not None and ctx.case.state_sessions >= limit:
        done = ctx.case.state_sessions
        return (
            f"本级（{ctx.source_state.label}）已调解 {done} 次，达到上限 {limit} 次，请上报上一级"
        )
    return None


@HOOKS.guard("risk_allows_dest_level")
def risk_allows_dest_level(ctx: MediationContext) -> str | None:
    """R-RISK: high-risk disputes skip the lower tiers."""
    risk = ctx.mediation_spec.risk(ctx.case.risk_level)
    dest_level = ctx.dest_state.level
    if risk is None or dest_level is None:
        return None
    if ctx.spec.level_rank(dest_level) < ctx.spec.level_rank(risk.lowest_level):
        where = ctx.dest_state.label
        return f"风险等级为“{risk.label}”的纠纷不得在“{where}”层级调解，须直接上报更高层级"
    return None


@HOOKS.guard("grid_assigned")
def grid_assigned(ctx: MediationContext) -> str | None:
    """Grid-level mediation needs the grid and its 中心户."""
    if ctx.case.grid_id is None:
        return "未能按当事人住址匹配到网格，请先登记住址或直接由调解室受理"
    if not any(a.active and a.role == "central_household" for a in ctx.assignments()):
        return "该网格尚未指派中心户"
    return None


@HOOKS.guard("mediator_assigned")
def mediator_assigned(ctx: MediationContext) -> str | None:
    """R-MEDIATOR: at least one mediator presides."""
    if not any(a.active and a.role == "mediator" for a in ctx.assignments()):
        return "尚未指派调解员（人民调解法第19条）"
    return None


@HOOKS.guard("panel_assembled")
def panel_assembled(ctx: MediationContext) -> str | None:
    """三官一律: a lawyer and at least one of judge/prosecutor/police, invited with consent."""
    active = [a for a in ctx.assignments() if a.active]
    missing: list[str] = []
    if not any(a.role == "lawyer" for a in active):
        missing.append("律师")
    if not any(a.role in PANEL_OFFICIALS for a in active):
        missing.append("法官、检察官或民警中至少一人")
    if missing:
        return f"三官一律联合调解还缺少：{'、'.join(missing)}"
    unconsented = [
        a for a in active if a.role in ("lawyer", *PANEL_OFFICIALS) and a.consented_at is None
    ]
    if unconsented:
        return "邀请三官一律成员参与调解须经当事人同意并记录（人民调解法第20条）"
    return None


@HOOKS.guard("oral_agreement_permitted")
def oral_agreement_permitted(ctx: MediationContext) -> str | None:
    """R-WRITTEN-REQUIRED: money or other civil obligations, or a party's request, need writing."""
    if ctx.value("has_monetary_terms"):
        return "协议涉及金钱给付等民事权利义务，须制作书面调解协议书（司法部规定第34条）"
    if ctx.value("written_requested"):
        return "当事人要求制作书面调解协议书"
    return None


def _signed(ctx: MediationContext, kind: str) -> list[int | None]:
    return [s.party_id for s in ctx.signatures() if s.signer_kind == kind]


@HOOKS.guard("parties_may_sign")
def parties_may_sign(ctx: MediationContext) -> str | None:
    """Signing order: parties first; the mediator and the seal come after every party."""
    if _signed(ctx, "mediator") or _signed(ctx, "seal"):
        return "调解员或印章已签署，当事人不能再签"
    party_id = ctx.value("party_id")
    if party_id is not None and party_id in _signed(ctx, "party"):
        return "该当事人已签署，不能重复签署"
    if len(set(_signed(ctx, "party"))) >= len(ctx.parties()):
        return "全体当事人均已签署"
    return None


@HOOKS.guard("mediator_may_sign")
def mediator_may_sign(ctx: MediationContext) -> str | None:
    """The mediator signs after every party and only once, and must preside over the case."""
    unsigned = [p.name for p in ctx.parties() if p.party_id not in _signed(ctx, "party")]
    if unsigned:
        return f"须待全体当事人签署后调解员再签署，尚未签署：{_names(unsigned)}"
    if _signed(ctx, "mediator"):
        return "调解员已签署"
    mediators = {
        a.user_id
        for a in ctx.assignments()
        if a.active and a.role in ("mediator", "central_household")
    }
    if ctx.actor.user_id not in mediators:
        return "只有主持本案的调解员可以签署"
    return None


@HOOKS.guard("seal_may_apply")
def seal_may_apply(ctx: MediationContext) -> str | None:
    """R-AGREEMENT-EFFECT: the seal comes last, after every party and the mediator."""
    unsigned = [p.name for p in ctx.parties() if p.party_id not in _signed(ctx, "party")]
    if unsigned:
        return f"尚有当事人未签署：{_names(unsigned)}"
    if not _signed(ctx, "mediator"):
        return "调解员尚未签署"
    if _signed(ctx, "seal"):
        return "已加盖调解委员会印章"
    return None


@HOOKS.guard("esign_permitted")
def esign_permitted(ctx: MediationContext) -> str | None:
    """R-ESIGN-EXCLUDE: marriage, adoption and inheritance agreements are signed on paper."""
    if ctx.category().excluded_from_esign and ctx.value("method") == "electronic":
        return (
            f"“{ctx.category().name}”类协议不适用电子签名（电子签名法第3条），"
            "须纸质签名并按指印后上传扫描件"
        )
    return None


@HOOKS.guard("confirmation_admissible")
def confirmation_admissible(ctx: MediationContext) -> str | None:
    """R-JC-EXCLUDE and R-ORAL: only written agreements outside the excluded matters."""
    if ctx.category().excluded_from_confirmation:
        return f"“{ctx.category().name}”类纠纷不属于司法确认受理范围（民诉法解释第355条）"
    if ctx.data.get("agreement", {}).get("oral"):
        return "口头协议不能申请司法确认"
    return None


@HOOKS.guard("within_confirmation_window")
def within_confirmation_window(ctx: MediationContext) -> str | None:
    """R-JC-WINDOW: apply within 30 days of the agreement taking effect."""
    effective = ctx.case.agreement_effective_at
    if effective is None:
        return "调解协议尚未生效"
    closes = ctx.due(effective, CONFIRMATION_WINDOW_DAYS)
    if ctx.now > closes:
        return f"已超过协议生效之日起30日的司法确认申请期限（截止 {closes:%Y-%m-%d}）"
    return None


@HOOKS.guard("judge_not_on_panel")
def judge_not_on_panel(ctx: MediationContext) -> str | None:
    """R-JC-SEPARATION: a judge who sat in the 三官一律 panel must not review its confirmation."""
    if any(a.role == "judge" and a.user_id == ctx.actor.user_id for a in ctx.assignments()):
        return "您曾参加本案三官一律联合调解，依法应当回避，不能审查本案司法确认"
    return None


@HOOKS.guard("review_not_extended")
def review_not_extended(ctx: MediationContext) -> str | None:
    """R-JC-REVIEW: the 15-day review may be extended once, by 10 days."""
    if ctx.data.get("confirmation", {}).get("extended"):
        return "审查期限已延长过一次（最多延长10日）"
    return None


@HOOKS.guard("performance_complete")
def performance_complete(ctx: MediationContext) -> str | None:
    """R-CLOSE: a case closes when performance completes."""
    visits = ctx.visits()
    if not visits:
        return "尚无回访记录，不能确认协议已履行"
    if visits[-1].performance != "performed":
        return "最近一次回访显示协议尚未履行完毕"
    return None


@HOOKS.guard("agreement_present")
def agreement_present(ctx: MediationContext) -> str | None:
    """Signing needs a drafted written agreement."""
    if not ctx.data.get("agreement") or ctx.data["agreement"].get("oral"):
        return "尚未拟定书面调解协议"
    return None


# --- v2 (issue 14): named anew where v1's behaviour must stay as it was recorded -------------

_MONEY_WORDS = re.compile(r"\d\s*(元|万元|块)|[¥￥]|人民币|赔偿|给付|支付|偿还|补偿")


@HOOKS.guard("police_report_recorded")
def police_report_recorded(ctx: MediationContext) -> str | None:
    """R-RISK: at a level the scale marks `report_to_police`, mediation waits for the report."""
    risk = ctx.mediation_spec.risk(ctx.case.risk_level)
    if risk is None or not risk.report_to_police:
        return None
    if ctx.data.get("police_reports"):
        return None
    return (
        f"风险等级为“{risk.label}”的纠纷须先报告公安机关并登记（人民调解法第25条），"
        "登记报告后方可继续调解"
    )


@HOOKS.guard("notice_acknowledged_by_every_party")
def notice_acknowledged_by_every_party(ctx: MediationContext) -> str | None:
    """R-NOTICE: every party acknowledges the notice before any agreement, written or oral."""
    waiting = [p.name for p in ctx.parties() if p.notice_acknowledged_at is None]
    if waiting:
        return f"达成协议前，以下当事人须签收《当事人权利义务告知书》：{_names(waiting)}"
    return None


@HOOKS.guard("oral_agreement_without_obligations")
def oral_agreement_without_obligations(ctx: MediationContext) -> str | None:
    """R-WRITTEN-REQUIRED: read from what was agreed, never from a self-declared flag: any
    term (money or another obligation), or content that speaks of money, needs writing."""
    if ctx.value("terms"):
        return "协议约定了给付或其他民事义务，须制作书面调解协议书（司法部规定第34条）"
    content = ctx.value("content")
    if isinstance(content, str) and _MONEY_WORDS.search(content):
        return "协议内容涉及金钱给付，须制作书面调解协议书（司法部规定第34条）"
    if ctx.value("written_requested"):
        return "当事人要求制作书面调解协议书"
    return None


def _window_closes(ctx: MediationContext) -> datetime | None:
    effective = ctx.case.agreement_effective_at
    return None if effective is None else ctx.due(effective, CONFIRMATION_WINDOW_DAYS)


@HOOKS.guard("confirmation_window_closed_or_waived")
def confirmation_window_closed_or_waived(ctx: MediationContext) -> str | None:
    """R-JC-WINDOW: follow-up starts when the 30 days end, or earlier only when every party
    has declined judicial confirmation in writing."""
    closes = _window_closes(ctx)
    if closes is None or ctx.now >= closes:
        return None
    waived = set(ctx.data.get("confirmation_waivers", {}))
    waiting = [p.name for p in ctx.parties() if str(p.party_id) not in waived]
    if not waiting:
        return None
    return (
        f"司法确认申请期限至 {closes:%Y-%m-%d} 届满；期满前进入回访须由全体当事人书面表示"
        f"不申请司法确认，尚未书面表示：{_names(waiting)}"
    )


@HOOKS.guard("review_period_running")
def review_period_running(ctx: MediationContext) -> str | None:
    """R-JC-REVIEW: the 15 days may be extended only while they run."""
    accepted = ctx.data.get("confirmation", {}).get("accepted_at")
    if accepted is None:
        return None
    ends = ctx.due(datetime.fromisoformat(accepted), REVIEW_DAYS)
    if ctx.now > ends:
        return f"审查期限已于 {ends:%Y-%m-%d} 届满，不能再延长（最高法司法确认规定第5条）"
    return None


@HOOKS.guard("every_term_performed")
def every_term_performed(ctx: MediationContext) -> str | None:
    """R-CLOSE: every term performed, each by its own latest visit; an agreement without
    terms (oral) by the latest visit."""
    visits = ctx.visits()
    if not visits:
        return "尚无回访记录，不能确认协议已履行"
    terms = ctx.data.get("agreement", {}).get("terms", [])
    if not terms:
        if visits[-1].performance != "performed":
            return "最近一次回访显示协议尚未履行完毕"
        return None
    latest: dict[int, str] = {}
    for visit in visits:
        if visit.term_index is not None:
            latest[visit.term_index] = visit.performance
    open_terms = [str(i + 1) for i in range(len(terms)) if latest.get(i) != "performed"]
    if open_terms:
        return f"第{'、'.join(open_terms)}条尚无“已履行”的回访记录，不能结案"
    return None


@HOOKS.guard("every_party_consented_to_extension")
def every_party_consented_to_extension(ctx: MediationContext) -> str | None:
    """R-DL-PM: longer than a month only with each party's own recorded consent."""
    consents = set(ctx.data.get("extension_consents", {}))
    waiting = [p.name for p in ctx.parties() if str(p.party_id) not in consents]
    if waiting:
        return f"延长调解期限须经各方当事人同意并逐一记录，尚未同意：{_names(waiting)}"
    return None


@HOOKS.guard("presiding_mediator_may_sign")
def presiding_mediator_may_sign(ctx: MediationContext) -> str | None:
    """R-MEDIATOR: as `mediator_may_sign`, but a 中心户 signs only an agreement reached at the
    grid: a room or panel case is signed by its appointed mediator."""
    verdict = mediator_may_sign(ctx)
    if verdict:
        return verdict
    if ctx.case.resolved_level == "grid":
        return None
    if not any(
        a.active and a.role == "mediator" and a.user_id == ctx.actor.user_id
        for a in ctx.assignments()
    ):
        return "调解室或联合调解达成的协议须由本案调解员签署，中心户不能作为调解员签署"
    return None
