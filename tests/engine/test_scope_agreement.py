"""Who sees a case, said twice: for one case in Python (engine.access.in_scope on the case's
unit_ids()) and for lists in SQL (mediation/queries.py scope_clause). Both read the same
declared columns (mediation/records.py SCOPE_COLUMNS); here they must agree on every case and
actor of a random run: units moved about, memberships anywhere, assignments made and ended."""

from __future__ import annotations

import random
from typing import Any

import sqlalchemy as sa

from engine import access
from engine.calendar import WorkingCalendar
from engine.ports import FixedClock
from engine.records import Actor
from mediation.queries import scope_clause
from mediation.records import SCOPE_COLUMNS
from tests.conftest import make_engine
from tests.flow import open_case
from tests.world import build_world

NULLABLE = ("grid_id", "court_id", "referring_court_id")
MOVE = "UPDATE cases SET " + ", ".join(f"{c} = :{c}" for c in SCOPE_COLUMNS) + " WHERE id = :id"
REOPEN = "UPDATE assignments SET ended_at = NULL WHERE case_id = :id"
END = "UPDATE assignments SET ended_at = :now WHERE case_id = :id AND user_id = :user"
ONE_CASE = "SELECT c.id FROM cases c WHERE c.id = :id"


def test_the_scope_rule_in_python_and_in_sql_agree_on_every_case_and_actor(
    any_sa_engine: sa.Engine, clock: FixedClock, calendar: WorkingCalendar
) -> None:
    world = build_world(any_sa_engine)
    engine = make_engine(any_sa_engine, clock, calendar)
    case_id = open_case(engine, world, clock).case_id
    units = sorted(set(world.units.values()))
    users = sorted(set(world.users.values()))
    chance = random.Random(13)
    seen = {True: 0, False: 0}
    for _ in range(300):
        moved: dict[str, Any] = {column: chance.choice(units) for column in SCOPE_COLUMNS}
        for column in NULLABLE:
            if chance.random() < 0.4:
                moved[column] = None
        with engine.db.transaction(write=True) as tx:
            tx.execute(MOVE, {**moved, "id": case_id})
            tx.execute(REOPEN, {"id": case_id})
            if chance.random() < 0.5:  # an ended assignment no longer opens the case
                now = tx.codec.dt_out(clock.now())
                tx.execute(END, {"now": now, "id": case_id, "user": chance.choice(users)})
        actor = Actor(
            user_id=chance.choice([*users, None]),
            name="随机",
            roles=frozenset({"mediator"}),
            unit_ids=frozenset(chance.sample(units, chance.randint(0, 3))),
        )
        with engine.db.transaction(write=False) as tx:
            case = tx.load_case(case_id)
            assert case is not None
            active = frozenset(a.user_id for a in tx.assignments(case_id) if a.active)
            in_python = access.in_scope(actor, case, (actor.user_id in active).__bool__)
            params: dict[str, Any] = {"id": case_id}
            clause = scope_clause(actor, params)
            in_sql = bool(tx.rows(f"{ONE_CASE} AND {clause}", params))
        assert in_python == in_sql, (moved, actor)
        seen[in_python] += 1
    assert seen[True] > 30  # both answers were put to the test
    assert seen[False] > 30
