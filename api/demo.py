"""`fengqiao demo`: a deterministic fictional district with about 60 cases in every state.

All names are invented. Cases are driven through the real engine (no rows faked), with a
clock that walks through 2026, so their history, numbers and timers are what production
would hold. Every case past signing holds a real agreement, rendered and signed through the
document service (about 0.2 s a render and 0.06 s a signature, most of the load time).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlmodel import Session, select

from api.demo_district import (
    DEMO_PASSWORD,
    DISPUTES,
    District,
    build_district,
    demo_intake,
)
from api.demo_papers import DEMO_DISPUTES
from api.documents import DocumentService
from api.settings import Settings
from api.wiring import build_engine
from engine.calendar import SHANGHAI
from engine.models.org import OrgUnit
from engine.ports import FixedClock
from engine.records import CaseRecord
from mediation.engine import MediationEngine
from mediation.intake import Origin
from mediation.models.cases import Case
from mediation.spec import mediation_spec

STEP = timedelta(minutes=15)  # between two actions on one demo case
OFFICE_OPENS = time(8, 30)  # Beijing time: every demo case's day starts in office hours


Step = Callable[["DemoCase"], None]


@dataclass
class DemoCase:
    engine: MediationEngine
    clock: FixedClock
    district: District
    case_id: int
    mediator: str
    household: str
    party_ids: list[int]
    documents: DocumentService | None  # None: engine only (`fengqiao demo --no-documents`)
    unit: int = 0  # the mediator's committee or room, where escalated cases go
    local_mediator: str = ""  # the mediator of the grid's own committee
    category: str = "neighbour"
    names: tuple[str, str] = ("", "")  # applicant, respondent

    def text(self, template: str) -> str:
        return template.format(a=self.names[0], r=self.names[1])

    def record(self) -> str:
        """The session that reached agreement, as the recorder wrote it down."""
        return "\n".join(self.text(line) for line in DEMO_DISPUTES[self.category].record)

    def recorder(self, mediator: str) -> str:
        """The recorder of the mediator's committee (a room: its parent committee's)."""
        committee = {"mediator_xiu": "qingshi", "mediator_yang": "liuwan"}.get(
            mediator, mediator.removeprefix("mediator_")
        )
        return f"recorder_{committee}"

    def fire(self, actor: str, trigger: str, reason: str | None = None, **payload: Any) -> None:
        self.clock.set(self.clock.now() + STEP)
        case = self.engine.get_case(self.case_id, self.district.actors["supervisor"])
        self.engine.fire(
            self.case_id, trigger, self.district.actors[actor], case.version, payload, reason
        )

    def consent(self) -> None:
        for party_id in self.party_ids:
            self.fire(
                self.household,
                "record_consent",
                party_id=party_id,
                source="written",
                notice_acknowledged=True,
            )

    def assign(self, user: str, role: str) -> None:
        self.fire(
            self.mediator,
            "assign",
            user_id=self.district.users[user],
            role=role,
            parties_consented=True,
        )

    def rule(
        self, judge: str, outcome: Literal["confirmed", "rejected"], reason: str, **extra: str
    ) -> None:
        """The court rules; with documents, its 民事裁定书 is rendered and court-signed."""
        number = f"（2026）浙0602民特{self.case_id}号"
        if self.documents is None:
            trigger = "confirm" if outcome == "confirmed" else "reject"
            self.fire(judge, trigger, reason=reason, ruling_number=number, **extra)
            return
        self.documents.issue_ruling(
            self.case_id,
            self.district.actors[judge],
            self._step(),
            outcome=outcome,
            ruling_number=number,
            reasoning=reason,
            ground=extra.get("ground"),
        )

    def step(self) -> int:
        return self._step()

    def _step(self) -> int:
        """Advance the demo clock one step; the case's current version (for the service)."""
        self.clock.set(self.clock.now() + STEP)
        return self.engine.get_case(self.case_id, self.district.actors["supervisor"]).version

    def agreement(self) -> None:
        """Draft through the document service, so the case holds a real rendered agreement."""
        applicant, respondent = self.party_ids[:2]
        dispute = DEMO_DISPUTES[self.category]
        who = {"a": applicant, "r": respondent}
        today = self.clock.now().astimezone(SHANGHAI).date()
        payload: dict[str, Any] = {
            "facts": self.text(dispute.facts),
            "issues": [self.text(i) for i in dispute.issues],
            "responsibilities": [
                {"party_id": applicant, "responsibility": self.text(dispute.applicant_share)},
                {"party_id": respondent, "responsibility": self.text(dispute.respondent_share)},
            ],
            "terms": [
                {
                    "obligor": who[t.obligor],
                    "obligee": who["r" if t.obligor == "a" else "a"],
                    "content": self.text(t.content),
                    "amount": t.amount,
                    "method": t.method,
                    "place": self.text(t.place),
                    "due_date": (today + timedelta(days=t.days)).isoformat(),
                }
                for t in dispute.terms
            ],
        }
        if self.documents is None:
            self.fire(self.mediator, "draft_agreement", **payload)
            return
        actor = self.district.actors[self.mediator]
        self.documents.draft_agreement(self.case_id, actor, self._step(), payload)

    def sign(self) -> None:
        """Both parties, the mediator and the committee seal, each a real PAdES signature; on
        paper (R-ESIGN-EXCLUDE) one scan of the wet-signed, sealed agreement backs all four."""
        self.fire(self.mediator, "start_signing")
        case = self.engine.get_case(self.case_id, self.district.actors["supervisor"])
        with self.engine.db.transaction(write=False) as tx:
            category = tx.category(case.category_code)
        paper = category is not None and category.excluded_from_esign
        if self.documents is None:
            self._sign_without_documents(case.number, paper=paper)
        elif paper:
            self._sign_on_paper(self.documents, case.number)
        elif _own_act(self.engine, case):
            from api.demo_signing import sign_as_own_acts  # R-ESIGN: v2 flows

            sign_as_own_acts(self.documents, self.case_id, self.district.actors[self.mediator])
        else:
            actor = self.district.actors[self.mediator]
            for party_id in self.party_ids:
                self.documents.sign_party(self.case_id, actor, self._step(), party_id)
            self.documents.sign_mediator(self.case_id, actor, self._step())
            self.documents.apply_seal(self.case_id, actor, self._step())

    def _sign_on_paper(self, documents: DocumentService, number: str) -> None:
        actor = self.district.actors[self.mediator]
        scan = documents.renderer.html_to_pdf(
            f"<p>（示范数据）{number} 人民调解协议书扫描件：双方当事人与调解员已亲笔"
            "签名并按指印，调解委员会已加盖印章。</p>"
        )
        for party_id in self.party_ids:
            documents.sign_on_paper(
                self.case_id, actor, self._step(), "sign_party", scan, party_id=party_id
            )
        for trigger in ("sign_mediator", "apply_seal"):
            documents.sign_on_paper(self.case_id, actor, self._step(), trigger, scan)

    def _sign_without_documents(self, number: str, *, paper: bool) -> None:
        """`--no-documents`: signature rows only, as a deployment without the service has."""
        method = "paper" if paper else "electronic"
        extra = {"scan_sha256": hashlib.sha256(number.encode()).hexdigest()} if paper else {}
        for party_id in self.party_ids:
            self.fire(self.mediator, "sign_party", party_id=party_id, method=method, **extra)
        self.fire(self.mediator, "sign_mediator", **extra)
        self.fire(self.mediator, "apply_seal", **extra)


def _own_act(engine: MediationEngine, case: CaseRecord) -> bool:
    """Whether the case's flow signs as the signers' own acts (R-ESIGN: v2 flows)."""
    return mediation_spec(engine.registry.get(case.spec_id, case.spec_version).spec).own_act_signing


def _grid_recorder(c: DemoCase) -> None:
    """The grid committee's recorder takes the notes the 中心户 cannot take while mediating."""
    c.fire(
        c.local_mediator,
        "assign",
        user_id=c.district.users[c.recorder(c.local_mediator)],
        role="recorder",
        parties_consented=True,
    )


def _to_room(c: DemoCase) -> None:
    c.consent()
    c.fire(c.household, "route_to_grid")
    _grid_recorder(c)
    c.fire(
        c.household,
        "record_session",
        place="网格议事点",
        record=c.text("中心户：请双方各自说明情况。\n{a}：要求对方赔偿。\n{r}：不同意对方的要求。"),
        read_back=True,
        signed_by=c.party_ids,
    )
    c.fire(c.household, "escalate", room_id=c.unit)
    c.assign(c.mediator, "mediator")
    c.fire(
        c.mediator,
        "unassign",
        reason="案件移送调解室，由调解室所在调解委员会的记录员记录",
        user_id=c.district.users[c.recorder(c.local_mediator)],
        role="recorder",
    )
    c.assign(c.recorder(c.mediator), "recorder")


def _agree(c: DemoCase) -> None:
    _to_room(c)
    c.fire(
        c.mediator,
        "record_session",
        place="调解室",
        record=c.record(),
        read_back=True,
        signed_by=c.party_ids,
    )
    c.agreement()


def _in_effect(c: DemoCase) -> None:
    _agree(c)
    c.sign()


def _applied(c: DemoCase) -> None:
    _in_effect(c)
    case = c.engine.get_case(c.case_id, c.district.actors["supervisor"])
    if _own_act(c.engine, case):
        from api.demo_signing import apply_as_parties  # R-JC-PACKAGE: v2 flows

        court = c.district.units["tribunal"]
        mediator = c.district.actors[c.mediator]
        apply_as_parties(c.engine, c.documents, c.case_id, mediator, court, c.step)
        return
    c.fire(
        c.mediator,
        "apply_confirmation",
        court_id=c.district.units["tribunal"],
        applicants=c.party_ids,
    )


def _reviewing(c: DemoCase) -> None:
    _applied(c)
    c.fire("clerk_tang", "accept_application")


def _confirmed(c: DemoCase) -> None:
    _reviewing(c)
    c.rule("judge_lin", "confirmed", "调解协议系双方自愿达成，不违反法律强制性规定。")


def _followup(c: DemoCase) -> None:
    _confirmed(c)
    c.fire(c.mediator, "start_followup")
    c.fire(
        c.household,
        "record_visit",
        performance="partly",
        satisfaction="neutral",
        notes="已支付一半",
    )


def _closed(c: DemoCase) -> None:
    _followup(c)
    case = c.engine.get_case(c.case_id, c.district.actors["supervisor"])
    for index in range(len(case.data["agreement"]["terms"])):
        c.fire(  # R-CLOSE: every term performed, each by its own visit
            c.household,
            "record_visit",
            performance="performed",
            satisfaction="satisfied",
            term_index=index,
            notes=f"第{index + 1}条已履行",
        )
    c.fire(c.mediator, "close", summary="协议已全部履行，结案")


def _grid_oral(c: DemoCase) -> None:
    c.consent()
    c.fire(c.household, "route_to_grid")
    _grid_recorder(c)
    c.fire(
        c.household,
        "record_session",
        place="中心户家中",
        record=c.text(
            "中心户：都是多年的邻居，有话好好说。\n{a}：只要对方道个歉就行。\n{r}：是我不对，向你道歉。"
        ),
        read_back=True,
        signed_by=c.party_ids,
    )
    c.fire(c.household, "record_oral_agreement", content="双方互相道歉，今后和睦相处")


def _grid_closed(c: DemoCase) -> None:
    _grid_oral(c)
    c.fire(c.household, "record_visit", performance="performed", satisfaction="satisfied")
    c.fire(c.local_mediator, "close", summary="口头协议已履行")


def _joint(c: DemoCase) -> None:
    _to_room(c)
    c.assign("lawyer_1", "lawyer")
    c.assign(
        "police_liuwan" if c.mediator in ("mediator_liuwan", "mediator_yang") else "police_qingshi",
        "police",
    )
    c.fire(c.mediator, "escalate")
    c.fire(
        "lawyer_1",
        "give_legal_opinion",
        opinion="依据民法典相关规定，被申请人应承担赔偿责任。",
        hours=3,
    )


def _at_grid(c: DemoCase) -> None:
    c.consent()
    c.fire(c.household, "route_to_grid")


def _signing(c: DemoCase) -> None:
    _agree(c)
    c.fire(c.mediator, "start_signing")


def _rejected(c: DemoCase) -> None:
    _reviewing(c)
    c.rule("judge_he", "rejected", "协议内容不明确", ground="unclear")


def _terminated(c: DemoCase) -> None:
    _to_room(c)
    c.fire(c.mediator, "terminate", reason="双方分歧过大", termination_reason="positions_apart")


def _withdrawn(c: DemoCase) -> None:
    c.fire(
        c.household,
        "party_refuses",
        reason="被申请人拒绝调解",
        party_id=c.party_ids[1],
        source="oral",
    )


def _inadmissible(c: DemoCase) -> None:
    c.fire(
        c.local_mediator,
        "reject_inadmissible",
        reason="已由法院立案受理",
        referral_advice="请向枫溪区人民法院了解案件进展",
    )


# label, how to get there, how many, (min, max) days before loading the last step happened:
# a state with a running deadline is entered recently enough that the scheduler's first tick
# does not move it on, and one case per long-running stage is left overdue (超期督办).
PLANS: list[tuple[str, Step | None, int, tuple[int, int]]] = [
    ("intake", None, 4, (0, 2)),
    ("central_household", _at_grid, 5, (1, 5)),
    ("mediation_room", _to_room, 4, (3, 20)),
    ("mediation_room (overdue)", _to_room, 1, (40, 45)),
    ("joint_mediation", _joint, 3, (5, 20)),
    ("agreement_drafted", _agree, 3, (2, 10)),
    ("signing", _signing, 3, (1, 5)),
    ("agreement_in_effect", _in_effect, 4, (2, 20)),
    ("jc_applied", _applied, 3, (1, 2)),
    ("jc_reviewing", _reviewing, 3, (3, 12)),
    ("confirmed", _confirmed, 3, (20, 60)),
    ("jc_rejected", _rejected, 2, (20, 60)),
    ("followup", _followup, 4, (35, 90)),
    ("followup (oral)", _grid_oral, 3, (10, 40)),
    ("closed", _closed, 4, (60, 300)),
    ("closed (grid)", _grid_closed, 4, (30, 300)),
    ("terminated", _terminated, 3, (30, 200)),
    ("withdrawn", _withdrawn, 2, (30, 200)),
    ("inadmissible", _inadmissible, 1, (30, 200)),
]


def load_demo(
    settings: Settings,
    *,
    skip_if_present: bool = False,
    today: date | None = None,
    with_documents: bool = True,
) -> str:
    """Build the demo district and its cases; returns a summary for people.

    The district and the cases are the same on every run; their dates are counted back from
    `today` (default: the day it runs), so the demo looks alive and its deadlines are real.
    With documents the rendered agreements and their PAdES signatures are real too, though
    their bytes differ between runs: WeasyPrint and pyHanko stamp the wall-clock time.
    Without (`with_documents=False`) the cases carry signature rows only, as in a deployment
    that runs no document service, and load several times faster.
    """
    anchor = datetime.combine(today or datetime.now(UTC).date(), time(1, 0), tzinfo=UTC)
    clock = FixedClock(anchor)
    if not with_documents:  # as a deployment that keeps no PDFs
        settings = settings.model_copy(update={"document_service": False})
    engine = build_engine(settings, clock=clock)
    documents = DocumentService(settings, engine) if with_documents else None
    with Session(engine.db.engine) as session:
        if (
            session.exec(select(Case.id)).first() is not None
            or session.exec(select(OrgUnit.id)).first() is not None
        ):
            if skip_if_present:
                return "示范数据已存在，跳过。"
            raise SystemExit("数据库中已有数据：示范数据只能写入空库（可用 --if-empty 跳过）")
        district = build_district(session)
    rng = random.Random(2026)
    counts: dict[str, int] = {}
    index = 0
    for label, step, how_many, (newest, oldest) in PLANS:
        for _ in range(how_many):
            position = index % len(district.grids)
            grid = district.grids[position]
            category, summary = DISPUTES[index % len(DISPUTES)]
            index += 1
            # the grid's own street (its first half is 青石's): a 中心户 registers a case into
            # a room of the committee serving their street, never another street's
            street = "qingshi" if position < len(district.grids) // 2 else "liuwan"
            mediator = (
                ("mediator_xiu" if street == "qingshi" else "mediator_yang")
                if index % 3 == 0
                else f"mediator_{street}"
            )
            household = next(k for k, v in district.users.items() if v == grid[2])
            days_ago = rng.randint(newest, oldest)
            day = anchor.astimezone(SHANGHAI).date() - timedelta(days=days_ago)
            opens = datetime.combine(day, OFFICE_OPENS, tzinfo=SHANGHAI)
            clock.set(opens + timedelta(minutes=rng.randrange(0, 90)))
            intake = demo_intake(rng, grid, category, summary, "blue" if index % 5 else "yellow")
            # a room mediator's case is registered under the room's parent committee via its room
            if mediator in ("mediator_xiu", "mediator_yang"):
                room = district.units["room_xiu" if mediator == "mediator_xiu" else "room_lao"]
                intake = intake.model_copy(update={"committee_id": room})
            result = engine.open_case(intake, district.actors[household])
            with engine.db.transaction(write=False) as tx:
                parties = tx.case_parties(result.case_id)
            party_ids = [p.party_id for p in parties]
            membership_unit = min(district.actors[mediator].unit_ids)  # the unit itself sorts first
            case = DemoCase(
                engine,
                clock,
                district,
                result.case_id,
                mediator,
                household,
                party_ids,
                documents,
                membership_unit,
                local_mediator=_local_mediator(engine, district, result.case_id, mediator),
                category=category,
                names=(parties[0].name, parties[1].name),
            )
            if step is not None:
                step(case)
            counts[label] = counts.get(label, 0) + 1
    _court_referrals(engine, documents, clock, district, rng, anchor - timedelta(days=10))
    counts["court_referral"] = 2
    with engine.db.transaction(write=False) as tx:
        sealed = tx.sealed_case_count()
    engine.db.engine.dispose()
    total = sum(counts.values())
    lines = [
        f"已写入示范辖区“枫溪区”：{len(district.units)} 个组织、"
        f"{len(district.users)} 名用户、{total} 件案件。",
        f"示范用户的密码均为 {DEMO_PASSWORD}（如 mediator_xiu 修丽君调解工作室、"
        "household_qs_east_grid1 中心户、judge_lin 法官）。",
    ]
    if sealed:
        lines.append(
            f"其中 {sealed} 件案件的调解协议书已签署盖章（含纸质签署扫描件），"
            "可用 fengqiao documents render 案件id -o 协议书.pdf 导出并用 documents verify 核验。"
        )
    return "\n".join(lines)


def _local_mediator(
    engine: MediationEngine, district: District, case_id: int, preferred: str
) -> str:
    """A mediator who serves the committee or room the case belongs to."""
    case = engine.get_case(case_id, district.actors["supervisor"])
    units = {case.org_unit_id, case.committee_id}
    candidates = [
        key
        for key, actor in district.actors.items()
        if key.startswith("mediator_") and not actor.unit_ids.isdisjoint(units)
    ]
    return preferred if preferred in candidates else candidates[0]


def _court_referrals(
    engine: MediationEngine,
    documents: DocumentService | None,
    clock: FixedClock,
    district: District,
    rng: random.Random,
    start: datetime,
) -> None:
    """诉前委派: one case still in mediation, one returned to the court."""
    for n in range(2):
        clock.set(start + timedelta(days=3 * (n + 1)))
        grid = district.grids[n]
        intake = demo_intake(
            rng, grid, "contract", "买卖合同货款纠纷（法院诉前委派）", "blue"
        ).model_copy(
            update={
                "spec_id": "court_referral",
                "origin": Origin.court_delegated,
                "referring_court_id": district.units["tribunal"],
                "committee_id": district.units["room_xiu"],
            }
        )
        result = engine.open_case(intake, district.actors["mediator_xiu"])
        with engine.db.transaction(write=False) as tx:
            party_ids = [p.party_id for p in tx.case_parties(result.case_id)]
        case = DemoCase(
            engine,
            clock,
            district,
            result.case_id,
            "mediator_xiu",
            "mediator_xiu",
            party_ids,
            documents,
        )
        case.consent()
        case.fire("mediator_xiu", "accept_delegation", room_id=district.units["room_xiu"])
        if n == 1:
            case.fire(
                "mediator_xiu",
                "return_to_court",
                reason="双方分歧过大",
                termination_reason="positions_apart",
            )
