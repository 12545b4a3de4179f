"""Invariants the database itself enforces, the kind of call records, and the paths of
the ledger's hot statement, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool

from domain.clock import utcnow
from storage import open_database
from storage.accounts import AccountStore
from storage.calls import CALLBACK, REMINDER, VERIFICATION, CallStore
from storage.ledger_store import InsufficientFunds, LedgerStore, _KeptConnections, account_book
from storage.models import CallRecord
from storage.service_calls import ServiceCallStore

DEPOSITS = "system:deposits"
REVENUE = "system:revenue"
USER = account_book(1)


def _funded(engine, amount: int = 100, held: int = 0) -> LedgerStore:
    ledger = LedgerStore(engine)
    ledger.transfer(
        key="fund", kind="deposit", asset="ETT", amount=amount, debit=DEPOSITS, credit=USER
    )
    if held:
        ledger.place_hold(key="hold", book=USER, asset="ETT", amount=held)
    return ledger


def _write(engine, sql: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


@pytest.mark.parametrize(
    "change",
    [
        "held = -1",  # a negative hold
        "held = amount + 1",  # holding more than the balance
        "amount = held - 1",  # spending what is held
        "amount = -5, held = 0",  # a negative balance
    ],
)
def test_a_balance_row_that_breaks_the_ledger_is_refused(engine, change):
    ledger = _funded(engine, 100, held=40)
    with pytest.raises(IntegrityError):
        _write(engine, f"UPDATE balance SET {change} WHERE book = :book", book=USER)
    view = ledger.balance(USER, "ETT")
    assert (view.amount, view.held) == (100, 40)  # the failed UPDATE changed nothing
    _write(engine, "UPDATE balance SET held = amount WHERE book = :book", book=USER)  # edge: ok


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO balance (book, asset, amount, held) VALUES ('account:7', 'ETT', -1, 0)",
        "UPDATE hold SET amount = 0",
        "UPDATE hold SET state = 'lost'",
        "UPDATE ledgertransfer SET amount = 0",
        "UPDATE ledgertransfer SET credit_book = debit_book",
        "UPDATE ledgerentry SET amount = 0",
    ],
)
def test_other_ledger_rows_that_cannot_happen_are_refused(engine, sql):
    _funded(engine, 100, held=40)
    with pytest.raises(IntegrityError):
        _write(engine, sql)


def test_a_call_kind_outside_the_list_is_refused(engine):
    account = AccountStore(engine).resolve("console", "me")
    record = CallStore(engine).create(
        CallRecord(id="c1", account_id=account.id, a_number="+33612345678", b_number="+1212")
    )
    assert record.kind == CALLBACK
    with pytest.raises(IntegrityError):
        _write(engine, "UPDATE callrecord SET kind = 'other'")
    with pytest.raises(IntegrityError):
        _write(engine, "UPDATE callrecord SET kind = NULL")


def test_service_calls_have_their_kind_and_the_number_dialled_and_stay_out_of_history(engine):
    account = AccountStore(engine).resolve("console", "me")
    calls, service = CallStore(engine), ServiceCallStore(engine)
    callback = calls.create(
        CallRecord(id="cb", account_id=account.id, a_number="+33612345678", b_number="+1212")
    )
    verification = service.open("vrf", account.id, "+33612345678", VERIFICATION, limit=3)
    reminder = service.open("rmd", account.id, "+33612345678", REMINDER)
    for record, kind in ((verification, VERIFICATION), (reminder, REMINDER)):
        stored = calls.get(record.id)
        assert stored.kind == kind
        assert stored.a_number == stored.b_number == "+33612345678"
        assert stored.cost == 0 and stored.settled_at is not None
    assert calls.get(callback.id).kind == CALLBACK
    assert [c.id for c in calls.history(account.id)] == ["cb"]
    since = verification.created_at.replace(year=2000)
    assert service.count_since(account.id, VERIFICATION, since) == 1
    assert service.count_since(account.id, REMINDER, since) == 1
    with pytest.raises(ValueError):
        service.open("bad", account.id, "+33612345678", CALLBACK)


def test_an_account_that_never_had_money_cannot_be_charged(engine):
    ledger = LedgerStore(engine)
    never = account_book(99)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.transfer(key="c", kind="call", asset="ETT", amount=1, debit=never, credit=REVENUE)
    assert refused.value.available == 0 and refused.value.wanted == 1
    assert ledger.transfer_by_key("c") is None
    assert ledger.entries(never) == [] and ledger.entries(REVENUE) == []
    # The same key works once money is there: a refusal keeps nothing.
    ledger.transfer(key="f", kind="deposit", asset="ETT", amount=5, debit=DEPOSITS, credit=never)
    done = ledger.transfer(key="c", kind="call", asset="ETT", amount=5, debit=never, credit=REVENUE)
    assert done.applied and ledger.balance(never, "ETT").available == 0


def test_a_refused_charge_writes_nothing_and_reports_what_is_available(engine):
    ledger = _funded(engine, 100, held=30)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.transfer(key="c", kind="call", asset="ETT", amount=71, debit=USER, credit=REVENUE)
    assert refused.value.available == 70
    assert ledger.transfer_by_key("c") is None
    assert [e["amount"] for e in ledger.entries(USER)] == [100]
    assert ledger.entries(REVENUE) == []
    done = ledger.transfer(key="c", kind="call", asset="ETT", amount=70, debit=USER, credit=REVENUE)
    assert done.applied and ledger.balance(USER, "ETT").available == 0


@pytest.mark.parametrize(
    ("debit", "credit"),
    [
        (USER, REVENUE),  # a charge
        (DEPOSITS, USER),  # a deposit
        (DEPOSITS, REVENUE),  # two system books
        (USER, account_book(2)),  # two user books (several statements on PostgreSQL too)
    ],
)
def test_every_kind_of_transfer_is_double_entry_and_applied_once(engine, debit, credit):
    ledger = _funded(engine, 100)
    key = f"t-{uuid.uuid4().hex}"
    first = ledger.transfer(key=key, kind="k", asset="ETT", amount=7, debit=debit, credit=credit)
    again = ledger.transfer(key=key, kind="k", asset="ETT", amount=7, debit=debit, credit=credit)
    assert first.applied and not again.applied and again.transfer_id == first.transfer_id
    stored = ledger.transfer_by_key(key)
    assert (stored["amount"], stored["debit_book"], stored["credit_book"]) == (7, debit, credit)
    assert stored["created_at"].tzinfo is not None
    for book, change in ((debit, -7), (credit, 7)):
        newest = ledger.entries(book, limit=1)[0]
        assert (newest["amount"], newest["kind"], newest["asset"]) == (change, "k", "ETT")
        assert ledger.balance(book, "ETT").amount == ledger.entries_sum(book, "ETT")
    assert ledger.balance(USER, "ETT").amount == 100 + (7 if credit == USER else 0) - (
        7 if debit == USER else 0
    )


def test_transfer_times_are_stored_like_the_orm_stores_them(engine):
    """Raw driver writes must compare and sort with the ORM's rows (SQLite keeps text)."""
    before = utcnow()
    account = AccountStore(engine).resolve("console", "me")  # written through the ORM
    ledger = _funded(engine, 100)
    ledger.transfer(key="c", kind="call", asset="ETT", amount=1, debit=USER, credit=REVENUE)
    assert before <= ledger.transfer_by_key("c")["created_at"] <= utcnow()
    assert before <= ledger.entries(USER, limit=1)[0]["created_at"] <= utcnow()
    with engine.connect() as conn:
        (ours,) = conn.execute(text("SELECT created_at FROM ledgertransfer WHERE id = 2")).one()
        (orm,) = conn.execute(
            text("SELECT created_at FROM account WHERE id = :id"), {"id": account.id}
        ).one()
    assert type(ours) is type(orm)
    if isinstance(ours, str):
        assert len(ours) == len(orm) and ours[10] == orm[10] and orm <= ours


def test_pooled_connections_killed_by_the_server_are_replaced_before_use(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("a server-side disconnect is a PostgreSQL matter")
    ledger = _funded(engine, 100)
    held = [engine.connect() for _ in range(3)]  # fill the pool with three connections
    pids = [conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for conn in held]
    for conn in held:
        conn.close()
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):
            alive = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                {"pids": pids},
            ).scalar_one()
            if not alive:
                break
            time.sleep(0.05)
    admin.dispose()
    for i in range(6):  # every pooled connection is dead: none may fail for it
        ledger.transfer(key=f"c{i}", kind="call", asset="ETT", amount=1, debit=USER, credit=REVENUE)
    assert ledger.balance(USER, "ETT").amount == 94


def _fail_entries(engine, on: bool) -> None:
    """A trigger that makes every ledger entry INSERT fail (the last statement of a transfer)."""
    if engine.dialect.name == "sqlite":
        sql = (
            ["CREATE TRIGGER no_entries BEFORE INSERT ON ledgerentry"
             " BEGIN SELECT RAISE(ABORT, 'no entries'); END"]
            if on else ["DROP TRIGGER no_entries"]
        )  # fmt: skip
    else:
        sql = (
            [
                "CREATE FUNCTION no_entries() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RAISE EXCEPTION 'no entries'; END $$",
                "CREATE TRIGGER no_entries BEFORE INSERT ON ledgerentry"
                " FOR EACH ROW EXECUTE FUNCTION no_entries()",
            ]
            if on
            else ["DROP TRIGGER no_entries ON ledgerentry", "DROP FUNCTION no_entries()"]
        )
    with engine.begin() as conn:
        for statement in sql:
            conn.exec_driver_sql(statement)


def test_a_failing_transfer_writes_nothing_and_leaves_its_connection_usable(engine):
    ledger = _funded(engine, 100)
    _fail_entries(engine, on=True)
    cases = [(USER, REVENUE), (DEPOSITS, USER), (DEPOSITS, REVENUE), (USER, account_book(2))]
    for i, (debit, credit) in enumerate(cases * 3):
        with pytest.raises(DBAPIError, match="no entries"):
            ledger.transfer(
                key=f"f{i}", kind="k", asset="ETT", amount=5, debit=debit, credit=credit
            )
        assert ledger.transfer_by_key(f"f{i}") is None
    assert ledger.balance(USER, "ETT").amount == 100 == ledger.entries_sum(USER, "ETT")
    assert ledger.balance(account_book(2), "ETT").amount == 0
    _fail_entries(engine, on=False)
    # Every pooled connection still runs SQLAlchemy transactions (none left in autocommit).
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            conn.execute(text("UPDATE balance SET amount = amount + 1"))
            raise RuntimeError("roll back")
    held = [engine.connect() for _ in range(engine.pool.checkedin() + 1)]
    for conn in held:
        with pytest.raises(RuntimeError), conn.begin():
            conn.execute(text("UPDATE balance SET amount = amount + 1"))
            raise RuntimeError("roll back")
        conn.close()
    for i, (debit, credit) in enumerate(cases * 3):
        ledger.transfer(key=f"f{i}", kind="k", asset="ETT", amount=5, debit=debit, credit=credit)
    assert ledger.balance(USER, "ETT").amount == 100 - 3 * 5 - 3 * 5 + 3 * 5
    assert ledger.balance(account_book(2), "ETT").amount == 15


def test_one_ledger_shared_by_threads_stays_exact(engine):
    ledger = _funded(engine, 10_000)
    books = [account_book(10 + i) for i in range(4)]

    def work(worker: int) -> int:
        done = 0
        for i in range(40):
            book = books[worker % 4]
            ledger.transfer(key=f"d{worker}:{i}", kind="k", asset="ETT", amount=3, debit=USER,
                            credit=book)  # fmt: skip
            ledger.transfer(key=f"c{worker}:{i}", kind="k", asset="ETT", amount=2, debit=book,
                            credit=REVENUE)  # fmt: skip
            done += 1
        return done

    with ThreadPoolExecutor(max_workers=8) as pool:
        done = sum(pool.map(work, range(8)))
    assert done == 320
    assert ledger.balance(USER, "ETT").amount == 10_000 - 3 * 320 == ledger.entries_sum(USER, "ETT")
    assert ledger.balance(REVENUE, "ETT").amount == 2 * 320
    assert sum(ledger.balance(b, "ETT").amount for b in books) == 320
    for book in books:
        assert ledger.balance(book, "ETT").amount == ledger.entries_sum(book, "ETT")


def test_sqlite_connections_kept_for_transfers_close_with_the_engine(db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("only SQLite keeps driver connections out of the pool")
    engine = open_database(db_url, migrate=False)
    ledger = _funded(engine, 100)
    kept = list(_KeptConnections.of(engine).idle)
    assert kept
    engine.dispose()
    assert _KeptConnections.of(engine).idle == []
    with pytest.raises(sqlite3.ProgrammingError):
        kept[0].execute("SELECT 1")
    ledger.transfer(key="after", kind="k", asset="ETT", amount=1, debit=USER, credit=REVENUE)
    assert ledger.balance(USER, "ETT").amount == 99
    engine.dispose()


def test_a_heartbeat_never_lands_after_the_end_of_its_call(engine):
    account = AccountStore(engine).resolve("console", "me")
    calls = CallStore(engine)
    calls.create(CallRecord(id="hb", account_id=account.id, a_number="+3361", b_number="+1212"))
    calls.heartbeat("hb")
    beat = calls.get("hb").heartbeat_at
    # The dialer's end event was stamped before the beat that was being written meanwhile.
    ended = calls.record_event("hb", "ended", cause="hangup_a", at=beat - timedelta(seconds=1))
    assert ended.ended_at == beat - timedelta(seconds=1) == ended.heartbeat_at
    calls.heartbeat("hb")  # after the end: nothing changes
    assert calls.get("hb").heartbeat_at == ended.ended_at
