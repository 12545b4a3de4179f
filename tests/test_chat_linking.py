"""Link codes cannot be guessed: wrong codes are limited per identity and per code, in the
database (every instance counts them); and a chat's own code is answered as such."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.i18n import t
from domain.clock import utcnow
from storage import open_database
from storage.accounts import (
    LINK_ATTEMPT_WINDOW,
    LINK_MAX_ATTEMPTS,
    LINK_MAX_FAILURES,
    AccountStore,
    LinkOutcome,
    _attempt,
)
from tests.conftest_chat import service_settings, telegram_settings

GUESSES = [f"{n:08d}" for n in range(10_000_000, 10_000_010)]


def _wrong(code: str) -> str:
    return next(guess for guess in GUESSES if guess != code)


def test_one_identity_may_write_only_a_few_wrong_codes(db_url):
    # Two stores on two engines: two instances of the service on one database.
    first, second = open_database(db_url, migrate=False), open_database(db_url, migrate=False)
    try:
        here, there = AccountStore(first), AccountStore(second)
        owner = here.resolve("telegram", "1")
        code = here.new_link_code(owner.id)
        here.resolve("xmpp", "eve@pbx.test")
        stores = [here, there] * LINK_MAX_ATTEMPTS
        began = utcnow()
        for store in stores[:LINK_MAX_ATTEMPTS]:
            check = store.check_link_code(_wrong(code), "xmpp", "eve@pbx.test")
            assert check.outcome is LinkOutcome.INVALID
        # Now even the right code is not looked at, on either instance.
        for store in (here, there):
            check = store.use_link_code(code, "xmpp", "eve@pbx.test")
            assert check.outcome is LinkOutcome.TOO_MANY
            assert began + LINK_ATTEMPT_WINDOW <= check.retry_at <= utcnow() + LINK_ATTEMPT_WINDOW
        assert here.find_by_identity("xmpp", "eve@pbx.test").id != owner.id
        # Once the window has passed, the identity may try again.
        with first.begin() as connection:
            connection.execute(update(_attempt).values(at=utcnow() - LINK_ATTEMPT_WINDOW * 2))
        assert there.use_link_code(code, "xmpp", "eve@pbx.test").outcome is LinkOutcome.LOCKED
    finally:
        first.dispose()
        second.dispose()


def test_a_code_dies_after_a_few_wrong_codes_anywhere(engine):
    accounts = AccountStore(engine)
    owner = accounts.resolve("telegram", "1")
    code = accounts.new_link_code(owner.id)
    # Each guesser stays under its own limit; together they kill every live code.
    for n in range(LINK_MAX_FAILURES):
        check = accounts.check_link_code(_wrong(code), "xmpp", f"bot{n}@pbx.test")
        assert check.outcome is LinkOutcome.INVALID
    assert accounts.use_link_code(code, "xmpp", "ann@pbx.test").outcome is LinkOutcome.LOCKED
    assert accounts.find_by_identity("xmpp", "ann@pbx.test") is None
    # A new code is not affected by the wrong codes written before it.
    fresh = accounts.new_link_code(owner.id)
    assert accounts.link(fresh, "xmpp", "ann@pbx.test").id == owner.id


def test_own_code_is_neither_used_nor_counted(engine):
    accounts = AccountStore(engine)
    owner = accounts.resolve("telegram", "1")
    code = accounts.new_link_code(owner.id)
    for _ in range(LINK_MAX_ATTEMPTS + 1):
        assert accounts.use_link_code(code, "telegram", "1").outcome is LinkOutcome.OWN
    assert accounts.link(code, "xmpp", "ann@pbx.test").id == owner.id  # still usable


def test_guessing_in_the_chat_is_refused_in_the_users_language(db_url, engine):
    services = build_services(service_settings(db_url), engine=engine)
    assistant = build_assistant(services)
    desk = Sender("console", "desk")
    [issued] = assistant.handle_sync(desk, "link")
    code = issued.text.split()[4].rstrip(".")
    eve = Sender("console", "eve", "fr")
    answers = [assistant.handle_sync(eve, f"lier {_wrong(code)}")[0].text for _ in range(5)]
    assert answers == [t("fr", "link_invalid")] * LINK_MAX_ATTEMPTS
    [refused] = assistant.handle_sync(eve, f"lier {code}")
    account = services.accounts.find_by_identity("console", "eve")
    first = services.accounts.check_link_code(code, "console", "eve").retry_at
    assert first is not None
    local = first.astimezone(ZoneInfo(account.timezone)).strftime("%Y-%m-%d %H:%M")
    assert refused.text == t("fr", "link_too_many", at=local)
    assert first - utcnow() <= LINK_ATTEMPT_WINDOW
    assert first - utcnow() > LINK_ATTEMPT_WINDOW - timedelta(minutes=1)
    # The code's owner is told when the code died.
    ann = Sender("console", "ann", "ru")
    assert assistant.handle_sync(ann, f"связать {code}")[0].text == t("ru", "link_locked")


def test_own_code_on_telegram(db_url, telegram_api, start_service):
    start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.send_text(701, "/link")
    code = telegram_api.wait_messages(701, 1)[0].text.split()[4].rstrip(".")
    telegram_api.send_text(701, f"link {code}")
    assert telegram_api.wait_messages(701, 2)[1].text == t("en", "link_own_code", code=code)
    # Guessing from Telegram: five wrong codes, then the sixth (even right) is refused.
    for n in range(LINK_MAX_ATTEMPTS):
        telegram_api.send_text(702, f"link {_wrong(code)}")
        assert telegram_api.wait_messages(702, n + 1)[n].text == t("en", "link_invalid")
    telegram_api.send_text(702, f"link {code}")
    refused = telegram_api.wait_messages(702, LINK_MAX_ATTEMPTS + 1)[-1].text
    assert refused.startswith(t("en", "link_too_many", at="@").split("@")[0])
