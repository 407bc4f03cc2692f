"""The case row is the host's: a case starts with the attributes the host's table declares
(their defaults when left out) and no other, and actions write only the engine's columns and
the attributes the host made writable."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import Engine
from engine.records import CaseRecord
from engine.repository.cases import CaseLayout
from tests.engine_generic.conftest import Office
from tests.engine_generic.tables import GenericCase, GenericTx


def _summary(sa_engine: sa.Engine, case_id: int) -> str:
    with sa_engine.connect() as connection:
        return str(
            connection.execute(
                sa.text("SELECT summary FROM cases WHERE id = :id"), {"id": case_id}
            ).scalar_one()
        )


def test_a_case_starts_with_the_host_s_attributes(
    engine: Engine, office: Office, sa_engine: sa.Engine
) -> None:
    dan = office.actors["dan"]
    named = engine.start_case(
        "two_party_approval", dan, unit_id=office.unit_id, attributes={"summary": "二手车买卖"}
    )
    left_out = engine.start_case("two_party_approval", dan, unit_id=office.unit_id)
    assert _summary(sa_engine, named.case_id) == "二手车买卖"
    assert _summary(sa_engine, left_out.case_id) == ""  # the table's default
    case = engine.get_case(named.case_id, dan)
    assert type(case) is CaseRecord
    assert case.unit_ids() == (office.unit_id,)


def test_an_attribute_the_host_s_row_lacks_is_refused(engine: Engine, office: Office) -> None:
    with pytest.raises(ValueError, match="category_code"):
        engine.start_case(
            "two_party_approval",
            office.actors["dan"],
            unit_id=office.unit_id,
            attributes={"category_code": "general"},
        )


def test_actions_write_only_what_the_host_made_writable() -> None:
    layout = GenericTx.case_layout
    assert "overdue" in layout.mutable
    assert "summary" not in layout.mutable
    with pytest.raises(KeyError, match="summary"):
        layout.update_text(False, ("summary",))
    assert "summary" in CaseLayout(CaseRecord, GenericCase, mutable=["summary"]).mutable
    with pytest.raises(TypeError, match="state"):  # the engine's own columns stay its own
        CaseLayout(CaseRecord, GenericCase, mutable=["state"])
    with pytest.raises(TypeError, match="category_code"):  # not a column of this row
        CaseLayout(CaseRecord, GenericCase, mutable=["category_code"])
