"""'my data' and 'forget me' below the chat: the export holds every row about an account;
forgetting leaves nothing that names the person anywhere in the database, the ledger as
it was, and the same Telegram user or JID a new, empty account."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlmodel import SQLModel

from domain.clock import utcnow
from domain.numbers import cut_number
from privacy.export import SCHEMA, SCHEMA_VERSION, export_json, file_name
from privacy.forget import Blocker, ForgetBlocked, forget, preview
from privacy.recordings import RecordingDesk
from storage.accounts import AccountStore
from storage.calls import CallStore
from storage.db import transaction
from storage.dids import DidStore
from storage.ledger_store import LedgerStore, account_book
from storage.models import Account, CallRecord, SipDialog, Withdrawal
from storage.privacy import ABOUT_ACCOUNTS, NOT_ABOUT_ACCOUNTS, PrivacyStore
from storage.recordings import RecordingStore
from storage.withdrawals import WithdrawalStore
from tests import privacy_env
from tests.privacy_env import (
    ADDRESS,
    CALLEE,
    DID_NUMBER,
    JID,
    OTHER_PHONE,
    PHONE,
    REMINDER_TEXT,
    TELEGRAM_ID,
    UNIT,
)


def _desk(engine, directory) -> RecordingDesk:
    return RecordingDesk(RecordingStore(engine), AccountStore(engine), directory, retention_days=30)


@pytest.fixture
def env(engine, tmp_path):
    return privacy_env.build(engine, tmp_path / "recordings")


def test_every_table_is_exported_or_holds_nothing_about_anybody():
    # A new table must be placed: in the export, or declared to name nobody.
    assert set(ABOUT_ACCOUNTS) | NOT_ABOUT_ACCOUNTS == set(SQLModel.metadata.tables)
    assert not set(ABOUT_ACCOUNTS) & NOT_ABOUT_ACCOUNTS


def test_export_holds_every_row_about_the_account(engine, env):
    now = datetime(2026, 11, 30, 20, 15, tzinfo=UTC)
    document = json.loads(export_json(PrivacyStore(engine), env.ann, now=now))
    assert (document["schema"], document["version"]) == (SCHEMA, SCHEMA_VERSION)
    assert document["generated_at"] == "2026-11-30T20:15:00+00:00"
    assert file_name(now) == "encryptotel-my-data-20261130-201500.json"

    account = document["account"]
    assert account["id"] == env.ann
    assert (account["phone_number"], account["phone_verified"]) == (PHONE, True)
    assert (account["wallet_address"], account["timezone"]) == (ADDRESS, "Europe/Paris")
    assert account["softphone_password"] == "set" and "sip_ha1" not in account
    assert "0123456789abcdef" not in json.dumps(document)  # the digest never leaves
    assert datetime.fromisoformat(account["created_at"]).utcoffset().total_seconds() == 0
    assert {(i["network"], i["external_id"]) for i in document["identities"]} == {
        ("telegram", TELEGRAM_ID),
        ("xmpp", JID),
    }
    assert [d["number"] for d in document["direct_numbers"]] == [DID_NUMBER]

    calls = {call["id"]: call for call in document["calls"]}
    ann = env.ann
    assert set(calls) == {
        f"{ann}-verify",
        f"{ann}-cb1",
        f"{ann}-in1",
        f"{ann}-int1",
        f"{ann}-later",
    }
    callback = calls[f"{ann}-cb1"]
    assert (callback["a_number"], callback["b_number"], callback["dtmf"]) == (PHONE, CALLEE, "42")
    assert [e["event"] for e in callback["events"]] == [
        "created",
        "ringing",
        "answered",
        "ended",
        "ended",
    ]
    assert calls[f"{ann}-in1"]["forwarded_to"] == PHONE
    assert f"{env.bob}-cb1" not in calls  # Bob's call to Ann is Bob's record

    ledger = document["ledger"]
    assert ledger["book"] == account_book(ann)
    assert [(b["asset"], b["amount"], b["held"]) for b in ledger["balances"]] == [
        ("ETT", 5 * UNIT - UNIT // 10 - 2 * UNIT, 0)
    ]
    assert sorted(t["kind"] for t in ledger["transfers"]) == ["call", "deposit", "withdrawal"]
    assert sum(e["amount"] for e in ledger["entries"]) == ledger["balances"][0]["amount"]
    assert [(h["amount"], h["state"]) for h in ledger["holds"]] == [(UNIT, "settled")]

    assert [r["text"] for r in document["reminders"]] == [REMINDER_TEXT]
    assert [(r["to_number"], r["caller"]) for r in document["forwarding_rules"]] == [
        (PHONE, CALLEE)
    ]
    assert [(d["sender"], d["amount"], d["asset"]) for d in document["deposits"]] == [
        (ADDRESS, 5 * UNIT, "ETT")
    ]
    assert [(w["address"], w["state"]) for w in document["withdrawals"]] == [(ADDRESS, "sent")]
    assert [r["rule"] for r in document["fraud_refusals"]] == ["premium"]
    assert [(r["id"], r["seconds"]) for r in document["recordings"]] == [("c0ffee", 12)]
    assert len(document["link_codes"]) == 2
    assert [(a["network"], a["external_id"]) for a in document["link_attempts"]] == [("xmpp", JID)]
    assert document["wallet_link"]["address"] == ADDRESS


def test_export_has_each_row_naming_the_account_once(engine, env):
    # Every table with an account_id column: as many rows exported as stored.
    exported = PrivacyStore(engine).export(env.ann)
    sections = {
        "identity": exported["identities"],
        "did": exported["direct_numbers"],
        "linkcode": exported["link_codes"],
        "callrecord": exported["calls"],
        "reminder": exported["reminders"],
        "reminderseries": exported["reminder_series"],
        "calendarsource": exported["calendars"],
        "forwardingrule": exported["forwarding_rules"],
        "deposit": exported["deposits"],
        "withdrawal": exported["withdrawals"],
        "fraudrefusal": exported["fraud_refusals"],
        "recording": exported["recordings"],
        "walletlink": [exported["wallet_link"]] if exported["wallet_link"] else [],
        "apikey": exported["api"]["keys"],
        "idempotentrequest": exported["api"]["idempotent_requests"],
        "webhookendpoint": exported["api"]["webhooks"],
        "webhookdelivery": [d for w in exported["api"]["webhooks"] for d in w["deliveries"]],
        "verification": exported["api"]["verifications"],
        "plansubscription": [exported["plans"]["subscription"]],
        "planperiod": exported["plans"]["periods"],
        "planusage": exported["plans"]["usage"],
        "plannotice": exported["plans"]["notices"],
        "pollvote": exported["polls"]["votes"],
        "pollnotice": exported["polls"]["notices"],
    }
    stored = privacy_env.rows_naming(engine, env.ann)
    assert {name: len(rows) for name, rows in sections.items()} == stored
    assert all(count > 0 for count in stored.values())
    # No secret leaves in the export: a key's hash, a webhook's signing secret, a code's HMAC.
    api = exported["api"]
    assert "token_hash" not in api["keys"][0] and "secret" not in api["webhooks"][0]
    assert "code_hash" not in api["verifications"][0]
    # A calendar's address (its path is the key to it) and password: only host and "set".
    (calendar,) = exported["calendars"]
    assert (calendar["url"], calendar["password"]) == ("https://cal.example.org/…", "set")
    assert "body" not in api["idempotent_requests"][0]


def test_forget_leaves_nothing_findable_and_the_ledger_whole(engine, env):
    ledger_before = privacy_env.ledger_state(engine)
    bob_before = PrivacyStore(engine).export(env.bob)
    # The search finds each of them before (in the columns it must search after).
    found = privacy_env.find_anywhere(engine, privacy_env.ann_needles())
    assert {hit.split(": ")[1] for hit in found} == set(privacy_env.ann_needles())
    assert {"identity.external_id: jid", "callrecord.b_number: phone (E.164)"} <= set(found)

    result = forget(PrivacyStore(engine), _desk(engine, env.recordings), env.ann)

    # Only the chain's balances at a poll's snapshot still hold her address: public data
    # of every holder, naming no account (her vote in the open poll is withdrawn).
    assert privacy_env.find_anywhere(engine, privacy_env.ann_needles()) == [
        "pollweight.address: wallet address"
    ]
    assert privacy_env.rows_naming(engine, env.ann)["pollvote"] == 0
    # Her direct number is only in the pool now, free (her inbound call keeps it cut).
    found = privacy_env.find_anywhere(engine, {"direct number": DID_NUMBER})
    assert found == ["did.number: direct number"]
    assert privacy_env.ledger_state(engine) == ledger_before
    assert result.balances == {"ETT": 5 * UNIT - UNIT // 10 - 2 * UNIT}
    assert not env.recording_file.exists()
    assert result.deleted["identity"] == 2 and result.deleted["linkattempt"] == 1
    # Her plan ends (never renewed from a book nobody reaches); what it paid and used stays.
    assert (result.deleted["plansubscription"], result.deleted["plannotice"]) == (1, 1)
    assert privacy_env.rows_naming(engine, env.ann)["planperiod"] == 1

    account = AccountStore(engine).get(env.ann)
    assert account.forgotten_at is not None
    assert (account.phone_number, account.phone_verified, account.sip_ha1) == (None, False, None)
    # The extension stays with the forgotten account, so nobody else is given it.
    assert AccountStore(engine).by_extension(account.extension).id == env.ann
    assert (account.recording_key, account.wallet_address) == (None, None)
    assert (account.language, account.timezone, account.record_calls) == ("en", "UTC", False)
    assert DidStore(engine).owner(DID_NUMBER) is None  # back in the pool
    calls = CallStore(engine)
    callback = calls.get(f"{env.ann}-cb1")
    assert (callback.a_number, callback.b_number) == (cut_number(PHONE), cut_number(CALLEE))
    assert callback.dtmf == "" and callback.numbers_cut_at is not None
    assert callback.state == "ended"
    later = calls.get(f"{env.ann}-later")
    assert (later.state, later.hangup_cause) == ("ended", "cancelled")
    # Bob's call to Ann's number keeps Bob's number and loses Ann's.
    bobs_call = calls.get(f"{env.bob}-cb1")
    assert (bobs_call.a_number, bobs_call.b_number) == (OTHER_PHONE, cut_number(PHONE))
    bob_after = PrivacyStore(engine).export(env.bob)
    assert bob_after["account"] == bob_before["account"]
    assert bob_after["identities"] == bob_before["identities"]
    # The withdrawal keeps its chain transaction id; the address is gone.
    withdrawal = WithdrawalStore(engine).get("withdraw:ann-1")
    assert (withdrawal.address, withdrawal.tx_id[:4], withdrawal.amount) == ("", "9sQn", 2 * UNIT)


def test_a_forgotten_identity_starts_a_new_empty_account(engine, env):
    forget(PrivacyStore(engine), _desk(engine, env.recordings), env.ann)
    accounts = AccountStore(engine)
    assert accounts.find_by_identity("telegram", TELEGRAM_ID) is None
    assert accounts.find_by_identity("xmpp", JID) is None
    for network, external_id in (("telegram", TELEGRAM_ID), ("xmpp", JID)):
        fresh = accounts.resolve(network, external_id)
        assert fresh.id not in (env.ann, env.bob)
        assert (fresh.phone_number, fresh.extension, fresh.wallet_address) == (None, None, None)
        assert LedgerStore(engine).balances(account_book(fresh.id)) == {}
        assert PrivacyStore(engine).summary(fresh.id).calls == 0
    assert (
        accounts.find_by_identity("telegram", TELEGRAM_ID).id
        != accounts.find_by_identity("xmpp", JID).id
    )  # two strangers now: the link went with the account


def test_a_forgotten_extension_is_never_given_again(engine):
    accounts = AccountStore(engine)
    first = accounts.resolve("telegram", "1")
    extension = accounts.extension(first.id)  # the highest: the next one would be it again
    PrivacyStore(engine).forget(first.id)
    again = accounts.resolve("telegram", "1")
    assert again.id != first.id
    assert accounts.extension(again.id) != extension
    assert accounts.by_extension(extension).id == first.id


def test_summary_names_what_would_be_lost(engine, env):
    summary = preview(PrivacyStore(engine), env.ann)
    extension = AccountStore(engine).get(env.ann).extension
    assert summary.numbers == (PHONE, DID_NUMBER, extension)
    assert (summary.identities, summary.calls, summary.reminders) == (2, 5, 1)
    assert (summary.rules, summary.recordings) == (1, 1)
    assert summary.balances == {"ETT": 5 * UNIT - UNIT // 10 - 2 * UNIT}
    assert summary.blocker is None


def _running_call(engine, env) -> None:
    CallStore(engine).create(
        CallRecord(id="77-x", account_id=env.bob, a_number=OTHER_PHONE, b_number=PHONE)
    )


def _open_hold(engine, env) -> None:
    book = account_book(env.ann)
    LedgerStore(engine).place_hold(key="call:ann-2", book=book, asset="ETT", amount=UNIT)


def _unfinished_withdrawal(engine, env) -> None:
    WithdrawalStore(engine).create(
        Withdrawal(
            idempotency_key="withdraw:ann-2",
            account_id=env.ann,
            asset="ETT",
            amount=UNIT,
            address=ADDRESS,
            state="signed",
        )
    )


def _leg_left_up(engine, env) -> None:
    with transaction(engine) as session:
        session.add(
            SipDialog(
                sip_call_id="abc@host",
                call_id=f"{env.ann}-cb1",
                leg="a",
                state="confirmed",
                request_uri=f"sip:{PHONE}@carrier",
                via="SIP/2.0/UDP 10.0.0.1",
                from_header="<sip:bot@pbx>;tag=1",
                to_header=f"<sip:{PHONE}@carrier>;tag=2",
                cseq=1,
            )
        )


@pytest.mark.parametrize(
    ("make", "blocker"),
    [
        (_running_call, Blocker.CALL),
        (_leg_left_up, Blocker.CALL),
        (_open_hold, Blocker.HOLD),
        (_unfinished_withdrawal, Blocker.WITHDRAWAL),
    ],
)
def test_forget_waits_for_calls_holds_and_withdrawals(engine, env, make, blocker):
    make(engine, env)
    before = PrivacyStore(engine).export(env.ann)
    store = PrivacyStore(engine)
    assert preview(store, env.ann).blocker is blocker
    with pytest.raises(ForgetBlocked) as refused:
        forget(store, _desk(engine, env.recordings), env.ann)
    assert refused.value.blocker is blocker
    with pytest.raises(ForgetBlocked):  # the storage checks again, in its transaction
        store.forget(env.ann)
    assert store.export(env.ann) == before
    assert env.recording_file.exists()


def test_forget_keeps_the_time_retention_cut_a_record(engine, env):
    earlier = datetime(2026, 1, 2, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            update(CallRecord)
            .where(CallRecord.id == f"{env.ann}-int1")
            .values(numbers_cut_at=earlier)
        )
    PrivacyStore(engine).forget(env.ann, now=utcnow())
    assert CallStore(engine).get(f"{env.ann}-int1").numbers_cut_at == earlier
    with engine.connect() as conn:
        forgotten = conn.execute(select(Account.forgotten_at).where(Account.id == env.ann))
        assert forgotten.scalar_one() is not None
