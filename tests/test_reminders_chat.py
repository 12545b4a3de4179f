"""Repeating reminders and calendars from the chat, in English, French and Russian: on the
assistant, then end to end on Telegram (the Bot API emulator: an .ics document sent by
the user, the export received as a document) and XMPP (prosody: a file shared by HTTP
upload and out-of-band link)."""

from __future__ import annotations

import asyncio
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.adapters.console import run_console
from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.i18n import t
from domain.clock import utcnow
from storage import open_database
from tests.conftest_chat import service_settings, telegram_settings, xmpp_settings

PARIS = ZoneInfo("Europe/Paris")
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

FORMS = [
    ("en", "remind me every monday at 9 to call mom", "call mom", "FREQ=WEEKLY;BYDAY=MO",
     (0, 9, 0), "my reminders", "stop the mom reminder"),
    ("fr", "rappelle-moi chaque jour à 8h de prendre mes médicaments",
     "prendre mes médicaments", "FREQ=DAILY", (None, 8, 0), "mes rappels",
     "supprime le rappel des médicaments"),
    ("ru", "напоминай по будням в 8:30 сделать зарядку", "сделать зарядку",
     "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", (None, 8, 30), "мои напоминания",
     "удали напоминание про зарядку"),
]  # fmt: skip


def _chat(db_url: str, lang: str):
    settings = service_settings(db_url)
    services = build_services(settings, engine=open_database(db_url, migrate=False), scheduler=True)
    sender = Sender("console", f"user-{lang}", lang)
    account = services.accounts.resolve("console", sender.external_id, language=lang)
    services.accounts.update(account.id, timezone="Europe/Paris")
    return services, build_assistant(services), sender, account.id


def _text(replies) -> str:
    return "\n".join(reply.text for reply in replies)


@pytest.mark.parametrize(("lang", "ask", "what", "rule", "at", "listing", "stop"), FORMS)
def test_a_repeating_reminder_is_stored_listed_and_stopped(
    db_url, lang, ask, what, rule, at, listing, stop
):
    services, assistant, me, account_id = _chat(db_url, lang)
    once = {"en": "remind me tomorrow at 10 to buy bread",
            "fr": "rappelle-moi demain à 10h d'acheter du pain",
            "ru": "напомни завтра в 10 купить хлеб"}[lang]  # fmt: skip
    assistant.handle_sync(me, once)

    answer = _text(assistant.handle_sync(me, ask))
    again = _text(assistant.handle_sync(me, ask))  # sent twice: kept once, and said so

    (series,) = services.series.active(account_id)
    assert again.startswith(t(lang, "remind_repeat_already", when="", text="")[:12])
    assert (series.rule, series.text, series.timezone) == (rule, what, "Europe/Paris")
    weekday, hour, minute = at
    first = series.next_at.astimezone(PARIS)
    assert (first.hour, first.minute) == (hour, minute) and first > utcnow()
    if weekday is not None:
        assert first.weekday() == weekday
    assert what in answer and first.strftime("%Y-%m-%d %H:%M") in answer

    listed = _text(assistant.handle_sync(me, listing))
    assert listed.startswith(t(lang, "reminders_header"))
    lines = listed.splitlines()[1:-1]
    assert len(lines) == 2 and any(what in line for line in lines)

    stopped = _text(assistant.handle_sync(me, stop))
    assert stopped.startswith(t(lang, "reminders_stopped_one", what="").rstrip())
    assert what in stopped
    assert services.series.active(account_id) == []
    assert len(services.reminders.pending(account_id)) == 1  # the one-off one stays

    # By number: the only one left is number 1.
    number = {"en": "cancel reminder 1", "fr": "annule le rappel 1",
              "ru": "отмени напоминание 1"}[lang]  # fmt: skip
    assistant.handle_sync(me, number)
    assert services.reminders.pending(account_id) == []
    assert _text(assistant.handle_sync(me, listing)) == t(lang, "reminders_none")
    services.engine.dispose()


def test_a_name_that_fits_two_reminders_asks_which(db_url):
    services, assistant, me, account_id = _chat(db_url, "en")
    assistant.handle_sync(me, "remind me every monday at 9 to call mom")
    assistant.handle_sync(me, "remind me every friday at 18 to call mom back")
    assistant.handle_sync(me, "remind me every weekday at 7 to stretch")
    answer = _text(assistant.handle_sync(me, "stop the mom reminder"))
    assert answer.startswith(t("en", "reminders_several", about="mom"))
    assert len(services.series.active(account_id)) == 3
    answer = _text(assistant.handle_sync(me, "stop reminder 9"))
    assert answer.startswith(t("en", "reminders_no_number", number=9))
    # Monday: the every-weekday one falls on Mondays too, but only one is on Mondays alone.
    answer = _text(assistant.handle_sync(me, "stop the monday reminder"))
    assert "call mom" in answer and "back" not in answer
    rules = sorted(s.rule for s in services.series.active(account_id))
    assert rules == ["FREQ=WEEKLY;BYDAY=FR", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"]
    answer = _text(assistant.handle_sync(me, "stop the dentist reminder"))
    assert answer.startswith(t("en", "reminders_no_match", about="dentist"))
    services.engine.dispose()


IMPOSSIBLE = [
    ("fr", "rappelle-moi toutes les 2 minutes de respirer", "remind_repeat_too_often"),
    ("en", "remind me every 0 days to breathe", "remind_repeat_zero"),
    ("en", "remind me every 30 seconds to blink", "remind_repeat_too_often"),
    ("en", "remind me on the 32nd of every month to pay", "remind_repeat_no_such_day"),
    ("ru", "напоминай каждый день в 25:00 спать", "remind_repeat_no_such_time"),
    ("en", "remind me tomorrow at 25:00 to sleep", "remind_repeat_no_such_time"),
]


@pytest.mark.parametrize(("lang", "ask", "key"), IMPOSSIBLE)
def test_impossible_repeats_and_times_are_refused_in_the_users_language(db_url, lang, ask, key):
    services, assistant, me, account_id = _chat(db_url, lang)
    assert _text(assistant.handle_sync(me, ask)) == t(lang, key)
    assert services.series.active(account_id) == []
    assert services.reminders.pending(account_id) == []
    services.engine.dispose()


def test_a_day_some_months_lack_is_said_and_the_last_day_is_offered(db_url):
    services, assistant, me, account_id = _chat(db_url, "en")
    answer = _text(assistant.handle_sync(me, "remind me on the 31st of every month to pay"))
    assert answer.endswith(t("en", "remind_repeat_short_months"))
    answer = _text(assistant.handle_sync(me, "remind me on the last day of every month to pay"))
    assert t("en", "remind_repeat_short_months") not in answer
    rules = sorted(s.rule for s in services.series.active(account_id))
    assert rules == ["FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;BYMONTHDAY=31"]
    services.engine.dispose()


def _ics(day: date) -> bytes:
    start = datetime.combine(day, time(15)).strftime("%Y%m%dT%H%M%S")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:dentist-1\r\nDTSTAMP:20261201T000000Z\r\n"
        f"DTSTART:{start}\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


@sqlite_only
def test_telegram_repeats_imports_an_ics_document_once_and_exports(
    db_url, telegram_api, start_service
):
    user = 7017
    service = start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.send_text(user, "/tz Europe/Paris")
    telegram_api.wait_messages(user, 1)
    telegram_api.send_text(user, "remind me every monday at 9 to call mom")
    saved = telegram_api.wait_messages(user, 2)[1].text
    assert "call mom" in saved and "Monday" in saved

    day = (utcnow().astimezone(PARIS) + timedelta(days=2)).date()
    telegram_api.send_document(user, "dentist.ics", _ics(day))
    imported = telegram_api.wait_messages(user, 5)[2:5]
    assert imported[0].text.startswith("📅") and "dentist.ics" in imported[0].text
    fire = datetime.combine(day, time(14, 45)).strftime("%Y-%m-%d %H:%M")  # 15 min before
    assert fire in imported[1].text and "Dentist" in imported[1].text
    telegram_api.send_document(user, "dentist.ics", _ics(day))
    again = telegram_api.wait_messages(user, 6)[5].text
    assert again.startswith(t("en", "calendar_file_already", label="dentist.ics", at="")[:30])

    telegram_api.send_text(user, "my reminders")
    listed = telegram_api.wait_messages(user, 7)[6].text
    assert "call mom" in listed and "Dentist" in listed

    telegram_api.send_text(user, "export my reminders")
    exported = telegram_api.wait_messages(user, 8)[7]
    assert exported.document["file_name"].endswith(".ics")
    calendar = Calendar.from_ical(telegram_api.file_bytes(exported.document["file_id"]))
    (event,) = calendar.walk("VEVENT")  # the calendar's own events are not exported back
    assert str(event["SUMMARY"]) == "call mom"
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO"
    services = service.assistant.services
    account = services.accounts.find_by_identity("telegram", str(user))
    assert len(services.calendars.of_account(account.id)) == 1


@pytest.mark.xmpp
@sqlite_only
def test_xmpp_repeats_and_imports_a_shared_ics_file(db_url, prosody, start_service, xmpp_user):
    jid, password = prosody.register()
    service = start_service(**xmpp_settings(prosody, jid, password, FETCH_ALLOW_PRIVATE=True))
    service.wait_ready("xmpp")
    ann = xmpp_user(prosody)
    ann.ask(jid, "/tz Europe/Paris")
    saved = ann.ask(jid, "напоминай каждый понедельник в 9 позвонить маме")
    assert "позвонить маме" in saved and "понедельник" in saved

    day = (utcnow().astimezone(PARIS) + timedelta(days=2)).date()
    ann.share_file(jid, "врач.ics", _ics(day), "text/calendar")
    replies = ann.wait_messages(5)[2:5]
    assert replies[0].startswith("📅") and "врач.ics" in replies[0]
    assert "Dentist" in replies[1]
    listed = ann.ask(jid, "мои напоминания")
    assert "позвонить маме" in listed and "Dentist" in listed
    services = service.assistant.services
    account = services.accounts.find_by_identity("xmpp", ann.jid)
    (calendar,) = services.calendars.of_account(account.id)
    assert calendar.kind == "file" and calendar.label == "врач.ics"


def test_the_console_sends_a_file_with_slash_file(db_url, tmp_path):
    services, assistant, me, account_id = _chat(db_url, "en")
    day = (utcnow().astimezone(PARIS) + timedelta(days=2)).date()
    path = tmp_path / "dentist.ics"
    path.write_bytes(_ics(day))
    stdin = io.StringIO(f"/file {path}\n/file {path}\n/file {tmp_path / 'missing.ics'}\n")
    stdout = io.StringIO()

    asyncio.run(run_console(assistant, me.external_id, asyncio.Event(), stdin, stdout, tmp_path))

    out = stdout.getvalue()
    assert out.startswith("📅") and "dentist.ics" in out
    assert out.count("📅") == 1  # the same file again is recognised, not imported twice
    assert t("en", "calendar_file_already", label="dentist.ics", at="")[:40] in out
    assert "missing.ics: No such file or directory" in out
    assert len(services.calendars.of_account(account_id)) == 1
    services.engine.dispose()


def test_an_end_already_passed_is_said_and_an_hourly_window_repeats_daily(db_url):
    services, assistant, me, account_id = _chat(db_url, "en")
    evening = datetime.combine(utcnow().astimezone(PARIS).date(), time(19), PARIS)
    ask = "remind me every 2 hours until 18:00 to drink water"
    assert _text(assistant.handle_sync(me, ask, now=evening)) == t("en", "remind_repeat_ended")
    window = "remind me every hour from 9 to 18 to drink water"
    answer = _text(assistant.handle_sync(me, window, now=evening - timedelta(hours=9)))
    assert "every hour from 09:00 to 18:00" in answer
    (series,) = services.series.active(account_id)
    assert series.rule == "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16,17,18;BYMINUTE=0"
    services.engine.dispose()
