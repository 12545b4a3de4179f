"""A realistic account for the privacy tests: two identities, a verified number, a direct
number, a softphone, calls with events (its own, and others' to its numbers), reminders,
rules, a deposit, a withdrawal, a call charged through a hold, a fraud refusal, a
recording with its file, link codes and attempts, a pending wallet proof. Plus a second
account that calls it, whose own data must survive its forgetting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, String, func, select
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel

from domain.books import DEPOSITS, REVENUE, WITHDRAWALS, deposit_key, hold_key
from domain.clock import utcnow
from storage.accounts import AccountStore
from storage.api_keys import ApiKeyStore
from storage.calendars import CalendarStore
from storage.calls import CallStore
from storage.db import transaction
from storage.deposits import DepositStore
from storage.dids import DidStore
from storage.forwarding import ForwardingStore, Target
from storage.fraud import FraudStore
from storage.idempotency import IdempotencyStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import (
    CallRecord,
    Deposit,
    Recording,
    Verification,
    WalletLink,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    Withdrawal,
)
from storage.plans import PlanStore
from storage.polls import OPEN, PollStore
from storage.recordings import RecordingStore
from storage.reminder_series import SeriesStore
from storage.reminders import ReminderStore
from storage.service_calls import ServiceCallStore
from storage.withdrawals import WithdrawalStore

TELEGRAM_ID = "917364528"
JID = "ann.privacy@xmpp.example"
PHONE = "+33612345678"
DID_NUMBER = "+33199000100"
FREE_DID = "+33199000101"
ADDRESS = "3PAbCdEfGhJkLmNoPqRsTuVwXyZ12345678"  # Ann's wallet (withdrawals, deposits, proof)
REMINDER_TEXT = "ring the notary about the flat"
SERIES_TEXT = "water the fig tree"
CALENDAR_URL = "https://cal.example.org/dav/ann-7f3e9c/"
CALENDAR_PASSWORD = "fig-tree-pass-31"
FOLLOW_ME = "+447700900456"
CALLEE = "+442079460123"
OTHER_PHONE = "+4915123456789"  # Bob's own number
UNIT = 100_000_000  # 1 ETT


@dataclass
class Env:
    """The accounts made, and where recordings live."""

    ann: int
    bob: int
    recordings: Path
    recording_file: Path


def ann_needles() -> dict[str, str]:
    """Everything that names Ann, as it could be written in a text column."""
    return {
        "telegram id": TELEGRAM_ID,
        "jid": JID,
        "phone (E.164)": PHONE,
        "phone (no +)": PHONE[1:],
        "wallet address": ADDRESS,
        "reminder text": REMINDER_TEXT,
        "repeating reminder text": SERIES_TEXT,
        "calendar address": CALENDAR_URL,
        "calendar password": CALENDAR_PASSWORD,
    }


def build(engine: Engine, recordings: Path) -> Env:
    """Make Ann (the account to forget) and Bob (who calls her) with all their data."""
    accounts = AccountStore(engine)
    ann = accounts.resolve("telegram", TELEGRAM_ID, language="fr", timezone="Europe/Paris")
    accounts.link(accounts.new_link_code(ann.id), "xmpp", JID)
    accounts.new_link_code(ann.id)  # a live code, never used
    accounts.check_link_code("00000001", "xmpp", JID)  # a wrong code: one attempt kept
    _own_number(engine, accounts, ann.id)
    extension = accounts.extension(ann.id)
    accounts.set_sip_ha1(ann.id, "0123456789abcdef0123456789abcdef")
    accounts.update(
        ann.id,
        wallet_address=ADDRESS,
        recording_key="9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
        record_calls=True,
        allowed_countries="FR,GB",
        hide_caller_id=True,
    )
    dids = DidStore(engine)
    dids.sync_pool([DID_NUMBER, FREE_DID])
    dids.assign(DID_NUMBER, ann.id)
    ReminderStore(engine).add(ann.id, utcnow() + timedelta(days=2), "message", REMINDER_TEXT)
    SeriesStore(engine).add(ann.id, "FREQ=WEEKLY;BYDAY=MO", datetime(2026, 12, 7, 9, 0),
                            "Europe/Paris", "call", SERIES_TEXT,
                            datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # fmt: skip
    CalendarStore(engine).add(ann.id, "caldav", label="ann@cal.example.org", url=CALENDAR_URL,
                              username="ann", password=CALENDAR_PASSWORD)  # fmt: skip
    ForwardingStore(engine).set_rule(
        ann.id, PHONE, ring_seconds=20, follow_me=[Target(FOLLOW_ME, None)], caller=CALLEE
    )
    bob = accounts.resolve("xmpp", "bob@xmpp.example")
    accounts.set_number(bob.id, OTHER_PHONE)
    bob_extension = accounts.extension(bob.id)
    _calls(engine, ann.id, bob.id, extension, bob_extension)
    _money(engine, ann.id)
    FraudStore(engine).record_refusal(
        account_id=ann.id, rule="premium", number="+88216123456", detail="premium +88216123456"
    )
    FraudStore(engine).record_refusal(
        account_id=bob.id, rule="repeat", number=PHONE, detail=f"{PHONE} called 9 times"
    )
    recording_file = _recording(engine, ann.id, recordings)
    with transaction(engine) as session:
        session.add(
            WalletLink(
                account_id=ann.id,
                address=ADDRESS,
                nonce="nonce-ann-1",
                expires_at=utcnow() + timedelta(minutes=10),
            )
        )
    _api(engine, ann.id)
    _plan(engine, ann.id)
    _poll(engine, ann.id)
    return Env(ann.id, bob.id, recordings, recording_file)


def _poll(engine: Engine, ann: int) -> None:
    """An open ETT holders' poll: Ann was told of it and voted with her wallet (the
    snapshot's balances hold her address: public chain data naming no account)."""
    polls = PollStore(engine)
    now = utcnow()
    poll = polls.create(
        question="Open an office in Lyon?",
        options=["Yes", "No"],
        asset_id="8ofu3VpEaVCFjRqLLqzTMNs5URKUUQMrPp3k6oFmiCc6",
        decimals=8,
        height=1200,
        closes_at=now + timedelta(days=7),
        weights={ADDRESS: 3 * UNIT, "3PNoOneInParticularHoldsThisAddress1": UNIT},
    )
    polls.claim(poll.id, ann, OPEN, now, now)
    polls.mark_sent(poll.id, ann, OPEN, now)
    polls.vote(poll.id, ADDRESS, 0, ann, now)


def _plan(engine: Engine, ann: int) -> None:
    """Ann's monthly plan: its subscription, a paid period (its ledger transfer left out,
    so the ledger stays as `_money` made it), seconds her callback used, a notice sent."""
    plans = PlanStore(engine)
    start = utcnow() - timedelta(days=2)
    end = start + timedelta(days=30)
    plans.claim_start(ann, "Business", start, end, start.day)
    plans.record_period(
        ann, "Business", start, end, price=UNIT, asset="ETT", amount=UNIT,
        transfer_key=f"plan:{ann}:{start.isoformat()}", included={"france": 600},
    )  # fmt: skip
    plans.activate(ann, start, "Business", start, end)
    plans.use_included(ann, f"{ann}-cb1", "b", "france", utcnow() - timedelta(hours=1), 90)
    plans.claim_notice(ann, "ahead", end)


def _api(engine: Engine, ann: int) -> None:
    """Ann's API key, an idempotent request whose answer names her number, a webhook with
    a delivery naming it and its attempt, a voice verification of it."""
    ApiKeyStore(engine).create(ann, ("read", "calls"), name="crm")
    store = IdempotencyStore(engine)
    store.reserve(ann, "order-1", "f" * 64)
    store.store(ann, "order-1", 201, f'{{"from": "{PHONE}"}}', "{}")
    with transaction(engine) as session:
        session.add(
            WebhookEndpoint(id="we_ann", account_id=ann, url="https://crm.example/hook", secret="s")
        )
        session.flush()
        session.add(
            WebhookDelivery(
                id="wd_ann",
                endpoint_id="we_ann",
                account_id=ann,
                event_id="evt_1",
                event_type="call.ended",
                payload=f'{{"data": {{"from": "{PHONE}"}}}}',
            )
        )
        session.flush()
        session.add(WebhookAttempt(delivery_id="wd_ann", status_code=500))
        session.add(
            Verification(
                id="ve_ann",
                account_id=ann,
                number=PHONE,
                channel="speak",
                code_hash="0" * 64,
                expires_at=utcnow() + timedelta(minutes=10),
            )
        )


def _own_number(engine: Engine, accounts: AccountStore, account_id: int) -> None:
    """Ann's number, verified by a (free) verification call that ended."""
    accounts.set_number(account_id, PHONE)
    service_calls = ServiceCallStore(engine)
    service_calls.open(f"{account_id}-verify", account_id, PHONE, "verification")
    CallStore(engine).record_event(f"{account_id}-verify", "ended", cause="normal")
    assert service_calls.confirm_number(account_id, PHONE)


def _calls(engine: Engine, ann: int, bob: int, extension: str, bob_extension: str) -> None:
    """Ann's callback (with events naming both numbers), a call to her direct number, an
    internal call, a scheduled callback; Bob's callback to Ann's own number."""
    calls = CallStore(engine)
    call_id = f"{ann}-cb1"
    calls.create(CallRecord(id=call_id, account_id=ann, a_number=PHONE, b_number=CALLEE, dtmf="42"))
    calls.record_event(call_id, "ringing", leg="a")
    calls.record_event(call_id, "answered", leg="a", detail=f"sip:{PHONE}@carrier answered")
    calls.record_event(call_id, "ended", leg="b", cause="busy", detail=f"486 from {CALLEE}")
    calls.record_event(call_id, "ended", cause="busy")
    calls.open_call(f"{ann}-in1", "inbound", ann, "+447700900999", DID_NUMBER)
    calls.set_forwarded(f"{ann}-in1", PHONE)
    calls.record_event(f"{ann}-in1", "ended", cause="normal")
    calls.open_internal(f"{ann}-int1", ann, extension, bob_extension)
    calls.record_event(f"{ann}-int1", "ended", cause="normal")
    calls.create(
        CallRecord(
            id=f"{ann}-later",
            account_id=ann,
            a_number=PHONE,
            b_number=CALLEE,
            state="scheduled",
            scheduled_at=utcnow() + timedelta(days=1),
        )
    )
    calls.create(CallRecord(id=f"{bob}-cb1", account_id=bob, a_number=OTHER_PHONE, b_number=PHONE))
    calls.record_event(f"{bob}-cb1", "ended", leg="b", detail=f"{PHONE[1:]} did not answer")
    calls.record_event(f"{bob}-cb1", "ended", cause="no_answer")


def _money(engine: Engine, ann: int) -> None:
    """A deposit from Ann's wallet, a call charged through a hold, a sent withdrawal."""
    ledger = LedgerStore(engine)
    book = account_book(ann)
    tx = "7kPFrHDiGw1rCm7LPszuECwWYL3dMf6iMifLRDJQZMzy"
    ledger.transfer(
        key=deposit_key(tx),
        kind="deposit",
        asset="ETT",
        amount=5 * UNIT,
        debit=DEPOSITS,
        credit=book,
        reason=f"deposit {deposit_key(tx)}",
        ref=deposit_key(tx),
    )
    DepositStore(engine).record(
        Deposit(
            tx_id=tx,
            asset="ETT",
            amount=5 * UNIT,
            sender=ADDRESS,
            memo=f"ET{ann}-00",
            height=1234,
            account_id=ann,
            state="credited",
            credited_at=utcnow(),
        )
    )
    call_id = f"{ann}-cb1"
    ledger.place_hold(key=hold_key(call_id), book=book, asset="ETT", amount=UNIT, ref=call_id)
    ledger.settle_hold(
        key=hold_key(call_id), charge=UNIT // 10, credit=REVENUE, kind="call", reason="call"
    )
    key = "withdraw:ann-1"
    WithdrawalStore(engine).create(
        Withdrawal(
            idempotency_key=key,
            account_id=ann,
            asset="ETT",
            amount=2 * UNIT,
            address=ADDRESS,
            tx_id="9sQnmbYc1yTNd5hPqTq4DWvAozkaBmNMYFtXsXTbaTqk",
            state="sent",
            error=f"first try: node busy for {ADDRESS}",
        )
    )
    ledger.transfer(
        key=key,
        kind="withdrawal",
        asset="ETT",
        amount=2 * UNIT,
        debit=book,
        credit=WITHDRAWALS,
        reason=f"withdrawal to {ADDRESS}",
        ref=key,
    )


def _recording(engine: Engine, ann: int, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "c0ffee.ett-rec"
    path.write_bytes(b"sealed bytes nobody here can open")
    RecordingStore(engine).add(
        Recording(
            id="c0ffee",
            account_id=ann,
            call_id=f"{ann}-cb1",
            file_name=path.name,
            size_bytes=path.stat().st_size,
            seconds=12,
            expires_at=utcnow() + timedelta(days=30),
        )
    )
    return path


def find_anywhere(engine: Engine, needles: dict[str, str]) -> list[str]:
    """Every (table.column: what) where a text column of any table holds one of `needles`
    (case-insensitive), over every table SQLModel knows."""
    found = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                if not _is_text(column.type):
                    continue
                for what, needle in needles.items():
                    hits = conn.execute(
                        select(func.count())
                        .select_from(table)
                        .where(func.lower(column).contains(needle.lower(), autoescape=True))
                    ).scalar_one()
                    if hits:
                        found.append(f"{table.name}.{column.name}: {what}")
    return found


def _is_text(column_type: TypeEngine) -> bool:
    """Whether a column holds text (sqlmodel's AutoString decorates String)."""
    impl = getattr(column_type, "impl", column_type)
    return isinstance(column_type, String) or isinstance(impl, String)


def ledger_state(engine: Engine) -> dict[str, object]:
    """The ledger as money sees it: sums per book and asset, balance rows, transfers."""
    tables = SQLModel.metadata.tables
    entry, balance, transfer = tables["ledgerentry"], tables["balance"], tables["ledgertransfer"]
    with engine.connect() as conn:
        sums = conn.execute(
            select(entry.c.book, entry.c.asset, func.sum(entry.c.amount), func.count())
            .group_by(entry.c.book, entry.c.asset)
            .order_by(entry.c.book, entry.c.asset)
        ).all()
        balances = conn.execute(select(balance).order_by(balance.c.book, balance.c.asset)).all()
        transfers = conn.execute(
            select(
                transfer.c.id,
                transfer.c.idempotency_key,
                transfer.c.kind,
                transfer.c.asset,
                transfer.c.amount,
                transfer.c.debit_book,
                transfer.c.credit_book,
                transfer.c.ref,
            ).order_by(transfer.c.id)
        ).all()
        holds = conn.execute(select(tables["hold"]).order_by(tables["hold"].c.id)).all()
        per_asset = conn.execute(
            select(entry.c.asset, func.sum(entry.c.amount)).group_by(entry.c.asset)
        ).all()
    return {
        "sums": [tuple(r) for r in sums],
        "balances": [tuple(r) for r in balances],
        "transfers": [tuple(r) for r in transfers],
        "holds": [tuple(r) for r in holds],
        "per_asset": sorted((a, int(s)) for a, s in per_asset),
    }


def rows_naming(engine: Engine, account_id: int) -> dict[str, int]:
    """How many rows of each table with an `account_id` column name the account."""
    counts = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if "account_id" in table.columns:
                column = table.c.account_id
                counts[table.name] = conn.execute(
                    select(func.count()).select_from(table).where(column == account_id)
                ).scalar_one()
    return counts
