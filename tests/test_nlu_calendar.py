"""The `reminders` and `calendar` intents (en, fr, ru), their typed commands, and web
addresses never read as phone numbers, times or amounts by any intent."""

from __future__ import annotations

import pytest

from nlu import command_of, parse
from nlu.commands import Calendar, Reminders, Unknown

NOW = "2026-11-28T10:00:00"
PAR = "Europe/Paris"
GOOGLE = (
    "https://calendar.google.com/calendar/ical/alice%40gmail.com/"
    "private-1234567890abcdef1234567890abcdef/basic.ics"
)
TOKEN = "https://example.com/cal.ics?token=12345678"


def ask(text: str, region: str | None = None) -> dict:
    return parse(text, NOW, PAR, region)


# ------------------------------------------------------------------ reminders
@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my reminders", "en"),
        ("list reminders", "en"),
        ("what are my reminders", "en"),
        ("what reminders do I have", "en"),
        ("show my reminders", "en"),
        ("reminders", "en"),
        ("mes rappels", "fr"),
        ("quels sont mes rappels", "fr"),
        ("liste mes rappels", "fr"),
        ("мои напоминания", "ru"),
        ("покажи напоминания", "ru"),
        ("какие у меня напоминания", "ru"),
        ("список напоминаний", "ru"),
    ],
)
def test_the_reminders_are_listed(text, lang):
    got = ask(text)
    want = {"intent": "reminders", "lang": lang, "action": "list", "number": None}
    assert got == {**want, "about": None, "all": False}, got


@pytest.mark.parametrize(
    ("text", "number", "about", "everything", "lang"),
    [
        ("stop the medicine reminder", None, "medicine", False, "en"),
        ("cancel reminder 2", 2, None, False, "en"),
        ("delete reminder #2", 2, None, False, "en"),
        ("cancel the 2nd reminder", 2, None, False, "en"),
        ("delete the monday reminder", None, "monday", False, "en"),
        ("cancel my reminder about the dentist", None, "dentist", False, "en"),
        ("remove the reminder to call mom", None, "call mom", False, "en"),
        ("stop reminding me about the pills", None, "pills", False, "en"),
        ("delete all my reminders", None, None, True, "en"),
        ("delete my reminders", None, None, True, "en"),
        ("supprime le rappel du lundi", None, "lundi", False, "fr"),
        ("annule le rappel 2", 2, None, False, "fr"),
        ("supprime le rappel n°3", 3, None, False, "fr"),
        ("arrête le rappel des médicaments", None, "médicaments", False, "fr"),
        ("arrete le rappel des medicaments", None, "medicaments", False, "fr"),
        ("supprime tous mes rappels", None, None, True, "fr"),
        ("удали напоминание про таблетки", None, "таблетки", False, "ru"),
        ("отмени напоминание 2", 2, None, False, "ru"),
        ("убери напоминание 3", 3, None, False, "ru"),
        ("удали напоминание номер 2", 2, None, False, "ru"),
        ("удали все напоминания", None, None, True, "ru"),
        ("перестань напоминать про воду", None, "воду", False, "ru"),
    ],
)
def test_a_reminder_is_cancelled(text, number, about, everything, lang):
    got = ask(text)
    want = {"intent": "reminders", "lang": lang, "action": "cancel", "number": number}
    assert got == {**want, "about": about, "all": everything}, got


@pytest.mark.parametrize(
    "text",
    [
        "remind me to stop the heating tomorrow at 9",
        "remind me tomorrow at 9 to cancel the reminder",
        "set a reminder for tomorrow at 9 to call mom",
        "reminder tomorrow 9am call mom",
        "rappel demain 9h : annuler le resto",
        "rappelle-moi demain d'arrêter le chauffage",
        "напоминание на завтра в 9 отменить встречу",
        "напомни завтра удалить напоминание",
    ],
)
def test_a_reminder_to_set_stays_remind(text):
    assert ask(text)["intent"] == "remind", ask(text)


@pytest.mark.parametrize(
    "text", ["don't delete my reminders", "ne supprime pas mes rappels", "не удаляй напоминания"]
)
def test_a_negated_cancel_cancels_nothing(text):
    got = ask(text)
    assert got["intent"] == "unknown" and got.get("negated") is True, got
    assert got["negated_intent"] == "reminders", got


# ------------------------------------------------------------------ calendar
def cal(action, url=None, username=None, password=None, minutes=None, channel=None, number=None):
    return {
        "intent": "calendar",
        "action": action,
        "url": url,
        "username": username,
        "password": password,
        "minutes": minutes,
        "channel": channel,
        "number": number,
    }


@pytest.mark.parametrize(
    ("text", "want", "lang"),
    [
        (f"connect my calendar {GOOGLE}", cal("connect", GOOGLE), "en"),
        (
            "add my calendar webcal://p01-caldav.icloud.com/published/2/MTIzNDU2Nzg5",
            cal("connect", "webcal://p01-caldav.icloud.com/published/2/MTIzNDU2Nzg5"),
            "en",
        ),
        (f"subscribe to calendar {TOKEN}", cal("connect", TOKEN), "en"),
        (f"connecte mon agenda {GOOGLE}", cal("connect", GOOGLE), "fr"),
        (f"ajoute mon calendrier {TOKEN}", cal("connect", TOKEN), "fr"),
        (f"подключи календарь {GOOGLE}", cal("connect", GOOGLE), "ru"),
        ("connect my calendar", cal("connect"), "en"),
        # the URL alone, a calendar's
        (GOOGLE, cal("connect", GOOGLE), "en"),
        (TOKEN, cal("connect", TOKEN), "en"),
        (f"  {TOKEN}.", cal("connect", TOKEN), "en"),
        (
            "https://cloud.example.org/remote.php/dav/calendars/alice/personal/",
            cal("connect", "https://cloud.example.org/remote.php/dav/calendars/alice/personal/"),
            "en",
        ),
        # CalDAV accounts
        (
            "connect my calendar https://dav.example.com/ user alice password s3cr#t!",
            cal("connect", "https://dav.example.com/", "alice", "s3cr#t!"),
            "en",
        ),
        (
            "connect caldav https://dav.example.com/ login alice pass 0612345678",
            cal("connect", "https://dav.example.com/", "alice", "0612345678"),
            "en",
        ),
        (
            "connecte mon agenda https://dav.example.com/ utilisateur alice mot de passe p@ss:1234",
            cal("connect", "https://dav.example.com/", "alice", "p@ss:1234"),
            "fr",
        ),
        (
            "ajoute mon agenda https://dav.example.com/ identifiant Alice.B mot de passe x",
            cal("connect", "https://dav.example.com/", "Alice.B", "x"),
            "fr",
        ),
        (
            "подключи календарь https://dav.example.com/ логин alice пароль Секрет-123",
            cal("connect", "https://dav.example.com/", "alice", "Секрет-123"),
            "ru",
        ),
        (
            "подключи календарь https://dav.example.com/ пользователь alice",
            cal("connect", "https://dav.example.com/", "alice"),
            "ru",
        ),
        # listed
        ("my calendars", cal("list"), "en"),
        ("mes agendas", cal("list"), "fr"),
        ("mes calendriers", cal("list"), "fr"),
        ("мои календари", cal("list"), "ru"),
        # disconnected
        ("disconnect my calendar", cal("disconnect"), "en"),
        ("remove calendar 2", cal("disconnect", number=2), "en"),
        ("déconnecte mon agenda", cal("disconnect"), "fr"),
        ("supprime l'agenda 2", cal("disconnect", number=2), "fr"),
        ("отключи календарь", cal("disconnect"), "ru"),
        ("удали календарь 2", cal("disconnect", number=2), "ru"),
        # the reminders exported
        ("export my reminders", cal("export"), "en"),
        ("export reminders as ics", cal("export"), "en"),
        ("exporte mes rappels", cal("export"), "fr"),
        ("экспортируй напоминания", cal("export"), "ru"),
        ("выгрузи напоминания", cal("export"), "ru"),
        # the events' default reminder
        (
            "calendar reminders 30 minutes before by message",
            cal("defaults", minutes=30, channel="message"),
            "en",
        ),
        (
            "remind me of calendar events 10 minutes before by call",
            cal("defaults", minutes=10, channel="call"),
            "en",
        ),
        ("remind me of calendar events 1 hour before", cal("defaults", minutes=60), "en"),
        ("calendar reminders by call", cal("defaults", channel="call"), "en"),
        (
            "rappels d'agenda 10 minutes avant par message",
            cal("defaults", minutes=10, channel="message"),
            "fr",
        ),
        (
            "rappels d'agenda une heure avant par appel",
            cal("defaults", minutes=60, channel="call"),
            "fr",
        ),
        (
            "напоминай о событиях календаря за 30 минут звонком",
            cal("defaults", minutes=30, channel="call"),
            "ru",
        ),
        (
            "напоминай о событиях календаря за час сообщением",
            cal("defaults", minutes=60, channel="message"),
            "ru",
        ),
    ],
)
def test_the_calendar_intent(text, want, lang):
    got = ask(text)
    assert got == {**want, "lang": lang}, got


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("remind me to connect my calendar tomorrow at 9", "remind"),
        ("rappelle-moi demain d'exporter mes rappels", "remind"),
        ("export my data", "my_data"),
        ("hang up", "hangup"),
        ("disconnect", "hangup"),
        ("connect me to +33 6 12 34 56 78", "call"),
        ("new sip password", "softphone"),
        ("subscribe to Business", "plan"),
        ("read https://example.com/news/2026", "unknown"),
    ],
)
def test_the_neighbours_keep_their_intent(text, intent):
    assert ask(text)["intent"] == intent, ask(text)


def test_a_negated_disconnect_disconnects_nothing():
    got = ask("don't disconnect my calendar")
    assert (got["intent"], got.get("negated_intent")) == ("unknown", "calendar"), got


# ------------------------------------------------------------------ URLs are no numbers
def test_url_digits_are_never_a_phone_number_a_time_or_an_amount():
    got = ask(f"call +33 6 12 34 56 78 and read {TOKEN}", region="FR")
    assert (got["intent"], got["to"], got["from"]) == ("call", "+33612345678", "me"), got
    got = ask("call me at https://example.com/0612345678", region="FR")
    assert got["to"] is None, got
    got = ask("remind me tomorrow at 9 to read https://example.com/2026/10/24/post-1830")
    assert got["at"] == "2026-11-29T09:00:00+01:00", got
    assert got["text"] == "read https://example.com/2026/10/24/post-1830", got
    got = ask("deposit 5 ETT see https://x.org/100")
    assert got["amount"] == 5, got
    got = ask(f"connect my calendar {GOOGLE}", region="FR")
    assert got["url"] == GOOGLE and got["minutes"] is None, got
    got = ask(f"subscribe {TOKEN} 15 minutes before")
    assert (got["intent"], got["url"], got["minutes"]) == ("calendar", TOKEN, 15), got


# ------------------------------------------------------------------ typed commands
def test_the_typed_commands():
    cmd = command_of(ask("cancel reminder 2"))
    assert cmd == Reminders("en", action="cancel", number=2, about=None, all=False)
    cmd = command_of(ask("supprime le rappel du lundi"))
    assert cmd == Reminders("fr", action="cancel", number=None, about="lundi", all=False)
    cmd = command_of(ask("connect my calendar https://dav.example.com/ user alice password s3cret"))
    assert cmd == Calendar(
        "en", action="connect", url="https://dav.example.com/", username="alice", password="s3cret"
    )
    cmd = command_of(ask("calendar reminders 30 minutes before by message"))
    assert cmd == Calendar("en", action="defaults", minutes=30, channel="message")


@pytest.mark.parametrize(
    "parsed",
    [
        {"intent": "reminders", "action": 3, "number": "2", "about": 5, "all": "yes"},
        {"intent": "calendar", "action": "explode", "url": 7, "minutes": True, "channel": "fax"},
        {"intent": "calendar", "number": 2.5, "password": ["x"]},
    ],
)
def test_the_typed_commands_never_raise_on_odd_slots(parsed):
    cmd = command_of(parsed)
    assert isinstance(cmd, (Reminders, Calendar))
    if isinstance(cmd, Reminders):
        assert (cmd.action, cmd.number, cmd.about, cmd.all) == ("list", None, None, False)
    else:
        assert cmd.action == "list" and cmd.url is None and cmd.minutes is None
        assert cmd.channel is None and cmd.number is None and cmd.password is None


def test_an_unknown_intent_is_still_unknown():
    assert isinstance(command_of({"intent": "calendars"}), Unknown)
