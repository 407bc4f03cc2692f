"""Administration: the org tree (units created under a parent, of a kind that belongs there)
and the branding documents print for committees and rooms (name, logo, a committee's seal
text; a room has no seal of its own, R-SEAL). The API routes and the admin pages call these."""

from __future__ import annotations

from dataclasses import dataclass

from api.authz import Principal, require_roles
from api.services.signing import photo_as_png
from engine.errors import InvalidInput, NotFound, PayloadInvalid
from mediation import queries
from mediation.engine import MediationEngine
from mediation.models.org import OrgKind
from mediation.vocabulary import Role

KIND_LABELS: dict[str, str] = {
    OrgKind.district: "区县",
    OrgKind.street: "街道（乡镇）",
    OrgKind.community: "社区（村）",
    OrgKind.grid: "网格",
    OrgKind.committee: "人民调解委员会",
    OrgKind.room: "调解工作室",
    OrgKind.court: "法院（法庭）",
    OrgKind.law_firm: "律师事务所",
    OrgKind.police_station: "派出所",
    OrgKind.procuratorate: "检察院",
}
# what may be created under a unit of each kind (None: the top of the tree)
CHILD_KINDS: dict[str | None, tuple[OrgKind, ...]] = {
    None: (OrgKind.district,),
    OrgKind.district: (
        OrgKind.street,
        OrgKind.committee,
        OrgKind.court,
        OrgKind.law_firm,
        OrgKind.police_station,
        OrgKind.procuratorate,
    ),
    OrgKind.street: (OrgKind.community, OrgKind.committee, OrgKind.police_station, OrgKind.court),
    OrgKind.community: (OrgKind.grid, OrgKind.committee),
    OrgKind.committee: (OrgKind.room,),
}
BRANDED_KINDS = (OrgKind.committee, OrgKind.room)
LOGO_BYTES = 2 * 2**20


@dataclass(frozen=True, slots=True)
class UnitNode:
    unit: queries.OrgUnitRow
    depth: int
    kind_label: str
    child_kinds: tuple[OrgKind, ...]


@dataclass(frozen=True, slots=True)
class Branded:
    unit: queries.OrgUnitRow
    kind_label: str
    seal_text: str | None
    has_logo: bool
    committee: queries.OrgUnitRow | None  # a room's: whose seal its documents carry
    committee_seal: str | None


def _admin(principal: Principal, what: str) -> None:
    require_roles(principal, {Role.admin}, what)


def unit_tree(engine: MediationEngine, principal: Principal) -> list[UnitNode]:
    """Every org unit in tree order, indented by depth, with what may be created under it."""
    _admin(principal, "管理组织")
    with engine.db.transaction(write=False) as tx:
        rows = queries.org_units(tx)
    return [
        UnitNode(
            r, r.path.count("/") - 2, KIND_LABELS.get(r.kind, r.kind), CHILD_KINDS.get(r.kind, ())
        )
        for r in rows
    ]


def create_unit(
    engine: MediationEngine,
    principal: Principal,
    *,
    parent_id: int | None,
    kind: str,
    name: str,
    short_name: str = "",
) -> queries.OrgUnitRow:
    """A new unit under `parent_id` (None: a new district at the top).

    Raises:
        PayloadInvalid: each of a kind that does not belong under the parent, an empty or long
            name, a committee without the short name its case numbers use.
        NotFound: no such parent.
    """
    _admin(principal, "创建组织")
    name, short_name = name.strip(), short_name.strip()
    errors: list[dict[str, str]] = []
    if not name or len(name) > 100:
        errors.append({"field": "name", "message": "请填写组织名称（100字以内）"})
    if len(short_name) > 20:
        errors.append({"field": "short_name", "message": "简称不超过20个字"})
    if kind == OrgKind.committee and not short_name:
        message = "调委会须有简称（用于案件编号，如“枫源”）"
        errors.append({"field": "short_name", "message": message})
    with engine.db.transaction(write=True) as tx:
        parent = queries.org_unit(tx, parent_id) if parent_id is not None else None
        if parent_id is not None and parent is None:
            raise NotFound("组织", parent_id)
        allowed = CHILD_KINDS.get(parent.kind if parent else None, ())
        if kind not in allowed:
            where = f"“{parent.name}”" if parent else "最上级"
            names = "、".join(KIND_LABELS[k] for k in allowed) or "无"
            errors.append({"field": "kind", "message": f"请选择组织类型：{where}下只能建立{names}"})
        if errors:  # every problem at once, as a form shows them
            raise PayloadInvalid("create_org_unit", errors)
        unit_id = tx.add_org_unit(
            kind=kind,
            name=name,
            short_name=short_name,
            parent_id=parent_id,
            parent_path=parent.path if parent else None,
        )
        row = queries.org_unit(tx, unit_id)
    assert row is not None
    return row


def branded_units(engine: MediationEngine, principal: Principal) -> list[Branded]:
    """Committees and rooms with what their documents print."""
    _admin(principal, "管理调解组织标识")
    with engine.db.transaction(write=False) as tx:
        found = []
        for row in queries.org_units(tx):
            if row.kind not in BRANDED_KINDS:
                continue
            seal, logo = queries.unit_branding(tx, row.id)
            committee = None
            committee_seal = None
            if row.kind == OrgKind.room and row.parent_id is not None:
                committee = queries.org_unit(tx, row.parent_id)
                if committee is not None:
                    committee_seal = queries.unit_branding(tx, committee.id)[0] or committee.name
            found.append(
                Branded(
                    row, KIND_LABELS[row.kind], seal, logo is not None, committee, committee_seal
                )
            )
    return found


def branded_unit(engine: MediationEngine, principal: Principal, unit_id: int) -> Branded:
    for item in branded_units(engine, principal):
        if item.unit.id == unit_id:
            return item
    raise NotFound("调解组织", unit_id)


def set_branding(
    engine: MediationEngine,
    principal: Principal,
    unit_id: int,
    *,
    name: str,
    seal_text: str | None,
    logo: bytes | None,
    remove_logo: bool = False,
) -> None:
    """Rename a committee or room, set a committee's seal text, replace or remove the logo.

    Raises:
        InvalidInput: an empty name, a seal text on a room (its committee seals), a long seal
            text, a logo that is not an image or too large.
        NotFound: not a committee or room.
    """
    current = branded_unit(engine, principal, unit_id)
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("请填写名称（100字以内）", field="name")
    seal = (seal_text or "").strip() or None
    if seal and current.unit.kind == OrgKind.room:
        raise InvalidInput("调解工作室没有自己的印章，文书加盖所属调委会的印章", field="seal_text")
    if seal and len(seal) > 40:
        raise InvalidInput("印章文字不超过40个字", field="seal_text")
    png: bytes | None = None
    if logo:
        if len(logo) > LOGO_BYTES:
            raise InvalidInput("标识图片不能超过 2 MB", field="logo")
        png = photo_as_png(logo, "logo")
    with engine.db.transaction(write=True) as tx:
        tx.rename_org_unit(unit_id, name, seal)
        if png is not None or remove_logo:
            tx.set_unit_logo(unit_id, png)


def logo(engine: MediationEngine, principal: Principal, unit_id: int) -> bytes:
    """A committee's or room's logo as stored (PNG)."""
    _admin(principal, "查看标识")
    with engine.db.transaction(write=False) as tx:
        png = queries.unit_branding(tx, unit_id)[1]
    if png is None:
        raise NotFound("标识", unit_id)
    return png


def account(engine: MediationEngine, principal: Principal, user_id: int) -> queries.UserRow:
    """One user account with its roles, for the administrator's page about it."""
    _admin(principal, "查看用户")
    with engine.db.transaction(write=False) as tx:
        row = queries.user(tx, user_id)
    if row is None:
        raise NotFound("用户", user_id)
    return row
