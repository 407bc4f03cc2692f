"""@guard / @action registration and the TransitionContext they receive.

This is the only engine module workflows/ may import. Guards are pure: they read the context
and return None to pass or a Chinese sentence saying why not. Actions change the case only
through the context, inside the fire's transaction, and never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from engine.errors import InvalidInput
from engine.fields import (
    FieldSpec,
    FieldType,
    Option,
    OptionProvider,
    RefusalExplainer,
    Vocabulary,
)
from engine.ports import DeadlineCalendar, DueDate
from engine.records import (
    Actor,
    AssignmentRecord,
    CaseRecord,
    OrgUnitRow,
    RoleHolder,
)
from engine.repository import Tx
from engine.repository.documents import DocumentRecord
from engine.spec import SYSTEM_ROLE, SpecExtension, StateSpec, TransitionSpec, WorkflowSpec

__all__ = [
    "SYSTEM_ROLE",
    "Action",
    "Actor",
    "AssignmentRecord",
    "CaseRecord",
    "DocumentRecord",
    "FieldSpec",
    "FieldType",
    "Guard",
    "HookSet",
    "InvalidInput",
    "Option",
    "OptionProvider",
    "RefusalExplainer",
    "TransitionContext",
]

Guard = Callable[["TransitionContext"], str | None]
Action = Callable[["TransitionContext"], None]
F = TypeVar("F", bound=Callable[..., Any])
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Hook:
    name: str
    fn: Callable[..., Any]
    doc: str


class HookSet:
    """Named guards and actions, resolved by name when specs load (never at fire time)."""

    def __init__(
        self,
        declarations: Mapping[str, Vocabulary] | None = None,
        *,
        extension: SpecExtension | None = None,
    ) -> None:
        """`declarations`: the host's code-given vocabularies (its `roles` and `levels`,
        say); a data file of the same name replaces one. `extension`: the top-level keys
        the host's specs add to the engine's, and the host's checks of them."""
        self.declarations: dict[str, Vocabulary] = dict(declarations or {})
        self.extension = extension
        self.guards: dict[str, Hook] = {}
        self.actions: dict[str, Hook] = {}
        self.options: dict[str, OptionProvider] = {}  # by reference field type
        self.vocabularies: dict[str, OptionProvider] = {}  # vocabularies computed per case
        self.refusals: dict[str, RefusalExplainer] = {}  # why a value is not among the options
        self.reference_rules: dict[str, str] = {}  # what a host reference type's value must be

    def guard(self, name: str) -> Callable[[F], F]:
        return self._register(self.guards, name, "guard")

    def action(self, name: str) -> Callable[[F], F]:
        return self._register(self.actions, name, "action")

    def options_for(
        self, field_type: FieldType | str, *, rule: str | None = None
    ) -> Callable[[OptionProvider], OptionProvider]:
        """Register what a reference field (a user, an org unit...) may name for a case.

        A name that is not one of the engine's FieldTypes declares a reference type of the
        host's (mediation's `party`, `court`), which fields may then take as their `type`;
        `rule` says in the people's words what its value must be (须为本案当事人).
        """
        kind = str(field_type)
        if rule is None and kind not in FieldType.__members__:
            raise ValueError(f"reference type {kind!r} needs the rule its values follow")

        def decorate(fn: OptionProvider) -> OptionProvider:
            if kind in self.options:
                raise ValueError(f"options for {kind} registered twice")
            self.options[kind] = fn
            if rule is not None:
                self.reference_rules[kind] = rule
            return fn

        return decorate

    def refusal_for(
        self, field_type: FieldType | str
    ) -> Callable[[RefusalExplainer], RefusalExplainer]:
        """Register what says, for one refused value of a reference field, why it is refused."""
        kind = str(field_type)

        def decorate(fn: RefusalExplainer) -> RefusalExplainer:
            if kind in self.refusals:
                raise ValueError(f"refusal for {kind} registered twice")
            self.refusals[kind] = fn
            return fn

        return decorate

    def vocabulary(self, name: str) -> Callable[[OptionProvider], OptionProvider]:
        """Register a vocabulary whose options depend on the case (its spec's risk scale...)."""

        def decorate(fn: OptionProvider) -> OptionProvider:
            if name in self.vocabularies:
                raise ValueError(f"vocabulary {name!r} registered twice")
            self.vocabularies[name] = fn
            return fn

        return decorate

    def _register(self, table: dict[str, Hook], name: str, kind: str) -> Callable[[F], F]:
        def decorate(fn: F) -> F:
            if name in table:
                raise ValueError(f"{kind} {name!r} registered twice")
            table[name] = Hook(name, fn, (fn.__doc__ or "").strip().split("\n")[0])
            return fn

        return decorate


class TransitionContext:
    """What a guard or action knows about the fire in progress."""

    def __init__(
        self,
        *,
        tx: Tx,
        case: CaseRecord,
        actor: Actor,
        payload: Mapping[str, Any],
        reason: str | None,
        now: datetime,
        spec: WorkflowSpec,
        transition: TransitionSpec,
        calendar: DeadlineCalendar,
        vocabularies: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.case = case
        self.actor = actor
        self.payload = payload
        self.reason = reason
        self.now = now
        self.spec = spec
        self.transition = transition
        self._tx = tx
        self._calendar = calendar
        self._cache: dict[str, Any] = {}
        self.changes: dict[str, Any] = {}
        self.writable = False
        self.values: dict[str, Any] = {}  # the payload checked against the declared fields
        self._vocabularies = vocabularies or {}

    # --- reading ---------------------------------------------------------------------------

    @property
    def source_state(self) -> StateSpec:
        return self.spec.state(self.case.state)

    @property
    def dest_state(self) -> StateSpec:
        return self.spec.state(self.transition.dest or self.case.state)

    @property
    def data(self) -> dict[str, Any]:
        """The case's free-form data as it will be written (changes included)."""
        current = self.changes.get("data", self.case.data)
        assert isinstance(current, dict)
        return current

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def assignments(self) -> list[AssignmentRecord]:
        result: list[AssignmentRecord] = self._cached(
            "assignments", lambda: self._tx.assignments(self.case.id)
        )
        return result

    def documents(self, kind: str) -> list[DocumentRecord]:
        """The case's recorded versions of one document kind, oldest first."""
        result: list[DocumentRecord] = self._cached(
            f"documents:{kind}", lambda: self._tx.documents(self.case.id, kind)
        )
        return result

    def latest_document(self, kind: str) -> DocumentRecord | None:
        versions = self.documents(kind)
        return versions[-1] if versions else None

    def user_exists(self, user_id: int) -> bool:
        return self._tx.user_exists(user_id)

    def org_unit_kind(self, unit_id: int) -> str | None:
        unit = self._tx.org_unit(unit_id)
        return None if unit is None else unit.kind

    def due(self, start: datetime, days: int, *, working_days: bool = False) -> datetime:
        """When a period of `days` starting at `start` ends, by the deployment's calendar."""
        return self.period_end(start, days, working_days=working_days).due_at

    def period_end(self, start: datetime, days: int, *, working_days: bool = False) -> DueDate:
        """`due` with whether it is provisional: a year whose holidays are not published yet
        counts weekends only, and the date may move when they are."""
        return self._calendar.add_days(start, days, working_days=working_days)

    def labels(self, vocabulary: str) -> Mapping[str, str]:
        """A data-file vocabulary's codes and Chinese labels (workflows/vocabularies/)."""
        return self._vocabularies.get(vocabulary, {})

    def label_of(self, vocabulary: str, code: str | None) -> str | None:
        return None if code is None else self.labels(vocabulary).get(code, code)

    def users_holding(self, roles: tuple[str, ...]) -> list[RoleHolder]:
        """The memberships of active users in any of `roles` (a user in two units comes twice)."""
        return self._tx.users_holding(roles)

    def org_units_of(self, kinds: tuple[str, ...]) -> list[OrgUnitRow]:
        """Every org unit of the given kinds, by id."""
        return self._tx.org_units_of(kinds)

    def org_unit_path(self, unit_id: int) -> str | None:
        unit = self._tx.org_unit(unit_id)
        return None if unit is None else str(unit.path)

    # --- payload -------------------------------------------------------------------------

    def value(self, key: str, default: Any = None) -> Any:
        """A declared field's typed value (checked before any guard ran), or `default`."""
        return self.values.get(key, default)

    def text(self, key: str, label: str, *, required: bool = True) -> str | None:
        """A non-empty string from the payload, or a clear InvalidInput naming the field."""
        value = self.payload.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise InvalidInput(f"请填写“{label}”", field=key)
            return None
        if not isinstance(value, str):
            raise InvalidInput(f"“{label}”应为文字", field=key)
        return value.strip()

    def integer(self, key: str, label: str) -> int:
        value = self.payload.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"请填写“{label}”（整数）", field=key)
        return value

    def choice(self, key: str, label: str, options: Mapping[str, str]) -> str:
        value = self.payload.get(key)
        if value not in options:
            listed = "、".join(f"{k}（{v}）" for k, v in options.items())
            raise InvalidInput(f"“{label}”须为以下之一：{listed}", field=key)
        assert isinstance(value, str)
        return value

    # --- writing (actions only) ----------------------------------------------------------

    def _writer(self) -> Tx:
        if not self.writable:
            raise RuntimeError("guards are pure: only actions may write")
        return self._tx

    def set_case(self, **fields: Any) -> None:
        self._writer()
        self.changes.update(fields)

    def update_data(self, key: str, value: Any) -> None:
        self._writer()
        data = dict(self.data)
        data[key] = value
        self.changes["data"] = data

    def assign(self, user_id: int, role: str, *, consented: bool) -> None:
        """Assigns a member; `consented` records now as when the consent it needed was given."""
        self._writer().add_assignment(self.case.id, user_id, role, self.now, consented)
        self._cache.pop("assignments", None)

    def unassign(self, user_id: int, role: str) -> int:
        ended = self._writer().end_assignment(self.case.id, user_id, role, self.now)
        self._cache.pop("assignments", None)
        return ended

    def record_document(
        self, kind: str, sha256: str, *, field: str, allow_same: bool = False
    ) -> DocumentRecord:
        """Record a new version of the case's `kind` document, its parent the latest one.

        The bytes are in the host's content store under `sha256`; the engine keeps only the
        chain of digests. A version is never replaced: a digest equal to an older version is
        refused (that would roll the document back), and one equal to the latest is refused
        too unless `allow_same` (a paper scan may already show the next signature).

        Raises:
            InvalidInput: `sha256` is not a lowercase sha256 hex digest, or would not make a
                new version, naming the payload `field`.
        """
        tx = self._writer()
        if len(sha256) != 64 or not set(sha256) <= _HEX:
            raise InvalidInput("文书摘要须为 64 位小写十六进制 SHA-256 值", field=field)
        versions = self.documents(kind)
        latest = versions[-1] if versions else None
        if latest is not None and latest.sha256 == sha256:
            if allow_same:
                return latest
            raise InvalidInput("文书与上一版本相同：签署或修改后应产生新的文书版本", field=field)
        if any(v.sha256 == sha256 for v in versions):
            raise InvalidInput("该文书是本案较早的版本，不能回退到旧版本", field=field)
        version = latest.version + 1 if latest else 1
        parent_id = latest.id if latest else None
        document_id = tx.add_document(
            case_id=self.case.id,
            kind=kind,
            version=version,
            sha256=sha256,
            parent_id=parent_id,
            created_at=self.now,
        )
        self._cache.pop(f"documents:{kind}", None)
        return DocumentRecord(document_id, kind, version, sha256, parent_id, self.now)

    def schedule(
        self,
        *,
        kind: str,
        name: str,
        days: int,
        working_days: bool,
        on_expiry: str,
        payload: Mapping[str, Any] | None = None,
        start: datetime | None = None,
    ) -> datetime:
        """Create a timer `days` (calendar or working) from `start` (default now); returns
        its due time. The period counts from the start's day, as deadlines in law do."""
        begin = start or self.now
        due = self._calendar.add_days(begin, days, working_days=working_days)
        self._writer().insert_timer(
            case_id=self.case.id,
            kind=kind,
            name=name,
            due_at=due.due_at,
            on_expiry=on_expiry,
            provisional=due.provisional,
            working_days=working_days,
            days=days,
            now=begin,
            payload=payload,
        )
        return due.due_at

    def extend_timers(self, *, kind: str, name: str, days: int) -> int:
        """Lengthen this case's pending periods of (kind, name) by `days`, recomputed from
        their start on the deployment's calendar (so working-day periods stay working days)."""
        tx = self._writer()
        pending = tx.pending_periods(self.case.id, kind, name)
        for timer_id, started_at, length, working in pending:
            due = self._calendar.add_days(started_at, length + days, working_days=working)
            tx.move_timer(timer_id, due.due_at, provisional=due.provisional, days=length + days)
        return len(pending)

    def cancel_timers(self, *, kind: str, name: str) -> int:
        """Cancel this case's pending timers of (kind, name), e.g. a visit once recorded."""
        return self._writer().cancel_timers(self.case.id, kind, name)

    def notify(self, kind: str, recipient: str, payload: Mapping[str, Any]) -> None:
        """Queue a notification in the outbox; it is delivered after commit."""
        body = {"case_id": self.case.id, "number": self.case.number, **payload}
        self._writer().add_outbox(
            case_id=self.case.id, kind=kind, recipient=recipient, payload=body, now=self.now
        )
