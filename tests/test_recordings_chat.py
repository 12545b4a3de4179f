"""Recordings in the chat, through the assistant, in en, fr and ru: the recording default
(refused without a key), a key made on request (its words shown once, only its public
key stored), a linked wallet's key, linking a wallet by signature, the recordings on the
server listed and deleted (files gone), and each finished recording sent as a document
(deleted at once with RECORDING_RETENTION_DAYS 0)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import base58
import pytest
import pywaves_curve25519 as curve
from sqlalchemy import select
from sqlmodel import SQLModel

import nlu
from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Reply, Sender
from bot.assistant.context import Context, Refusal
from bot.assistant.i18n import t
from bot.features.calls import offer
from bot.features.recordings import link_notifier, recording_notifier
from bot.features.recordings.keys import NewKeyData
from bot.features.recordings.text import days, duration
from domain.clock import utcnow
from nlu.commands import Call, Command, LinkWallet, RecordCalls, RecordingKey, Recordings
from privacy.keys import encode_key, public_key_of_seed, secret_key_of, secret_key_of_seed
from privacy.sealing import open_sealed
from storage import open_database
from storage.models import CallRecord, Recording
from tests.conftest_chat import service_settings
from tests.wallet_helpers import fund
from wallet.link import Linked, WalletLinker, address_of, signer_bytes

LANGS = ["en", "fr", "ru"]
CHAIN = "W"  # the default WAVES_CHAIN_ID: mainnet addresses, "3P…"
WALLET_SEED = "ocean hidden kidney famous rich season gloom husband spring convince attitude boy"
WORDS = re.compile(r"^((?:[a-z]+ ){14}[a-z]+)$", re.MULTILINE)


def make(db_url: str, directory: Path, **overrides: object) -> tuple[Assistant, object]:
    engine = open_database(db_url, migrate=False)
    settings = service_settings(db_url, RECORDING_DIR=str(directory), **overrides)
    return build_assistant(build_services(settings, engine=engine)), engine


@pytest.fixture
def assistant(db_url, tmp_path):
    built, engine = make(db_url, tmp_path / "recordings")
    yield built
    engine.dispose()


def run(assistant: Assistant, sender: Sender, command: Command) -> list[Reply]:
    """Answer a parsed command as the assistant does for a message that parses to it."""
    services = assistant.services
    account = services.accounts.resolve(
        sender.network, sender.external_id, language=sender.language or "en"
    )
    context = Context(account, sender.language or "en", services, sender, "")
    return assistant.dispatcher.dispatch(context, command)


def texts(replies: list[Reply]) -> list[str]:
    return [reply.text for reply in replies]


def account_of(assistant: Assistant, sender: Sender):
    return assistant.services.accounts.find_by_identity(sender.network, sender.external_id)


def words_in(text: str) -> str:
    [words] = WORDS.findall(text)
    return words


def everything_stored(engine) -> str:
    """Every value of every table, as text (what a copy of the database would give)."""
    values = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                values.extend(str(value) for value in row)
    return "\n".join(values)


def record(assistant: Assistant, account_id: int, call_id: str | None = None, seconds=2):
    """A finished recording of the account made by the desk (a key is needed)."""
    desk = assistant.services.recordings
    call = desk.start(account_id, call_id or f"{account_id}-c", parties=("a", "b"))
    assert call is not None
    for _packet in range(50 * seconds):  # 20 ms packets both ways, as RTP brings them
        call.feed(0, bytes(320))
        call.feed(1, bytes(320))
    return asyncio.run(desk.finish(call))


# --- the recording default ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_recording_every_call_needs_a_key_first(assistant, lang):
    sender = Sender("console", f"nokey-{lang}", lang)
    assert texts(run(assistant, sender, RecordCalls(on=True))) == [t(lang, "rec_default_needs_key")]
    assert account_of(assistant, sender).record_calls is False
    assert texts(run(assistant, sender, RecordingKey())) == [t(lang, "rec_key_none")]


@pytest.mark.parametrize("lang", LANGS)
def test_a_new_key_is_shown_once_and_only_its_public_key_is_kept(assistant, lang, caplog):
    caplog.set_level(logging.DEBUG)
    sender = Sender("console", f"newkey-{lang}", lang)
    [made] = run(assistant, sender, RecordingKey(new=True))
    words = words_in(made.text)
    assert len(words.split()) == 15
    public_key = encode_key(public_key_of_seed(words))
    assert made.text == t(
        lang,
        "rec_key_new",
        words=words,
        public_key=public_key,
        command="python main.py recording decrypt",
    )
    assert account_of(assistant, sender).recording_key == public_key
    stored = everything_stored(assistant.services.engine)
    assert public_key in stored
    assert words not in stored and " ".join(words.split()[:3]) not in stored
    assert secret_key_of_seed(words).hex() not in stored
    assert words not in caplog.text
    # Shown once: asking for the key shows the public key, never the words again.
    [shown] = texts(run(assistant, sender, RecordingKey()))
    assert public_key in shown and words not in shown
    assert shown == t(
        lang, "rec_key_made", public_key=public_key, command="python main.py recording decrypt"
    )
    # Now the default can be turned on, and off.
    [on] = texts(run(assistant, sender, RecordCalls(on=True)))
    assert on.startswith(t(lang, "rec_default_on", retention=t(lang, "rec_retention_days",
                                                                 days=days(lang, 30))))  # fmt: skip
    assert t(lang, "rec_notice") in on
    assert account_of(assistant, sender).record_calls is True
    assert texts(run(assistant, sender, RecordCalls(on=False))) == [t(lang, "rec_default_off")]
    assert account_of(assistant, sender).record_calls is False
    # A second new key replaces it, and says the older recordings keep the old one.
    [again] = texts(run(assistant, sender, RecordingKey(new=True)))
    assert words_in(again) != words and t(lang, "rec_key_older") in again


def test_the_words_shown_open_the_delivered_file_offline(assistant, tmp_path):
    sent = delivering(assistant)
    sender = Sender("console", "opens", "en")
    words = words_in(run(assistant, sender, RecordingKey(new=True))[0].text)
    recording = record(assistant, account_of(assistant, sender).id)
    [(_to, reply, data)] = sent
    mine = tmp_path / "home" / reply.attachment.name  # the user's own machine
    mine.parent.mkdir()
    mine.write_bytes(data)
    opened = subprocess.run(
        [sys.executable, "main.py", "recording", "decrypt", str(mine)],
        input=words,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert opened.returncode == 0, opened.stderr
    assert mine.with_suffix(".wav").stat().st_size > 2 * 8000 * 2 * 2  # 2 s, 2 channels
    assert f'"recording": "{recording.id}"' in opened.stdout
    wrong = subprocess.run(
        [sys.executable, "main.py", "recording", "decrypt", str(mine), "-o", str(mine) + "2.wav"],
        input=WALLET_SEED,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert wrong.returncode == 1


# --- a linked wallet's key -----------------------------------------------------------------


class Wallet:
    def __init__(self, seed: str) -> None:
        self.secret = secret_key_of_seed(seed)
        self.public_key = base58.b58encode(public_key_of_seed(seed)).decode()
        self.address = address_of(public_key_of_seed(seed), CHAIN)

    def sign(self, message: str) -> str:
        raw = curve.calculateSignature(os.urandom(64), self.secret, signer_bytes(message))
        return base58.b58encode(raw).decode()


def message_in(text: str) -> str:
    [message] = set(re.findall(r"encryptotel-link-\w+", text))  # shown, and in the command
    return message


@pytest.mark.parametrize("lang", LANGS)
def test_linking_a_wallet_by_signature_in_the_chat(assistant, lang):
    sender, wallet = Sender("console", f"wallet-{lang}", lang), Wallet(WALLET_SEED)
    assert texts(run(assistant, sender, LinkWallet())) == [t(lang, "rec_link_need_address")]
    [asked] = texts(run(assistant, sender, LinkWallet(address=wallet.address)))
    assert texts(run(assistant, sender, LinkWallet())) == [asked]  # the pending one again
    account = account_of(assistant, sender)
    challenge = WalletLinker(assistant.services.engine, CHAIN).pending(account.id)
    message = challenge.message
    until = challenge.expires_at.strftime("%Y-%m-%d %H:%M")  # the account's zone is UTC
    # Without Waves configured here, only the signature way.
    assert asked == t(
        lang,
        "rec_link_sign",
        address=wallet.address,
        until=until,
        message=message,
        sign_command="python main.py recording sign-link",
    )
    # Half an answer, a wrong signature, a key of another wallet: refused, explained.
    assert texts(run(assistant, sender, LinkWallet(signature=wallet.sign(message)))) == [
        t(lang, "rec_link_need_both")
    ]
    wrong = LinkWallet(signature=wallet.sign(message + "!"), public_key=wallet.public_key)
    assert texts(run(assistant, sender, wrong)) == [
        t(lang, "rec_link_bad_signature", address=wallet.address)
    ]
    other = Wallet("another seed of fifteen words " + lang)
    foreign = LinkWallet(signature=other.sign(message), public_key=other.public_key)
    assert texts(run(assistant, sender, foreign)) == [
        t(lang, "rec_link_other_address", address=other.address)
    ]
    assert account_of(assistant, sender).recording_key is None
    proof = LinkWallet(signature=wallet.sign(message), public_key=wallet.public_key)
    assert texts(run(assistant, sender, proof)) == [
        t(lang, "rec_linked", address=wallet.address, public_key=wallet.public_key)
    ]
    account = account_of(assistant, sender)
    assert (account.wallet_address, account.recording_key) == (wallet.address, wallet.public_key)
    assert texts(run(assistant, sender, proof)) == [t(lang, "rec_link_no_challenge")]
    sealed = assistant.services.recordings.path_of(record(assistant, account.id))
    meta, _chunks = open_sealed(sealed, secret_key_of(WALLET_SEED))  # the wallet's seed opens it
    assert meta["channels"] == ["a", "b"]
    assert texts(run(assistant, sender, RecordingKey())) == [
        t(
            lang,
            "rec_key_wallet",
            address=wallet.address,
            public_key=wallet.public_key,
            command="python main.py recording decrypt",
        )
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_addresses_of_another_network_or_mistyped_are_refused(assistant, lang):
    sender = Sender("console", f"badaddr-{lang}", lang)
    testnet = address_of(public_key_of_seed(WALLET_SEED), "T")
    assert texts(run(assistant, sender, LinkWallet(address=testnet))) == [
        t(lang, "rec_link_wrong_chain", address=testnet, network="Mainnet")
    ]
    assert texts(run(assistant, sender, LinkWallet(address="3Pnotanaddress"))) == [
        t(lang, "rec_link_bad_address", address="3Pnotanaddress")
    ]


def test_the_transfer_way_names_the_deposit_address(db_url, tmp_path, waves_chain):
    built, engine = make(db_url, tmp_path / "r", **waves_chain.settings_overrides())
    try:
        sender = Sender("console", "by-transfer", "fr")
        claimed = waves_chain.address_of(WALLET_SEED)
        [asked] = texts(run(built, sender, LinkWallet(address=claimed)))
        expected = t("fr", "rec_link_send", address=claimed, deposit=waves_chain.service_address)
        assert expected in asked and message_in(asked) in asked
    finally:
        engine.dispose()


def test_linking_a_wallet_replaces_a_key_made_before_and_says_so(assistant):
    sender, wallet = Sender("console", "made-then-linked", "fr"), Wallet(WALLET_SEED)
    run(assistant, sender, RecordingKey(new=True))
    [asked] = texts(run(assistant, sender, LinkWallet(address=wallet.address)))
    assert asked.endswith(t("fr", "rec_link_replaces"))
    proof = LinkWallet(signature=wallet.sign(message_in(asked)), public_key=wallet.public_key)
    run(assistant, sender, proof)
    assert account_of(assistant, sender).recording_key == wallet.public_key
    [again] = texts(run(assistant, sender, LinkWallet(address=wallet.address)))
    assert t("fr", "rec_link_replaces") not in again  # the same wallet: nothing replaced


def test_replacing_a_wallet_key_is_asked_first_and_done_once(assistant):
    sender, wallet = Sender("console", "replace", "en"), Wallet(WALLET_SEED)
    message = message_in(run(assistant, sender, LinkWallet(address=wallet.address))[0].text)
    run(assistant, sender, LinkWallet(signature=wallet.sign(message), public_key=wallet.public_key))
    [question] = run(assistant, sender, RecordingKey(new=True))
    assert question.text == t("en", "rec_key_replace_wallet", address=wallet.address)
    assert account_of(assistant, sender).recording_key == wallet.public_key
    yes = question.buttons[0].data
    assert NewKeyData.unpack(yes).replaces == wallet.public_key[:12]
    [made] = assistant.press_sync(sender, yes)
    words = words_in(made.text)
    assert made.key == question.key
    assert account_of(assistant, sender).recording_key == encode_key(public_key_of_seed(words))
    assert texts(assistant.press_sync(sender, yes)) == [t("en", "choice_expired")]  # once
    assert account_of(assistant, sender).recording_key == encode_key(public_key_of_seed(words))


# --- the recordings on the server ----------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_recordings_are_listed_in_the_users_zone_then_deleted_with_their_files(assistant, lang):
    services = assistant.services
    sender = Sender("console", f"list-{lang}", lang)
    assert texts(run(assistant, sender, Recordings())) == [t(lang, "rec_list_none")]
    run(assistant, sender, RecordingKey(new=True))
    account = account_of(assistant, sender)
    services.accounts.update(account.id, timezone="Asia/Tokyo", phone_number="+33612345678")
    services.calls.create_once(
        CallRecord(
            id=f"{account.id}-c",
            account_id=account.id,
            a_number="+33612345678",
            b_number="+442079460000",
        )  # fmt: skip
    )
    first, second = record(assistant, account.id, seconds=3), record(assistant, account.id)
    stranger = Sender("console", f"stranger-{lang}", lang)
    run(assistant, stranger, RecordingKey(new=True))
    theirs = record(assistant, account_of(assistant, stranger).id)
    [listing] = texts(run(assistant, sender, Recordings()))
    lines = listing.splitlines()
    assert lines[0] == t(lang, "rec_list_header") and lines[-1] == t(lang, "rec_list_footer")
    assert len(lines) == 4
    tokyo = (first.created_at + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M")
    expires = (first.expires_at + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M")
    assert any(
        line.startswith(f"• {tokyo} · +44 20 7946 0000 · {duration(3)} · ")
        and line.endswith(t(lang, "rec_expires", at=expires))
        for line in lines
    )
    assert duration(3) == "0:03" and duration(3725) == "1:02:05"
    paths = [services.recordings.path_of(r) for r in (first, second)]
    assert all(p.exists() for p in paths)
    [question] = run(assistant, sender, Recordings(delete=True))  # asked first
    assert question.text == t(lang, "rec_delete_ask", count=2) and all(p.exists() for p in paths)
    delete, cancel = (b.data for b in question.buttons)
    assert texts(assistant.press_sync(stranger, delete)) == [t(lang, "choice_expired")]
    assert all(p.exists() for p in paths)  # another account's press deletes nothing
    [done] = assistant.press_sync(sender, delete)
    assert done.text == t(lang, "rec_deleted", count=2) and done.key == question.key
    assert not any(p.exists() for p in paths)
    assert services.recordings.store.of_account(account.id) == []
    assert texts(run(assistant, sender, Recordings(delete=True))) == [t(lang, "rec_deleted_none")]
    assert services.recordings.path_of(theirs).exists()  # another account's: untouched


# --- delivery when a call ends ---------------------------------------------------------------


def delivering(assistant: Assistant) -> list[tuple[str, Reply, bytes]]:
    """Deliver recordings to the console chat; what was sent (with the file's bytes)."""
    sent: list[tuple[str, Reply, bytes]] = []

    async def send(external_id: str, reply: Reply) -> None:
        assert reply.attachment is not None
        sent.append((external_id, reply, reply.attachment.read()))

    assistant.services.outbox.register("console", send)
    # The only listener (the composition root may have registered one already).
    assistant.services.recordings.listeners[:] = [recording_notifier(assistant.services)]
    return sent


@pytest.mark.parametrize("lang", LANGS)
def test_a_finished_recording_is_sent_as_a_document_with_how_to_open_it(assistant, lang):
    sent = delivering(assistant)
    sender = Sender("console", f"deliver-{lang}", lang)
    run(assistant, sender, RecordingKey(new=True))
    account = account_of(assistant, sender)
    recording = record(assistant, account.id)
    [(to, reply, data)] = sent
    assert to == sender.external_id
    path = assistant.services.recordings.path_of(recording)
    assert reply.attachment.path == path and reply.attachment.name == recording.file_name
    assert data == path.read_bytes()
    assert f"python main.py recording decrypt {recording.file_name}" in reply.text
    assert t(lang, "rec_other_unknown") in reply.text and duration(2) in reply.text
    expires = recording.expires_at.strftime("%Y-%m-%d %H:%M")
    assert reply.text.endswith(t(lang, "rec_ready_kept", at=expires))
    [kept] = assistant.services.recordings.store.of_account(account.id)
    assert kept.delivered_at is not None and path.exists()


def test_with_no_retention_the_file_is_deleted_once_delivered(db_url, tmp_path):
    assistant, engine = make(db_url, tmp_path / "now", RECORDING_RETENTION_DAYS=0)
    try:
        sender = Sender("console", "no-retention", "ru")
        run(assistant, sender, RecordingKey(new=True))
        account = account_of(assistant, sender)
        # No chat reachable: nothing delivered, so nothing deleted.
        assistant.services.recordings.listeners[:] = [recording_notifier(assistant.services)]
        undelivered = record(assistant, account.id, call_id="u")
        assert assistant.services.recordings.path_of(undelivered).exists()
        [row] = assistant.services.recordings.store.of_account(account.id)
        assert row.delivered_at is None
        sent = delivering(assistant)
        recording = record(assistant, account.id, call_id="d")
        [(_to, reply, data)] = sent
        assert reply.text.endswith(t("ru", "rec_ready_deleted")) and data
        assert not assistant.services.recordings.path_of(recording).exists()
        ids = [r.id for r in assistant.services.recordings.store.of_account(account.id)]
        assert ids == [undelivered.id]
    finally:
        engine.dispose()


# --- the phrases, once the parser knows them ---------------------------------------------


PARSED = isinstance(nlu.command_of(nlu.parse("delete my recordings")), Recordings) and isinstance(
    nlu.command_of(nlu.parse("link my wallet")), LinkWallet
)


@pytest.mark.skipif(not PARSED, reason="the parser does not read the recording phrases yet")
@pytest.mark.parametrize(
    ("lang", "default", "key", "listing"),
    [
        ("en", "record all my calls", "new recording key", "my recordings"),
        (
            "fr",
            "enregistre tous mes appels",
            "nouvelle clé d'enregistrement",
            "mes enregistrements",
        ),
        ("ru", "записывай все мои звонки", "новый ключ записи", "мои записи"),
    ],
)
def test_the_phrases_reach_the_feature(assistant, lang, default, key, listing):
    sender = Sender("console", f"phrases-{lang}", lang)
    assert texts(assistant.handle_sync(sender, default)) == [t(lang, "rec_default_needs_key")]
    [made] = assistant.handle_sync(sender, key)
    assert len(words_in(made.text).split()) == 15
    assert texts(assistant.handle_sync(sender, listing)) == [t(lang, "rec_list_none")]


def test_recordings_in_the_menu(assistant):
    assert "recordings" in assistant.menu
    sender = Sender("console", "menu", "en")
    assert texts(assistant.handle_sync(sender, "/recordings")) == [t("en", "rec_list_none")]


def test_a_stored_recording_row_is_what_the_list_reads(assistant):
    # Guards the listing against a row of another shape (a recording still being written).
    sender = Sender("console", "row", "en")
    run(assistant, sender, RecordingKey(new=True))
    account = account_of(assistant, sender)
    assistant.services.recordings.store.add(
        Recording(id="r" * 32, account_id=account.id, file_name="x.ett-rec", created_at=utcnow())
    )
    [listing] = texts(run(assistant, sender, Recordings()))
    assert t("en", "rec_expires_when_sent") in listing and "0:00" in listing
    assert f"· {t('en', 'rec_list_unknown')} ·" in listing  # no call known by that id


# --- a call asked to be recorded (bot/features/calls/offer.py) ------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_recorded_call_needs_a_key_and_its_quote_says_it_is_recorded(assistant, lang):
    services = assistant.services
    sender = Sender("console", f"call-{lang}", lang)
    account = services.accounts.resolve("console", sender.external_id, language=lang)
    services.accounts.update(account.id, phone_number="+33612345678", phone_verified=True)
    fund(services.engine, account.id, "10")
    call = Call(to="+442079460000", record=True)

    def quote() -> list[Reply]:
        fresh = services.accounts.get(account.id)
        return offer.offer(Context(fresh, lang, services, sender, "call"), call)

    with pytest.raises(Refusal) as refused:
        quote()
    assert refused.value.key == "rec_call_needs_key"
    run(assistant, sender, RecordingKey(new=True))
    [quoted] = quote()
    assert t(lang, "rec_call_recorded") in quoted.text and quoted.buttons
    unrecorded = replace(call, record=False)
    [plain] = offer.offer(Context(services.accounts.get(account.id), lang, services, sender, ""),
                          unrecorded)  # fmt: skip
    assert t(lang, "rec_call_recorded") not in plain.text


@pytest.mark.skipif(not PARSED, reason="the parser does not read the recording phrases yet")
@pytest.mark.parametrize(
    ("lang", "link", "answer"),
    [
        ("en", "link my wallet {address}", "signature {signature} public key {key}"),
        ("fr", "lier mon portefeuille {address}", "signature {signature} clé publique {key}"),
        ("ru", "привяжи мой кошелёк {address}", "подпись {signature} открытый ключ {key}"),
    ],
)
def test_a_wallet_linked_in_plain_words(assistant, lang, link, answer):
    sender, wallet = Sender("console", f"words-{lang}", lang), Wallet(WALLET_SEED)
    [asked] = assistant.handle_sync(sender, link.format(address=wallet.address))
    message = message_in(asked.text)
    text = answer.format(signature=wallet.sign(message), key=wallet.public_key)
    assert texts(assistant.handle_sync(sender, text)) == [
        t(lang, "rec_linked", address=wallet.address, public_key=wallet.public_key)
    ]
    assert account_of(assistant, sender).recording_key == wallet.public_key


def test_a_wallet_proven_by_transfer_is_told_in_the_accounts_language(assistant):
    sent: list[tuple[str, Reply]] = []

    async def send(external_id: str, reply: Reply) -> None:
        sent.append((external_id, reply))

    services = assistant.services
    services.outbox.register("console", send)
    account = services.accounts.resolve("console", "told", language="ru")
    wallet = Wallet(WALLET_SEED)
    on_linked = link_notifier(services.accounts, services.outbox)
    asyncio.run(on_linked(Linked(account.id, wallet.address, wallet.public_key, "transfer")))
    assert [(to, reply.text) for to, reply in sent] == [
        (
            "told",
            t("ru", "rec_linked_by_transfer", address=wallet.address, public_key=wallet.public_key),
        )
    ]
