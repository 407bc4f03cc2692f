"""R-STATS with R-JC-OBJECT: a ruling the court revokes on an upheld objection no longer
counts as that outcome, in the case's facts and in every report read from the counts."""

from __future__ import annotations

from datetime import date

from engine.ports import FixedClock
from mediation import aggregates, facts
from mediation.engine import MediationEngine
from mediation.statistics import case_statistics
from tests.flow import Driver, open_case
from tests.rules import rule
from tests.workflows.test_objections import _object, _ruled
from tests.world import World


def _confirmation(engine: MediationEngine, driver: Driver) -> dict[str, int]:
    with engine.db.transaction(write=False) as tx:
        assert aggregates.stored(tx) == aggregates.expected(tx)
        unit = driver.world.units["district"]
        scope = {
            int(i)
            for (i,) in tx.all(
                "SELECT id FROM org_units WHERE path LIKE (SELECT path FROM org_units "
                "WHERE id = :u) || '%'",
                {"u": unit},
            )
        }
        figures = [
            case_statistics(
                tx,
                engine.registry,
                engine.calendar,
                start=date(2020, 1, 1),
                end=date(2030, 12, 31),
                unit_ids=units,
            ).confirmation
            for units in (None, scope)
        ]
    assert figures[0] == figures[1]
    return figures[0]


@rule("R-STATS", "R-JC-OBJECT")
def test_a_revoked_confirmation_is_no_longer_counted_as_confirmed(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock, spec_version=2)
    ruled = _ruled(driver)
    assert _confirmation(engine, driver)["confirmed"] == 1
    _object(driver, ruled)
    driver.fire("judge2", "uphold_objection", reason="协议违反自愿原则")
    with engine.db.transaction(write=False) as tx:
        (stored,) = facts.stored(tx, [driver.case_id]).values()
    assert (stored.applied, stored.confirmed, stored.rejected) == (True, False, False)
    assert _confirmation(engine, driver) == {
        "applied": 1,
        "confirmed": 0,
        "rejected": 0,
        "not_accepted": 0,
        "withdrawn": 0,
    }


@rule("R-STATS", "R-JC-OBJECT")
def test_a_revoked_rejection_then_a_confirmation_counts_only_the_confirmation(
    engine: MediationEngine, world: World, clock: FixedClock
) -> None:
    driver = open_case(engine, world, clock, spec_version=2)
    ruled = _ruled(driver, "reject")
    assert _confirmation(engine, driver)["rejected"] == 1
    _object(driver, ruled)
    driver.fire("judge2", "uphold_objection", reason="驳回理由不成立")
    driver.fire("judge2", "confirm")
    figures = _confirmation(engine, driver)
    assert (figures["confirmed"], figures["rejected"]) == (1, 0)
