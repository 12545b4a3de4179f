"""A message is read at the moment it was sent (Telegram's date; XMPP's delay stamp in
test_chat_xmpp.py; the console: now), and a late one is told when its moment has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.i18n import t
from domain.clock import utcnow
from storage import open_database
from storage.accounts import AccountStore
from storage.reminders import ReminderStore
from tests.conftest_chat import service_settings, telegram_settings

LATE = 1101


def _minute(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def test_a_late_telegram_update_is_timed_from_its_date(db_url, telegram_api, start_service):
    start_service(**telegram_settings(db_url, telegram_api))
    sent = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    telegram_api.send_text(LATE, "remind me in 10 minutes to call mum", date=sent)
    [passed] = telegram_api.wait_messages(LATE, 1)
    assert passed.text == t(
        "en", "moment_passed", sent=_minute(sent), at=_minute(sent + timedelta(minutes=10))
    )
    # Still to come when read: scheduled from the date it was written, not from now.
    telegram_api.send_text(LATE, "rappelle-moi dans 3 heures d'acheter du pain", date=sent)
    saved = telegram_api.wait_messages(LATE, 2)[1].text
    fire_at = sent + timedelta(hours=3)
    assert saved.startswith(t("fr", "remind_saved", at="@", channel="", text="").split("@")[0])
    assert _minute(fire_at) in saved
    engine = open_database(db_url, migrate=False)
    account = AccountStore(engine).find_by_identity("telegram", str(LATE))
    [reminder] = ReminderStore(engine).pending(account.id)
    engine.dispose()
    assert abs(reminder.fire_at - fire_at) < timedelta(seconds=2)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_console_reads_its_messages_now(db_url, engine):
    services = build_services(service_settings(db_url), engine=engine, scheduler=True)
    assistant = build_assistant(services)
    desk = Sender("console", "desk")
    before = utcnow()
    [saved] = assistant.handle_sync(desk, "remind me in 10 minutes to call mum")
    assert saved.text.startswith("I'll remind you on ")
    account = services.accounts.find_by_identity("console", "desk")
    [reminder] = services.reminders.pending(account.id)
    assert before + timedelta(minutes=10) - timedelta(seconds=1) <= reminder.fire_at
    assert reminder.fire_at <= utcnow() + timedelta(minutes=10)
    # A message dated in the future (a skewed clock) is read as sent now.
    [again] = assistant.handle_sync(
        desk, "remind me in 10 minutes to eat", sent=utcnow() + timedelta(hours=5)
    )
    assert again.text.startswith("I'll remind you on ")
    assert max(r.fire_at for r in services.reminders.pending(account.id)) < utcnow() + timedelta(
        minutes=11
    )
