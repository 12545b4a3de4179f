"""XMPP against prosody: only a person writing privately is answered (not a room, nor an
invitation to one), presence subscriptions are not granted blindly, a flood is answered
once, and a delayed message is read at the moment it was sent (XEP-0203)."""

from __future__ import annotations

import time
from datetime import timedelta
from xml.sax.saxutils import escape

import pytest

from bot.assistant.i18n import t
from domain.clock import utcnow
from storage.accounts import AccountStore
from storage.reminders import ReminderStore
from testbed.prosody_lab import ROOMS
from tests.conftest_chat import xmpp_settings

pytestmark = pytest.mark.xmpp
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _start_bot(start_service, lab, **more):
    jid, password = lab.register()
    service = start_service(**xmpp_settings(lab, jid, password), **more)
    service.wait_ready("xmpp")
    return service, jid


def _quiet(user, count: int, seconds: float = 1.0) -> None:
    """Wait `seconds`, then check that no more than `count` messages arrived."""
    time.sleep(seconds)
    assert len(user.received) == count, user.received


def test_rooms_and_invitations_are_not_people_writing(db_url, prosody, start_service, xmpp_user):
    service, bot = _start_bot(start_service, prosody)
    ann = xmpp_user(prosody)
    room = f"team-{ann.jid.split('@')[0]}@{ROOMS}"
    ann.join_room(room, "ann")
    # A mediated invitation: the room sends the bot a message of type normal with a body.
    ann.invite(room, bot, reason="call +44 20 7946 0000")
    # A direct invitation (XEP-0249) with a body, a groupchat-type message, and a normal
    # message carrying room content: none is a person writing privately.
    ann.send_xml(
        f"<message to='{bot}' type='normal'><body>balance</body>"
        f"<x xmlns='jabber:x:conference' jid='{room}' reason='hi'/></message>"
    )
    ann.send_xml(f"<message to='{bot}' type='groupchat'><body>balance</body></message>")
    ann.send_xml(
        f"<message to='{bot}' type='chat'><body>history</body>"
        "<x xmlns='http://jabber.org/protocol/muc#user'/></message>"
    )
    assert ann.ask(bot, "help") == t("en", "help")
    _quiet(ann, 1)
    store = AccountStore(service.assistant.services.engine)
    assert store.find_by_identity("xmpp", room) is None  # no account for the room
    assert store.find_by_identity("xmpp", ann.jid) is not None
    assert ann.room_messages == []  # the bot wrote nothing into the room


@sqlite_only
def test_subscriptions_wait_for_a_first_message_and_are_never_asked_back(
    db_url, prosody, start_service, xmpp_user
):
    _service, bot = _start_bot(start_service, prosody)
    stranger = xmpp_user(prosody)
    stranger.subscribe(bot)
    time.sleep(1.5)
    assert stranger.presences == []  # neither granted nor asked back, while it never wrote
    assert stranger.ask(bot, "help") == t("en", "help")
    stranger.wait_for(lambda: (bot, "subscribed") in stranger.presences, what="subscribed")

    known = xmpp_user(prosody)
    assert known.ask(bot, "help") == t("en", "help")
    known.subscribe(bot)
    known.wait_for(lambda: (bot, "subscribed") in known.presences, what="subscribed")
    time.sleep(0.5)
    for user in (stranger, known):
        assert (bot, "subscribe") not in user.presences  # the bot never asks for theirs


@sqlite_only
def test_a_flood_gets_one_slow_down_in_the_senders_language(
    db_url, prosody, start_service, xmpp_user
):
    _service, bot = _start_bot(start_service, prosody)
    ann = xmpp_user(prosody)
    assert ann.ask(bot, "bonjour") == t("fr", "greeting")
    for _ in range(2000):
        ann.send(bot, "/balance")
    slow_down = t("fr", "slow_down")
    ann.wait_for(lambda: any(body == slow_down for _s, body in ann.received), 60, "slow down")
    # The flood ends; what it still gets is the refill of the bucket (30 a minute).
    count = -1
    while count != len(ann.received):
        count = len(ann.received)
        time.sleep(1.0)
    bodies = [body for _sender, body in ann.received]
    assert bodies.count(slow_down) == 1
    answered = bodies.count(t("fr", "balance", balances="0 ETT, 0 WAVES"))
    assert 19 <= answered <= 30, answered  # the burst of 20 (the greeting took one), a refill
    assert len(bodies) == 1 + answered + 1


def test_a_delayed_message_is_read_when_it_was_sent(db_url, prosody, start_service, xmpp_user):
    service, bot = _start_bot(start_service, prosody)
    ann = xmpp_user(prosody)
    sent = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    stamp = sent.strftime("%Y-%m-%dT%H:%M:%SZ")

    def delayed(body: str) -> None:
        ann.send_xml(
            f"<message to='{bot}' type='chat'><body>{escape(body)}</body>"
            f"<delay xmlns='urn:xmpp:delay' from='pbx.test' stamp='{stamp}'/></message>"
        )

    delayed("remind me in 10 minutes to call mum")
    [passed] = ann.wait_messages(1)
    assert passed == t(
        "en",
        "moment_passed",
        sent=sent.strftime("%Y-%m-%d %H:%M"),
        at=(sent + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M"),
    )
    delayed("remind me in 3 hours to buy bread")
    assert ann.wait_messages(2)[1].startswith("I'll remind you on ")
    engine = service.assistant.services.engine
    account = AccountStore(engine).find_by_identity("xmpp", ann.jid)
    [reminder] = ReminderStore(engine).pending(account.id)
    assert abs(reminder.fire_at - (sent + timedelta(hours=3))) < timedelta(seconds=2)
