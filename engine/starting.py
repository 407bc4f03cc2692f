"""Starting a case: the generic primitive every way of opening one builds on (a host's own
intake rules, numbering and records come first, in the same transaction), and the plain
door a host without such rules uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from engine import access
from engine.audit import GENESIS_HASH
from engine.calendar import SHANGHAI
from engine.errors import NotFound
from engine.firing import OPEN_TRIGGER, FirePath, Within
from engine.machine import CompiledSpec
from engine.numbering import next_sequence
from engine.records import Actor, FireResult
from engine.repository import Tx


class CaseStart(FirePath):
    """Registering a case in its spec's initial state, with its genesis audit event."""

    def start_case(
        self,
        spec_id: str,
        actor: Actor,
        *,
        unit_id: int,
        attributes: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        payload: Mapping[str, Any] | None = None,
        spec_version: int | None = None,
        within: Within | None = None,
    ) -> FireResult:
        """Open a case of `spec_id` owned by org unit `unit_id`, numbered
        `<spec id>-<year>-<seq>` under that unit.

        Args:
            attributes: values of the host's attributes of the case row (its table's columns
                beyond the engine's, `Tx.case_layout`); those left out take their defaults.
            data: the case's free-form data to begin with.
            payload: what the genesis event records beside the spec.

        Raises:
            DefinitionError (unknown spec), RoleNotPermitted (not an `open_roles` role),
            NotFound (no such unit), OutOfScope (the unit is not the actor's).
        """
        compiled = (
            self.registry.latest(spec_id)
            if spec_version is None
            else self.registry.get(spec_id, spec_version)
        )
        access.require_role(actor, compiled.open_transition, compiled.spec)
        access.require_unit(actor, [unit_id])
        now = self.clock.now()
        with self.db.transaction(write=True) as tx:
            if tx.org_unit(unit_id) is None:
                raise NotFound("组织", unit_id)
            year = now.astimezone(SHANGHAI).year
            seq = next_sequence(tx, unit_id, year)
            row = {
                **(attributes or {}),
                "number": f"{compiled.spec.id}-{year}-{seq:04d}",
                "org_unit_id": unit_id,
                "year": year,
                "seq": seq,
                "data": dict(data or {}),
            }
            result = self.register_case(tx, compiled, actor, row, dict(payload or {}), now)
            if within is not None:
                within(tx, result)
        return result

    def register_case(
        self,
        tx: Tx,
        compiled: CompiledSpec,
        actor: Actor,
        row: Mapping[str, Any],
        payload: Mapping[str, Any],
        now: datetime,
        records: Callable[[int], None] | None = None,
    ) -> FireResult:
        """Insert the case row (`row`: number, org_unit_id, year, seq, data and the host's
        attributes; `level` defaults to the initial state's), let `records` add the host's own
        records of the new case id (its parties, say), then write the genesis event and enter
        the initial state (its deadlines and clocks), inside `tx`.

        The caller has checked roles, scope and its own rules.
        """
        spec = compiled.spec
        initial = compiled.states[spec.initial]
        values = {
            "level": initial.level or "",
            **row,
            "spec_id": spec.id,
            "spec_version": spec.version,
            "state": initial.name,
            "registrar_id": actor.user_id,
        }
        case_id = tx.insert_case(values, now)
        if records is not None:
            records(case_id)
        event, _payload_text = self._stamped_event(
            case_id,
            1,
            GENESIS_HASH,
            now,
            actor,
            OPEN_TRIGGER,
            None,
            initial.name,
            1,
            {"number": values["number"], **payload, "spec": f"{spec.id}@v{spec.version}"},
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
        self._observe(tx, case_id, None)
        return FireResult(
            case_id,
            OPEN_TRIGGER,
            "",
            initial.name,
            1,
            event.hash,
            case.spec_id,
            case.spec_version,
        )
