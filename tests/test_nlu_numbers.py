"""The numbers intents and follow-me forwarding in the parser, in en, fr and ru: "my
numbers" (`numbers`), "hide / show my number" (`caller_id` with `hide`), forwarding to
extensions and to several targets in turn (`ring`, `then`); and their neighbours (calls
with a hidden number, setting one's number, hour ranges) left as they were."""

from __future__ import annotations

from datetime import datetime

import pytest

from nlu import command_of, parse
from nlu.commands import CallerId, FollowTarget, Forward, Numbers

NOW = datetime.fromisoformat("2026-11-28T10:00:00")


def ask(text: str, region: str | None = "FR") -> dict:
    return parse(text, NOW, "Europe/Paris", region)


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my numbers", "en"),
        ("what is my number", "en"),
        ("what's my number?", "en"),
        ("what are my numbers?", "en"),
        ("which numbers do I have", "en"),
        ("my direct numbers", "en"),
        ("do I have a direct number?", "en"),
        ("show me my numbers", "en"),
        ("is my number hidden?", "en"),
        ("mes numéros", "fr"),
        ("quel est mon numéro", "fr"),
        ("quels sont mes numéros ?", "fr"),
        ("mon numéro direct", "fr"),
        ("mes numéros directs", "fr"),
        ("mon numéro est-il masqué ?", "fr"),
        ("мои номера", "ru"),
        ("какой у меня номер", "ru"),
        ("какие у меня номера", "ru"),
        ("мой прямой номер", "ru"),
        ("покажи мои номера", "ru"),
        ("скрыт ли мой номер?", "ru"),
    ],
)
def test_the_numbers_are_asked_for(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"]) == ("numbers", lang), got
    assert command_of(got) == Numbers(lang=lang)


# --- caller ID -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "hide"),
    [
        ("hide my number", "en", True),
        ("always hide my number", "en", True),
        ("hide my caller ID", "en", True),
        ("don't show my number", "en", True),
        ("show my number", "en", False),
        ("unhide my number", "en", False),
        ("don't hide my number", "en", False),
        ("stop hiding my number", "en", False),
        ("display my caller id on calls", "en", False),
        ("masquer mon numéro", "fr", True),
        ("masque mon numéro pour tous mes appels", "fr", True),
        ("cache mon numéro", "fr", True),
        ("ne pas afficher mon numéro", "fr", True),
        ("afficher mon numéro", "fr", False),
        ("ne masque plus mon numéro", "fr", False),
        ("arrête de masquer mon numéro", "fr", False),
        ("скрыть мой номер", "ru", True),
        ("скрывай мой номер", "ru", True),
        ("не показывать мой номер", "ru", True),
        ("показывать мой номер", "ru", False),
        ("не скрывай мой номер", "ru", False),
        ("перестань скрывать мой номер", "ru", False),
    ],
)
def test_the_caller_id_is_hidden_or_shown(text, lang, hide):
    got = ask(text)
    assert (got["intent"], got["lang"], got["hide"]) == ("caller_id", lang, hide), got
    assert command_of(got) == CallerId(lang=lang, hide=hide)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # with a number to call it is the call's own flag
        ("call +33612345678 and hide my number", "call"),
        ("hide my number and call +33612345678", "call"),
        ("call 1002 with my number hidden", "call"),
        ("скрой мой номер и позвони на +79031112233", "call"),
        ("call with hidden number", "call"),  # a call still missing its number
        ("remind me tomorrow to hide my number", "remind"),
        ("my number is +33612345678", "set_number"),
        ("мой номер +7 903 111 22 33", "set_number"),
        ("what is my extension", "extension"),
        ("show my extension", "extension"),
        ("quel est mon poste", "extension"),
        ("what number did I call", "history"),
        ("какие номера я набирал", "history"),
    ],
)
def test_neighbours_keep_their_intent(text, intent):
    assert ask(text)["intent"] == intent


def test_a_call_keeps_its_anonymous_flag():
    got = ask("call +33612345678 and hide my number")
    assert (got["to"], got["anonymous"]) == ("+33612345678", True)


# --- follow-me -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "to", "then"),
    [
        (
            "forward my calls to 1002 for 20 seconds then to +33612345678",
            "en",
            "1002",
            "+33612345678",
        ),
        (
            "transfère mes appels vers le 1002 pendant 20 secondes puis vers le +33612345678",
            "fr",
            "1002",
            "+33612345678",
        ),
        (
            "переадресуй звонки на 1002 на 20 секунд, потом на +79031112233",
            "ru",
            "1002",
            "+79031112233",
        ),
        ("forward to 1002 for 20s then +33612345678", "en", "1002", "+33612345678"),
        ("renvoie mes appels vers le 1002 20 s puis vers le 1003", "fr", "1002", "1003"),
        ("переадресуй на 1002 20 с потом на +79031112233", "ru", "1002", "+79031112233"),
        (
            "forward calls to 1002 for 20 seconds, otherwise to +33612345678",
            "en",
            "1002",
            "+33612345678",
        ),
        (
            "transfer my calls to 1002 for 20 sec and then to +33612345678",
            "en",
            "1002",
            "+33612345678",
        ),
    ],
)
def test_follow_me_in_three_languages(text, lang, to, then):
    got = ask(text, None)
    assert got["intent"] == "forward" and got["lang"] == lang, got
    assert (got["to"], got["ring"], got["then"], got["caller"]) == (
        to,
        20,
        [{"to": then, "ring": None}],
        None,
    )
    assert (got["start"], got["end"], got["days"]) == (None, None, None)
    assert command_of(got) == Forward(lang=lang, to=to, ring=20, then=(FollowTarget(then, None),))


def test_a_chain_of_three_with_a_caller_and_hours():
    got = ask(
        "forward calls from +447911123456 to +33612345678 for 15 s then to 1003 for 30 seconds "
        "then to +33145678900 on weekdays from 9 to 18"
    )
    assert (got["to"], got["caller"], got["ring"]) == ("+33612345678", "+447911123456", 15)
    assert got["then"] == [{"to": "1003", "ring": 30}, {"to": "+33145678900", "ring": None}]
    assert (got["start"], got["end"]) == ("09:00", "18:00")
    assert got["days"] == ["mon", "tue", "wed", "thu", "fri"]


def test_minutes_ring_only_between_two_targets():
    between = ask("forward to 1002 for 1 minute then +33612345678")
    assert (between["ring"], between["then"]) == (60, [{"to": "+33612345678", "ring": None}])
    alone = ask("forward my calls to +33612345678 for 30 minutes")
    assert (alone["to"], alone["ring"], alone["then"]) == ("+33612345678", None, [])


def test_a_delay_after_the_last_target_is_no_ring_time_nor_an_hour():
    got = ask("forward calls to +33612345678 after 20 seconds")
    assert (got["to"], got["ring"], got["start"], got["end"]) == ("+33612345678", None, None, None)


def test_a_then_target_without_a_ring_time():
    got = ask("forward my calls to +33612345678 then to +447911123456")
    assert (got["to"], got["ring"], got["caller"]) == ("+33612345678", None, None)
    assert got["then"] == [{"to": "+447911123456", "ring": None}]


@pytest.mark.parametrize(
    ("text", "to", "start", "end"),
    [
        ("forward my calls to 1002", "1002", None, None),
        ("forward my calls to extension 1002", "1002", None, None),
        ("renvoie mes appels au 1002", "1002", None, None),
        ("переадресуй на внутренний 1002", "1002", None, None),
        ("forward calls to 1002 on weekdays from 9 to 18", "1002", "09:00", "18:00"),
        ("forward calls from 09:00 to 18 to 1002", "1002", "09:00", "18:00"),
        ("переадресуй звонки на 1002 с 10 до 18", "1002", "10:00", "18:00"),
        ("forward calls from 9 to 18 to +33612345678", "+33612345678", "09:00", "18:00"),
        ("переадресуй звонки на +79031112233 с 10 до 18", "+79031112233", "10:00", "18:00"),
    ],
)
def test_an_extension_is_a_forwarding_target_never_the_end_of_hours(text, to, start, end):
    got = ask(text, None)
    assert (got["intent"], got["to"], got["start"], got["end"]) == ("forward", to, start, end)
    assert (got["ring"], got["then"]) == (None, [])


def test_a_plain_rule_has_no_follow_me():
    got = ask("forward my calls to +33 6 12 34 56 78 on weekdays from 9 to 18")
    assert (got["ring"], got["then"]) == (None, [])
    assert command_of(got) == Forward(
        lang="en",
        to="+33612345678",
        days=("mon", "tue", "wed", "thu", "fri"),
        start="09:00",
        end="18:00",
    )


def test_command_of_reads_the_new_slots_defensively():
    assert command_of({"intent": "caller_id", "hide": "yes"}) == CallerId(hide=False)
    assert command_of({"intent": "caller_id", "hide": True}) == CallerId(hide=True)
    assert command_of({"intent": "numbers", "lang": "ru"}) == Numbers(lang="ru")
    odd = command_of(
        {"intent": "forward", "to": "1002", "ring": "20", "then": [{"to": 5}, "x", {"ring": 9}]}
    )
    assert odd == Forward(
        to="1002", ring=None, then=(FollowTarget(None, None), FollowTarget(None, 9))
    )
    assert command_of({"intent": "forward", "to": "1002", "ring": True}).ring is None
    assert command_of({"intent": "forward", "then": {"to": "1003"}}).then == ()
