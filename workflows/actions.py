"""Actions of the mediation flows: they change the case through the context, inside the
fire's transaction. Their input was checked against the transition's declared fields before
any guard ran; they read typed values (`ctx.value`), never the raw payload. Timer-expiry
actions (run by the tick with the timer's own data) notify through the outbox.

Agreement documents are all or nothing per case. The host's document service renders the
agreement before `draft_agreement` and passes its digest (`document_sha256`); from then on
every revision and every electronic signature must name the new version it produced, so the
signature rows and the document chain can never disagree. A deployment without the document
service fires the same triggers without digests: the case then has signature rows only.
On paper (R-ESIGN-EXCLUDE) each signature, the committee's seal included, is wet ink and
names the scan that shows it (`scan_sha256`, kind "agreement_scan"): the documents package
refuses to sign a wet-only agreement electronically at all, seal included.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.calendar import SHANGHAI
from engine.hooks import InvalidInput, TransitionContext
from workflows.hookset import HOOKS

# Vocabularies (codes and labels) are data: workflows/vocabularies/<name>.yaml.
INVITED_ROLES = frozenset({"lawyer", "judge", "prosecutor", "police"})  # R-INVITE
OTHER_ROUTES = "当事人可依法通过仲裁、行政或者司法等途径维护自己的权利"


@HOOKS.action("record_consent")
def record_consent(ctx: TransitionContext) -> None:
    """R-START / R-NOTICE: a party agrees to mediation; time and source are kept."""
    party = ctx.party_of(ctx.value("party_id"))
    ctx.record_consent(party, "consented", ctx.value("source"))
    if ctx.value("notice_acknowledged"):
        ctx.acknowledge_notice(party)


@HOOKS.action("record_refusal")
def record_refusal(ctx: TransitionContext) -> None:
    """R-START: one party refusing ends mediation; the refusal is recorded with its source."""
    party = ctx.party_of(ctx.value("party_id"))
    ctx.record_consent(party, "refused", ctx.value("source"))
    ctx.set_case(closed_at=ctx.now)


@HOOKS.action("assign_member")
def assign_member(ctx: TransitionContext) -> None:
    """R-MEDIATOR / R-INVITE: assign a mediator or invite a 三官一律 member."""
    user_id: int = ctx.value("user_id")
    role: str = ctx.value("role")
    label = ctx.label_of("assignable_roles", role)
    if role != "recorder" and not any(h[0] == user_id for h in ctx.users_holding((role,))):
        raise InvalidInput(f"该人员不担任{label}，不能以此角色参与", field="role")
    if any(a.active and a.user_id == user_id and a.role == role for a in ctx.assignments()):
        raise InvalidInput(f"该人员已是本案的{label}", field="user_id")
    consented = bool(ctx.value("parties_consented"))
    if role in INVITED_ROLES and not consented:
        raise InvalidInput(
            "邀请律师、法官、检察官或民警参与调解须经当事人同意（人民调解法第20条）",
            field="parties_consented",
        )
    ctx.assign(user_id, role, parties_consented=consented)


@HOOKS.action("unassign_member")
def unassign_member(ctx: TransitionContext) -> None:
    """R-MEDIATOR: parties may ask to change the mediator (PML Art. 23)."""
    if ctx.unassign(ctx.value("user_id"), ctx.value("role")) == 0:
        raise InvalidInput("该人员当前未担任此角色", field="user_id")


@HOOKS.action("reassess_risk")
def reassess_risk(ctx: TransitionContext) -> None:
    """R-RISK: change the case's risk level on the spec's scale."""
    ctx.set_case(risk_level=ctx.value("risk_level"))


@HOOKS.action("report_to_police")
def report_to_police(ctx: TransitionContext) -> None:
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
def move_to_room(ctx: TransitionContext) -> None:
    """The case enters the named room's queue at once (its mediators see it); the timer's
    escalation names none and leaves the case with its committee, whose mediators see it."""
    room = ctx.value("room_id")
    if room is not None:
        ctx.set_case(org_unit_id=room)


@HOOKS.action("record_session")
def record_session(ctx: TransitionContext) -> None:
    """R-TRANSCRIPT / R-PUBLIC: one session with its record, counted against the tier limit."""
    ctx.add_session(
        place=ctx.value("place"),
        public=bool(ctx.value("public", False)),
        attendees=list(ctx.value("attendees", [])),
        record=ctx.value("record"),
        held_at=ctx.now,
    )
    ctx.set_case(state_sessions=ctx.case.state_sessions + 1)


@HOOKS.action("give_legal_opinion")
def give_legal_opinion(ctx: TransitionContext) -> None:
    """A 三官一律 lawyer's legal opinion (法律意见书), kept with the case; hours for pro bono."""
    opinion = ctx.value("opinion")
    hours = _plain(ctx.value("hours", Decimal(0)))
    opinions = [
        *ctx.data.get("legal_opinions", []),
        {"by": ctx.actor.user_id, "at": ctx.now.isoformat(), "opinion": opinion, "hours": hours},
    ]
    ctx.update_data("legal_opinions", opinions)


AGREEMENT = "agreement"  # document kind of the rendered (and electronically signed) agreement
AGREEMENT_SCAN = "agreement_scan"  # document kind of the scanned wet-signed paper agreement
RULING = "ruling"  # document kind of the court-signed 民事裁定书 on a confirmation application


def _text(payload: Mapping[str, Any], key: str, label: str) -> str:
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"请填写“{label}”", field=key)
    if not isinstance(value, str):
        raise InvalidInput(f"“{label}”应为文字", field=key)
    return value.strip()


def _date_zh(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def _required(term: Mapping[str, Any], key: str, label: str, index: int) -> str:
    value = term.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"第{index + 1}条：请填写{label}", field=f"terms.{index}.{key}")
    return value.strip()


def _terms(
    raw: object, party_ids: Collection[int], today: date | None = None
) -> list[dict[str, Any]]:
    """PML Art. 29 (3): who owes whom what, how much, how, where and by when."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("请填写协议条款（至少一条）", field="terms")
    terms: list[dict[str, Any]] = []
    for index, term in enumerate(raw):
        field = f"terms.{index}"
        if not isinstance(term, dict):
            raise InvalidInput("协议条款格式有误", field=field)
        for key, label in (("obligor", "义务人"), ("obligee", "权利人")):
            if term.get(key) not in party_ids:
                raise InvalidInput(
                    f"第{index + 1}条：{label}须为本案当事人", field=f"{field}.{key}"
                )
        if term["obligor"] == term["obligee"]:
            raise InvalidInput(
                f"第{index + 1}条：义务人与权利人不能是同一当事人", field=f"{field}.obligee"
            )
        content = _required(term, "content", "履行内容", index)
        method = _required(term, "method", "履行方式（如银行转账、现金支付、当面交付）", index)
        place = _required(term, "place", "履行地点", index)
        due = term.get("due_date")
        try:
            due_date = date.fromisoformat(due) if isinstance(due, str) else None
        except ValueError:
            due_date = None
        if due_date is None:
            raise InvalidInput(
                f"第{index + 1}条：请填写履行期限（YYYY-MM-DD）", field=f"{field}.due_date"
            )
        if today is not None and due_date < today:
            raise InvalidInput(
                f"第{index + 1}条：履行期限{_date_zh(due_date)}早于签署日期"
                f"{_date_zh(today)}，请重新约定",
                field=f"{field}.due_date",
            )
        amount = term.get("amount")
        if amount is not None and (
            isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0
        ):
            raise InvalidInput(f"第{index + 1}条：金额须为非负数", field=f"{field}.amount")
        terms.append(
            {
                "obligor": term["obligor"],
                "obligee": term["obligee"],
                "content": content,
                "amount": amount,
                "method": method,
                "place": place,
                "due_date": due_date.isoformat(),
            }
        )
    return terms


def _issues(raw: object) -> list[str]:
    """The disputed matters, one per item (a text is split at semicolons and line breaks)."""
    items = raw.replace("；", "\n").replace(";", "\n").split("\n") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidInput("“争议事项”应为文字或文字列表", field="issues")
    issues = [i.strip() for i in items if i.strip()]
    if not issues:
        raise InvalidInput("请填写“争议事项”（至少一项）", field="issues")
    return issues


def _responsibilities(raw: object, party_ids: Collection[int]) -> list[dict[str, Any]]:
    """PML Art. 29 (2): each party's responsibility, one entry for every party of the case."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(
            "请逐一写明各方当事人的责任（每位当事人一项：party_id 与 responsibility）",
            field="responsibilities",
        )
    found: dict[int, str] = {}
    for index, item in enumerate(raw):
        field = f"responsibilities.{index}"
        party = item.get("party_id") if isinstance(item, dict) else None
        if not isinstance(party, int) or party not in party_ids:
            raise InvalidInput(f"第{index + 1}项：须为本案当事人", field=f"{field}.party_id")
        if party in found:
            raise InvalidInput(f"第{index + 1}项：该当事人的责任已写明", field=f"{field}.party_id")
        text = item.get("responsibility") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(
                f"第{index + 1}项：请写明该当事人的责任（无责任的写“不承担责任”）",
                field=f"{field}.responsibility",
            )
        found[party] = text.strip()
    missing = [p for p in party_ids if p not in found]
    if missing:
        raise InvalidInput(
            f"请写明每位当事人的责任：当事人 {'、'.join(map(str, sorted(missing)))} 未写",
            field="responsibilities",
        )
    return [{"party_id": p, "responsibility": t} for p, t in found.items()]


def agreement_fields(
    payload: Mapping[str, Any], party_ids: Collection[int], *, today: date | None = None
) -> dict[str, Any]:
    """R-AGREEMENT-FIELDS of a draft payload, checked and normalised.

    Pure, so the host's document service renders exactly what this action will store and
    refuses a bad payload with the same message before it renders anything. With `today`
    (the Beijing date of drafting) a performance deadline already past is refused.

    Raises:
        InvalidInput: a field is missing or malformed (named).
    """
    return {
        "facts": _text(payload, "facts", "纠纷事实"),
        "issues": _issues(payload.get("issues")),
        "responsibilities": _responsibilities(payload.get("responsibilities"), party_ids),
        "terms": _terms(payload.get("terms"), party_ids, today),
    }


def _plain(number: Decimal | None) -> int | float | None:
    """A checked decimal as JSON keeps it in the case data: 300 stays 300, 12.5 stays 12.5."""
    if number is None:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def overdue_terms(agreement: Mapping[str, Any], today: date) -> list[str]:
    """The terms whose deadline falls before `today`, as the refusal to sign names them."""
    late = []
    for index, term in enumerate(agreement.get("terms", [])):
        due = date.fromisoformat(term["due_date"])
        if due < today:
            late.append(f"第{index + 1}条（{_date_zh(due)}）")
    return late


def _record_agreement_text(ctx: TransitionContext) -> int | None:
    """The rendered agreement's new version, when the host rendered one (all or nothing)."""
    digest: str | None = ctx.value("document_sha256")
    if digest is None:
        if ctx.latest_document(AGREEMENT) is not None:
            raise InvalidInput(
                "本案协议书已生成文书：修改协议须同时提交重新生成的协议书（document_sha256）",
                field="document_sha256",
            )
        return None
    return ctx.record_document(AGREEMENT, digest, field="document_sha256").version


@HOOKS.action("draft_agreement")
def draft_agreement(ctx: TransitionContext) -> None:
    """R-AGREEMENT-FIELDS: facts, disputed issues, responsibilities and structured terms."""
    agreement: dict[str, Any] = {
        "oral": False,
        **agreement_fields(
            ctx.payload, {p.party_id for p in ctx.parties()}, today=_beijing_date(ctx.now)
        ),
        "copies": len(ctx.parties()) + 1,  # R-COPIES
        "drafted_at": ctx.now.isoformat(),
        "warnings": [],
    }
    category = ctx.category()
    if category.excluded_from_confirmation:  # R-JC-EXCLUDE: warn now, block at application
        agreement["warnings"].append(f"“{category.name}”类协议依法不能申请司法确认")
    if category.excluded_from_esign:  # R-ESIGN-EXCLUDE
        agreement["warnings"].append(f"“{category.name}”类协议须纸质签名并按指印")
    version = _record_agreement_text(ctx)
    if version is not None:
        agreement["document_version"] = version
    ctx.update_data("agreement", agreement)
    ctx.set_case(resolved_level=ctx.case.level)


@HOOKS.action("record_oral_agreement")
def record_oral_agreement(ctx: TransitionContext) -> None:
    """R-ORAL: recorded on a 口头协议登记表 and in effect the day it is reached."""
    content = ctx.value("content")
    ctx.update_data(
        "agreement", {"oral": True, "content": content, "reached_at": ctx.now.isoformat()}
    )
    ctx.set_case(resolved_level=ctx.case.level, agreement_effective_at=ctx.now)


def _scan_version(ctx: TransitionContext) -> int:
    """R-ESIGN-EXCLUDE: a wet signature is proved by the scan that shows it."""
    digest: str | None = ctx.value("scan_sha256")
    if digest is None:
        raise InvalidInput("纸质签署须上传签名并按指印的协议扫描件", field="scan_sha256")
    return ctx.record_document(AGREEMENT_SCAN, digest, field="scan_sha256", allow_same=True).id


def _signed_version(ctx: TransitionContext) -> int | None:
    """The agreement version this electronic signature produced (None without documents)."""
    digest: str | None = ctx.value("document_sha256")
    has_document = ctx.latest_document(AGREEMENT) is not None
    if digest is None:
        if has_document:
            raise InvalidInput(
                "本案协议书为电子文书：须在文书上签署，并提交签署后的文书摘要（document_sha256）",
                field="document_sha256",
            )
        return None
    if not has_document:
        raise InvalidInput(
            "本案尚未生成协议书文书，无法登记签署后的文书版本", field="document_sha256"
        )
    return ctx.record_document(AGREEMENT, digest, field="document_sha256").id


def _beijing_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _sign(
    ctx: TransitionContext,
    signer_kind: str,
    party_id: int | None,
    method: str,
    signer_name: str | None = None,
) -> None:
    late = overdue_terms(ctx.data.get("agreement", {}), _beijing_date(ctx.now))
    if late:
        raise InvalidInput(
            f"协议约定的履行期限早于签署日期：{'、'.join(late)}；请先修订协议再签署",
            field="terms",
        )
    document_id = _scan_version(ctx) if method == "paper" else _signed_version(ctx)
    ctx.add_signature(
        signer_kind,
        party_id=party_id,
        method=method,
        document_id=document_id,
        signer_name=signer_name,
    )


def _on_paper(ctx: TransitionContext) -> bool:
    return ctx.category().excluded_from_esign


@HOOKS.action("sign_party")
def sign_party(ctx: TransitionContext) -> None:
    """A party signs, seals or fingerprints the agreement."""
    party = ctx.party_of(ctx.value("party_id"))
    method = "paper" if _on_paper(ctx) else ctx.value("method")
    if method is None:
        raise InvalidInput("请选择“签署方式”", field="method")
    if method == "paper" and not _on_paper(ctx) and ctx.latest_document(AGREEMENT) is not None:
        raise InvalidInput("本案已生成电子协议书，各方须按顺序在电子协议书上签署", field="method")
    _sign(ctx, "party", party.party_id, method)


@HOOKS.action("sign_party_or_representative")
def sign_party_or_representative(ctx: TransitionContext) -> None:
    """R-MINOR: as `sign_party`, but a party with a legal representative signs through them,
    and the signature row names who signed."""
    party = ctx.party_of(ctx.value("party_id"))
    method = "paper" if _on_paper(ctx) else ctx.value("method")
    if method is None:
        raise InvalidInput("请选择“签署方式”", field="method")
    if method == "paper" and not _on_paper(ctx) and ctx.latest_document(AGREEMENT) is not None:
        raise InvalidInput("本案已生成电子协议书，各方须按顺序在电子协议书上签署", field="method")
    signer = party.representative_name if party.representative_relation else party.name
    _sign(ctx, "party", party.party_id, method, signer_name=signer)


@HOOKS.action("sign_mediator")
def sign_mediator(ctx: TransitionContext) -> None:
    """The presiding mediator signs after the parties (in ink too when the parties must)."""
    _sign(ctx, "mediator", None, "paper" if _on_paper(ctx) else "electronic")


@HOOKS.action("apply_seal")
def apply_seal(ctx: TransitionContext) -> None:
    """R-AGREEMENT-EFFECT / R-SEAL: the committee seal comes last; the agreement takes effect.

    On paper the seal is the committee's physical seal, shown on the final scan: a wet-only
    agreement has no signature fields and the documents package refuses to sign it.
    """
    _sign(ctx, "seal", None, "paper" if _on_paper(ctx) else "electronic")
    ctx.set_case(agreement_effective_at=ctx.now)


@HOOKS.action("apply_for_confirmation")
def apply_for_confirmation(ctx: TransitionContext) -> None:
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


def _confirmation(ctx: TransitionContext, **changes: Any) -> None:
    ctx.update_data("confirmation", {**ctx.data.get("confirmation", {}), **changes})


@HOOKS.action("accept_application")
def accept_application(ctx: TransitionContext) -> None:
    """R-JC-ACCEPT: the court accepts and its 15-day review begins."""
    _confirmation(ctx, accepted_at=ctx.now.isoformat(), accepted_by=ctx.actor.user_id)


@HOOKS.action("decline_application")
def decline_application(ctx: TransitionContext) -> None:
    """R-JC-TRACK: 不予受理, with the court's reason."""
    _confirmation(ctx, outcome="not_accepted", reason=ctx.reason, decided_at=ctx.now.isoformat())


@HOOKS.action("withdraw_application")
def withdraw_application(ctx: TransitionContext) -> None:
    """R-JC-TRACK: the parties withdraw their application (撤回)."""
    _confirmation(ctx, outcome="withdrawn", reason=ctx.reason, decided_at=ctx.now.isoformat())


@HOOKS.action("extend_review")
def extend_review(ctx: TransitionContext) -> None:
    """R-JC-REVIEW: the president approves 10 more days, once."""
    approver = ctx.value("approved_by")
    ctx.extend_timers(kind="state_deadline", name=ctx.case.state, days=10)
    _confirmation(ctx, extended=True, extension_approved_by=approver)


def _ruling_version(ctx: TransitionContext) -> int | None:
    """The court-signed 民事裁定书, when the court issues it through the document service."""
    digest: str | None = ctx.value("document_sha256")
    if digest is None:
        return None
    return ctx.record_document(RULING, digest, field="document_sha256").version


@HOOKS.action("confirm_agreement")
def confirm_agreement(ctx: TransitionContext) -> None:
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
def reject_agreement(ctx: TransitionContext) -> None:
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


@HOOKS.action("record_visit")
def record_visit(ctx: TransitionContext) -> None:
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


def _visit_overdue_only(ctx: TransitionContext) -> bool:
    """The case's overdue flag came from a late visit, not from the mediation limit."""
    return bool(ctx.data.get("overdue_reason") == "visit")


def _visitor(ctx: TransitionContext) -> int | None:
    """The 中心户 next door if the case has one, else its mediator (R-FOLLOWUP)."""
    active = [a for a in ctx.assignments() if a.active]
    for role in ("central_household", "mediator"):
        for assignment in active:
            if assignment.role == role:
                return assignment.user_id
    return None


@HOOKS.action("schedule_followups")
def schedule_followups(ctx: TransitionContext) -> None:
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
def visit_due(ctx: TransitionContext) -> None:
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
def flag_visit_overdue(ctx: TransitionContext) -> None:
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


@HOOKS.action("remind_confirmation_window")
def remind_confirmation_window(ctx: TransitionContext) -> None:
    """R-JC-WINDOW: the 30 days to apply for judicial confirmation are about to run out."""
    closes_at = ctx.payload.get("closes_at")
    for recipient in ("parties", "mediator"):
        ctx.notify(
            "confirmation_window_closing",
            recipient,
            {"closes_at": closes_at, "rule": "R-JC-WINDOW"},
        )


@HOOKS.action("urge_performance")
def urge_performance(ctx: TransitionContext) -> None:
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


def _enforcement_deadlines(ctx: TransitionContext) -> list[dict[str, Any]]:
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


@HOOKS.action("record_termination")
def record_termination(ctx: TransitionContext) -> None:
    """R-TERMINATE: why mediation ended, and the routes the parties were told of."""
    reason_code = ctx.value("termination_reason")
    ctx.update_data(
        "termination",
        {"reason": reason_code, "routes_advised": OTHER_ROUTES, "at": ctx.now.isoformat()},
    )
    ctx.set_case(closed_at=ctx.now)


@HOOKS.action("record_inadmissible")
def record_inadmissible(ctx: TransitionContext) -> None:
    """R-INADMISSIBLE: refuse and record where the matter belongs."""
    referral = ctx.value("referral_advice")
    ctx.update_data("inadmissible", {"referral_advice": referral, "at": ctx.now.isoformat()})
    ctx.set_case(closed_at=ctx.now)


@HOOKS.action("close_case")
def close_case(ctx: TransitionContext) -> None:
    """R-CLOSE: performance complete; the 结案报告 summary is kept."""
    ctx.update_data("closing_report", {"summary": ctx.value("summary"), "at": ctx.now.isoformat()})
    ctx.set_case(closed_at=ctx.now)


@HOOKS.action("extend_mediation_deadline")
def extend_mediation_deadline(ctx: TransitionContext) -> None:
    """R-DL-PM: longer than a month only with both parties' recorded consent."""
    if ctx.value("parties_consented") is not True:
        raise InvalidInput("延长调解期限须经双方当事人同意并记录", field="parties_consented")
    days: int = ctx.value("days")
    clock: str = ctx.value("clock", "mediation_limit")
    if ctx.extend_timers(kind="clock", name=clock, days=days) == 0:
        raise InvalidInput("没有可延长的调解期限", field="clock")
    if ctx.case.overdue:
        ctx.set_case(overdue=False)


@HOOKS.action("correct_party_address")
def correct_party_address(ctx: TransitionContext) -> None:
    """A party's address as written at intake was wrong; the old one stays in the history."""
    party = ctx.party_of(ctx.value("party_id"))
    ctx.correct_address(party, ctx.value("address"))


@HOOKS.action("set_grid")
def set_grid(ctx: TransitionContext) -> None:
    """The grid the case belongs to, picked by a person: an address match only suggests."""
    ctx.set_case(grid_id=ctx.value("grid_id"))


@HOOKS.action("report_to_referring_court")
def report_to_referring_court(ctx: TransitionContext) -> None:
    """诉前委派: the delegating court gets the outcome back."""
    court = ctx.case.referring_court_id
    if court is None:
        return
    ctx.notify(
        "referral_outcome",
        f"court:{court}",
        {"outcome": ctx.transition.dest, "trigger": ctx.transition.trigger},
    )


# --- expiry actions: run by the timer tick (issue: timers) -----------------------------------


@HOOKS.action("flag_overdue")
def flag_overdue(ctx: TransitionContext) -> None:
    """R-DL-PM: the mediation period passed; 超期督办 by the supervisor."""
    if not ctx.case.overdue:
        ctx.update_data("overdue_reason", "mediation_limit")
    ctx.set_case(overdue=True)
    ctx.notify("overdue", "supervisor", {"state": ctx.case.state})


@HOOKS.action("remind_court_acceptance")
def remind_court_acceptance(ctx: TransitionContext) -> None:
    """R-JC-ACCEPT: the 3 days to decide on acceptance have passed."""
    ctx.notify("court_reminder", f"court:{ctx.case.court_id}", {"rule": "R-JC-ACCEPT"})


@HOOKS.action("remind_court_review")
def remind_court_review(ctx: TransitionContext) -> None:
    """R-JC-REVIEW: the review period (15 days, or 25 with extension) has passed."""
    ctx.notify("court_reminder", f"court:{ctx.case.court_id}", {"rule": "R-JC-REVIEW"})


@HOOKS.action("remind_hard_limit")
def remind_hard_limit(ctx: TransitionContext) -> None:
    """R-JC-REVIEW: 30 days from filing, the limit the court must not exceed."""
    ctx.notify("court_reminder", f"court:{ctx.case.court_id}", {"rule": "R-JC-REVIEW-HARD"})


# --- v2 (issue 14): named anew where v1's behaviour must stay as it was recorded -------------

CONFIRMATION_WINDOW = "jc_window"  # timer name of the 30 days to apply (R-JC-WINDOW)
CONFIRMATION_WINDOW_DAYS = 30
CONFIRMATION_REMINDER_DAYS = 5


def _schedule_confirmation_window(ctx: TransitionContext) -> None:
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
def open_confirmation_window(ctx: TransitionContext) -> None:
    """R-JC-WINDOW: the parties have 30 days from the agreement taking effect to apply."""
    _schedule_confirmation_window(ctx)


@HOOKS.action("reopen_confirmation_window")
def reopen_confirmation_window(ctx: TransitionContext) -> None:
    """R-JC-PACKAGE: after 不予受理 or 撤回 the parties may apply again (to the competent
    court) while their 30 days last; then follow-up begins."""
    _schedule_confirmation_window(ctx)


@HOOKS.action("record_confirmation_waiver")
def record_confirmation_waiver(ctx: TransitionContext) -> None:
    """R-JC-WINDOW: a party declines judicial confirmation in writing (kept with its text)."""
    party = ctx.party_of(ctx.value("party_id"))
    waivers = dict(ctx.data.get("confirmation_waivers", {}))
    waivers[str(party.party_id)] = {"at": ctx.now.isoformat(), "statement": ctx.value("statement")}
    ctx.update_data("confirmation_waivers", waivers)


@HOOKS.action("record_extension_consent")
def record_extension_consent(ctx: TransitionContext) -> None:
    """R-DL-PM: one party's own consent to a longer mediation, with its time and source."""
    party = ctx.party_of(ctx.value("party_id"))
    consents = dict(ctx.data.get("extension_consents", {}))
    consents[str(party.party_id)] = {"at": ctx.now.isoformat(), "source": ctx.value("source")}
    ctx.update_data("extension_consents", consents)


@HOOKS.action("extend_mediation_by_consent")
def extend_mediation_by_consent(ctx: TransitionContext) -> None:
    """R-DL-PM: the month is extended once every party consented (guarded); the consents
    are spent on this extension and kept in its record."""
    days: int = ctx.value("days")
    extended = sum(
        ctx.extend_timers(kind="clock", name=clock.name, days=days)
        for clock in ctx.spec.clocks
        if clock.on_expiry == "flag_overdue"
    )
    if extended == 0:
        raise InvalidInput("没有正在计算的调解期限可延长", field="days")
    extensions = [
        *ctx.data.get("extensions", []),
        {"at": ctx.now.isoformat(), "days": days, "consents": ctx.data["extension_consents"]},
    ]
    ctx.update_data("extensions", extensions)
    ctx.update_data("extension_consents", {})
    if ctx.case.overdue:
        ctx.set_case(overdue=False)


ENTRUSTED_CLOCK = "entrusted_limit"
SIMPLIFIED_PROCEDURE_DAYS = 7  # R-DL-ENTRUSTED: simplified procedure; the spec's 15 is ordinary


@HOOKS.action("start_entrusted_clock")
def start_entrusted_clock(ctx: TransitionContext) -> None:
    """R-DL-ENTRUSTED: from the mediator signing for the materials, 15 days (the flow's clock)
    or 7 under the simplified procedure; started here, the flow's own 15 days then stand aside."""
    procedure: str = ctx.value("procedure")
    ctx.update_data("entrustment", {"procedure": procedure, "received_at": ctx.now.isoformat()})
    if procedure == "simplified":
        ctx.schedule(
            kind="clock",
            name=ENTRUSTED_CLOCK,
            days=SIMPLIFIED_PROCEDURE_DAYS,
            working_days=False,
            on_expiry="flag_overdue",
            payload={"label": "委托调解期限（简易程序7日）"},
        )


@HOOKS.action("record_session_with_transcript")
def record_session_with_transcript(ctx: TransitionContext) -> None:
    """R-TRANSCRIPT / R-PUBLIC: as `record_session`, and the 调解记录 was read to the parties
    and signed by each of them; a public session names the parties who asked for it."""
    if ctx.value("read_back") is not True:
        raise InvalidInput("调解记录须当场向当事人宣读（或交其阅读）并记录", field="read_back")
    signed = set(ctx.value("signed_by", []))
    unsigned = [p.name for p in ctx.parties() if p.party_id not in signed]
    if unsigned:
        raise InvalidInput(
            f"调解记录须由各方当事人签名，尚未签名：{'、'.join(unsigned)}", field="signed_by"
        )
    requested = sorted(set(ctx.value("public_requested_by", [])))
    public = bool(ctx.value("public", False))
    if public and not requested:
        raise InvalidInput(
            "公开调解须由当事人提出：请登记提出公开调解的当事人（人民调解法第23条）",
            field="public_requested_by",
        )
    record_session(ctx)
    transcripts = [
        *ctx.data.get("transcripts", []),
        {
            "at": ctx.now.isoformat(),
            "read_back": True,
            "signed_by": sorted(signed),
            "public_requested_by": requested if public else [],
            "recorder": ctx.actor.user_id,
        },
    ]
    ctx.update_data("transcripts", transcripts)


PERIODIC_VISITS_MAX = 12  # a periodic plan is finite; the mediator plans more if needed


@HOOKS.action("schedule_followups_by_risk")
def schedule_followups_by_risk(ctx: TransitionContext) -> None:
    """R-FOLLOWUP: the visits of `schedule_followups`, plus periodic visits for a case whose
    risk level the scale gives `visit_every_days`, until the last term's deadline."""
    schedule_followups(ctx)
    risk = ctx.spec.risk(ctx.case.risk_level)
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
