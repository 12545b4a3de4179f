"""The message catalogues: every sentence in every language, with the same placeholders;
and what the user reads of them: amounts, numbers, call statuses, history."""

from __future__ import annotations

import string
from datetime import timedelta

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.i18n import LANGUAGES, catalogue, t
from bot.features.account import skills
from bot.features.calls import status
from domain.clock import utcnow
from domain.money import to_units
from nlu import parse
from storage.models import CallRecord
from tests.conftest_chat import service_settings


def _placeholders(template: object) -> set[str]:
    if not isinstance(template, str):
        return set()
    return {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_language_has_every_key_with_the_same_placeholders(lang):
    english, other = catalogue("en"), catalogue(lang)
    assert sorted(set(english) - set(other)) == []
    assert sorted(set(other) - set(english)) == []
    differing = {
        key: (_placeholders(english[key]), _placeholders(other[key]))
        for key in english
        if _placeholders(english[key]) != _placeholders(other[key])
    }
    assert differing == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_sentence_is_empty_or_left_in_english(lang):
    texts = catalogue(lang)
    assert [key for key, text in texts.items() if not text] == []
    if lang != "en":
        same = [
            key
            for key, text in texts.items()
            if isinstance(text, str) and _has_words(text) and text == catalogue("en")[key]
        ]
        assert same == []


def _has_words(template: str) -> bool:
    """Whether the template has words of its own beside its placeholders."""
    literal = "".join(text for text, *_rest in string.Formatter().parse(template))
    return sum(ch.isalpha() for ch in literal) > 10


# --- what the user reads: amounts, numbers, call statuses, history ----------------------
# (The quote with its billing line, against the real dialer: tests/test_calls.py.)

UK, FR_MOBILE = "+442079460000", "+33612345678"


@pytest.mark.parametrize("money_text", [status.money_text, skills.money_text])
@pytest.mark.parametrize(
    ("amount", "lang", "shown"),
    [
        ("0.1", "en", "0.1 ETT"),
        ("0.1", "fr", "0,1 ETT"),
        ("0.1", "ru", "0,1 ETT"),
        ("0.00000001", "fr", "0,00000001 ETT"),
        ("12.5", "ru", "12,5 ETT"),
        ("0", "fr", "0 ETT"),
        ("1234.5", "en", "1,234.5 ETT"),
        ("1234.5", "fr", "1\u202f234,5 ETT"),
    ],
)
def test_amounts_in_the_number_format_of_the_users_language(money_text, amount, lang, shown):
    assert money_text(to_units(amount, "ETT"), "ETT", lang) == shown


def test_numbers_are_shown_as_people_write_them():
    assert status.number_text(UK) == "+44 20 7946 0000"
    assert status.number_text(FR_MOBILE) == "+33 6 12 34 56 78"
    assert status.number_text("100042") == "100042"  # an internal number, as it is
    assert status.number_text(None) == ""


def _call(**values) -> CallRecord:
    return CallRecord(id="7-abc", account_id=7, a_number=FR_MOBILE, b_number=UK, **values)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_connected_line_has_no_running_time_and_one_hang_up_word(lang):
    first = status.status_reply(lang, _call(), "connected")
    assert "0:00" not in first.text and not first.progress  # what XMPP keeps showing
    assert "+44 20 7946 0000" in first.text
    update = status.status_reply(lang, _call(), "connected", elapsed=15)
    assert "0:15" in update.text and update.progress  # edited in place where possible
    word = t(lang, "word_hangup")
    for phase in ("dialing_a", "dialing_b", "connected"):
        reply = status.status_reply(lang, _call(), phase)
        assert [b.word for b in reply.buttons] == [word]
    assert word in first.text and t(lang, "word_stop") not in first.text.replace(word, "")
    assert parse(word)["intent"] == "hangup"  # typed later, the word still hangs up


def test_ended_status_in_french_shows_a_decimal_comma_and_formatted_numbers():
    call = _call(cost=to_units("0.08", "ETT"), cost_asset="ETT", hangup_cause="busy")
    call.a_answered_at = call.ended_at = utcnow()
    text = status.ended_text("fr", call)
    assert "+44 20 7946 0000 n'a pas pu être joint" in text and "0,08 ETT" in text


def test_history_says_an_unanswered_call_once(db_url):
    assistant = build_assistant(build_services(service_settings(db_url)))
    services = assistant.services
    account = services.accounts.resolve("console", "ann", language="fr")
    began = utcnow() - timedelta(minutes=5)
    unanswered = CallRecord(id=f"{account.id}-u", account_id=account.id, a_number=FR_MOBILE,
                            b_number=UK, created_at=began)  # fmt: skip
    services.calls.create(unanswered)
    services.calls.record_event(unanswered.id, "answered", leg="a", at=began)
    services.calls.record_event(unanswered.id, "ended", cause="no_answer", at=began)
    answered = CallRecord(id=f"{account.id}-a", account_id=account.id, a_number=FR_MOBILE,
                          b_number=UK, created_at=began)  # fmt: skip
    services.calls.create(answered)
    services.calls.record_event(answered.id, "bridged", at=began)
    ended = began + timedelta(seconds=65)
    services.calls.record_event(answered.id, "ended", cause="hangup", at=ended)
    (reply,) = assistant.handle_sync(Sender("console", "ann", "fr"), "historique")
    lines = reply.text.splitlines()
    unanswered_line = next(line for line in lines if t("fr", "cause_no_answer") in line)
    assert t("fr", "not_answered") not in reply.text
    no_answer = t("fr", "cause_no_answer")
    assert unanswered_line.endswith(f"+33 6 12 34 56 78 → +44 20 7946 0000 : {no_answer}, 0 ETT")
    assert any("1:05" in line for line in lines)
    inbound = "+14155550100", "+33199000100"
    services.calls.open_call(f"{account.id}-i", "inbound", account.id, *inbound)
    services.calls.set_forwarded(f"{account.id}-i", FR_MOBILE)
    services.calls.record_event(f"{account.id}-i", "ended", cause="no_answer")
    (reply,) = assistant.handle_sync(Sender("console", "ann", "fr"), "historique")
    assert "+1 415-555-0100 → +33 1 99 00 01 00 ↪ +33 6 12 34 56 78 :" in reply.text
    services.engine.dispose()
