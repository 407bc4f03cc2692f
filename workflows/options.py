"""What each reference field of the mediation flows may name, for one case and one actor.

The engine checks a payload's party, user, org unit, court and document fields against these
same lists, so a form offers exactly what firing will accept (and nothing out of scope).
"""

from __future__ import annotations

from engine.hooks import FieldSpec, FieldType, Option, TransitionContext
from mediation.context import MediationContext
from mediation.spec import mediation_spec
from workflows.hookset import HOOKS

# mediation's reference types: fields declared `type: party` or `type: court` name one
PARTY = "party"  # a party of this case
COURT = "court"  # a court competent for the case

ROLE_LABELS = {
    "mediator": "调解员",
    "central_household": "中心户",
    "lawyer": "律师",
    "judge": "法官",
    "prosecutor": "检察官",
    "police": "民警",
    "court_clerk": "书记员",
}


def _district(path: str | None) -> str:
    """The top of an org unit's path ("/1/4/9/" → "/1/"): the district it belongs to."""
    if not path:
        return ""
    parts = [p for p in path.split("/") if p]
    return f"/{parts[0]}/" if parts else ""


@HOOKS.options_for(PARTY, rule="须为本案当事人")
def case_parties(ctx: TransitionContext, field: FieldSpec) -> list[Option]:
    """The parties of this case."""
    del field
    return [Option(p.party_id, p.name) for p in MediationContext.of(ctx).parties()]


@HOOKS.options_for(FieldType.user)
def users_for_case(ctx: TransitionContext, field: FieldSpec) -> list[Option]:
    """Active users holding one of the field's roles, in the district of the case's committee
    (a room's mediators, the grid's 中心户, the district's judges, lawyers and police)."""
    district = _district(ctx.org_unit_path(MediationContext.of(ctx).case.committee_id))
    units = {u.id: u for u in ctx.org_units_of(_ALL_KINDS)}
    found: dict[int, tuple[str, list[str], str]] = {}
    for holder in ctx.users_holding(field.roles):
        unit = units.get(holder.org_unit_id)
        if unit is None or not unit.path.startswith(district):
            continue
        entry = found.setdefault(holder.user_id, (holder.display_name, [], unit.name))
        entry[1].append(ROLE_LABELS.get(holder.role, holder.role))
    return [
        Option(user_id, f"{name}（{'、'.join(roles)}，{unit}）")
        for user_id, (name, roles, unit) in found.items()
    ]


_ALL_KINDS = (
    "district",
    "street",
    "community",
    "grid",
    "committee",
    "room",
    "court",
    "law_firm",
    "police_station",
    "procuratorate",
)


@HOOKS.options_for(FieldType.org_unit)
def units_for_case(ctx: TransitionContext, field: FieldSpec) -> list[Option]:
    """Org units of the field's kinds in the district of the case's committee (a case may move
    up to another committee's room); grids only of the area the committee serves or of the
    actor's own scope (the person places the case within their area)."""
    committee_path = ctx.org_unit_path(MediationContext.of(ctx).case.committee_id) or "/"
    district = _district(committee_path)
    served = committee_path.rstrip("/").rsplit("/", 1)[0] + "/"  # the committee's parent
    options = []
    for unit in ctx.org_units_of(field.kinds):
        in_reach = unit.path.startswith(district)
        if "grid" in field.kinds:
            mine = ctx.actor.all_units or unit.id in ctx.actor.unit_ids
            in_reach = in_reach and (mine or unit.path.startswith(served))
        if in_reach:
            options.append(Option(unit.id, unit.name))
    return options


@HOOKS.options_for(COURT, rule="须为对本案有管辖权、配有法官和书记员的人民法院")
def competent_courts(ctx: TransitionContext, field: FieldSpec) -> list[Option]:
    """R-JC-COURT: the delegating court when there is one; otherwise the basic courts of the
    committee's district. Only a court with at least one judge and one clerk can take an
    application: a court without them would leave the case waiting for ever."""
    del field
    staff = ctx.users_holding(("judge", "court_clerk"))
    judges = {h.org_unit_id for h in staff if h.role == "judge"}
    clerks = {h.org_unit_id for h in staff if h.role == "court_clerk"}
    district = _district(ctx.org_unit_path(MediationContext.of(ctx).case.committee_id))
    referring = MediationContext.of(ctx).case.referring_court_id
    options = []
    for court in ctx.org_units_of(("court",)):
        if court.id not in judges or court.id not in clerks:
            continue
        if referring is not None and court.id != referring:
            continue
        if referring is None and not court.path.startswith(district):
            continue
        options.append(Option(court.id, court.name))
    return options


@HOOKS.refusal_for(COURT)
def court_refused(ctx: TransitionContext, field: FieldSpec, value: object) -> str | None:
    """R-JC-COURT: why this court cannot take the case's application, in the parties' words."""
    del field
    courts = {unit.id: (unit.name, unit.path) for unit in ctx.org_units_of(("court",))}
    if value not in courts:
        return f"编号 {value} 不是人民法院"
    name, path = courts[value]
    referring = MediationContext.of(ctx).case.referring_court_id
    if referring is not None and value != referring:
        return f"{name}不是委派法院：委派调解的案件应向委派法院申请司法确认（民事诉讼法第205条）"
    if referring is None and not path.startswith(
        _district(ctx.org_unit_path(MediationContext.of(ctx).case.committee_id))
    ):
        return (
            f"{name}不在调解委员会所在辖区：应向当事人住所地、标的物所在地或调解组织所在地的"
            "基层人民法院申请（民事诉讼法第205条）"
        )
    staff = {(h.org_unit_id, h.role) for h in ctx.users_holding(("judge", "court_clerk"))}
    if (value, "judge") not in staff or (value, "court_clerk") not in staff:
        return f"{name}尚未配备受理司法确认的法官和书记员"
    return None


@HOOKS.options_for(FieldType.document)
def case_documents(ctx: TransitionContext, field: FieldSpec) -> list[Option]:
    """The recorded versions of this case's document of the field's kind."""
    assert field.document_kind is not None
    return [
        Option(d.version, f"第{d.version}版（{d.created_at:%Y-%m-%d}）")
        for d in ctx.documents(field.document_kind)
    ]


_RISK_SCALES: dict[tuple[str, int], list[Option]] = {}  # specs never change once loaded


@HOOKS.vocabulary("risk_levels")
def risk_levels(ctx: TransitionContext, field: FieldSpec) -> list[Option]:
    """R-RISK: the case's flow declares its own scale."""
    del field
    key = (ctx.spec.id, ctx.spec.version)
    scale = _RISK_SCALES.get(key)
    if scale is None:
        scale = _RISK_SCALES[key] = [
            Option(r.code, r.label) for r in mediation_spec(ctx.spec).risk_levels
        ]
    return scale
