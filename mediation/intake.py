"""What registering a dispute takes (R-APPLY, R-REGISTER, R-SOURCE): typed, strict inputs."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Origin(StrEnum):
    """案件来源 (R-SOURCE; PML Art. 18, MoJ-2002 Art. 20)."""

    party_application = "party_application"
    committee_initiative = "committee_initiative"
    grid_report = "grid_report"
    police_transfer = "police_transfer"
    court_delegated = "court_delegated"
    court_entrusted = "court_entrusted"
    government_assigned = "government_assigned"
    petition_transfer = "petition_transfer"


ORIGIN_LABELS: dict[Origin, str] = {
    Origin.party_application: "当事人申请",
    Origin.committee_initiative: "调委会主动调解",
    Origin.grid_report: "网格员/中心户上报",
    Origin.police_transfer: "公安移交",
    Origin.court_delegated: "法院委派（诉前）",
    Origin.court_entrusted: "法院委托（诉中）",
    Origin.government_assigned: "政府部门指定",
    Origin.petition_transfer: "信访转办",
}


class ApplicationForm(StrEnum):
    """How a party applied (R-APPLY; MoJ-2002 Art. 20): in writing, or orally to the committee,
    which then records the oral application itself."""

    written = "written"
    oral = "oral"


APPLICATION_FORM_LABELS: dict[ApplicationForm, str] = {
    ApplicationForm.written: "书面申请",
    ApplicationForm.oral: "口头申请",
}


COURT_ORIGINS = frozenset({Origin.court_delegated, Origin.court_entrusted})  # a referring court


class PartyRole(StrEnum):
    applicant = "applicant"
    respondent = "respondent"
    third_party = "third_party"


PARTY_ROLE_LABELS = {
    PartyRole.applicant: "申请人",
    PartyRole.respondent: "被申请人",
    PartyRole.third_party: "第三人",
}


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RepresentativeIntake(_Input):
    """A party's legal representative (法定代理人), recorded as a person: who, ID, relation."""

    name: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=30)
    relation: str = Field(min_length=1, max_length=20)  # 父亲、母亲、监护人...


class PartyIntake(_Input):
    """A party as registered. ID and phone are checked (R-ID, R-PHONE) and then encrypted."""

    kind: str = Field(default="person", pattern="^(person|organisation)$")
    role: PartyRole
    name: str = Field(min_length=1, max_length=100)
    id_number: str | None = None
    phone: str | None = None
    address: str = Field(default="", max_length=200)
    sex: str | None = Field(default=None, pattern="^(male|female)$")
    ethnicity: str | None = Field(default=None, max_length=20)
    birth_date: date | None = None
    occupation: str | None = Field(default=None, max_length=50)
    representative: str | None = Field(default=None, max_length=64)
    agent_name: str | None = Field(default=None, max_length=64)
    guardian_name: str | None = Field(default=None, max_length=64)
    legal_representative: RepresentativeIntake | None = None


class CaseIntake(_Input):
    """受理登记: everything MoJ-2002 Arts. 20–21 asks to be recorded at acceptance."""

    spec_id: str = "standard"
    spec_version: int | None = Field(default=None, ge=1)  # None: the latest version
    committee_id: int
    category_code: str
    summary: str = Field(min_length=1, max_length=4000)
    origin: Origin
    # R-APPLY: required when a party applied (origin party_application)
    application_form: ApplicationForm | None = None
    risk_level: str
    parties: tuple[PartyIntake, ...] = Field(min_length=2)
    org_unit_id: int | None = None  # where it is handled first; routed by address when absent
    grid_id: int | None = None  # picked by the person; an address match only suggests one
    referring_court_id: int | None = None
