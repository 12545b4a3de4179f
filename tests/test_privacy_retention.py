"""Retention (issue 14): call records' numbers cut after CDR_RETENTION_DAYS, on both
databases; cut numbers as people read them; recordings expired through the desk."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from domain.numbers import CUT_MARK, cut_number, cut_numbers_in, mask_number
from privacy.retention import Retention, RetentionResult
from storage.idempotency import IdempotencyStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import (
    Account,
    CallEvent,
    CallRecord,
    FraudRefusal,
    IdempotentRequest,
    Verification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=91)
RECENT = NOW - timedelta(days=89)


@pytest.mark.parametrize(
    ("number", "cut"),
    [
        ("+442079460000", "+44 20 7…"),
        ("+44 20 7946 0000", "+44 20 7…"),
        ("+12125550123", "+1 212…"),
        ("+33612345678", "+33 6 12…"),
        ("+79161234567", "+7 916…"),
        ("+1234567", "+1 234…"),  # a short national number keeps no more than half
        ("+99912345678", "+99 912…"),  # a country libphonenumber does not know
        ("0612345678", "061…"),  # a national number from the trunk
        ("sip:+33612345678@pbx.example", "sip:+33 6 12…@pbx.example"),
        ("1002", "1002"),  # an extension stays
        ("anonymous", "anonymous"),
        ("", ""),
    ],
)
def test_cut_number(number, cut):
    assert cut_number(number) == cut
    assert cut_number(cut) == cut  # idempotent


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+442079460000", "+44 20 79** **00"),
        ("+33612345678", "+33 6 12 ** ** 78"),
        ("+12125550123", "+1 212-5**-**23"),
        ("+99912345678", "+99 912****78"),
        ("1002", "1002"),
    ],
)
def test_mask_number(number, masked):
    assert mask_number(number) == masked


def test_cut_numbers_in_text_keeps_amounts_and_codes():
    text = "SIP 486 for sip:+33612345678@h; sip:0612345678@h; cap (100000000 > 5)"
    assert cut_numbers_in(text) == "SIP 486 for sip:+33 6 12…@h; sip:061…@h; cap (100000000 > 5)"


def test_history_shows_a_cut_number_as_it_is():
    from bot.assistant.i18n import number_text

    assert number_text(cut_number("+442079460000")) == "+44 20 7…"


def _account(session: Session) -> int:
    account = Account()
    session.add(account)
    session.flush()
    return account.id


def _call(account_id: int, call_id: str, created: datetime, **values) -> CallRecord:
    ended = values.pop("ended", created + timedelta(minutes=3))
    record = CallRecord(
        id=call_id,
        account_id=account_id,
        a_number="+33612345678",
        b_number="+442079460000",
        forwarded_to="+12125550123",
        dtmf="1234",
        state="ended" if ended else "bridged",
        created_at=created,
        updated_at=created,
        bridged_at=created + timedelta(seconds=10),
        ended_at=ended,
        cost=1234,
        cost_asset="ETT",
    )
    for name, value in values.items():
        setattr(record, name, value)
    return record


def _seed(engine) -> int:
    with Session(engine) as session:
        account_id = _account(session)
        session.add(_call(account_id, "old", OLD))
        session.add(_call(account_id, "old-no-end", OLD, ended=None, state="ended"))
        session.add(_call(account_id, "recent", RECENT))
        # Created long ago, ended within the window: its end is what counts.
        session.add(_call(account_id, "long", OLD, ended=RECENT))
        session.add(_call(account_id, "in-progress", OLD - timedelta(days=10), ended=None))
        session.add(
            _call(
                account_id, "inbound", OLD, a_number="anonymous", b_number="1002", forwarded_to=None
            )
        )
        session.flush()
        session.add(
            CallEvent(call_id="old", event="ended", detail="SIP 404 sip:+442079460000@t", at=OLD)
        )
        session.add(
            CallEvent(call_id="recent", event="ended", detail="sip:+442079460000@t", at=RECENT)
        )
        refusals = [
            ("no_route", "+88212345678", "no tariff", OLD),
            ("daily_cap", None, "cap (100000000 > 5)", OLD),
            ("no_route", "+88212345678", "", RECENT),
        ]
        for rule, number, detail, at in refusals:
            session.add(
                FraudRefusal(
                    account_id=account_id, rule=rule, number=number, detail=detail, created_at=at
                )
            )
        session.commit()
    return account_id


def _calls(engine) -> dict[str, CallRecord]:
    with Session(engine) as session:
        return {r.id: r for r in session.exec(select(CallRecord))}


def test_old_records_are_cut_and_keep_duration_and_cost(engine):
    account_id = _seed(engine)
    ledger = LedgerStore(engine)
    ledger.transfer(
        key="fund", kind="deposit", asset="ETT", amount=10**8, debit="system:deposits",
        credit=account_book(account_id),
    )  # fmt: skip
    before = _calls(engine)

    result = Retention(engine, cdr_days=90).run_once(NOW)

    assert result == RetentionResult(calls_cut=3, recordings_deleted=0, refusals_cut=1)
    after = _calls(engine)
    for call_id in ("old", "old-no-end"):
        record = after[call_id]
        assert (record.a_number, record.b_number, record.forwarded_to, record.dtmf) == (
            "+33 6 12…",
            "+44 20 7…",
            "+1 212…",
            "",
        )
        assert record.numbers_cut_at == NOW
        old = before[call_id]
        assert (record.cost, record.cost_asset, record.bridged_at, record.ended_at) == (
            old.cost,
            old.cost_asset,
            old.bridged_at,
            old.ended_at,
        )
    assert (after["inbound"].a_number, after["inbound"].b_number) == ("anonymous", "1002")
    assert after["inbound"].numbers_cut_at == NOW
    for call_id in ("recent", "long", "in-progress"):
        assert after[call_id] == before[call_id], call_id
        assert after[call_id].numbers_cut_at is None
    with Session(engine) as session:
        details = {e.call_id: e.detail for e in session.exec(select(CallEvent))}
        rows = session.exec(select(FraudRefusal).order_by(FraudRefusal.id))
        refusals = [(r.number, r.detail) for r in rows]
    assert details["old"] == "SIP 404 sip:+44 20 7…@t"
    assert details["recent"] == "sip:+442079460000@t"
    assert refusals == [
        (cut_number("+88212345678"), "no tariff"),
        (None, "cap (100000000 > 5)"),
        ("+88212345678", ""),
    ]
    assert refusals[0][0].endswith(CUT_MARK) and refusals[0][0] != "+88212345678"
    assert ledger.balance(account_book(account_id), "ETT").amount == 10**8


def test_a_second_run_changes_nothing(engine):
    _seed(engine)
    retention = Retention(engine, cdr_days=90)
    retention.run_once(NOW)
    first = _calls(engine)
    assert retention.run_once(NOW + timedelta(hours=1)) == RetentionResult()
    assert _calls(engine) == first


def test_batches_cover_every_record(engine, monkeypatch):
    import storage.retention

    with Session(engine) as session:
        account_id = _account(session)
        for i in range(7):
            session.add(_call(account_id, f"c{i}", OLD))
        session.commit()
    monkeypatch.setattr(storage.retention, "BATCH", 2)
    assert storage.retention.cut_calls(engine, NOW - timedelta(days=90), NOW, batch=2) == 7
    assert all(r.numbers_cut_at == NOW for r in _calls(engine).values())


class _Desk:
    def __init__(self) -> None:
        self.asked: list[datetime | None] = []

    def expire(self, now: datetime | None = None) -> int:
        self.asked.append(now)
        return 2


def test_recordings_are_expired_through_the_desk(engine):
    desk = _Desk()
    result = Retention(engine, cdr_days=90, recordings=desk).run_once(NOW)
    assert result.recordings_deleted == 2 and desk.asked == [NOW]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_run_passes_until_stopped(engine):
    desk = _Desk()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(Retention(engine, cdr_days=90, recordings=desk).run(stop, 0.01))
        while len(desk.asked) < 2:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert len(desk.asked) >= 2


def test_cdr_days_must_be_positive(engine):
    with pytest.raises(ValueError):
        Retention(engine, cdr_days=0)


def test_the_apis_leftovers_go_when_their_time_is_up(engine):

    with Session(engine) as session:
        account = Account()
        session.add(account)
        session.commit()
        account_id = account.id
    keys = IdempotencyStore(engine)
    for key, age in (("old", timedelta(hours=25)), ("new", timedelta(hours=1))):
        keys.reserve(account_id, key, "f" * 64)
        with Session(engine) as session:
            row = session.get(IdempotentRequest, (account_id, key))
            row.created_at = NOW - age
            session.add(row)
            session.commit()
    with Session(engine) as session:
        session.add(
            WebhookEndpoint(id="we1", account_id=account_id, url="https://x.example", secret="s")
        )
        session.flush()
        for name, state, age in (
            ("old-done", "delivered", 91),
            ("old-failed", "failed", 91),
            ("old-pending", "pending", 91),  # still being tried: kept
            ("recent", "delivered", 1),
        ):
            session.add(
                WebhookDelivery(
                    id=name,
                    endpoint_id="we1",
                    account_id=account_id,
                    event_id=f"evt_{name}",
                    event_type="call.ended",
                    payload='{"to": "+442079460000"}',
                    state=state,
                    created_at=NOW - timedelta(days=age),
                )
            )
            session.flush()
            session.add(WebhookAttempt(delivery_id=name, status_code=500))
        for name, age in (("v-old", 91), ("v-recent", 1)):
            session.add(
                Verification(
                    id=name,
                    account_id=account_id,
                    number="+442079460000",
                    channel="speak",
                    code_hash="0" * 64,
                    expires_at=NOW - timedelta(days=age),
                )
            )
        session.commit()

    result = Retention(engine, cdr_days=90, idempotency_hours=24).run_once(NOW)

    assert result.api_rows_deleted == 1 + 2 + 2 + 1  # key, deliveries, their attempts, code
    with Session(engine) as session:
        assert [
            r.id for r in session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id))
        ] == [
            "old-pending",
            "recent",
        ]
        assert len(session.exec(select(WebhookAttempt)).all()) == 2
        assert [v.id for v in session.exec(select(Verification))] == ["v-recent"]
    assert IdempotencyStore(engine).reserve(account_id, "new", "f" * 64) is not None  # kept
    assert IdempotencyStore(engine).reserve(account_id, "old", "f" * 64) is None  # forgotten
