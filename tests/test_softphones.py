"""Softphone (SIP) credentials: made once, shown once, replaced only on reset; the HA1
kamailio checks; the admin command; the answer in the chat, in en, fr and ru."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

import main as entry
from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Sender
from bot.assistant.i18n import t
from domain.clock import utcnow
from exchange.softphones import PASSWORD_ALPHABET, SoftphoneCredentials, Softphones
from settings import Settings
from storage import open_database
from storage.accounts import AccountStore
from storage.models import Account
from tests.conftest_chat import service_settings

ROOT = Path(__file__).resolve().parent.parent
DOMAIN, UDP, TLS = "pbx.example.org", 5070, 5071
LOOK_ALIKES = set("0O1lIio")


def settings_for(db_url: str) -> Settings:
    return service_settings(db_url, PBX_DOMAIN=DOMAIN, PBX_SIP_PORT=UDP, PBX_TLS_PORT=TLS)


def md5_ha1(username: str, password: str, realm: str = DOMAIN) -> str:
    """RFC 2617 HA1, computed here without the code under test."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()


@pytest.fixture
def softphones(db_url, engine) -> Softphones:
    return Softphones(AccountStore(engine), settings_for(db_url))


# --- credentials ---------------------------------------------------------------------------


def test_credentials_are_made_once_then_only_on_reset(softphones):
    accounts = softphones.accounts
    account = accounts.resolve("telegram", "42")
    first = softphones.credentials(account.id)
    username = accounts.extension(account.id)  # allocated by the first request
    assert (first.domain, first.username, first.udp_port, first.tls_port) == (
        DOMAIN,
        username,
        UDP,
        TLS,
    )
    password = first.password
    assert password is not None and len(password) >= 16
    assert set(password) <= set(PASSWORD_ALPHABET) and not set(password) & LOOK_ALIKES
    assert softphones.ha1(username) == md5_ha1(username, password)
    stored = accounts.get(account.id)
    assert stored.sip_ha1 == md5_ha1(username, password)
    assert stored.sip_password_at is not None
    assert abs(stored.sip_password_at - utcnow()) < timedelta(minutes=1)

    again = softphones.credentials(account.id)
    assert again.password is None
    assert again == SoftphoneCredentials(DOMAIN, username, None, UDP, TLS)
    assert softphones.ha1(username) == md5_ha1(username, password)
    assert softphones.verify(username, password)

    reset = softphones.credentials(account.id, reset=True)
    assert reset.username == username
    assert reset.password is not None and reset.password != password
    assert softphones.ha1(username) == md5_ha1(username, reset.password)
    assert softphones.ha1(username) != md5_ha1(username, password)  # the old one is over
    assert not softphones.verify(username, password)
    assert softphones.verify(username, reset.password)
    assert softphones.credentials(account.id).password is None


def test_the_password_is_stored_nowhere_and_never_logged(softphones, engine, caplog):
    caplog.set_level(logging.DEBUG)
    account = softphones.accounts.resolve("console", "alice")
    made = softphones.credentials(account.id)
    reset = softphones.credentials(account.id, reset=True)
    assert made.password is not None and reset.password is not None
    assert made.password not in repr(made) and reset.password not in repr(reset)
    for password in (made.password, reset.password):
        assert password not in caplog.text
    with engine.connect() as connection:
        row = connection.execute(Account.__table__.select()).mappings().one()
    assert not any(reset.password in str(value) for value in row.values())
    assert not any(made.password in str(value) for value in row.values())


def test_every_account_has_its_own_extension_and_password(softphones):
    ann = softphones.accounts.resolve("telegram", "1")
    bob = softphones.accounts.resolve("xmpp", "bob@example.org")
    a, b = softphones.credentials(ann.id), softphones.credentials(bob.id)
    assert a.username != b.username and a.password != b.password
    assert softphones.verify(a.username, a.password)
    assert not softphones.verify(b.username, a.password)


def test_the_ha1_of_an_unknown_user_is_none(softphones):
    accounts = softphones.accounts
    account = accounts.resolve("telegram", "7")
    extension = accounts.extension(account.id)
    assert softphones.ha1(extension) is None  # an extension without a softphone password
    assert not softphones.verify(extension, "")
    made = softphones.credentials(account.id)
    for user in ("9999", "", "alice", f"{extension} ", f"{extension}' OR '1'='1", "+33612345678"):
        assert softphones.ha1(user) is None, user
        assert not softphones.verify(user, made.password)
    assert not softphones.verify(extension, made.password.upper())
    with pytest.raises(KeyError):
        softphones.credentials(account.id + 1000)


def test_the_store_keeps_only_well_formed_ha1s(engine):
    accounts = AccountStore(engine)
    account = accounts.resolve("console", "carol")
    accounts.extension(account.id)
    for bad in ("", "abc", "G" * 32, "A" * 32, "0" * 33, md5_ha1("1", "x").upper()):
        with pytest.raises(ValueError):
            accounts.set_sip_ha1(account.id, bad)
    with pytest.raises(KeyError):
        accounts.set_sip_ha1(account.id + 1000, "0" * 32)
    assert accounts.set_sip_ha1(account.id, "a" * 32, only_if_none=True)
    assert not accounts.set_sip_ha1(account.id, "b" * 32, only_if_none=True)
    assert accounts.sip_ha1(accounts.extension(account.id)) == "a" * 32
    assert accounts.set_sip_ha1(account.id, "c" * 32)
    assert accounts.sip_ha1(accounts.extension(account.id)) == "c" * 32
    assert accounts.sip_ha1("12") is None


def test_first_requests_at_once_show_one_password(softphones):
    account = softphones.accounts.resolve("telegram", "99")
    softphones.accounts.extension(account.id)
    results: list[SoftphoneCredentials] = []
    barrier = threading.Barrier(4)

    def ask() -> None:
        barrier.wait()
        results.append(softphones.credentials(account.id))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    shown = [c.password for c in results if c.password is not None]
    assert len(results) == 4 and len(shown) == 1
    assert softphones.verify(results[0].username, shown[0])


# --- the admin command ---------------------------------------------------------------------


@pytest.fixture
def admin_env(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("PBX_DOMAIN", DOMAIN)
    monkeypatch.setenv("PBX_SIP_PORT", str(UDP))
    monkeypatch.setenv("PBX_TLS_PORT", str(TLS))
    return db_url


def admin(capsys, *args: str) -> tuple[int, str, str]:
    status = entry.main(["admin", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_admin_softphone_prints_the_credentials_as_json(admin_env, engine, capsys):
    status, out, err = admin(capsys, "softphone", "telegram:12345", "--json")
    assert status == 0 and err == ""
    made = json.loads(out)
    assert set(made) == {"domain", "username", "password", "udp_port", "tls_port"}
    accounts = AccountStore(engine)
    account = accounts.find_by_identity("telegram", "12345")  # created by the command
    assert account is not None and made["username"] == account.extension
    assert (made["domain"], made["udp_port"], made["tls_port"]) == (DOMAIN, UDP, TLS)
    assert isinstance(made["password"], str) and len(made["password"]) >= 16
    assert accounts.sip_ha1(made["username"]) == md5_ha1(made["username"], made["password"])

    status, out, _err = admin(capsys, "softphone", "telegram:12345", "--json")
    assert status == 0 and json.loads(out) == {**made, "password": None}

    status, out, _err = admin(capsys, "softphone", "telegram:12345", "--reset", "--json")
    reset = json.loads(out)
    assert status == 0 and reset["username"] == made["username"]
    assert reset["password"] not in (None, made["password"])
    assert accounts.sip_ha1(made["username"]) == md5_ha1(made["username"], reset["password"])


def test_admin_softphone_readable_and_with_a_database_option(admin_env, engine, capsys):
    accounts = AccountStore(engine)
    known = accounts.resolve("xmpp", "ann@example.org")
    status, out, _err = admin(
        capsys, "--database", admin_env, "softphone", "xmpp:Ann@Example.org/phone"
    )
    assert status == 0
    extension = accounts.extension(known.id)  # the existing account, found by its bare JID
    password = re.search(r"^password\s+(\S+)$", out, re.MULTILINE)[1]
    assert re.search(rf"^username\s+{extension}$", out, re.MULTILINE)
    assert DOMAIN in out and str(UDP) in out and str(TLS) in out
    assert accounts.sip_ha1(extension) == md5_ha1(extension, password)
    status, out, _err = admin(capsys, "softphone", "xmpp:ann@example.org")
    assert status == 0 and password not in out and "--reset" in out


@pytest.mark.parametrize(
    "identity",
    ["alice", "skype:alice", "telegram:", "telegram:abc", "xmpp:no-domain", "console:a b", ":1"],
)
def test_admin_softphone_refuses_a_bad_identity(admin_env, engine, capsys, identity):
    status, out, err = admin(capsys, "softphone", identity, "--json")
    assert status == 2 and out == ""
    assert err.startswith("error: ")
    assert AccountStore(engine).get(1) is None  # nothing created


def test_admin_help_mentions_softphone_and_the_command_runs_as_a_process(admin_env):
    help_ = subprocess.run(
        [sys.executable, "main.py", "admin", "--help"], cwd=ROOT, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert help_.returncode == 0 and "softphone" in help_.stdout
    assert "withdrawals" in help_.stdout  # still the wallet's tools
    run = subprocess.run(
        [sys.executable, "main.py", "admin", "softphone", "console:alice", "--json"], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout)
    assert made["domain"] == DOMAIN and made["password"]
    bad = subprocess.run(
        [sys.executable, "main.py", "admin", "softphone", "alice"], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "error" in bad.stderr and bad.stdout == ""


# --- the chat --------------------------------------------------------------------------------


@pytest.fixture
def assistant(db_url):
    engine = open_database(db_url, migrate=False)
    built = build_assistant(build_services(settings_for(db_url), engine=engine))
    yield built
    engine.dispose()


def _settings_block(lang: str, username: str) -> str:
    return t(
        lang, "softphone_settings", domain=DOMAIN, username=username, udp_port=UDP, tls_port=TLS
    )


def _ask(assistant: Assistant, sender: Sender, text: str) -> str:
    (reply,) = assistant.handle_sync(sender, text)
    return reply.text


def _password_in(reply: str, lang: str) -> str:
    label = {"en": "password: ", "fr": "mot de passe : ", "ru": "пароль: "}[lang]
    return re.search(rf"• {label}([{PASSWORD_ALPHABET}]+)$", reply, re.MULTILINE)[1]


@pytest.mark.parametrize(
    ("lang", "show", "reset"),
    [
        ("en", "my SIP account", "new SIP password"),
        ("fr", "mes identifiants SIP", "nouveau mot de passe SIP"),
        ("ru", "настройки SIP", "новый пароль SIP"),
    ],
)
def test_the_chat_shows_the_password_once_and_a_new_one_on_reset(assistant, lang, show, reset):
    sender = Sender("console", f"user-{lang}", lang)
    softphones = assistant.services.softphones
    first = _ask(assistant, sender, show)
    account = assistant.services.accounts.find_by_identity("console", f"user-{lang}")
    username = assistant.services.accounts.extension(account.id)
    block = _settings_block(lang, username)
    password = _password_in(first, lang)
    assert first == t(lang, "softphone_new", settings=block, password=password)
    assert f"{UDP}" in first and f"{TLS}" in first and DOMAIN in first and "UDP" in first
    assert assistant.services.accounts.sip_ha1(username) == md5_ha1(username, password)

    again = _ask(assistant, sender, show)
    assert again == t(lang, "softphone_known", settings=block)
    assert password not in again
    assert _ask(assistant, sender, "/softphone") == again  # the menu's command

    renewed = _ask(assistant, sender, reset)
    new_password = _password_in(renewed, lang)
    assert renewed == t(lang, "softphone_reset", settings=block, password=new_password)
    assert new_password != password
    assert softphones.verify(username, new_password) and not softphones.verify(username, password)
    assert "softphone" in assistant.menu


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "reset my softphone password"), ("fr", "nouveau mot de passe SIP"),
     ("ru", "сбросить пароль SIP")],
)  # fmt: skip
def test_a_first_reset_is_the_first_password(assistant, lang, text):
    sender = Sender("console", f"new-{lang}", lang)
    reply = _ask(assistant, sender, text)
    account = assistant.services.accounts.find_by_identity("console", f"new-{lang}")
    username = assistant.services.accounts.extension(account.id)
    password = _password_in(reply, lang)
    assert reply == t(
        lang, "softphone_new", settings=_settings_block(lang, username), password=password
    )


@pytest.mark.parametrize("lang", ["en", "fr", "ru"])
def test_the_help_names_the_softphone(lang):
    assert "softphone" in t(lang, "help") or "софтфон" in t(lang, "help")
