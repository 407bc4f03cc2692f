"""Engine: open_case, available_triggers, fire, history — the only writer of case state.

Every change runs in one transaction: load → scope → role → guards → actions → versioned
update → hash-chained audit event → timers → commit. Nothing outside the database happens
here; notifications go to the outbox and documents are rendered by the host after commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from engine import access, facts, validation
from engine.audit import (
    GENESIS_HASH,
    CaseBinding,
    ChainBreak,
    ChainHead,
    event_hash,
    missing_cases,
    verify_chain,
)
from engine.calendar import SHANGHAI, month_period_days
from engine.checks import did_you_mean
from engine.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    GuardRejected,
    InvalidIdNumber,
    InvalidInput,
    InvalidPhoneNumber,
    NotFound,
    OutOfScope,
    PayloadInvalid,
    ReasonRequired,
    ServiceStepRefused,
    TransitionNotAllowed,
)
from engine.fields import check_payload, json_schema
from engine.hooks import TransitionContext
from engine.intake import COURT_ORIGINS, CaseIntake, PartyIntake
from engine.machine import BoundTransition, CompiledSpec
from engine.models.columns import dumps
from engine.numbering import DEFAULT_PATTERN, format_number, next_sequence
from engine.policy import Policy
from engine.ports import Clock, DeadlineCalendar, PiiProtector
from engine.records import Actor, CaseRecord, EventRecord, FireResult, TriggerOption
from engine.registry import Registry
from engine.repository import Database, Tx
from engine.spec import ROLE_LABELS, ClockSpec, DeadlineSpec, Role

Within = Callable[[Tx, FireResult], None]

OPEN_TRIGGER = "open"


class Engine:
    """The mediation workflow engine. Construct once per process; it is thread-safe."""

    def __init__(
        self,
        database: Database,
        registry: Registry,
        *,
        clock: Clock,
        calendar: DeadlineCalendar,
        pii: PiiProtector,
        number_pattern: str = DEFAULT_PATTERN,
        policy: Policy | None = None,
        open_services: frozenset[str] = frozenset(),
    ) -> None:
        """`open_services`: services the deployment runs without, whose steps the generic
        door may then fire (a deployment that truly keeps no PDFs)."""
        self.db = database
        self.open_services = open_services
        self.policy = policy or Policy()
        self.registry = registry
        self.clock = clock
        self.calendar = calendar
        self.pii = pii
        self.number_pattern = number_pattern

    # --- opening -------------------------------------------------------------------------

    def open_case(
        self, intake: CaseIntake, actor: Actor, *, within: Within | None = None
    ) -> FireResult:
        """Register a dispute (受理登记) and put it in the spec's initial state.

        Args:
            intake: the registration, validated for shape by its model.
            actor: who registers it; must hold one of the spec's `open_roles`.
            within: the host's own writes, run in the same transaction before it commits
                (the response an Idempotency-Key keeps, say); what it raises undoes all.

        Returns:
            The new case's id, state and version (1).

        Raises:
            RoleNotPermitted, NotFound, InvalidInput (and its ID/phone subclasses).
        """
        compiled = (
            self.registry.latest(intake.spec_id)
            if intake.spec_version is None
            else self.registry.get(intake.spec_id, intake.spec_version)
        )
        spec = compiled.spec
        access.require_role(actor, compiled.open_transition)
        if spec.risk(intake.risk_level) is None:
            codes = "、".join(f"{r.code}（{r.label}）" for r in spec.risk_levels)
            raise InvalidInput(f"风险等级须为：{codes}", field="risk_level")
        if (
            not any(p.role == "applicant" for p in intake.parties)
            and intake.origin == "party_application"
        ):
            raise InvalidInput("当事人申请的案件至少需要一名申请人", field="parties")
        if intake.origin == "party_application" and intake.application_form is None:
            raise InvalidInput(
                "当事人申请的案件须注明是书面申请还是口头申请", field="application_form"
            )
        now = self.clock.now()
        initial = compiled.states[spec.initial]
        with self.db.transaction(write=True) as tx:
            if tx.category(intake.category_code) is None:
                valid = tx.categories()
                listed = "、".join(f"{c.code}（{c.name}）" for c in valid)
                error = InvalidInput(
                    f"纠纷类型“{intake.category_code}”不存在，可选：{listed}",
                    field="category_code",
                )
                error.fields["choices"] = [c.code for c in valid]
                raise error
            office = self._numbering_office(tx, intake.committee_id)
            referring = intake.referring_court_id
            if referring is not None:
                court = tx.org_unit(referring)
                if court is None:
                    raise NotFound("委派法院", referring)
                if court.kind != "court":
                    raise InvalidInput(f"“{court.name}”不是法院", field="referring_court_id")
                if intake.origin not in COURT_ORIGINS:
                    raise InvalidInput(
                        "案件来源不是法院委派或委托，不能填写委派法院", field="referring_court_id"
                    )
            if spec.referring_court_required and referring is None:
                raise InvalidInput("委派调解案件必须填写委派法院", field="referring_court_id")
            if spec.origins and intake.origin.value not in spec.origins:
                raise InvalidInput(f"“{spec.title}”不受理此来源的案件", field="origin")
            grid_id, household_head = self._route(tx, intake)
            if intake.grid_id is not None:
                grid_id, household_head = self._picked_grid(
                    tx, intake.grid_id, intake.committee_id, actor
                )
            room = intake.committee_id if office[0] != intake.committee_id else None
            org_unit_id = intake.org_unit_id or room or grid_id or intake.committee_id
            if tx.org_unit(org_unit_id) is None:
                raise NotFound("组织", org_unit_id)
            self._require_registration_scope(tx, actor, intake, office[0], org_unit_id, grid_id)
            parties = [
                self._prepare_party(p, index, now.date(), spec.representation_age)
                for index, p in enumerate(intake.parties)
            ]
            year = now.astimezone(SHANGHAI).year  # R-NUMBER: the year where the case is registered
            seq = next_sequence(tx, office[0], year)
            number = format_number(
                self.number_pattern, year=year, committee_abbr=office[1], seq=seq
            )
            stamp = tx.codec.dt_out(now)
            case_id = tx.insert(
                "INSERT INTO cases (number, committee_id, year, seq, spec_id, spec_version, state, "
                "level, category_code, summary, risk_level, origin, org_unit_id, grid_id, "
                "referring_court_id, court_id, registrar_id, state_sessions, overdue, data, "
                "version, audit_seq, audit_head, created_at, updated_at, state_entered_at) VALUES "
                "(:number, :committee_id, :year, :seq, :spec_id, :spec_version, :state, :level, "
                ":category, :summary, :risk, :origin, :org_unit_id, :grid_id, :referring, "
                ":referring, :registrar, 0, :overdue, :data, 1, 1, '', :now, :now, :now)",
                {
                    "number": number,
                    "committee_id": office[0],
                    "year": year,
                    "seq": seq,
                    "spec_id": spec.id,
                    "spec_version": spec.version,
                    "state": initial.name,
                    "level": (initial.level or "intake"),
                    "category": intake.category_code,
                    "summary": intake.summary,
                    "risk": intake.risk_level,
                    "origin": intake.origin.value,
                    "org_unit_id": org_unit_id,
                    "grid_id": grid_id,
                    "referring": referring,
                    "registrar": actor.user_id,
                    "overdue": False,
                    "data": dumps(
                        {"application_form": intake.application_form.value}
                        if intake.application_form is not None
                        else {}
                    ),
                    "now": stamp,
                },
            )
            for party, role, agent in parties:
                party_id = tx.insert(
                    "INSERT INTO parties (kind, name, sex, ethnicity, birth_date, occupation, "
                    "address, representative, guardian_name, guardian_relation, "
                    "guardian_id_cipher, guardian_id_masked, id_number_cipher, id_number_index, "
                    "id_number_masked, phone_cipher, phone_index, phone_masked, created_at) VALUES "
                    "(:kind, :name, :sex, :ethnicity, :birth_date, :occupation, :address, "
                    ":representative, :guardian_name, :guardian_relation, :guardian_id_cipher, "
                    ":guardian_id_masked, :id_number_cipher, :id_number_index, "
                    ":id_number_masked, :phone_cipher, :phone_index, :phone_masked, :now)",
                    {**party, "now": stamp},
                )
                tx.execute(
                    "INSERT INTO case_parties (case_id, party_id, role, agent_name, consent) "
                    "VALUES (:case_id, :party_id, :role, :agent, 'pending')",
                    {"case_id": case_id, "party_id": party_id, "role": role, "agent": agent},
                )
            if household_head is not None:
                tx.add_assignment(case_id, household_head, Role.central_household, now, False)
            payload = {
                "number": number,
                "origin": intake.origin.value,
                **(
                    {"application_form": intake.application_form.value}
                    if intake.application_form is not None
                    else {}
                ),
                "category": intake.category_code,
                "risk_level": intake.risk_level,
                "parties": len(parties),
                "spec": f"{spec.id}@v{spec.version}",
            }
            event = self._event(
                case_id,
                1,
                GENESIS_HASH,
                now,
                actor,
                OPEN_TRIGGER,
                None,
                initial.name,
                1,
                payload,
                None,
            )
            tx.insert_event(case_id, event)
            tx.execute(
                "UPDATE cases SET audit_head = :head WHERE id = :id",
                {"head": event.hash, "id": case_id},
            )
            case = tx.load_case(case_id)
            assert case is not None
            self._enter_state(tx, compiled, case, None, initial.name, now)
            facts.refresh(tx, self.registry, self.calendar, case_id)
            result = FireResult(
                case_id,
                OPEN_TRIGGER,
                "",
                initial.name,
                1,
                event.hash,
                case.spec_id,
                case.spec_version,
            )
            if within is not None:
                within(tx, result)
        return result

    def _numbering_office(self, tx: Tx, committee_id: int) -> tuple[int, str]:
        unit = tx.org_unit(committee_id)
        if unit is None:
            raise NotFound("调解委员会", committee_id)
        if unit.kind == "room" and unit.parent_id is not None:  # a room numbers under its committee
            parent = tx.org_unit(unit.parent_id)
            assert parent is not None
            unit = parent
        if unit.kind != "committee":
            raise InvalidInput(f"“{unit.name}”不是人民调解委员会", field="committee_id")
        return unit.id, unit.short_name or unit.name[:2]

    def _picked_grid(
        self, tx: Tx, grid_id: int, committee_id: int, actor: Actor
    ) -> tuple[int, int | None]:
        """A grid picked at intake, in the registrar's scope or in the area the committee
        serves (its parent unit), and the grid's 中心户."""
        unit = tx.org_unit(grid_id)
        if unit is None or unit.kind != "grid":
            raise InvalidInput("所选网格不存在", field="grid_id")
        committee = tx.org_unit(committee_id)
        served = committee.path.rstrip("/").rsplit("/", 1)[0] + "/" if committee else "\x00"
        mine = actor.all_units or grid_id in actor.unit_ids
        if not mine and not str(unit.path).startswith(served):
            raise InvalidInput(f"“{unit.name}”不在您的辖区内", field="grid_id")
        heads = [u for u in tx.users_holding(("central_household",)) if u[2] == grid_id]
        return grid_id, (heads[0][0] if heads else None)

    def suggest_grid(self, address: str) -> int | None:
        """The grid whose household register holds this address, if any (a suggestion)."""
        with self.db.transaction(write=False) as tx:
            row = tx.one(
                "SELECT grid_id FROM households WHERE address = :a", {"a": address.strip()}
            )
            return None if row is None else int(row[0])

    def _require_registration_scope(
        self,
        tx: Tx,
        actor: Actor,
        intake: CaseIntake,
        committee_id: int,
        org_unit_id: int,
        grid_id: int | None,
    ) -> None:
        """Every unit a new case names is the writer's to name: the office (in their scope,
        or a committee — or a room of one — serving the area they work in); the grid its
        parties' addresses route to lies in the committee's area; an org unit chosen
        explicitly is in their scope.

        Raises:
            OutOfScope: the first unit that is not.
        """
        if actor.all_units:
            return
        committee = tx.org_unit(committee_id)
        assert committee is not None  # _numbering_office found it
        area = self._area(tx, committee.parent_id)
        access.require_serving(actor, intake.committee_id, area)
        if grid_id is not None and grid_id not in area:
            raise OutOfScope(unit_id=grid_id)
        if intake.org_unit_id is not None and org_unit_id not in (intake.committee_id, grid_id):
            access.require_unit(actor, [org_unit_id])

    def _area(self, tx: Tx, unit_id: int | None) -> frozenset[int]:
        """The subtree of a unit (nothing for None): the area an office under it serves."""
        if unit_id is None:
            return frozenset()
        unit = tx.org_unit(unit_id)
        if unit is None:
            return frozenset()
        rows = tx.all("SELECT id FROM org_units WHERE path LIKE :p", {"p": unit.path + "%"})
        return frozenset(int(r[0]) for r in rows)

    def _route(self, tx: Tx, intake: CaseIntake) -> tuple[int | None, int | None]:
        """Find the grid and the 中心户 covering the first party with a known address."""
        for party in intake.parties:
            if not party.address:
                continue
            row = tx.one(
                "SELECT grid_id, central_household_user_id FROM households WHERE address = :a",
                {"a": party.address},
            )
            if row is not None:
                return int(row[0]), (None if row[1] is None else int(row[1]))
        return None, None

    def _prepare_party(
        self, party: PartyIntake, index: int, today: date, representation_age: int | None = None
    ) -> tuple[dict[str, Any], str, str | None]:
        field = f"parties.{index}"
        sex, birth = party.sex, party.birth_date
        if birth is not None and not validation.plausible_birth_date(birth, today=today):
            raise InvalidInput(
                f"{party.name}：出生日期不合理（不能晚于今天，不能早于"
                f" {validation.EARLIEST_BIRTH_YEAR} 年）",
                field=f"{field}.birth_date",
            )
        id_cipher = id_index = id_masked = None
        if party.id_number:
            try:
                parsed = validation.parse_resident_id(party.id_number, today=today)
            except validation.InvalidIdNumber as exc:
                raise InvalidIdNumber(
                    f"{party.name}：{exc.message_zh}", reason=exc.reason, field=f"{field}.id_number"
                ) from exc
            sex = sex or parsed.sex
            birth = birth or parsed.birth_date
            if parsed.sex != sex or parsed.birth_date != birth:
                raise InvalidInput(
                    f"{party.name}：性别或出生日期与身份证号码不一致", field=f"{field}.id_number"
                )
            id_cipher = self.pii.encrypt(parsed.number)
            id_index = self.pii.blind_index(parsed.number)
            id_masked = validation.mask_id_number(parsed.number)
        phone_cipher = phone_index = phone_masked = None
        if party.phone:
            try:
                phone = validation.normalise_phone(party.phone)
            except validation.InvalidPhoneNumber as exc:
                raise InvalidPhoneNumber(
                    f"{party.name}：{exc.message_zh}", field=f"{field}.phone"
                ) from exc
            phone_cipher = self.pii.encrypt(phone)
            phone_index = self.pii.blind_index(phone)
            phone_masked = validation.mask_phone(phone)
        if (
            party.kind == "person"
            and birth is not None
            and validation.is_minor(birth, on=today)
            and not party.guardian_name
        ):
            raise InvalidInput(
                f"{party.name} 未满十四周岁，须登记监护人", field=f"{field}.guardian_name"
            )
        representative = self._representative(party, index, today, birth, representation_age)
        if party.kind == "organisation" and not party.representative:
            raise InvalidInput(
                f"{party.name} 为组织，须登记法定代表人或负责人", field=f"{field}.representative"
            )
        row = {
            "kind": party.kind,
            "name": party.name,
            "sex": sex,
            "ethnicity": party.ethnicity,
            "birth_date": birth.isoformat() if birth and self.db.codec.sqlite else birth,
            "occupation": party.occupation,
            "address": party.address,
            "representative": party.representative,
            "guardian_name": party.guardian_name,
            **representative,
            "id_number_cipher": id_cipher,
            "id_number_index": id_index,
            "id_number_masked": id_masked,
            "phone_cipher": phone_cipher,
            "phone_index": phone_index,
            "phone_masked": phone_masked,
        }
        return row, party.role.value, party.agent_name

    def _representative(
        self,
        party: PartyIntake,
        index: int,
        today: date,
        birth: date | None,
        representation_age: int | None,
    ) -> dict[str, Any]:
        """The legal representative's columns; a person under the spec's representation age
        must have one, recorded as a person (name, checked ID, relation), never a minor."""
        field = f"parties.{index}.legal_representative"
        rep = party.legal_representative
        columns: dict[str, Any] = {
            "guardian_relation": None,
            "guardian_id_cipher": None,
            "guardian_id_masked": None,
        }
        if (
            rep is None
            and representation_age is not None
            and party.kind == "person"
            and birth is not None
            and validation.is_minor(birth, on=today, age=representation_age)
        ):
            raise InvalidInput(
                f"{party.name} 未满{representation_age}周岁，须登记法定代理人"
                "（姓名、身份证号码、与当事人的关系）",
                field=field,
            )
        if rep is None:
            return columns
        try:
            parsed = validation.parse_resident_id(rep.id_number, today=today)
        except validation.InvalidIdNumber as exc:
            raise InvalidIdNumber(
                f"{rep.name}：{exc.message_zh}", reason=exc.reason, field=f"{field}.id_number"
            ) from exc
        if representation_age is not None and validation.is_minor(
            parsed.birth_date, on=today, age=representation_age
        ):
            raise InvalidInput(f"法定代理人{rep.name}本人未成年", field=f"{field}.id_number")
        return {
            "guardian_name": rep.name,
            "guardian_relation": rep.relation,
            "guardian_id_cipher": self.pii.encrypt(parsed.number),
            "guardian_id_masked": validation.mask_id_number(parsed.number),
        }

    # --- reading -------------------------------------------------------------------------

    def get_case(self, case_id: int, actor: Actor) -> CaseRecord:
        """The case as the actor may see it.

        Raises:
            CaseNotFound, OutOfScope.
        """
        with self.db.transaction(write=False) as tx:
            return self._load_visible(tx, case_id, actor)

    def _load_visible(
        self, tx: Tx, case_id: int, actor: Actor, *, lock: bool = False
    ) -> CaseRecord:
        case = tx.load_case(case_id, for_update=lock)
        if case is None:
            raise CaseNotFound(case_id)
        if actor.user_id is not None:
            user_id = actor.user_id
            access.require_scope(actor, case, lambda: tx.is_assigned(case_id, user_id))
        else:
            access.require_scope(actor, case, lambda: False)
        return case

    def available_triggers(
        self, case_id: int, actor: Actor, *, describe: bool = False
    ) -> list[TriggerOption]:
        """What the actor may do now, and for every other way out of the state, why not.

        With `describe`, each carries its declared fields as JSON Schema, choices and
        references listing the options this actor may pick now (what fire will accept).
        """
        with self.db.transaction(write=False) as tx:
            case = self._load_visible(tx, case_id, actor)
            compiled = self.registry.get(case.spec_id, case.spec_version)
            now = self.clock.now()
            options: list[TriggerOption] = []
            for trigger, bound in compiled.by_source.get(case.state, {}).items():
                reasons: list[str] = []
                if not access.role_allows(actor, bound.spec):
                    labels = "、".join(ROLE_LABELS[Role(r)] for r in bound.spec.roles)
                    reasons.append(f"需要以下角色之一：{labels}")
                ctx = self._context(tx, case, actor, {}, None, now, compiled, bound)
                for guard in bound.guards:
                    try:
                        verdict = guard.fn(ctx)
                    except InvalidInput:
                        verdict = None  # the guard needs input the actor gives when firing
                    if verdict:
                        reasons.append(verdict)
                dest = compiled.states[bound.spec.dest or case.state]
                schema = None
                if describe:
                    offer = None
                    if access.role_allows(actor, bound.spec):
                        offer = partial(self.registry.options, ctx)
                    schema = json_schema(bound.spec.fields, offer)
                options.append(
                    TriggerOption(
                        trigger=trigger,
                        label=bound.spec.label,
                        dest=dest.name,
                        dest_label=dest.label,
                        allowed=not reasons,
                        reason_required=bound.spec.reason_required,
                        blocked_reasons=tuple(reasons),
                        service=bound.spec.service,
                        schema=schema,
                    )
                )
            return options

    def history(self, case_id: int, actor: Actor) -> list[EventRecord]:
        """The case's audit events, oldest first."""
        with self.db.transaction(write=False) as tx:
            self._load_visible(tx, case_id, actor)
            return tx.events(case_id)

    # --- firing --------------------------------------------------------------------------

    def fire(
        self,
        case_id: int,
        trigger: str,
        actor: Actor,
        expected_version: int,
        payload: Mapping[str, Any] | None = None,
        reason: str | None = None,
        *,
        within: Within | None = None,
        performed_by: str | None = None,
    ) -> FireResult:
        """Move a case along one transition, or change nothing and say why.

        Args:
            case_id: the case.
            trigger: the transition's trigger name.
            actor: who acts, with roles and scope.
            expected_version: the version the actor last saw (optimistic concurrency).
            payload: the transition's input (party, terms, visit record...).
            reason: free text; required where the spec says so.
            within: as for `open_case`.
            performed_by: the host service firing a step that belongs to it (documents,
                court); None for the generic door, which such steps refuse.

        Returns:
            The new state and version, and the new chain head.

        Raises:
            CaseNotFound, OutOfScope, ConcurrentUpdate, TransitionNotAllowed,
            RoleNotPermitted, ServiceStepRefused, ReasonRequired, PayloadInvalid,
            GuardRejected, InvalidInput.
        """
        payload = dict(payload or {})
        reason = reason.strip() if reason else None
        now = self.clock.now()
        with self.db.transaction(write=True) as tx:
            case = self._load_visible(tx, case_id, actor, lock=True)
            if case.version != expected_version:
                raise ConcurrentUpdate(case_id, expected_version, case.version)
            compiled = self.registry.get(case.spec_id, case.spec_version)
            bound = compiled.transition(case.state, trigger)
            if bound is None:
                available = sorted(compiled.by_source.get(case.state, {}))
                raise TransitionNotAllowed(
                    trigger,
                    compiled.states[case.state].label,
                    available,
                    did_you_mean(trigger, available),
                )
            service = bound.spec.service
            if service not in (None, performed_by, *self.open_services):
                assert service is not None
                raise ServiceStepRefused(trigger, service, bound.spec.label)
            result = self.apply(tx, case, compiled, bound, actor, payload, reason, now)
            if within is not None:
                within(tx, result)
            return result

    def apply(
        self,
        tx: Tx,
        case: CaseRecord,
        compiled: CompiledSpec,
        bound: BoundTransition,
        actor: Actor,
        payload: Mapping[str, Any],
        reason: str | None,
        now: datetime,
    ) -> FireResult:
        """The checks and writes of one transition on a case already loaded and locked in `tx`.

        `fire` and the timer tick share it, so a timer's effect and the completion of its row
        commit together.
        """
        trigger = bound.spec.trigger
        case_id = case.id
        access.require_role(actor, bound.spec)
        if bound.spec.reason_required and not reason:
            raise ReasonRequired(trigger)
        ctx = self._context(tx, case, actor, payload, reason, now, compiled, bound)
        if bound.declared:  # the tick's expiry actions declare nothing
            ctx.values = self.check_payload(ctx, actor, payload)
        for guard in bound.guards:
            verdict = guard.fn(ctx)
            if verdict:
                raise GuardRejected(trigger, guard.name, verdict)
        ctx.writable = True
        for action in bound.actions:
            action.fn(ctx)
        ctx.writable = False
        dest = bound.spec.dest or case.state
        changes = ctx.changes
        state_changed = dest != case.state
        if state_changed:
            dest_level = compiled.states[dest].level
            if dest_level is not None and "level" not in changes:
                changes["level"] = dest_level.value
            changes.setdefault("state_sessions", 0)
        version = case.version + 1
        seq = case.audit_seq + 1
        event = self._event(
            case_id,
            seq,
            case.audit_head,
            now,
            actor,
            trigger,
            case.state,
            dest,
            version,
            payload,
            reason,
        )
        if not tx.record_transition(
            case_id,
            case.version,
            state=dest,
            now=now,
            state_changed=state_changed,
            changes=changes,
            event=event,
        ):
            current = tx.load_case(case_id)
            raise ConcurrentUpdate(case_id, case.version, current.version if current else None)
        if state_changed:
            self._enter_state(tx, compiled, case, case.state, dest, now)
        facts.refresh(tx, self.registry, self.calendar, case_id)  # R-STATS, same transaction
        return FireResult(
            case_id, trigger, case.state, dest, version, event.hash, case.spec_id, case.spec_version
        )

    def check_payload(
        self, ctx: TransitionContext, actor: Actor, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The payload's typed values, or PayloadInvalid naming every bad field.

        The timer tick (the system actor) fires with the engine's own bookkeeping (timer id,
        due time, period) beside what the transition declares; only its declared keys are
        checked, and it is not held to `required`.
        """
        transition = ctx.transition
        if not transition.fields and not payload:
            return {}
        people = Role.system not in actor.roles
        if not people:
            payload = {k: v for k, v in payload.items() if transition.field(k) is not None}
        values, errors = check_payload(
            transition.fields,
            payload,
            lambda field: self.registry.options(ctx, field),
            where=transition.label,
            people=people,
            refusal=lambda field, raw: self.registry.refusal(ctx, field, raw),
        )
        if errors:
            raise PayloadInvalid(
                transition.trigger,
                [{"field": e.field, "message": e.message, "type": e.type} for e in errors],
            )
        return values

    def _context(
        self,
        tx: Tx,
        case: CaseRecord,
        actor: Actor,
        payload: Mapping[str, Any],
        reason: str | None,
        now: datetime,
        compiled: CompiledSpec,
        bound: BoundTransition,
    ) -> TransitionContext:
        return TransitionContext(
            tx=tx,
            case=case,
            actor=actor,
            payload=payload,
            reason=reason,
            now=now,
            spec=compiled.spec,
            transition=bound.spec,
            calendar=self.calendar,
            policy=self.policy,
            vocabularies=self._labels,
        )

    @property
    def _labels(self) -> dict[str, dict[str, str]]:
        labels = self.__dict__.get("_vocabulary_labels")
        if labels is None:
            labels = self.__dict__["_vocabulary_labels"] = self.registry.labels()
        return labels

    def _event(
        self,
        case_id: int,
        seq: int,
        prev_hash: str,
        at: datetime,
        actor: Actor,
        trigger: str,
        source: str | None,
        dest: str,
        version: int,
        payload: Mapping[str, Any],
        reason: str | None,
    ) -> EventRecord:
        roles = tuple(sorted(str(r) for r in actor.roles))
        payload = dict(payload)
        digest = event_hash(
            prev_hash=prev_hash,
            case_id=case_id,
            seq=seq,
            at=at,
            actor_id=actor.user_id,
            actor_name=actor.name,
            actor_roles=",".join(roles),
            trigger=trigger,
            source_state=source,
            dest_state=dest,
            version=version,
            payload=payload,
            reason=reason,
        )
        return EventRecord(
            seq,
            at,
            actor.user_id,
            actor.name,
            roles,
            trigger,
            source,
            dest,
            version,
            payload,
            reason,
            prev_hash,
            digest,
        )

    def _enter_state(
        self,
        tx: Tx,
        compiled: CompiledSpec,
        case: CaseRecord,
        source: str | None,
        dest: str,
        now: datetime,
    ) -> None:
        """Timers follow states: leaving cancels the old deadline, entering starts the new;
        a final state cancels everything still pending (visits, reminders, clocks)."""
        if compiled.states[dest].final:
            tx.cancel_all_timers(case.id)
            return
        if source is not None and compiled.states[source].deadline is not None:
            tx.cancel_timers(case.id, "state_deadline", source)
            tx.cancel_timers(case.id, "reminder", source)
        deadline = compiled.states[dest].deadline
        if deadline is not None:
            self._start_period(
                tx, case.id, "state_deadline", dest, deadline, deadline.on_expiry, now
            )
        for clock_name in compiled.clock_stops.get(dest, ()):
            tx.cancel_timers(case.id, "clock", clock_name)
            tx.cancel_timers(case.id, "reminder", clock_name)
        for clock_name in compiled.clock_starts.get(dest, ()):
            if tx.pending_timers(case.id, "clock", clock_name):
                continue
            clock = next(c for c in compiled.spec.clocks if c.name == clock_name)
            self._start_period(tx, case.id, "clock", clock_name, clock, clock.on_expiry, now)

    def _start_period(
        self,
        tx: Tx,
        case_id: int,
        kind: str,
        name: str,
        period: DeadlineSpec | ClockSpec,
        on_expiry: str,
        now: datetime,
    ) -> None:
        days = period.days
        if isinstance(period, ClockSpec) and period.months:
            days = month_period_days(now, period.months)
        due = self.calendar.add_days(now, days, working_days=period.working_days)
        tx.insert_timer(
            case_id=case_id,
            kind=kind,
            name=name,
            due_at=due.due_at,
            on_expiry=on_expiry,
            provisional=due.provisional,
            working_days=period.working_days,
            days=days,
            now=now,
        )
        if period.reminder is not None:
            tx.insert_timer(
                case_id=case_id,
                kind="reminder",
                name=name,
                due_at=due.due_at - timedelta(days=period.reminder.days_before),
                on_expiry=period.reminder.action,
                provisional=due.provisional,
                working_days=period.working_days,
                days=days,
                now=now,
                payload={
                    "closes_at": due.due_at.isoformat(),
                    "period": name,
                    "days_before": period.reminder.days_before,
                },
            )

    # --- audit ---------------------------------------------------------------------------

    def verify_audit(
        self,
        case_ids: Iterable[int] | None = None,
        *,
        covered: Mapping[int, ChainHead] | None = None,
    ) -> list[ChainBreak]:
        """Recompute every (or the given) case's hash chain, check the case row is what its
        last event produced, and that every head a signed checkpoint recorded (`covered`,
        by case id) is still there; returns the breaks found."""
        covered = covered or {}
        breaks: list[ChainBreak] = []
        with self.db.transaction(write=False) as tx:
            present = [int(r[0]) for r in tx.all("SELECT id FROM cases ORDER BY id")]
            if case_ids is None:
                ids = present
                breaks.extend(missing_cases(present, covered))
            else:
                ids = list(case_ids)
            for case_id in ids:
                row = tx.one(
                    "SELECT audit_head, state, version, audit_seq FROM cases WHERE id = :id",
                    {"id": case_id},
                )
                if row is None:
                    if case_id in covered:
                        breaks.extend(missing_cases([], {case_id: covered[case_id]}))
                        continue
                    raise CaseNotFound(case_id)
                bound = CaseBinding(str(row[1]), int(row[2]), int(row[3]), str(row[0]))
                found = verify_chain(
                    case_id,
                    tx.events(case_id),
                    str(row[0]),
                    bound=bound,
                    covered=covered.get(case_id),
                )
                if found is not None:
                    breaks.append(found)
        return sorted(breaks, key=lambda b: (b.case_id, b.seq))

    def chain_heads(self) -> list[ChainHead]:
        """Every case's chain head (from its last event), in case order: what a checkpoint
        signs."""
        with self.db.transaction(write=False) as tx:
            rows = tx.all(
                "SELECT e.case_id, e.seq, e.hash FROM audit_events e "
                "JOIN (SELECT case_id, MAX(seq) AS seq FROM audit_events GROUP BY case_id) m "
                "ON m.case_id = e.case_id AND m.seq = e.seq ORDER BY e.case_id"
            )
        return [ChainHead(int(r[0]), int(r[1]), str(r[2])) for r in rows]
