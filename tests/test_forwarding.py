"""Call-forwarding rules: storing, replacing, turning off and matching, and the chat skill."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from storage.accounts import AccountStore
from storage.forwarding import ForwardingStore
from tests.conftest_chat import service_settings

MOBILE = "+33612345678"
OFFICE = "+33145678900"
BOSS = "+447911123456"
# 2030-12-02 is a Monday; local wall-clock moments are naive.
MON = datetime(2030, 12, 2)


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local moment in the week of 2030-12-02 (day 0 = Monday)."""
    return MON.replace(day=2 + day, hour=hour, minute=minute)


@pytest.fixture
def setup(engine):
    account = AccountStore(engine).resolve("console", "me")
    return ForwardingStore(engine), account.id


def test_set_rule_and_list(setup):
    store, account_id = setup
    rule = store.set_rule(account_id, MOBILE, days=["fri", "mon"], start="09:00", end="18:00")
    [listed] = store.rules(account_id)
    assert listed.id == rule.id
    assert (listed.to_number, listed.days, listed.start, listed.end, listed.caller) == (
        MOBILE,
        "mon,fri",
        "09:00",
        "18:00",
        None,
    )


def test_a_new_rule_replaces_the_one_for_the_same_caller(setup):
    store, account_id = setup
    store.set_rule(account_id, MOBILE)
    store.set_rule(account_id, OFFICE, caller=BOSS)
    store.set_rule(account_id, OFFICE)  # replaces the general rule only
    store.set_rule(account_id, MOBILE, caller=BOSS)  # replaces the boss's rule only
    rules = store.rules(account_id)
    assert [(r.caller, r.to_number) for r in rules] == [(BOSS, MOBILE), (None, OFFICE)]


def test_turn_off_removes_every_rule(setup):
    store, account_id = setup
    other = AccountStore(store.engine).resolve("console", "someone else").id
    store.set_rule(account_id, MOBILE)
    store.set_rule(account_id, OFFICE, caller=BOSS)
    store.set_rule(other, MOBILE)
    assert store.turn_off(account_id) == 2
    assert store.rules(account_id) == []
    assert store.turn_off(account_id) == 0
    assert store.match(account_id, BOSS, _at(0, 12)) is None
    assert len(store.rules(other)) == 1  # other accounts keep theirs


def test_bad_rules_are_refused(setup):
    store, account_id = setup
    with pytest.raises(ValueError, match="number"):
        store.set_rule(account_id, "")
    with pytest.raises(ValueError, match="weekday"):
        store.set_rule(account_id, MOBILE, days=["monday"])
    with pytest.raises(ValueError, match="HH:MM"):
        store.set_rule(account_id, MOBILE, start="9h", end="18:00")
    with pytest.raises(ValueError, match="HH:MM"):
        store.set_rule(account_id, MOBILE, start="09:00", end="24:00")
    assert store.rules(account_id) == []


def test_caller_specific_rule_beats_the_general_one(setup):
    store, account_id = setup
    store.set_rule(account_id, OFFICE)
    store.set_rule(account_id, MOBILE, caller=BOSS)
    assert store.match(account_id, BOSS, _at(0, 12)).to_number == MOBILE
    assert store.match(account_id, "0044 7911 123456", _at(0, 12)).to_number == MOBILE
    assert store.match(account_id, "+14155550100", _at(0, 12)).to_number == OFFICE
    assert store.match(account_id, None, _at(0, 12)).to_number == OFFICE  # hidden number


def test_caller_rule_outside_its_hours_falls_back_to_the_general_one(setup):
    store, account_id = setup
    store.set_rule(account_id, OFFICE)
    store.set_rule(account_id, MOBILE, caller=BOSS, start="09:00", end="18:00")
    assert store.match(account_id, BOSS, _at(0, 10)).to_number == MOBILE
    assert store.match(account_id, BOSS, _at(0, 20)).to_number == OFFICE


def test_only_a_caller_rule_does_not_forward_others(setup):
    store, account_id = setup
    store.set_rule(account_id, MOBILE, caller=BOSS)
    assert store.match(account_id, "+14155550100", _at(0, 12)) is None
    assert store.match(account_id, None, _at(0, 12)) is None


def test_weekdays(setup):
    store, account_id = setup
    store.set_rule(account_id, MOBILE, days=["mon", "tue", "wed", "thu", "fri"])
    assert store.match(account_id, None, _at(0, 0, 0)) is not None  # Monday 00:00
    assert store.match(account_id, None, _at(4, 23, 59)) is not None  # Friday 23:59
    assert store.match(account_id, None, _at(5, 12)) is None  # Saturday
    assert store.match(account_id, None, _at(6, 12)) is None  # Sunday


def test_hours_start_inclusive_end_exclusive(setup):
    store, account_id = setup
    store.set_rule(account_id, MOBILE, days=["mon"], start="09:00", end="18:00")
    assert store.match(account_id, None, _at(0, 8, 59)) is None
    assert store.match(account_id, None, _at(0, 9, 0)) is not None
    assert store.match(account_id, None, _at(0, 17, 59)) is not None
    assert store.match(account_id, None, _at(0, 18, 0)) is None
    assert store.match(account_id, None, _at(1, 12)) is None  # Tuesday


def test_window_past_midnight_belongs_to_the_day_it_starts(setup):
    store, account_id = setup
    store.set_rule(account_id, MOBILE, days=["fri"], start="22:00", end="06:00")
    assert store.match(account_id, None, _at(4, 21, 59)) is None  # Friday evening, before
    assert store.match(account_id, None, _at(4, 22, 0)) is not None  # Friday 22:00
    assert store.match(account_id, None, _at(5, 3, 0)) is not None  # Saturday 03:00
    assert store.match(account_id, None, _at(5, 6, 0)) is None  # Saturday 06:00
    assert store.match(account_id, None, _at(5, 22, 30)) is None  # Saturday night: not Friday
    assert store.match(account_id, None, _at(4, 3, 0)) is None  # Friday 03:00 is Thursday's


def test_every_night_wraps_midnight(setup):
    store, account_id = setup
    store.set_rule(account_id, MOBILE, start="20:00", end="08:00")
    for day in range(7):
        assert store.match(account_id, None, _at(day, 23)) is not None
        assert store.match(account_id, None, _at(day, 7, 59)) is not None
        assert store.match(account_id, None, _at(day, 12)) is None


def test_hours_are_read_in_the_accounts_time_zone(setup):
    store, account_id = setup
    AccountStore(store.engine).update(account_id, timezone="Asia/Tokyo")  # UTC+9, no DST
    store.set_rule(account_id, MOBILE, days=["mon"], start="09:00", end="18:00")
    # Monday 09:30 in Tokyo is Monday 00:30 UTC; Sunday 23:30 UTC is Monday 08:30 there.
    assert store.match(account_id, None, datetime(2030, 12, 2, 0, 30, tzinfo=UTC)) is not None
    assert store.match(account_id, None, datetime(2030, 12, 1, 23, 30, tzinfo=UTC)) is None
    # Monday 12:00 UTC is Monday 21:00 in Tokyo: outside the hours.
    assert store.match(account_id, None, datetime(2030, 12, 2, 12, 0, tzinfo=UTC)) is None
    # Naive moments are already local.
    assert store.match(account_id, None, _at(0, 9, 30)) is not None


def test_match_for_an_unknown_account_is_none(setup):
    store, account_id = setup
    assert store.match(account_id + 1000, None, _at(0, 12)) is None


# --- the chat skill --------------------------------------------------------------------


@pytest.fixture
def assistant(db_url):
    settings = service_settings(db_url)
    from storage import open_database

    services = build_services(settings, engine=open_database(db_url, migrate=False))
    yield build_assistant(services)
    services.engine.dispose()


def test_forward_skill_saves_and_turns_off(assistant):
    me = Sender("console", "me")
    store = ForwardingStore(assistant.services.engine)
    account = assistant.services.accounts.resolve("console", "me")
    replies = assistant.handle_sync(
        me, "forward my calls to +33 6 12 34 56 78 on weekdays from 9 to 18"
    )
    assert [r.text for r in replies] == [
        "Saved: forward all calls to +33612345678 on Mon, Tue, Wed, Thu, Fri from 09:00 to 18:00.",
        "The rule covers calls to your direct numbers and to your extension; it takes effect "
        "once the exchange is turned on on this server.",
    ]
    [rule] = store.rules(account.id)
    assert (rule.to_number, rule.days, rule.start, rule.end) == (
        MOBILE,
        "mon,tue,wed,thu,fri",
        "09:00",
        "18:00",
    )
    replies = assistant.handle_sync(me, "forward calls from +44 7911 123456 to +33 1 45 67 89 00")
    assert replies[0].text == f"Saved: forward calls from {BOSS} to {OFFICE}."
    assert store.match(account.id, BOSS, _at(5, 12)).to_number == OFFICE
    assert store.match(account.id, None, _at(0, 12)).to_number == MOBILE

    assert [r.text for r in assistant.handle_sync(me, "stop forwarding")] == [
        "Call forwarding is turned off."
    ]
    assert store.rules(account.id) == []
    assert [r.text for r in assistant.handle_sync(me, "stop forwarding")] == [
        "There was no call forwarding to turn off."
    ]


def test_forward_skill_in_french(assistant):
    replies = assistant.handle_sync(
        Sender("console", "marie"), "renvoie mes appels vers le +33 6 12 34 56 78 le week-end"
    )
    expected = "C'est enregistré : renvoyer tous les appels vers le +33612345678 le sam, dim."
    assert replies[0].text == expected
    account = assistant.services.accounts.resolve("console", "marie")
    [rule] = ForwardingStore(assistant.services.engine).rules(account.id)
    assert rule.days == "sat,sun"


def test_forward_without_a_number_asks_for_one(assistant):
    replies = assistant.handle_sync(Sender("console", "me"), "forward my calls")
    account = assistant.services.accounts.resolve("console", "me")
    assert ForwardingStore(assistant.services.engine).rules(account.id) == []
    assert replies[0].text.startswith("Where should I forward your calls?")
