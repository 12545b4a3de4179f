"""Migration 0002 on a database that already holds rows written before it, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.exc import IntegrityError

from domain.clock import utcnow
from storage.calls import CALLBACK, REMINDER, VERIFICATION, CallStore
from storage.db import make_engine
from storage.ledger_store import LedgerStore, account_book
from storage.migrate import alembic_config, downgrade, upgrade
from storage.service_calls import ServiceCallStore
from testbed.dbs import BACKENDS, PG_SERVER

USER = account_book(1)
PHONE = "+33612345678"


@pytest.fixture(params=BACKENDS)
def bare_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """An engine on an empty database with no migration applied."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path}/old.db")
        yield engine
        engine.dispose()
        return
    schema = f"m_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{PG_SERVER}?options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _head(engine: Engine) -> str:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    return ScriptDirectory.from_config(config).get_current_head()


def _revision(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def _old_rows(engine: Engine, *, held: int = 40) -> None:
    """What revision 0001 held: service calls tagged in b_number, and ledger rows."""
    now = utcnow()
    with engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn)
        t = tables.tables
        conn.execute(t["account"].insert(), [_account(now)])

        def call(call_id: str, a: str, b: str, minutes: int) -> dict:
            at = now - timedelta(minutes=minutes)
            return {
                "id": call_id, "account_id": 1, "a_number": a, "b_number": b,
                "state": "ended", "anonymous": False, "record": False, "created_at": at,
                "updated_at": at, "cost": 0, "cost_asset": "ETT", "settled_at": at,
            }  # fmt: skip

        conn.execute(
            t["callrecord"].insert(),
            [
                call("cb", "+442079460000", "+12125550123", 3),
                call("vrf", PHONE, VERIFICATION, 2),
                call("rmd", PHONE, REMINDER, 1),
            ],
        )
        conn.execute(
            t["callevent"].insert(),
            [{"call_id": c, "event": "ended", "at": now} for c in ("cb", "vrf", "rmd")],
        )
        conn.execute(
            t["balance"].insert(), [{"book": USER, "asset": "ETT", "amount": 100, "held": held}]
        )
        transfer_id = conn.execute(
            t["ledgertransfer"]
            .insert()
            .values(
                idempotency_key="fund",
                kind="deposit",
                asset="ETT",
                amount=100,
                reason="",
                debit_book="system:deposits",
                credit_book=USER,
                created_at=now,
            )  # fmt: skip
            .returning(t["ledgertransfer"].c.id)
        ).scalar_one()
        conn.execute(
            t["ledgerentry"].insert(),
            [
                {"transfer_id": transfer_id, "book": book, "asset": "ETT", "amount": amount,
                 "created_at": now}
                for book, amount in (("system:deposits", -100), (USER, 100))
            ],
        )  # fmt: skip
        if held:
            conn.execute(
                t["hold"].insert(),
                [
                    {"idempotency_key": "call:cb", "book": USER, "asset": "ETT", "amount": held,
                     "state": "open", "ref": "cb", "created_at": now},
                ],
            )  # fmt: skip


def _account(now: object) -> dict:
    return {
        "language": "en", "timezone": "UTC", "phone_number": PHONE,
        "phone_verified": True, "created_at": now,
    }  # fmt: skip


def test_upgrade_moves_the_tag_to_kind_and_keeps_every_row(bare_engine):
    engine = bare_engine
    upgrade(engine, "0001")
    _old_rows(engine)
    upgrade(engine)
    assert _revision(engine) == _head(engine)

    calls = CallStore(engine)
    kinds = {c: (calls.get(c).kind, calls.get(c).a_number, calls.get(c).b_number) for c in
             ("cb", "vrf", "rmd")}  # fmt: skip
    assert kinds == {
        "cb": (CALLBACK, "+442079460000", "+12125550123"),
        "vrf": (VERIFICATION, PHONE, PHONE),
        "rmd": (REMINDER, PHONE, PHONE),
    }
    assert [c.id for c in calls.history(1)] == ["cb"]
    assert [e.event for e in calls.events("vrf")] == ["ended"]
    service = ServiceCallStore(engine)
    assert service.count_since(1, VERIFICATION, utcnow() - timedelta(hours=1)) == 1
    assert service.count_since(1, REMINDER, utcnow() - timedelta(hours=1)) == 1

    # The rebuilt ledger tables kept their rows and the entries still point at them.
    ledger = LedgerStore(engine)
    view = ledger.balance(USER, "ETT")
    assert (view.amount, view.held) == (100, 40)
    assert ledger.entries_sum(USER, "ETT") == 100 and ledger.transfer_by_key("fund")["id"] == 1
    assert ledger.hold("call:cb")["state"] == "open"
    assert ledger.settle_hold(key="call:cb", charge=25, credit="system:revenue", kind="call") == 25
    assert ledger.balance(USER, "ETT").amount == 75 == ledger.entries_sum(USER, "ETT")
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(text("UPDATE balance SET held = amount + 1"))
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_downgrade_puts_the_tags_back(bare_engine):
    engine = bare_engine
    upgrade(engine, "0001")
    _old_rows(engine)
    upgrade(engine, "0002")
    downgrade(engine, "0001")
    assert _revision(engine) == "0001"
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, b_number FROM callrecord")).all())
        assert rows == {"cb": "+12125550123", "vrf": VERIFICATION, "rmd": REMINDER}
        conn.execute(text("UPDATE balance SET held = -1"))  # no CHECK any more
        conn.rollback()
    upgrade(engine)
    assert CallStore(engine).get("vrf").kind == VERIFICATION


def test_a_database_that_breaks_an_invariant_is_left_untouched(bare_engine):
    engine = bare_engine
    upgrade(engine, "0001")
    _old_rows(engine, held=0)
    with engine.begin() as conn:
        conn.execute(text("UPDATE balance SET held = 150"))  # holds more than the balance
    with pytest.raises(IntegrityError):
        upgrade(engine)
    assert _revision(engine) == "0001"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT b_number FROM callrecord WHERE id = 'vrf'")).scalar_one()
        assert conn.execute(text("SELECT held FROM balance")).scalar_one() == 150
