"""One sender's flood is answered once: a token bucket per sender on Telegram and XMPP
(the XMPP flood of 2,000 messages is in test_chat_xmpp.py), then silence."""

from __future__ import annotations

import time

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.flood import SenderLimiter, Verdict
from bot.assistant.i18n import t
from tests.conftest_chat import service_settings, telegram_settings
from tests.test_chat_groups import settled

FLOODER = 1201
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_burst_refill_one_warning_and_calm_down():
    clock = Clock()
    limiter = SenderLimiter(per_minute=60, burst=3, clock=clock)
    ann, bob = ("xmpp", "ann@pbx.test"), ("xmpp", "bob@pbx.test")
    verdicts = [limiter.admit(ann) for _ in range(6)]
    assert verdicts == [Verdict.ANSWER] * 3 + [Verdict.SLOW_DOWN, Verdict.DROP, Verdict.DROP]
    assert limiter.admit(bob) is Verdict.ANSWER  # per sender
    clock.now += 1.0  # one token a second
    assert [limiter.admit(ann) for _ in range(2)] == [Verdict.ANSWER, Verdict.DROP]
    clock.now += 10.0  # calmed down (the bucket is full again): a new flood is told again
    assert [limiter.admit(ann) for _ in range(4)] == [Verdict.ANSWER] * 3 + [Verdict.SLOW_DOWN]
    assert all(SenderLimiter(0, 1).admit(ann) is Verdict.ANSWER for _ in range(100))


def test_limiter_keeps_a_bounded_number_of_senders():
    limiter = SenderLimiter(per_minute=1, burst=1, clock=Clock(), limit=10)
    for n in range(100):
        limiter.admit(("telegram", str(n)))
    assert len(limiter._buckets) == 10


@sqlite_only
def test_the_settings_set_the_limit(db_url, engine):
    off = service_settings(db_url, CHAT_RATE_PER_MINUTE=0)
    assistant = build_assistant(build_services(off, engine=engine))
    assert all(assistant.admit(Sender("telegram", "1")) is None for _ in range(200))
    tight = service_settings(db_url, CHAT_RATE_PER_MINUTE=1, CHAT_BURST=2)
    assistant = build_assistant(build_services(tight, engine=engine))
    ru = Sender("telegram", "2", "ru")  # no account yet: the client's language
    verdicts = [assistant.admit(ru) for _ in range(4)]
    assert verdicts[:2] == [None, None]
    assert [reply.text for reply in verdicts[2] or []] == [t("ru", "slow_down")]
    assert verdicts[3] == []


@sqlite_only
def test_a_telegram_flood_gets_one_slow_down(db_url, telegram_api, start_service):
    service = start_service(
        **telegram_settings(db_url, telegram_api), CHAT_BURST=5, CHAT_RATE_PER_MINUTE=6
    )
    telegram_api.send_text(FLOODER, "привет")
    telegram_api.wait_messages(FLOODER, 1)
    last = 0
    for _ in range(60):
        last = telegram_api.send_text(FLOODER, "/balance")
    settled(service, last)
    time.sleep(0.3)
    texts = [m.text for m in telegram_api.messages(FLOODER)]
    assert texts[0] == t("ru", "greeting")
    assert texts.count(t("ru", "slow_down")) == 1
    answered = texts.count(t("ru", "balance", balances="0 ETT, 0 WAVES"))
    assert 4 <= answered <= 6  # the burst of 5 (the greeting took one), and a refill or two
    assert len(texts) == 1 + answered + 1
