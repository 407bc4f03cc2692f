"""Case opening (受理登记): intake checked, numbered under its committee, routed and
registered in the spec's initial state, on the fire path's event and state machinery."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine import access
from engine.calendar import SHANGHAI
from engine.errors import InvalidInput, NotFound, OutOfScope
from engine.firing import Within
from engine.numbering import next_sequence
from engine.records import Actor, FireResult
from engine.repository import Tx
from engine.starting import CaseStart
from mediation import access as mediation_access
from mediation import validation
from mediation.errors import InvalidIdNumber, InvalidPhoneNumber
from mediation.intake import COURT_ORIGINS, CaseIntake, PartyIntake
from mediation.numbering import DEFAULT_PATTERN, format_number
from mediation.repository import MediationDatabase
from mediation.spec import mediation_spec

_INSERT_PARTY = (
    "INSERT INTO parties (kind, name, sex, ethnicity, birth_date, occupation, "
    "address, representative, guardian_name, guardian_relation, "
    "guardian_id_cipher, guardian_id_masked, id_number_cipher, id_number_index, "
    "id_number_masked, phone_cipher, phone_index, phone_masked, created_at) VALUES "
    "(:kind, :name, :sex, :ethnicity, :birth_date, :occupation, :address, "
    ":representative, :guardian_name, :guardian_relation, :guardian_id_cipher, "
    ":guardian_id_masked, :id_number_cipher, :id_number_index, "
    ":id_number_masked, :phone_cipher, :phone_index, :phone_masked, :now)"
)


class CaseOpening(CaseStart):
    """Opening a case: the intake's parties, scope, number and route."""

    number_pattern: str = DEFAULT_PATTERN  # the deployment's, given to MediationEngine
    db: MediationDatabase  # its transactions carry mediation's queries

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
        access.require_role(actor, compiled.open_transition, spec)
        flow = mediation_spec(spec)
        if flow.risk(intake.risk_level) is None:
            codes = "、".join(f"{r.code}（{r.label}）" for r in flow.risk_levels)
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
            if flow.referring_court_required and referring is None:
                raise InvalidInput("委派调解案件必须填写委派法院", field="referring_court_id")
            if flow.origins and intake.origin.value not in flow.origins:
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
                self._prepare_party(p, index, now.date(), flow.representation_age)
                for index, p in enumerate(intake.parties)
            ]
            year = now.astimezone(SHANGHAI).year  # R-NUMBER: the year where the case is registered
            seq = next_sequence(tx, office[0], year)
            number = format_number(
                self.number_pattern, year=year, committee_abbr=office[1], seq=seq
            )
            stamp = tx.codec.dt_out(now)
            data = (
                {"application_form": intake.application_form.value}
                if intake.application_form is not None
                else {}
            )

            def records(case_id: int) -> None:
                for party, role, agent in parties:
                    party_id = tx.insert(_INSERT_PARTY, {**party, "now": stamp})
                    tx.execute(
                        "INSERT INTO case_parties (case_id, party_id, role, agent_name, consent) "
                        "VALUES (:case_id, :party_id, :role, :agent, 'pending')",
                        {"case_id": case_id, "party_id": party_id, "role": role, "agent": agent},
                    )
                if household_head is not None:
                    tx.add_assignment(case_id, household_head, "central_household", now, False)

            result = self.register_case(
                tx,
                compiled,
                actor,
                {
                    "number": number,
                    "committee_id": office[0],
                    "year": year,
                    "seq": seq,
                    "level": initial.level or "intake",
                    "category_code": intake.category_code,
                    "summary": intake.summary,
                    "risk_level": intake.risk_level,
                    "origin": intake.origin.value,
                    "org_unit_id": org_unit_id,
                    "grid_id": grid_id,
                    "referring_court_id": referring,
                    "court_id": referring,  # the referring court until an application names one
                    "data": data,
                },
                {
                    "origin": intake.origin.value,
                    **data,
                    "category": intake.category_code,
                    "risk_level": intake.risk_level,
                    "parties": len(parties),
                },
                now,
                records,
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
        heads = [h for h in tx.users_holding(("central_household",)) if h.org_unit_id == grid_id]
        return grid_id, (heads[0].user_id if heads else None)

    def suggest_grid(self, address: str) -> int | None:
        """The grid whose household register holds this address, if any (a suggestion)."""
        with self.db.transaction(write=False) as tx:
            row = tx.row(
                "SELECT grid_id FROM households WHERE address = :a", {"a": address.strip()}
            )
            return None if row is None else int(row["grid_id"])

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
        mediation_access.require_serving(actor, intake.committee_id, area)
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
        rows = tx.rows("SELECT id FROM org_units WHERE path LIKE :p", {"p": unit.path + "%"})
        return frozenset(int(r["id"]) for r in rows)

    def _route(self, tx: Tx, intake: CaseIntake) -> tuple[int | None, int | None]:
        """Find the grid and the 中心户 covering the first party with a known address."""
        for party in intake.parties:
            if not party.address:
                continue
            row = tx.row(
                "SELECT grid_id, central_household_user_id FROM households WHERE address = :a",
                {"a": party.address},
            )
            if row is not None:
                head = row["central_household_user_id"]
                return int(row["grid_id"]), (None if head is None else int(head))
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
