"""Frozen models of a workflow definition: what a YAML file under workflows/ may say.

Specs are data only. Names of guards and actions are strings here and are resolved against
the hook registry when the registry loads (engine/checks.py), never at fire time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.fields import FieldSpec

IDENTIFIER = r"^[a-z][a-z0-9_]*$"


SYSTEM_ROLE = "system"  # the timer tick: always declared, never logs in
SYSTEM_LABEL = "系统"
ROLES_VOCABULARY = "roles"  # the deployment's roles and labels, when a spec declares none
LEVELS_VOCABULARY = "levels"  # its levels, lowest first
ORIGINS_VOCABULARY = "origins"  # where cases come from, when a spec limits them


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


Identifier = Annotated[str, Field(pattern=IDENTIFIER, max_length=64)]


class ReminderSpec(_Frozen):
    """An action run `days_before` the end of a deadline or clock (e.g. the JC window closing)."""

    days_before: int = Field(gt=0, le=365)
    action: Identifier


class DeadlineSpec(_Frozen):
    """A period that starts when a state is entered; on expiry a trigger or an action runs."""

    days: int = Field(gt=0, le=3650)
    working_days: bool = False
    on_expiry: Identifier
    label: str | None = None
    reminder: ReminderSpec | None = None

    @model_validator(mode="after")
    def _reminder_inside_the_period(self) -> DeadlineSpec:
        if self.reminder is not None and self.reminder.days_before >= self.days:
            raise ValueError("提醒须在期限届满之前（reminder.days_before < days）")
        return self


class ClockSpec(_Frozen):
    """A period spanning several states (e.g. R-DL-PM: one month from acceptance to conclusion).

    It starts when the case enters any state of `starts_in` (or is opened in one) and stops
    when the case enters any state of `stops_in`.
    """

    name: Identifier
    label: str
    days: int = Field(default=0, ge=0, le=3650)
    months: int = Field(default=0, ge=0, le=120)  # calendar months (民法典 Art. 202)
    working_days: bool = False
    starts_in: tuple[Identifier, ...] = Field(min_length=1)
    stops_in: tuple[Identifier, ...] = Field(min_length=1)
    on_expiry: Identifier
    reminder: ReminderSpec | None = None

    @model_validator(mode="after")
    def _one_length(self) -> ClockSpec:
        if (self.days > 0) == (self.months > 0):
            raise ValueError("期限须且只能以 days 或 months 之一表示")
        if self.months and self.working_days:
            raise ValueError("以月计算的期限不能按工作日计算")
        return self


class Outcome(StrEnum):
    """How a case ending in a final state without an agreement counts in the statistics
    (R-STATS); a case that reached an agreement counts as successful wherever it ends."""

    failed = "failed"  # mediated, no agreement (调解不成)
    not_mediated = "not_mediated"  # refused or inadmissible: never mediated


class StateSpec(_Frozen):
    name: Identifier
    label: str = Field(min_length=1)
    level: Identifier | None = None  # None: the case keeps the level it had
    final: bool = False
    outcome: Outcome | None = None  # final states only
    deadline: DeadlineSpec | None = None
    max_sessions: int | None = Field(default=None, gt=0)  # attempts allowed before moving up

    @model_validator(mode="after")
    def _final_states_have_no_deadline(self) -> StateSpec:
        if self.final and self.deadline is not None:
            raise ValueError("终态不能设置期限（final state cannot have a deadline）")
        if self.outcome is not None and not self.final:
            raise ValueError("只有终态可以设置 outcome（outcome is for final states only）")
        return self


class TransitionSpec(_Frozen):
    trigger: Identifier
    label: str = Field(min_length=1)
    source: tuple[str, ...]
    dest: Identifier | None = None  # None: stay in the source state (an internal transition)
    roles: tuple[Identifier, ...] = Field(min_length=1)
    guards: tuple[Identifier, ...] = ()
    actions: tuple[Identifier, ...] = ()
    reason_required: bool = False
    # What the transition takes (checked before any guard; unknown keys refused). Adding
    # declarations to a published version is an annotation: they describe what its actions
    # already accept.
    fields: tuple[FieldSpec, ...] = ()
    # The host service that performs this step (rendering, signing, a ruling); the generic
    # actions door refuses it unless the deployment runs without that service.
    service: Identifier | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _field_names_unique(self) -> TransitionSpec:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("fields 中有重名字段")
        return self

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


class RiskLevelSpec(_Frozen):
    """One step of the risk scale (R-RISK); `lowest_level` is where such a case may be handled."""

    code: Identifier
    label: str
    lowest_level: Identifier = "grid"
    report_to_police: bool = False
    visit_every_days: int | None = Field(default=None, gt=0, le=365)  # periodic follow-up


class WorkflowSpec(_Frozen):
    id: Identifier
    version: int = Field(gt=0)
    title: str = Field(min_length=1)
    initial: Identifier
    open_roles: tuple[Identifier, ...] = Field(min_length=1)
    # Who may act and where a case stands, code → label (levels lowest first); empty: the
    # deployment's `roles` / `levels` vocabularies, filled in when the registry loads the spec.
    roles: dict[Identifier, str] = Field(default_factory=dict)
    levels: dict[Identifier, str] = Field(default_factory=dict)
    risk_levels: tuple[RiskLevelSpec, ...] = ()
    states: tuple[StateSpec, ...] = Field(min_length=1)
    transitions: tuple[TransitionSpec, ...] = Field(min_length=1)
    clocks: tuple[ClockSpec, ...] = ()
    origins: tuple[str, ...] = ()  # allowed R-SOURCE origins; empty: any
    referring_court_required: bool = False  # court-delegated flows report back to the court
    # persons under this age act through a legal representative recorded as a person at intake
    representation_age: int | None = Field(default=None, ge=1, le=30)
    signatories: tuple[str, ...] = ("parties", "mediator", "seal")
    # R-ESIGN: signatures are the signer's own act (identity check, event certificate);
    # False keeps the platform-held keys of the versions published before it (v1)
    own_act_signing: bool = False

    def state(self, name: str) -> StateSpec:
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)

    def role_label(self, role: str) -> str:
        if role == SYSTEM_ROLE:
            return self.roles.get(role, SYSTEM_LABEL)
        return self.roles.get(role, role)

    def level_label(self, level: str) -> str:
        return self.levels.get(level, level)

    def level_rank(self, level: str) -> int:
        """A level's place in the declared order, lowest first (-1 if undeclared)."""
        return next((i for i, code in enumerate(self.levels) if code == level), -1)

    def risk(self, code: str) -> RiskLevelSpec | None:
        return next((r for r in self.risk_levels if r.code == code), None)
