"""The parser as the assistant uses it: the region of the user's own number, and negated
requests answered, in the message's language, with nothing done."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Sender
from bot.assistant.i18n import t
from storage import open_database
from storage.reminders import ReminderStore
from tests.conftest_chat import service_settings

NOW = datetime(2030, 11, 28, 10, 0, tzinfo=UTC)


def _assistant(db_url: str) -> Assistant:
    engine = open_database(db_url, migrate=False)
    return build_assistant(build_services(service_settings(db_url), engine=engine, scheduler=True))


def test_a_local_number_is_read_in_the_country_of_the_users_own_number(db_url):
    assistant = _assistant(db_url)
    ann = Sender("console", "ann", "en")
    account = assistant.services.accounts.resolve("console", "ann")
    assistant.services.accounts.update(account.id, phone_number="+33699999999", phone_verified=True)
    understood = assistant.handle_sync(ann, "call 06 12 34 56 78", now=NOW)[0].text
    assert understood.startswith("Understood: call +33 6 12 34 56 78, then connect you")
    bob = Sender("console", "bob", "en")  # no own number: no region to read it in
    assert assistant.handle_sync(bob, "call 06 12 34 56 78", now=NOW)[0].text == t(
        "en", "call_need_number"
    )
    assistant.services.engine.dispose()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("don't call +33 6 12 34 56 78", "en"),
        ("don't call me tomorrow", "en"),
        ("n'appelle pas le +33 6 12 34 56 78", "fr"),
        ("ne m'appelle pas demain", "fr"),
        ("не звони на +7 903 000 00 01", "ru"),
        ("не звони мне завтра", "ru"),
    ],
)
def test_a_negated_request_is_answered_and_nothing_is_done(db_url, text, lang):
    assistant = _assistant(db_url)
    sender = Sender("console", "ann", "en")
    replies = assistant.handle_sync(sender, text, now=NOW)
    assert [r.text for r in replies] == [t(lang, "negated_nothing_done")]
    assert not replies[0].buttons  # no call offered
    account = assistant.services.accounts.resolve("console", "ann")
    assert ReminderStore(assistant.services.engine).pending(account.id) == []
    assert assistant.services.calls.history(account.id) == []
    assistant.services.engine.dispose()
