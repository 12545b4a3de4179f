"""Kinds of messages the parser once got wrong, each with its neighbours, in en, fr and ru.

- durations across a change of daylight saving time (elapsed time vs calendar days);
- a time zone named in the message ("10am EST", "heure de Paris", "по московскому времени");
- negated requests ("don't call +X") are never carried out;
- minutes named as parts of an hour ("et quart", "в половине восьмого", "ten to five");
- a reminder relative to an event ("rappelle-moi 1h avant");
- short and noun forms ("rappel : …", "mon num", "solde ?");
- questions about past calls, and hiding one's number said in other words;
- calendar corner cases ("on saturday" on a Saturday, "the 5th" in late December);
- a number's extension ("ext. 456", "poste 12", "доб. 123") is kept, never dropped.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from nlu import command_of, parse
from nlu.commands import Unknown

PAR, MSK, NYC = "Europe/Paris", "Europe/Moscow", "America/New_York"
NOW = "2026-11-28T10:00:00"  # a Saturday; 09:00 UTC


def ask(text: str, now: str = NOW, tz: str = PAR, region: str | None = "FR") -> dict:
    return parse(text, datetime.fromisoformat(now), tz, region)


def same_moment(got: str | None, want: str) -> bool:
    """Same instant and same offset (the result is given in the user's zone)."""
    return (
        got is not None
        and datetime.fromisoformat(got) == datetime.fromisoformat(want)
        and (datetime.fromisoformat(got).utcoffset() == datetime.fromisoformat(want).utcoffset())
    )


# --- 1. durations across a change of daylight saving time -------------------------------
SPRING = "2026-03-29T01:30:00"  # Paris moves from 02:00 (+01:00) to 03:00 (+02:00)
AUTUMN = "2026-10-25T01:30:00+02:00"  # Paris moves back from 03:00 (+02:00) to 02:00 (+01:00)
DAY_BEFORE_SPRING = "2026-03-28T10:00:00"


@pytest.mark.parametrize(
    ("text", "now", "at"),
    [
        # hours and minutes are real elapsed time, added to the instant
        ("remind me in 2 hours to check the oven", SPRING, "2026-03-29T04:30:00+02:00"),
        ("rappelle-moi dans 2 heures de vérifier le four", SPRING, "2026-03-29T04:30:00+02:00"),
        ("напомни через 2 часа проверить духовку", SPRING, "2026-03-29T04:30:00+02:00"),
        ("remind me in 90 minutes to check the oven", SPRING, "2026-03-29T04:00:00+02:00"),
        ("rappelle-moi dans 45 minutes de sortir", SPRING, "2026-03-29T03:15:00+02:00"),
        ("напомни через полчаса выключить плиту", SPRING, "2026-03-29T03:00:00+02:00"),
        ("remind me in 2 hours to check the oven", AUTUMN, "2026-10-25T02:30:00+01:00"),
        ("rappelle-moi dans 2 heures de vérifier le four", AUTUMN, "2026-10-25T02:30:00+01:00"),
        ("напомни через 2 часа проверить духовку", AUTUMN, "2026-10-25T02:30:00+01:00"),
        # a day and a half is not whole days: 36 real hours
        ("remind me in a day and a half to water", DAY_BEFORE_SPRING, "2026-03-29T23:00:00+02:00"),
        ("rappelle-moi dans un jour et demi d'arroser", DAY_BEFORE_SPRING,
         "2026-03-29T23:00:00+02:00"),
        ("напомни через полтора дня полить цветы", DAY_BEFORE_SPRING, "2026-03-29T23:00:00+02:00"),
        # whole days and weeks are calendar days: the same time of day on the wall clock
        ("remind me in 2 days to pay", DAY_BEFORE_SPRING, "2026-03-30T10:00:00+02:00"),
        ("rappelle-moi dans 2 jours de payer", DAY_BEFORE_SPRING, "2026-03-30T10:00:00+02:00"),
        ("напомни через 2 дня заплатить", DAY_BEFORE_SPRING, "2026-03-30T10:00:00+02:00"),
        ("remind me in 2 days at 9 to pay", DAY_BEFORE_SPRING, "2026-03-30T09:00:00+02:00"),
        ("rappelle-moi dans 2 jours à 9h de payer", DAY_BEFORE_SPRING, "2026-03-30T09:00:00+02:00"),
        ("напомни через 2 дня в 9 заплатить", DAY_BEFORE_SPRING, "2026-03-30T09:00:00+02:00"),
        ("remind me in a week to pay", DAY_BEFORE_SPRING, "2026-04-04T10:00:00+02:00"),
        # a wall-clock time skipped by the change is moved forward by the gap
        ("remind me tomorrow at 2:30 to pay", DAY_BEFORE_SPRING, "2026-03-29T03:30:00+02:00"),
    ],
)  # fmt: skip
def test_durations_across_a_change_of_daylight_saving_time(text, now, at):
    got = ask(text, now)
    assert got["intent"] == "remind" and same_moment(got["at"], at), got


def test_a_call_in_hours_across_the_change_is_real_time_too():
    got = ask("call +44 20 7946 0123 in 3 hours", SPRING)
    assert same_moment(got["at"], "2026-03-29T05:30:00+02:00"), got


# --- 2. a time zone named in the message -------------------------------------------------
@pytest.mark.parametrize(
    ("text", "tz", "at", "text_lacks"),
    [
        ("call +44 20 7946 0123 at 10am EST", PAR, "2026-11-28T16:00:00+01:00", None),
        ("call +44 20 7946 0123 at 10am est", PAR, "2026-11-28T16:00:00+01:00", None),
        ("remind me at 9pm PST to call Bob", PAR, "2026-11-29T06:00:00+01:00", "PST"),
        ("remind me at 10 New York time to call Bob", PAR, "2026-11-28T16:00:00+01:00", "York"),
        ("remind me tomorrow at 8:00 UTC to stretch", PAR, "2026-11-29T09:00:00+01:00", "UTC"),
        ("call +44 20 7946 0123 at 18:00 GMT+3", PAR, "2026-11-28T16:00:00+01:00", None),
        ("remind me at 10am Paris time to pay", MSK, "2026-11-28T12:00:00+03:00", "Paris"),
        ("appelle le +44 20 7946 0123 à 10h heure de New York", PAR,
         "2026-11-28T16:00:00+01:00", None),
        ("rappelle-moi à 15h heure de Moscou de payer", PAR, "2026-11-28T13:00:00+01:00", "Moscou"),
        ("rappelle-moi à 10h EST de payer", PAR, "2026-11-28T16:00:00+01:00", "EST"),
        ("rappelle-moi demain à 9h heure de Londres de payer", MSK,
         "2026-11-29T12:00:00+03:00", "Londres"),
        ("напомни в 18 по московскому времени позвонить маме", PAR,
         "2026-11-28T16:00:00+01:00", "московскому"),
        ("позвони на +44 20 7946 0123 в 10 по лондонскому времени", PAR,
         "2026-11-28T11:00:00+01:00", None),
        ("напомни завтра в 10 мск купить хлеб", PAR, "2026-11-29T08:00:00+01:00", "мск"),
        ("напомни в 9 по Москве позвонить маме", NYC, "2026-11-29T01:00:00-05:00", "Москве"),
    ],
)  # fmt: skip
def test_a_time_zone_named_in_the_message(text, tz, at, text_lacks):
    got = ask(text, tz=tz)
    assert same_moment(got["at"], at), got
    if text_lacks is not None:
        assert got["intent"] == "remind" and text_lacks.lower() not in got["text"].lower(), got


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("rappelle-moi à 15h cet après-midi de payer", "2026-11-28T15:00:00+01:00"),
        ("rappelle-moi demain à 9h, c'est urgent, de payer", "2026-11-29T09:00:00+01:00"),
        ("remind me at 10 to pay the rest of the bill", "2026-11-28T10:00:00+01:00"),
    ],
)
def test_words_that_look_like_zones_are_not_zones(text, at):
    got = ask(text, "2026-11-28T09:00:00")
    assert same_moment(got["at"], at), got


def test_est_in_french_is_a_verb():
    assert ask("mon numéro est le 06 12 34 56 78") == {
        "intent": "set_number",
        "lang": "fr",
        "number": "+33612345678",
    }


# --- 3. negated requests -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "refused", "lang"),
    [
        ("don't call +33 6 12 34 56 78", "call", "en"),
        ("do not call +33 6 12 34 56 78", "call", "en"),
        ("please never ring +44 20 7946 0123", "call", "en"),
        ("don't call me tomorrow", "remind", "en"),
        ("don't remind me tomorrow to pay", "remind", "en"),
        ("don't hang up", "hangup", "en"),
        ("n'appelle pas le +33 6 12 34 56 78", "call", "fr"),
        ("ne m'appelle pas demain", "remind", "fr"),
        ("merci de ne pas appeler le +33 6 12 34 56 78", "call", "fr"),
        ("n'appelez jamais le +33 6 12 34 56 78", "call", "fr"),
        ("не звони на +7 903 000 00 01", "call", "ru"),
        ("не надо звонить на +7 903 000 00 01", "call", "ru"),
        ("не звони мне завтра", "remind", "ru"),
        ("не напоминай мне завтра про врача", "remind", "ru"),
    ],
)
def test_a_negated_request_is_never_the_request(text, refused, lang):
    got = ask(text)
    assert got["intent"] == "unknown" and got["negated"] is True, got
    assert (got["negated_intent"], got["lang"]) == (refused, lang)
    command = command_of(got)
    assert isinstance(command, Unknown) and command.negated and command.negated_intent == refused


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("call +44 20 7946 0123 and don't hang up", "call"),
        ("don't forget to call +44 20 7946 0123", "call"),
        ("don't let me forget to call mom tomorrow at 9", "remind"),
        ("remind me not to call +44 20 7946 0123 tomorrow", "remind"),
        ("n'oublie pas de m'appeler demain à 9h", "remind"),
        ("ne pas oublier: appelle le +33 6 12 34 56 78", "call"),
        ("не забудь позвонить мне завтра в 9", "remind"),
        ("звони мне завтра в 9", "remind"),
    ],
)
def test_a_negation_of_something_else_leaves_the_request(text, intent):
    got = ask(text)
    assert got["intent"] == intent and "negated" not in got, got


# --- 4. minutes named as parts of an hour ------------------------------------------------
@pytest.mark.parametrize(
    ("text", "at", "text_has", "lang"),
    [
        ("rappelle-moi demain à dix heures et quart d'appeler le garage", "29T10:15",
         "appeler le garage", "fr"),
        ("rappelle-moi demain à 10h et demie d'appeler le garage", "29T10:30", "garage", "fr"),
        ("rappelle-moi demain à 8h moins le quart de partir", "29T07:45", "partir", "fr"),
        ("rappelle-moi demain à huit heures moins dix de partir", "29T07:50", "partir", "fr"),
        ("rappelle-moi à midi et quart de manger", "28T12:15", "manger", "fr"),
        ("rappelle-moi à minuit moins le quart de dormir", "28T23:45", "dormir", "fr"),
        ("rappelle-moi demain à sept heures trente du soir de sortir", "29T19:30", "sortir",
         "fr"),
        ("напомни завтра в половине восьмого вечера позвонить врачу", "29T19:30",
         "позвонить врачу", "ru"),
        ("напомни завтра без четверти восемь позвонить врачу", "29T07:45", "врачу", "ru"),
        ("напомни завтра без пяти восемь вечера позвонить врачу", "29T19:55", "врачу", "ru"),
        ("напомни завтра в четверть девятого позвонить врачу", "29T08:15", "врачу", "ru"),
        ("напомни завтра полвосьмого утра позвонить врачу", "29T07:30", "врачу", "ru"),
        ("напомни завтра десять минут девятого позвонить врачу", "29T08:10", "врачу", "ru"),
        ("напомни завтра в восемь тридцать вечера позвонить врачу", "29T20:30", "врачу", "ru"),
        ("remind me tomorrow at half past 7 pm to call the doctor", "29T19:30", "doctor", "en"),
        ("remind me tomorrow at quarter to 5 pm to call the doctor", "29T16:45", "doctor", "en"),
        ("remind me tomorrow at ten to five pm to call the doctor", "29T16:50", "doctor", "en"),
        ("remind me tomorrow at twenty past 3 to call the doctor", "29T03:20", "doctor", "en"),
        ("remind me tomorrow at nine thirty pm to call the doctor", "29T21:30", "doctor", "en"),
        ("remind me tomorrow at half nine to call the doctor", "29T09:30", "doctor", "en"),
    ],
)  # fmt: skip
def test_minutes_named_as_parts_of_an_hour(text, at, text_has, lang):
    got = ask(text)
    assert got["intent"] == "remind" and got["lang"] == lang, got
    assert same_moment(got["at"], f"2026-11-{at}:00+01:00"), got
    assert got["text"] == text_has or text_has in got["text"], got
    time_words = ("quart", "demie", "moins", "heure", "половин", "четверт", "без", "минут",
                  "тридцать", "past", "quarter", "half", "thirty", " to ")  # fmt: skip
    assert not any(word in got["text"] for word in time_words), got


def test_a_quarter_hour_as_a_delay():
    got = ask("rappelle-moi dans une heure et quart de sortir")
    assert same_moment(got["at"], "2026-11-28T11:15:00+01:00") and got["text"] == "sortir"


# --- 5. a reminder relative to an event -------------------------------------------------
@pytest.mark.parametrize(
    ("text", "at", "text_has"),
    [
        ("rdv chez le dentiste demain 15h, rappelle-moi 1h avant", "2026-11-29T14:00",
         "dentiste"),
        ("dentist appointment tomorrow at 3pm, remind me an hour before", "2026-11-29T14:00",
         "dentist"),
        ("встреча завтра в 15, напомни за час до", "2026-11-29T14:00", "встреча"),
        ("напомни за 30 минут до встречи завтра в 15", "2026-11-29T14:30", "встреч"),
        ("remind me 15 minutes before the meeting at 3pm", "2026-11-28T14:45", "meeting"),
        ("rappelle-moi la veille du rdv le 3 décembre à 10h", "2026-12-02T10:00", "rdv"),
        ("remind me the day before my flight on december 3 at 7am", "2026-12-02T07:00",
         "flight"),
    ],
)  # fmt: skip
def test_a_reminder_relative_to_an_event(text, at, text_has):
    got = ask(text)
    assert got["intent"] == "remind" and same_moment(got["at"], f"{at}:00+01:00"), got
    assert text_has in got["text"]
    assert not any(w in got["text"] for w in ("avant", "before", "за час", "veille")), got


def test_before_a_time_of_day_is_that_time():
    got = ask("remind me before 5 pm to call Bob")
    assert same_moment(got["at"], "2026-11-28T17:00:00+01:00"), got


# --- 6. short and noun forms -------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("rappel demain à 9h : dentiste",
         {"intent": "remind", "at": "2026-11-29T09:00:00+01:00", "text": "dentiste"}),
        ("reminder tomorrow 9am: dentist",
         {"intent": "remind", "at": "2026-11-29T09:00:00+01:00", "text": "dentist"}),
        ("напоминалка на завтра в 9: стоматолог",
         {"intent": "remind", "at": "2026-11-29T09:00:00+01:00", "text": "стоматолог"}),
        ("rdv demain 15h dentiste", {"intent": "remind", "at": "2026-11-29T15:00:00+01:00"}),
        ("meeting with Bob tomorrow at 3pm",
         {"intent": "remind", "at": "2026-11-29T15:00:00+01:00", "text": "meeting with Bob"}),
        ("встреча с врачом завтра в 15", {"intent": "remind", "at": "2026-11-29T15:00:00+01:00"}),
        ("mon num c'est le 06 12 34 56 78", {"intent": "set_number", "number": "+33612345678"}),
        ("mon tel : 06 12 34 56 78", {"intent": "set_number", "number": "+33612345678"}),
        ("my num is +44 7911 123456", {"intent": "set_number", "number": "+447911123456"}),
        ("мой тел +7 903 111 22 33", {"intent": "set_number", "number": "+79031112233"}),
        ("мой номер: +7 903 111 22 33", {"intent": "set_number", "number": "+79031112233"}),
        ("balance?", {"intent": "balance", "lang": "en"}),
        ("solde ?", {"intent": "balance", "lang": "fr"}),
        ("баланс?", {"intent": "balance", "lang": "ru"}),
        ("hist", {"intent": "history"}),
        ("appels ?", {"intent": "history", "lang": "fr"}),
        ("звонки?", {"intent": "history", "lang": "ru"}),
        ("tel +44 20 7946 0123", {"intent": "call", "to": "+442079460123"}),
        ("переадр на +7 903 111 22 33", {"intent": "forward", "to": "+79031112233"}),
        ("внутр?", {"intent": "extension"}),
    ],
)  # fmt: skip
def test_short_and_noun_forms(text, expect):
    got = ask(text)
    assert {key: got.get(key) for key in expect} == expect, got


def test_rappel_with_a_number_is_not_a_reminder():
    assert ask("rappel au +33 6 12 34 56 78")["intent"] == "call"


# --- 7. questions about past calls; hiding one's number ---------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "which numbers did I call this week?",
        "who did I call yesterday?",
        "list the calls I made",
        "how many calls did I make today?",
        "show me the numbers I called",
        "qui ai-je appelé hier ?",
        "quels numéros ai-je appelés cette semaine ?",
        "les appels que j'ai passés",
        "кому я звонил вчера?",
        "на какие номера я звонил на этой неделе?",
        "сколько раз я звонил сегодня?",
        "мои звонки за неделю",
    ],
)
def test_questions_about_past_calls_are_history(text):
    assert ask(text)["intent"] == "history"


@pytest.mark.parametrize(
    "text",
    [
        "call +44 20 7946 0123 but don't show my number",
        "call +44 20 7946 0123 and do not display my caller id",
        "appelle le +44 20 7946 0123 sans afficher mon numéro",
        "appelle le +44 20 7946 0123 mais n'affiche pas mon numéro",
        "позвони на +44 20 7946 0123, скрой мой номер",
        "позвони на +44 20 7946 0123 и не свети мой номер",
    ],
)
def test_hiding_ones_number_in_other_words(text):
    got = ask(text)
    assert (got["intent"], got["to"], got["anonymous"]) == ("call", "+442079460123", True), got


def test_showing_ones_number_is_not_hiding_it():
    assert ask("call +44 20 7946 0123 and show my number")["anonymous"] is False


# --- 8. calendar corner cases ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "now", "at"),
    [
        ("remind me on saturday to shop", NOW, "2026-12-05T09:00:00+01:00"),
        ("rappelle-moi samedi de faire les courses", NOW, "2026-12-05T09:00:00+01:00"),
        ("напомни в субботу сходить в магазин", NOW, "2026-12-05T09:00:00+01:00"),
        ("remind me at quarter to 5 pm to leave", NOW, "2026-11-28T16:45:00+01:00"),
        ("rappelle-moi à 5h moins le quart de l'après-midi de partir", NOW,
         "2026-11-28T16:45:00+01:00"),
        ("напомни без четверти пять вечера уйти", NOW, "2026-11-28T16:45:00+01:00"),
        ("remind me on the 5th to pay", "2026-12-28T10:00:00", "2027-01-05T09:00:00+01:00"),
        ("rappelle-moi le 5 de payer", "2026-12-28T10:00:00", "2027-01-05T09:00:00+01:00"),
        ("напомни 5-го заплатить", "2026-12-28T10:00:00", "2027-01-05T09:00:00+01:00"),
        ("remind me in a day and a half to water", NOW, "2026-11-29T22:00:00+01:00"),
        ("rappelle-moi dans un jour et demi d'arroser", NOW, "2026-11-29T22:00:00+01:00"),
        ("напомни через полтора дня полить", NOW, "2026-11-29T22:00:00+01:00"),
    ],
)  # fmt: skip
def test_calendar_corner_cases(text, now, at):
    got = ask(text, now)
    assert got["intent"] == "remind" and same_moment(got["at"], at), got


def test_a_local_number_takes_the_region_of_the_users_own_number():
    assert ask("call 06 12 34 56 78", region="FR")["to"] == "+33612345678"
    assert ask("call 06 12 34 56 78", region=None)["to"] is None


# --- 11. a number's extension ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "to", "dtmf"),
    [
        ("call +44 20 7946 0123 ext. 456", "+442079460123", "456"),
        ("call +44 20 7946 0123 ext 456", "+442079460123", "456"),
        ("call +44 20 7946 0123, extension 4567", "+442079460123", "4567"),
        ("call +44 20 7946 0123 x456", "+442079460123", "456"),
        ("call +1 212 555 0123 #12", "+12125550123", "12"),
        ("call +1 212 555 0123 ext. no. 12", "+12125550123", "12"),
        ("appelle le +33 1 23 45 67 89 poste 12", "+33123456789", "12"),
        ("appelle le 01 23 45 67 89 p. 204", "+33123456789", "204"),
        ("appelle le +33 1 23 45 67 89 poste n° 7", "+33123456789", "7"),
        ("позвони на +7 495 123 45 67 доб. 123", "+74951234567", "123"),
        ("позвони на +7 495 123 45 67, добавочный 123", "+74951234567", "123"),
        ("позвони на +7 495 123 45 67 вн. 21", "+74951234567", "21"),
        ("call +1 212 555 0123 then call me at +33 6 12 34 56 78", "+12125550123", None),
        ("call me at +33 6 12 34 56 78 ext. 9 then call +1 212 555 0123", "+12125550123", None),
    ],
)
def test_a_numbers_extension_is_dialled_not_dropped(text, to, dtmf):
    got = ask(text)
    assert (got["intent"], got["to"], got["dtmf"]) == ("call", to, dtmf), got
    assert command_of(got).dtmf == (dtmf or "")


@pytest.mark.parametrize(
    ("text", "at"),
    [  # the extension's digits are never a time, and a time is never an extension
        ("call +44 20 7946 0123 ext. 456 at 3pm", "2026-11-28T15:00:00+01:00"),
        ("appelle le +33 1 23 45 67 89 poste 12 demain à 10h", "2026-11-29T10:00:00+01:00"),
        ("позвони на +7 495 123 45 67 доб. 123 завтра в 9", "2026-11-29T09:00:00+01:00"),
    ],
)
def test_an_extension_beside_a_time(text, at):
    got = ask(text)
    assert got["dtmf"] and same_moment(got["at"], at), got


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("call +1 212 555 0123 x 15h", "2026-11-28T15:00:00+01:00"),
        ("call +1 212 555 0123 ext 9 am", "2026-11-29T09:00:00+01:00"),
        ("call +1 212 555 0123", None),
    ],
)
def test_digits_that_are_a_time_are_not_an_extension(text, at):
    got = ask(text)
    assert (got["to"], got["dtmf"]) == ("+12125550123", None), got
    assert same_moment(got["at"], at) if at else got["at"] is None, got


# --- 12. internal extensions of the exchange -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "to", "frm"),
    [
        ("call 1002 then call me at 1001", "1002", "1001"),
        ("call 1002", "1002", "me"),
        ("call extension 1002", "1002", "me"),
        ("connect 1001 to 1002", "1002", "1001"),
        ("appelle le 1002", "1002", "me"),
        ("appelle le poste 1002 puis appelle-moi au 1001", "1002", "1001"),
        ("позвони на 1002", "1002", "me"),
        ("позвони на 1002, потом мне на 1001", "1002", "1001"),
        ("call +44 20 7946 0123 then call me at 1001", "+442079460123", "1001"),
    ],
)
def test_an_extension_is_a_number_to_call(text, to, frm):
    got = ask(text)
    assert (got["intent"], got["to"], got["from"]) == ("call", to, frm), got


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("call 1002 at 15:30", "2026-11-28T15:30:00+01:00"),
        ("call +44 20 7946 0123 at 15h", "2026-11-28T15:00:00+01:00"),
    ],
)
def test_an_extension_never_takes_the_digits_of_a_time(text, at):
    got = ask(text)
    assert got["to"] is not None and same_moment(got["at"], at), got


@pytest.mark.parametrize(
    "text", ["call me in 10 minutes", "call 12 34 56", "remind me in 20 minutes to call"]
)
def test_digits_that_are_no_extension(text):
    got = ask(text)
    assert got.get("to") is None, got
