"""What each document says, as frozen models the renderer reads: no database, no engine types.

The caller (api/ or a timer handler) maps its case rows onto these; every field the law asks
for (PML Art. 29, MoJ-2002 Arts. 21 and 35, SPC-I Art. 354) is a required field here, so a
missing item fails when the model is built, not on paper.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SignerRole(StrEnum):
    """Who signs; written into each signer certificate (X.509 `title`) and each field name."""

    PARTY = "party"
    MEDIATOR = "mediator"
    RECORDER = "recorder"
    REGISTRAR = "registrar"
    COMMITTEE = "committee"
    COURT = "court"
    VISITOR = "visitor"
    LAWYER = "lawyer"

    @property
    def label_zh(self) -> str:
        return _ROLE_LABELS[self]

    @property
    def is_seal(self) -> bool:
        """Organisations sign with a round red seal, people with their name."""
        return self in (SignerRole.COMMITTEE, SignerRole.COURT)


_ROLE_LABELS = {
    SignerRole.PARTY: "当事人",
    SignerRole.MEDIATOR: "调解员",
    SignerRole.RECORDER: "记录人",
    SignerRole.REGISTRAR: "登记人",
    SignerRole.COMMITTEE: "人民调解委员会（印章）",
    SignerRole.COURT: "人民法院（印章）",
    SignerRole.VISITOR: "回访人",
    SignerRole.LAWYER: "律师",
}


class Branding(_Frozen):
    """Per-room look: a personal-brand room prints its name but the committee's seal (R-SEAL)."""

    committee_name: str = Field(min_length=1)
    room_name: str | None = None
    seal_text: str | None = None
    logo_png: bytes | None = None

    @property
    def seal(self) -> str:
        """The text around the seal: the committee's, never the room's (R-SEAL)."""
        return self.seal_text or self.committee_name


class Party(_Frozen):
    """One party's basic information as R-AGREEMENT-FIELDS lists it."""

    label: str = Field(min_length=1, description="甲方 / 乙方 / 申请人 / 被申请人 …")
    name: str = Field(min_length=1)
    kind: Literal["person", "organisation"] = "person"
    sex: Literal["男", "女"] | None = None
    ethnicity: str | None = None
    birth_date: date | None = None
    occupation: str | None = None
    id_number: str | None = None
    address: str = Field(min_length=1)
    phone: str | None = None
    representative: str | None = Field(
        default=None, description="organisations: legal representative or principal"
    )
    agent: str | None = Field(default=None, description="委托代理人, if any")
    guardian: str | None = Field(
        default=None, description="R-MINOR: the 法定代理人 of a party under 18, e.g. 王建华（父亲）"
    )

    @field_validator("representative")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value else value


class Term(_Frozen):
    """One agreed obligation: who does what for whom, how, and by when (PML Art. 29 (3))."""

    obligor: str = Field(min_length=1)
    obligee: str = Field(min_length=1)
    action: str = Field(min_length=1, description="e.g. 支付赔偿款 / 拆除围墙")
    amount: Decimal | None = Field(default=None, ge=0, description="人民币元, if monetary")
    method: str = Field(min_length=1, description="履行方式, e.g. 银行转账")
    deadline: date
    place: str = Field(min_length=1, description="履行地点")


class Responsibility(_Frozen):
    """One party's share of responsibility for the dispute (PML Art. 29 (2))."""

    party: str = Field(min_length=1, description="e.g. 申请人王建国")
    text: str = Field(min_length=1, description="e.g. 未拴牵引绳，承担全部责任")


class AgreementContent(_Frozen):
    """The body of an agreement: facts, issues, each party's responsibility, terms,
    performance (PML Art. 29)."""

    facts: str = Field(min_length=1)
    disputed_issues: tuple[str, ...] = Field(min_length=1)
    responsibilities: tuple[Responsibility, ...] = Field(min_length=1)
    terms: tuple[Term, ...] = Field(min_length=1)
    performance_method: str = Field(min_length=1)
    performance_deadline: date
    performance_place: str | None = None
    other_terms: tuple[str, ...] = ()


class Person(_Frozen):
    """A named official: mediator, recorder, registrar, judge, lawyer, visitor."""

    name: str = Field(min_length=1)
    title: str | None = None


class Signatory(_Frozen):
    """One signature slot: the signer expected there, in the order signatures are collected."""

    role: SignerRole
    name: str = Field(min_length=1)
    label: str = Field(min_length=1)


class _Document(_Frozen):
    """Fields every document shares; subclasses name their template and signatories."""

    template: ClassVar[str]
    title: ClassVar[str]
    number: str = Field(min_length=1, description="文书编号 / case number")
    issued_on: date

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        """Who signs, in signing order; the renderer draws one slot per entry."""
        del branding
        return ()

    def issuer(self, branding: Branding) -> str:
        """Whose document this is, printed in every page's header."""
        return branding.committee_name


def _party_slots(parties: tuple[Party, ...]) -> tuple[Signatory, ...]:
    return tuple(Signatory(role=SignerRole.PARTY, name=p.name, label=p.label) for p in parties)


class MediationApplication(_Document):
    """人民调解申请书 (R-APPLY)."""

    template = "application.html"
    title = "人民调解申请书"
    applicants: tuple[Party, ...] = Field(min_length=1)
    respondents: tuple[Party, ...] = Field(min_length=1)
    category: str = Field(min_length=1)
    requests: tuple[str, ...] = Field(min_length=1)
    facts_and_reasons: str = Field(min_length=1)

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        del branding
        return _party_slots(self.applicants)


class RegistrationForm(_Document):
    """受理登记表 (R-REGISTER: date, parties, type, origin, summary, registrar, committee)."""

    template = "registration.html"
    title = "人民调解受理登记表"
    accepted_on: date
    parties: tuple[Party, ...] = Field(min_length=1)
    category: str = Field(min_length=1)
    origin: str = Field(min_length=1, description="R-SOURCE, e.g. 当事人申请")
    application_form: str | None = Field(default=None, description="R-APPLY: 书面申请 / 口头申请")
    summary: str = Field(min_length=1)
    risk_level: str | None = None
    registrar: Person

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        del branding
        return (Signatory(role=SignerRole.REGISTRAR, name=self.registrar.name, label="登记人"),)


class TranscriptEntry(_Frozen):
    speaker: str = Field(min_length=1)
    text: str = Field(min_length=1)


class MediationTranscript(_Document):
    """调解笔录 (R-TRANSCRIPT): read back to and signed by parties, mediator and recorder."""

    template = "transcript.html"
    title = "人民调解笔录"
    held_at: datetime
    place: str = Field(min_length=1)
    public_session: bool = False
    parties: tuple[Party, ...] = Field(min_length=1)
    mediators: tuple[Person, ...] = Field(min_length=1)
    recorder: Person
    invited: tuple[Person, ...] = ()
    entries: tuple[TranscriptEntry, ...] = Field(min_length=1)

    @field_validator("held_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("held_at must be timezone-aware")
        return value

    @model_validator(mode="after")
    def _recorder_is_someone_else(self) -> MediationTranscript:
        """R-TRANSCRIPT: the recorder signs as a second witness, never the mediator again."""
        if any(m.name == self.recorder.name for m in self.mediators):
            raise ValueError("the recorder must not be one of the mediators (R-TRANSCRIPT)")
        return self

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        del branding
        return (
            *_party_slots(self.parties),
            *(
                Signatory(role=SignerRole.MEDIATOR, name=m.name, label=m.title or "调解员")
                for m in self.mediators
            ),
            Signatory(role=SignerRole.RECORDER, name=self.recorder.name, label="记录人"),
        )


class MediationAgreement(_Document):
    """人民调解协议书: every item of PML Art. 29 / MoJ-2002 Art. 35 (R-AGREEMENT-FIELDS)."""

    template = "agreement.html"
    title = "人民调解协议书"
    category: str = Field(min_length=1)
    parties: tuple[Party, ...] = Field(min_length=2)
    content: AgreementContent
    mediators: tuple[Person, ...] = Field(min_length=1)
    registered_by: str | None = Field(
        default=None,
        description="the committee that registered and numbered the case, when the case "
        "moved on to the committee that mediates and seals (the number stays)",
    )
    copies: int | None = Field(default=None, ge=1, description="R-COPIES; default parties + 1")
    electronic_signature_excluded: bool = Field(
        default=False,
        description="R-ESIGN-EXCLUDE: marriage, adoption, inheritance — wet signature only",
    )

    @property
    def copy_count(self) -> int:
        return self.copies or len(self.parties) + 1

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        if self.electronic_signature_excluded:
            return ()
        return (
            *_party_slots(self.parties),
            *(
                Signatory(role=SignerRole.MEDIATOR, name=m.name, label="调解员")
                for m in self.mediators
            ),
            Signatory(role=SignerRole.COMMITTEE, name=branding.seal, label="调解委员会印章"),
        )


class ConfirmationApplication(_Document):
    """司法确认申请书 (R-JC-PACKAGE): both parties apply jointly to the court."""

    template = "confirmation_application.html"
    title = "司法确认申请书"
    court: str = Field(min_length=1)
    applicants: tuple[Party, ...] = Field(min_length=2)
    agreement_number: str = Field(min_length=1)
    agreement_date: date
    requests: str = Field(min_length=1)
    attachments: tuple[str, ...] = Field(min_length=1)

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        del branding
        return _party_slots(self.applicants)


class CourtRuling(_Document):
    """民事裁定书 on a confirmation application (R-JC-TRACK); signed with the court's key."""

    template = "ruling.html"
    title = "民事裁定书"
    court: str = Field(min_length=1)
    applicants: tuple[Party, ...] = Field(min_length=2)
    agreement_number: str = Field(min_length=1)
    agreement_date: date
    filed_on: date
    outcome: Literal["confirmed", "rejected"]
    agreement_summary: str = Field(min_length=1)
    # SPC-I Art. 358's ground as the flows' vocabulary labels it (rejection_grounds.yaml,
    # the one list of them): the host checks the code against it before rendering
    rejection_ground: str | None = Field(default=None, min_length=1)
    reasoning: str = Field(min_length=1)
    judges: tuple[Person, ...] = Field(min_length=1)
    clerk: Person

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        del branding
        return (Signatory(role=SignerRole.COURT, name=self.court, label="人民法院印章"),)

    def issuer(self, branding: Branding) -> str:
        del branding
        return self.court


class FollowUpRecord(_Document):
    """回访记录 (R-FOLLOWUP): agreement, performance, satisfaction, new risks, visitor."""

    template = "followup.html"
    title = "人民调解回访记录"
    agreement_number: str = Field(min_length=1)
    visited_at: datetime
    method: str | None = Field(
        default=None, min_length=1, description="上门 / 电话 / 视频; None: not recorded"
    )
    visitee: str = Field(min_length=1)
    performance: Literal["performed", "partly", "not"]
    satisfaction: str = Field(min_length=1)
    new_risks: str = "无"
    notes: str = Field(min_length=1)
    visitor: Person

    @property
    def performance_zh(self) -> str:
        return {"performed": "已履行", "partly": "部分履行", "not": "未履行"}[self.performance]

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        del branding
        return (Signatory(role=SignerRole.VISITOR, name=self.visitor.name, label="回访人"),)


class LegalOpinion(_Document):
    """法律意见书 by a 三官一律 lawyer volunteer on a hard case."""

    template = "legal_opinion.html"
    title = "法律意见书"
    addressee: str = Field(min_length=1)
    lawyer: Person
    law_firm: str = Field(min_length=1)
    question: str = Field(min_length=1)
    facts: str = Field(min_length=1)
    analysis: str | None = Field(default=None, min_length=1, description="None: not recorded")
    opinion: str = Field(min_length=1)
    legal_basis: tuple[str, ...] = ()

    def signatories(self, branding: Branding) -> tuple[Signatory, ...]:
        del branding
        return (Signatory(role=SignerRole.LAWYER, name=self.lawyer.name, label="承办律师"),)


class AcceptanceNotice(_Document):
    """人民调解受理通知书: one party's own slip, taken home, with the QR code of their own
    progress link (R-REGISTER; the link shows only their case, after their phone's last four
    digits). Nothing in it names anyone's ID or phone number."""

    template = "acceptance_notice.html"
    title = "人民调解受理通知书"
    party_name: str = Field(min_length=1)
    others: tuple[str, ...] = Field(min_length=1)  # the other parties, by name
    accepted_on: date
    category: str = Field(min_length=1)
    progress_url: str = Field(min_length=1)


DocumentContent = (
    AcceptanceNotice
    | MediationApplication
    | RegistrationForm
    | MediationTranscript
    | MediationAgreement
    | ConfirmationApplication
    | CourtRuling
    | FollowUpRecord
    | LegalOpinion
)
