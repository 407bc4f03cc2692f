"""A host adds its own queries to every transaction: a Tx subclass handed to Database, on the
engine's one connection machinery (what mediation's MediationTx does)."""

from __future__ import annotations

import sqlalchemy as sa

from engine.repository import Database, Tx
from engine.repository.connection import TxCore
from tests.engine_generic.conftest import Office


class _UnitNames(TxCore):
    def unit_names(self) -> list[str]:
        return [str(r["name"]) for r in self.rows("SELECT name FROM org_units ORDER BY id")]


class _HostTx(Tx, _UnitNames):
    pass


def test_every_transaction_of_a_host_database_carries_the_host_s_queries(
    sa_engine: sa.Engine, office: Office
) -> None:
    del office  # seeded: one unit
    database = Database(sa_engine, tx_class=_HostTx)
    for write in (False, True):
        with database.transaction(write=write) as tx:
            assert isinstance(tx, _HostTx)
            assert tx.unit_names() == ["研发部"]
            assert [u.name for u in tx.org_units_of(("department",))] == ["研发部"]  # the engine's


def test_a_plain_database_s_transactions_are_the_engine_s_tx(sa_engine: sa.Engine) -> None:
    with Database(sa_engine).transaction(write=False) as tx:
        assert type(tx) is Tx
        assert not hasattr(tx, "case_parties")  # mediation's queries are not the engine's
