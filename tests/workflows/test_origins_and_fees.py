"""Where a case comes from (R-SOURCE) and that mediation costs the parties nothing (R-FREE)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from api.wiring import load_registry
from engine.errors import InvalidInput
from engine.fields import FieldSpec
from engine.records import Actor
from mediation.engine import MediationEngine
from mediation.intake import ORIGIN_LABELS, Origin
from mediation.models import METADATA
from mediation.spec import mediation_spec
from tests.rules import DOMAIN_FILE, rule
from tests.world import World

# A field or column for a charge to the parties: fee, charge, price, cost, 收费, 调解费, 费用.
FEE = re.compile(r"(^|_)(fees?|charges?|price|costs?)(_|$)|收费|调解费|费用")


def _domain_origins() -> list[str]:
    """The origins R-SOURCE lists in DOMAIN.md, as written there."""
    line = re.search(r"R-SOURCE: origin ∈ \{(.+?)\}", DOMAIN_FILE.read_text(encoding="utf-8"), re.S)
    assert line, "DOMAIN.md no longer states R-SOURCE's list"
    return [item.strip() for item in re.sub(r"\s+", "", line.group(1)).split(",")]


def _normalise(label: str) -> str:
    return label.replace("（", "(").replace("）", ")")


@rule("R-SOURCE")
def test_the_origins_offered_are_exactly_those_of_the_law() -> None:
    assert [_normalise(label) for label in ORIGIN_LABELS.values()] == _domain_origins()
    assert set(ORIGIN_LABELS) == set(Origin)


@rule("R-SOURCE")
def test_every_flow_accepts_only_origins_of_the_law() -> None:
    known = {str(origin) for origin in Origin}
    for compiled in load_registry().all():
        assert set(mediation_spec(compiled.spec).origins) <= known, compiled.spec.id


@rule("R-SOURCE")
@pytest.mark.parametrize("origin", [o for o in Origin if not o.name.startswith("court")])
def test_a_case_records_the_origin_it_was_registered_with(
    engine: MediationEngine, world: World, origin: Origin
) -> None:
    opened = engine.open_case(world.intake(origin=origin), world.actors["mediator"])
    assert engine.get_case(opened.case_id, Actor.system()).origin == origin


@rule("R-SOURCE")
def test_an_origin_outside_the_law_is_refused_and_nothing_is_stored(
    world: World, sa_engine: sa.Engine
) -> None:
    with pytest.raises(ValueError, match="origin"):
        world.intake(origin="walk_in")
    with sa_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM cases").scalar_one() == 0


@rule("R-APPLY")
def test_a_partys_application_is_recorded_as_written_or_oral(
    engine: MediationEngine, world: World
) -> None:
    opened = engine.open_case(world.intake(application_form="oral"), world.actors["mediator"])
    case = engine.get_case(opened.case_id, Actor.system())
    assert case.data["application_form"] == "oral"
    (event,) = engine.history(opened.case_id, Actor.system())
    assert event.payload["application_form"] == "oral"  # in the audit chain too


@rule("R-APPLY")
def test_a_partys_application_without_its_form_is_refused_and_nothing_is_stored(
    engine: MediationEngine, world: World, sa_engine: sa.Engine
) -> None:
    with pytest.raises(InvalidInput, match="书面申请还是口头申请") as caught:
        engine.open_case(world.intake(application_form=None), world.actors["mediator"])
    assert caught.value.fields["field"] == "application_form"
    with sa_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM cases").scalar_one() == 0


@rule("R-APPLY")
def test_a_case_the_grid_reported_needs_no_application_form(
    engine: MediationEngine, world: World
) -> None:
    intake = world.intake(origin=Origin.grid_report, application_form=None)
    opened = engine.open_case(intake, world.actors["mediator"])
    assert "application_form" not in engine.get_case(opened.case_id, Actor.system()).data


def _fields(fields: tuple[FieldSpec, ...], path: str) -> Iterator[tuple[str, str]]:
    for field in fields:
        yield f"{path}.{field.name}", f"{field.name} {field.label}"
        yield from _fields(field.fields, f"{path}.{field.name}")


@rule("R-FREE")
def test_no_flow_asks_the_parties_for_a_fee() -> None:
    charged = [
        where
        for compiled in load_registry().all()
        for transition in compiled.spec.transitions
        for where, text in _fields(transition.fields, f"{compiled.spec.id}.{transition.trigger}")
        if FEE.search(text)
    ]
    assert charged == []


@rule("R-FREE")
def test_no_table_has_a_column_for_a_charge() -> None:
    charged = [
        f"{table.name}.{column.name}"
        for table in METADATA.sorted_tables
        for column in table.columns
        if FEE.search(column.name)
    ]
    assert charged == []


def test_the_fee_pattern_finds_charges_and_spares_payloads() -> None:
    for charge in ("mediation_fee", "收取调解费", "cost", "service_charges"):
        assert FEE.search(charge), charge
    for innocent in ("payload", "coster_id", "priced_in"):
        assert not FEE.search(innocent), innocent
