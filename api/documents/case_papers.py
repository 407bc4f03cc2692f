"""The rest of the case file's papers (卷宗), read-only, one by one: application,
registration, transcripts, confirmation application, follow-up records and legal opinions,
rendered from the case (api/services/case_file.py binds them into the volume)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar, get_args

from api.documents.core import (
    RENDERING_VERSION,
    UNRECORDED,
    DocumentCore,
    _branding,
    _party,
    _presiding,
)
from documents import (
    Branding,
    ConfirmationApplication,
    DocumentContent,
    FollowUpRecord,
    LegalOpinion,
    MediationApplication,
    MediationTranscript,
    Party,
    Person,
    RegistrationForm,
    TranscriptEntry,
)
from engine.calendar import SHANGHAI as BEIJING
from engine.errors import InvalidInput
from engine.records import Actor
from mediation import queries
from mediation.intake import APPLICATION_FORM_LABELS, ORIGIN_LABELS, ApplicationForm, Origin
from mediation.records import CategoryRecord, MediationCase
from mediation.repository import MediationTx
from mediation.spec import mediation_spec

CaseFileKind = Literal[
    "application",
    "registration",
    "transcript",
    "confirmation_application",
    "followup",
    "legal_opinion",
]
CASE_FILE_KINDS: tuple[str, ...] = get_args(CaseFileKind)
_SPEAKER = re.compile(r"^\s*([^：:\s]{1,12})[：:]\s*(.+)$")


@dataclass(frozen=True)
class _CaseFile:
    """What the read-only case-file documents draw on, read in one transaction."""

    case: MediationCase
    category: CategoryRecord
    summary: str
    registrar_id: int | None
    parties: tuple[Party, ...]  # masked, in case-party order; `rows` in the same order
    rows: tuple[queries.PartyRow, ...]
    branding: Branding
    presiding: dict[int, str]

    @property
    def registered_on(self) -> date:
        return self.case.created_at.astimezone(BEIJING).date()

    def with_role(self, role: str) -> tuple[Party, ...]:
        return tuple(p for p, r in zip(self.parties, self.rows, strict=True) if r.role == role)


def _case_file(tx: MediationTx, case: MediationCase) -> _CaseFile:
    """What every paper of the case file is drawn from, with the parties' numbers masked."""
    category = tx.category(case.category_code)
    assert category is not None, "cases reference categories by foreign key"
    extra = queries.case_extra(tx, case.id)
    assert extra is not None, "the case was just loaded"
    branding, _ = _branding(tx, case)
    parties, rows = _masked_parties(queries.parties(tx, case.id))
    return _CaseFile(
        case=case,
        category=category,
        summary=extra.summary,
        registrar_id=extra.registrar_id,
        parties=parties,
        rows=rows,
        branding=branding,
        presiding=_presiding(tx, case.id),
    )


def _masked_parties(
    rows: list[queries.PartyRow],
) -> tuple[tuple[Party, ...], tuple[queries.PartyRow, ...]]:
    """The parties as the case file prints them: ID and phone masked (R-PII), an unregistered
    address said to be so rather than refused (these documents record, they do not bind)."""
    parties = tuple(
        _party(
            row,
            id_number=row.id_number_masked,
            phone=row.phone_masked,
            address=row.address or "未登记",
        )
        for row in rows
    )
    return parties, tuple(rows)


def _application_form(case: MediationCase) -> str | None:
    """R-APPLY: 书面申请 or 口头申请, as recorded at registration (None: not a party's
    application, or registered before it was recorded)."""
    form = case.data.get("application_form")
    return APPLICATION_FORM_LABELS.get(ApplicationForm(form)) if form else None


class CaseFileDocuments(DocumentCore):
    """The rest of the case file: a part of DocumentService."""

    # --- the rest of the case file (卷宗), read-only ---------------------------------------

    def render_case_document(
        self, case_id: int, actor: Actor, kind: str, *, index: int | None = None
    ) -> bytes:
        """Render one document of the case file from what the case records, as it stands now.

        A rendering is for reading and printing only: nothing is signed, stored or recorded,
        so its QR code carries version 0, which the verification page answers as not found
        (no recorded document stands behind it). ID and phone numbers appear masked, as in
        every export (R-PII), so nothing is decrypted and there is no unmasked read to log.

        Args:
            case_id: the case.
            actor: who asks; they must be able to see the case, nothing more.
            kind: one of CASE_FILE_KINDS.
            index: 1-based number of the session, visit or legal opinion; the latest if None.

        Returns:
            The PDF bytes.

        Raises:
            CaseNotFound / OutOfScope: the actor may not see the case.
            InvalidInput: an unknown kind, a bad index, or nothing of that kind yet.
            DocumentError: the document cannot be rendered.
        """
        if kind not in CASE_FILE_KINDS:
            raise InvalidInput(f"卷宗文书种类须为：{'、'.join(CASE_FILE_KINDS)}", field="kind")
        if index is not None and index < 1:
            raise InvalidInput("序号从 1 开始", field="index")
        case = self.engine.get_case(case_id, actor)  # scope first: CaseNotFound / OutOfScope
        with self.engine.db.transaction(write=False) as tx:
            file = _case_file(tx, case)
            branding = file.branding
            builders: dict[str, Callable[[MediationTx, _CaseFile, int | None], DocumentContent]] = {
                "application": self._application,
                "registration": self._registration,
                "transcript": self._transcript,
                "confirmation_application": self._confirmation_application,
                "followup": self._followup,
                "legal_opinion": self._legal_opinion,
            }
            doc = builders[kind](tx, file, index)
        if isinstance(doc, ConfirmationApplication):
            # it leaves the committee for the court: no room brand on it (as on the ruling)
            branding = Branding(committee_name=branding.committee_name)
        return self.renderer.render(
            doc, branding, document_id=self.public_id(case_id, kind, RENDERING_VERSION)
        )

    def confirmation_application_content(
        self, case_id: int, actor: Actor, case: MediationCase | None = None
    ) -> ConfirmationApplication:
        """The 司法确认申请书's content with masked numbers (api/services/jc_package.py fills
        in what the court needs); `case` as read by a caller that checked its scope."""
        case = case or self.engine.get_case(case_id, actor)
        with self.engine.db.transaction(write=False) as tx:
            return self._confirmation_application(tx, _case_file(tx, case), None)

    def _application(
        self, tx: MediationTx, file: _CaseFile, index: int | None
    ) -> MediationApplication:
        del tx, index
        applicants = file.with_role("applicant")
        respondents = file.with_role("respondent")
        if not applicants or not respondents:
            raise InvalidInput("本案没有登记申请人和被申请人，无人民调解申请书", field="parties")
        others = "、".join(p.name for p in respondents)
        return MediationApplication(
            number=file.case.number,
            issued_on=file.registered_on,
            applicants=applicants,
            respondents=respondents,
            category=file.category.name,
            requests=(
                f"请求{file.branding.committee_name}主持调解申请人与{others}之间的"
                f"{file.category.name}纠纷。",
            ),
            facts_and_reasons=file.summary,
        )

    def _registration(
        self, tx: MediationTx, file: _CaseFile, index: int | None
    ) -> RegistrationForm:
        del index
        case = file.case
        spec = self.engine.registry.get(case.spec_id, case.spec_version).spec
        risk = mediation_spec(spec).risk(case.risk_level)
        origin = ORIGIN_LABELS.get(Origin(case.origin), case.origin)
        return RegistrationForm(
            number=case.number,
            issued_on=file.registered_on,
            accepted_on=file.registered_on,
            parties=file.parties,
            category=file.category.name,
            origin=origin,
            application_form=_application_form(case),
            summary=file.summary,
            risk_level=risk.label if risk is not None else case.risk_level,
            registrar=Person(name=_display_name(tx, file.registrar_id), title="登记人"),
        )

    def _transcript(
        self, tx: MediationTx, file: _CaseFile, index: int | None
    ) -> MediationTranscript:
        """R-TRANSCRIPT: who held the session signs as its mediator (a 中心户 as 中心户, never
        as 调解员), the case's recorder as 记录人; one person is never both."""
        sessions = queries.sessions(tx, file.case.id)
        session = _pick(sessions, index, "调解笔录", "尚无调解记录：请先记录一次调解", "index")
        mediators = _presiding(tx, file.case.id, roles=("mediator",))
        households = _presiding(tx, file.case.id, roles=("central_household",))
        held_by = session.recorder_id  # the engine records who fired record_session
        if held_by in households and held_by not in mediators:
            presiding = [Person(name=households[held_by], title="中心户")]
        elif mediators:
            presiding = [Person(name=n, title="人民调解员") for n in mediators.values()]
        else:
            raise InvalidInput("本案尚未指派调解员，无法制作调解笔录", field="mediator")
        recorders = _presiding(tx, file.case.id, roles=("recorder",))
        names = {p.name for p in presiding}
        recorder = next((n for n in recorders.values() if n not in names), None)
        if recorder is None:
            raise InvalidInput(
                "调解笔录须由调解员以外的记录人签名：请先为本案指派记录员", field="recorder"
            )
        parties = file.parties
        present = {p.name for p in parties} | names | {recorder}
        entries = tuple(
            TranscriptEntry(speaker=m[1], text=m[2])
            if (m := _SPEAKER.match(line))
            else TranscriptEntry(speaker="记录", text=line.strip())
            for line in session.record.splitlines()
            if line.strip()
        )
        if not entries:
            raise InvalidInput("本次调解没有记录内容，无法制作调解笔录", field="record")
        return MediationTranscript(
            number=file.case.number,
            issued_on=session.held_at.astimezone(BEIJING).date(),
            held_at=session.held_at.astimezone(BEIJING),
            place=session.place or UNRECORDED,
            public_session=session.public,
            parties=parties,
            mediators=tuple(presiding),
            recorder=Person(name=recorder, title="记录人"),
            invited=tuple(Person(name=a) for a in session.attendees if a not in present),
            entries=entries,
        )

    def _confirmation_application(
        self, tx: MediationTx, file: _CaseFile, index: int | None
    ) -> ConfirmationApplication:
        del index
        case = file.case
        confirmation: dict[str, Any] = case.data.get("confirmation", {})
        court_id = confirmation.get("court_id", case.court_id)
        if "applied_at" not in confirmation or not isinstance(court_id, int):
            raise InvalidInput("本案尚未申请司法确认，无司法确认申请书", field="confirmation")
        court = tx.org_unit(court_id)
        assert court is not None, "applications name an existing court"
        applied = set(confirmation.get("applicants", []))
        # a joint application: every party applies, so each is 申请人 here
        applicants = tuple(
            p.model_copy(update={"label": "申请人"})
            for p, row in zip(file.parties, file.rows, strict=True)
            if row.party_id in applied
        )
        agreed_on = (case.agreement_effective_at or case.created_at).astimezone(BEIJING).date()
        attachments = [
            f"人民调解协议书（编号：{case.number}）",
            f"{file.branding.committee_name}主持调解的证明",
            "申请人身份证明",
            "与调解协议相关的财产权利证明",
            "双方当事人的送达地址、联系方式（见上）",
        ]
        if any(row.agent_name for row in file.rows if row.party_id in applied):
            attachments.append("委托代理人的授权委托书")
        return ConfirmationApplication(
            number=case.number,
            issued_on=datetime.fromisoformat(confirmation["applied_at"]).astimezone(BEIJING).date(),
            court=str(court.name),
            applicants=applicants,
            agreement_number=case.number,
            agreement_date=agreed_on,
            requests=(
                f"请求依法确认申请人于{agreed_on.year}年{agreed_on.month}月{agreed_on.day}日经"
                f"{file.branding.committee_name}主持调解达成的人民调解协议"
                f"（编号：{case.number}）有效。"
            ),
            attachments=tuple(attachments),
        )

    def _followup(self, tx: MediationTx, file: _CaseFile, index: int | None) -> FollowUpRecord:
        visits = tx.visit_reports(file.case.id)
        visit = _pick(visits, index, "回访记录", "尚无回访记录：请先记录一次回访", "index")
        visited_at = visit.visited_at.astimezone(BEIJING)
        return FollowUpRecord(
            number=file.case.number,
            issued_on=visited_at.date(),
            agreement_number=file.case.number,
            visited_at=visited_at,
            # the visits table keeps no method (上门 / 电话 / 视频; R-FOLLOWUP does not ask
            # for it): the paper leaves the row out rather than print a placeholder
            visitee="、".join(p.name for p in file.parties),
            performance=visit.performance,
            satisfaction=self.labels("satisfaction").get(visit.satisfaction or "", UNRECORDED),
            new_risks=visit.new_risks or "无",
            notes=visit.notes or "无",
            visitor=Person(name=visit.visitor_name or UNRECORDED, title="回访人"),
        )

    def _legal_opinion(self, tx: MediationTx, file: _CaseFile, index: int | None) -> LegalOpinion:
        opinions: list[dict[str, Any]] = file.case.data.get("legal_opinions", [])
        given = _pick(opinions, index, "法律意见", "尚无律师出具的法律意见", "index")
        lawyer_id = given.get("by")
        lawyer = queries.user(tx, lawyer_id) if isinstance(lawyer_id, int) else None
        firm: str | None = None
        if lawyer is not None:
            units = sorted(lawyer.memberships, key=lambda m: m.role != "lawyer")
            unit = queries.org_unit(tx, units[0].org_unit_id) if units else None
            firm = unit.name if unit is not None else None
        return LegalOpinion(
            number=file.case.number,
            issued_on=datetime.fromisoformat(given["at"]).astimezone(BEIJING).date(),
            addressee=file.branding.committee_name,
            lawyer=Person(name=lawyer.display_name if lawyer else UNRECORDED, title="律师"),
            law_firm=firm or UNRECORDED,
            question=f"本案{file.category.name}纠纷的调解所涉法律问题",
            facts=file.summary,
            opinion=str(given["opinion"]),
        )


_T = TypeVar("_T")


def _pick(items: Sequence[_T], index: int | None, what: str, empty: str, field: str) -> _T:
    """The `index`-th item (1-based), the latest when None; a clear refusal otherwise."""
    if not items:
        raise InvalidInput(empty, field=field)
    if index is None:
        return items[-1]
    if index > len(items):
        raise InvalidInput(f"本案只有 {len(items)} 份{what}，没有第 {index} 份", field=field)
    return items[index - 1]


def _display_name(tx: MediationTx, user_id: int | None) -> str:
    if user_id is None:
        return UNRECORDED
    return tx.display_name(user_id) or UNRECORDED
