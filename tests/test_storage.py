"""Accounts, identities, call records and migrations, on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from domain.clock import utcnow
from storage.accounts import AccountStore
from storage.calls import CallStore, leg_seconds
from storage.models import CallRecord


def test_migrations_match_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_identity_resolves_to_one_account(engine):
    accounts = AccountStore(engine)
    first = accounts.resolve("telegram", "42", language="fr")
    assert accounts.resolve("telegram", "42").id == first.id
    assert first.language == "fr"
    assert accounts.resolve("xmpp", "42@pbx.test").id != first.id


def test_language_is_stored_and_read_back_without_a_session(engine):
    accounts = AccountStore(engine)
    account = accounts.resolve("telegram", "43", language="en", timezone="Europe/Paris")
    assert accounts.set_language(account, "ru").language == "ru"
    again = accounts.find_by_identity("telegram", "43")
    assert (again.id, again.language, again.timezone) == (account.id, "ru", "Europe/Paris")
    assert accounts.get(account.id).language == "ru"
    assert accounts.get(account.id + 1000) is None
    assert accounts.find_by_identity("telegram", "nobody") is None


def test_link_code_joins_networks_once(engine):
    accounts = AccountStore(engine)
    owner = accounts.resolve("telegram", "7")
    other = accounts.resolve("xmpp", "ann@pbx.test")
    code = accounts.new_link_code(owner.id)
    assert accounts.link(code, "xmpp", "ann@pbx.test").id == owner.id
    assert accounts.resolve("xmpp", "ann@pbx.test").id == owner.id != other.id
    assert accounts.link(code, "xmpp", "bob@pbx.test") is None  # one-time
    assert {i.network for i in accounts.identities(owner.id)} == {"telegram", "xmpp"}


def test_extension_allocated_once_and_unique(engine):
    accounts = AccountStore(engine)
    a = accounts.resolve("console", "a")
    b = accounts.resolve("console", "b")
    ext_a = accounts.extension(a.id)
    assert accounts.extension(a.id) == ext_a
    assert accounts.extension(b.id) != ext_a
    assert accounts.by_extension(ext_a).id == a.id


def test_new_number_is_unverified(engine):
    accounts = AccountStore(engine)
    account = accounts.resolve("console", "me")
    accounts.update(account.id, phone_number="+33612345678", phone_verified=True)
    assert accounts.set_number(account.id, "+33612345678").phone_verified is True
    changed = accounts.set_number(account.id, "+447911123456")
    assert changed.phone_number == "+447911123456" and changed.phone_verified is False


def _call(engine) -> CallRecord:
    account = AccountStore(engine).resolve("console", "me")
    record = CallRecord(
        id=uuid.uuid4().hex, account_id=account.id, a_number="+33612345678", b_number="+12125550123"
    )
    return CallStore(engine).create(record)


def test_call_record_keeps_every_transition(engine):
    calls = CallStore(engine)
    call = _call(engine)
    start = utcnow()
    for offset, event, leg in [
        (0, "ringing", "a"),
        (2, "answered", "a"),
        (3, "ringing", "b"),
        (5, "answered", "b"),
        (5, "bridged", None),
    ]:
        calls.record_event(call.id, event, leg=leg, at=start + timedelta(seconds=offset))
    ended = calls.record_event(call.id, "ended", cause="normal", at=start + timedelta(seconds=65))
    assert ended.state == "ended" and ended.hangup_cause == "normal"
    assert leg_seconds(ended, "a") == 63 and leg_seconds(ended, "b") == 60
    assert [e.event for e in calls.events(call.id)] == [
        "created",
        "ringing",
        "answered",
        "ringing",
        "answered",
        "bridged",
        "ended",
    ]
    late = calls.record_event(call.id, "answered", leg="b")
    assert late.state == "ended"  # nothing changes after the end
    assert [c.id for c in calls.history(call.account_id)] == [call.id]


def test_crashed_call_closes_at_last_heartbeat(engine):
    calls = CallStore(engine)
    call = _call(engine)
    calls.record_event(call.id, "answered", leg="a", at=utcnow() - timedelta(seconds=30))
    calls.heartbeat(call.id)
    beat = calls.get(call.id).heartbeat_at
    assert calls.close_interrupted(older_than=beat - timedelta(seconds=1)) == []
    assert calls.close_interrupted(older_than=beat + timedelta(seconds=1)) == [call.id]
    closed = calls.get(call.id)
    assert closed.state == "ended" and closed.hangup_cause == "interrupted"
    assert closed.ended_at == beat and closed.a_ended_at == beat
    assert calls.unsettled()[0].id == call.id
