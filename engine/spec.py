"""Frozen models of a workflow definition: what a YAML file under workflows/ may say.

Specs are data only. Names of guards and actions are strings here and are resolved against
the hook registry when the registry loads (engine/checks.py), never at fire time. A host
adds top-level keys of its own (mediation's risk scale) through a SpecExtension: the
registry validates them with the host's model and the spec carries the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.fields import FieldSpec, Vocabulary

IDENTIFIER = r"^[a-z][a-z0-9_]*$"


SYSTEM_ROLE = "system"  # the timer tick: always declared, never logs in
SYSTEM_LABEL = "系统"
ROLES_VOCABULARY = "roles"  # the deployment's roles and labels, when a spec declares none
LEVELS_VOCABULARY = "levels"  # its levels, lowest first


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


class StateSpec(_Frozen):
    name: Identifier
    label: str = Field(min_length=1)
    level: Identifier | None = None  # None: the case keeps the level it had
    final: bool = False
    # How the host counts a case ending here (final states only); the host's checks say
    # which outcomes its flows may name.
    outcome: Identifier | None = None
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
    states: tuple[StateSpec, ...] = Field(min_length=1)
    transitions: tuple[TransitionSpec, ...] = Field(min_length=1)
    clocks: tuple[ClockSpec, ...] = ()
    # The host's own top-level keys, validated by its SpecExtension's model when the
    # registry loads the file (None: the host declares none). Never a key of the file.
    extension: BaseModel | None = Field(default=None, exclude=True)

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

    def definition(self) -> dict[str, Any]:
        """The spec as its file says it, as JSON: the engine's keys and the host's."""
        data = self.model_dump(mode="json")
        if self.extension is not None:
            data.update(self.extension.model_dump(mode="json"))
        return data


# The keys of a spec file the engine reads; any other top-level key is the host's or an error.
ENGINE_KEYS = frozenset(WorkflowSpec.model_fields) - {"extension"}

SpecPath = tuple[str | int, ...]


class Fail(Protocol):
    """Refuses the spec being loaded: raises DefinitionError naming its file and the line
    of `path`, with `hint` saying what to change."""

    def __call__(self, path: SpecPath, message: str, hint: str | None = None) -> NoReturn: ...


# A host's load-time check of a spec: the spec (its extension validated, its roles and
# levels declared), the deployment's vocabularies, and how to refuse it.
SpecCheck = Callable[[WorkflowSpec, Mapping[str, Vocabulary], Fail], None]


@dataclass(frozen=True)
class SpecExtension:
    """The top-level keys a host adds to its flows' specs, declared on its HookSet.

    `model` (a frozen pydantic model) validates them when the registry loads a file; a key
    neither the engine nor the model declares is refused. `checks` run after the engine's
    own, for what a model alone cannot see (a code against a vocabulary, a declared level).
    """

    model: type[BaseModel]
    checks: tuple[SpecCheck, ...] = ()

    def __post_init__(self) -> None:
        if shared := sorted(self.keys() & ENGINE_KEYS):
            raise ValueError(f"{self.model.__name__} redeclares the engine's keys {shared}")

    def keys(self) -> frozenset[str]:
        """The top-level keys the model reads (by alias where it has one)."""
        return frozenset(f.alias or name for name, f in self.model.model_fields.items())
