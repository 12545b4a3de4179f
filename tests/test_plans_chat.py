"""Monthly plans in the chat (en, fr, ru) through the Assistant on the real services: the
plans listed with ETT and WAVES prices, a subscription confirmed by its button and charged
at once, the minutes left, a cancellation, a switch, refusals; the renewal notices sent
through the outbox in the account's language."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Reply, Sender
from bot.assistant.i18n import money_text, t
from bot.features.plans.desk import SubscribeData, check_of
from bot.features.plans.notices import plan_notifier
from domain.clock import utcnow
from storage import open_database
from storage.accounts import AccountStore
from storage.ledger_store import LedgerStore
from testbed.prosody_lab import free_port
from tests.conftest_chat import service_settings
from tests.test_chat_updates import _webhook
from tests.wallet_helpers import available, fund
from wallet.plan_renewal import PlanRenewal
from wallet.plans import Catalogue
from wallet.rates import Rates
from wallet.subscriptions import Subscriptions, period_key

ETT = 10**8


class Chat:
    """An assistant on its own services and database."""

    def __init__(self, db_url: str, **overrides: Any) -> None:
        self.engine = open_database(db_url, migrate=False)
        settings = service_settings(db_url, **overrides)
        self.assistant: Assistant = build_assistant(build_services(settings, engine=self.engine))
        self.services = self.assistant.services
        self.billing = self.services.billing

    def say(self, sender: Sender, text: str) -> Reply:
        [reply] = self.assistant.handle_sync(sender, text)
        return reply

    def press(self, sender: Sender, data: str) -> Reply:
        [reply] = self.assistant.press_sync(sender, data)
        return reply

    def account_id(self, sender: Sender) -> int:
        account = self.services.accounts.find_by_identity(sender.network, sender.external_id)
        assert account is not None
        return account.id

    def subscriptions(self) -> Subscriptions:
        return Subscriptions(self.engine, self.billing.catalogue, self.billing.rates)


@pytest.fixture
def chat(db_url: str) -> Iterator[Chat]:
    made = Chat(db_url)
    yield made
    made.engine.dispose()


LANGS = [
    ("en", "plans", "subscribe to Business", "how many minutes are left", "cancel my plan"),
    ("fr", "tarifs", "je prends le forfait Business", "combien de minutes me reste-t-il ?",
     "résilie mon forfait"),
    ("ru", "тарифы", "подключи тариф Business", "сколько минут осталось", "отмени мой тариф"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "listing", "subscribe", "left", "cancel"), LANGS)
def test_list_subscribe_use_and_cancel_in_each_language(
    chat, lang, listing, subscribe, left, cancel
):
    user = Sender("telegram", f"71{lang}", lang)
    shown = chat.say(user, listing)
    assert shown.text.startswith(t(lang, "plans_list_header", surcharge="25"))
    business_price = t(
        lang,
        "plans_price",
        ett=money_text(20 * ETT, "ETT", lang),
        waves=money_text(25_000_000, "WAVES", lang),  # 20 ETT / 100 + 25 %
    )
    assert business_price in shown.text
    assert all(name in shown.text for name in ("Starter", "Business", "Enterprise"))

    account = chat.account_id(user)
    assert chat.say(user, subscribe).text == t(
        lang, "plans_no_funds", plan="Business", price=business_price
    )
    fund(chat.engine, account, "30")
    asked = chat.say(user, subscribe)
    assert asked.buttons and asked.buttons[0].data == SubscribeData(1, check_of(
        chat.billing.catalogue.plans[1])).pack()  # fmt: skip
    assert available(chat.engine, account) == 30 * ETT  # nothing charged by the question
    done = chat.press(user, asked.buttons[0].data)
    sub = chat.subscriptions().store.subscription(account)
    assert sub is not None
    end = sub.period_end.strftime("%Y-%m-%d %H:%M")  # (the account's zone is UTC)
    minutes = ", ".join(
        t(lang, "plans_minutes_part", minutes=m, group=chat.billing.catalogue.label(g, lang))
        for g, m in (("france", 1000), ("europe", 300), ("north_america", 300), ("russia", 100))
    )
    assert done.text == t(
        lang,
        "plans_subscribed",
        plan="Business",
        end=end,
        charged=money_text(20 * ETT, "ETT", lang),
        minutes=minutes,
    )
    assert available(chat.engine, account) == 10 * ETT
    # a second press of the same button charges nothing more
    again = chat.press(user, asked.buttons[0].data)
    assert again.text == t(lang, "plans_already", plan="Business", end=end)
    assert available(chat.engine, account) == 10 * ETT

    usage = chat.say(user, left)
    assert usage.text.splitlines()[0] == t(lang, "plans_usage_header", plan="Business")
    france = t(
        lang,
        "plans_usage_line",
        group=chat.billing.catalogue.label("france", lang),
        left=t(lang, "plans_min", minutes=1000),
        included=t(lang, "plans_min", minutes=1000),
    )
    assert france in usage.text.splitlines()

    stopped = chat.say(user, cancel)
    assert stopped.text == t(lang, "plans_cancelled", plan="Business", end=end)
    assert chat.say(user, left).text.splitlines()[-1] == t(lang, "plans_usage_ends", end=end)


def test_minutes_used_by_a_call_show_as_left(chat):
    user = Sender("telegram", "7201", "en")
    chat.say(user, "plans")
    account = chat.account_id(user)
    fund(chat.engine, account, "10")
    subs = chat.subscriptions()
    subs.subscribe(account, "Starter")
    period = subs.store.period_at(account, subs.store.subscription(account).period_start)
    subs.store.use_included(account, "c1", "b", "france", period.starts_at, 90)
    text = chat.say(user, "minutes left?").text
    line = t(
        "en",
        "plans_usage_line",
        group="France",
        left=t("en", "plans_min_sec", minutes=98, seconds=30),
        included=t("en", "plans_min", minutes=100),
    )
    assert line in text.splitlines()


def test_switch_takes_effect_at_renewal_and_unknown_plans_are_named(chat):
    user = Sender("telegram", "7202", "en")
    chat.say(user, "plans")
    account = chat.account_id(user)
    fund(chat.engine, account, "100")
    chat.press(user, chat.say(user, "subscribe to Starter").buttons[0].data)
    switch = chat.say(user, "switch to the Enterprise plan")
    sub = chat.subscriptions().store.subscription(account)
    start = sub.period_end.strftime("%Y-%m-%d %H:%M")
    assert switch.text.startswith("Switch from Starter to Enterprise")
    done = chat.press(user, switch.buttons[0].data)
    assert done.text == t("en", "plans_switched", plan="Enterprise", start=start)
    assert available(chat.engine, account) == 95 * ETT
    assert chat.say(user, "subscribe to Gold").text == t(
        "en", "plans_unknown", name="Gold", names="Starter, Business, Enterprise"
    )
    assert chat.say(Sender("telegram", "7203", "en"), "cancel my plan").text == t(
        "en", "plans_none"
    )


def test_a_button_of_another_plan_file_is_refused(chat):
    user = Sender("telegram", "7204", "en")
    chat.say(user, "plans")
    fund(chat.engine, chat.account_id(user), "100")
    stale = SubscribeData(1, "00000000").pack()
    assert chat.press(user, stale).text == t("en", "choice_expired")
    assert available(chat.engine, chat.account_id(user)) == 100 * ETT


@pytest.mark.parametrize("lang", ["en", "fr", "ru"])
def test_renewal_notices_reach_the_chat_once_in_the_users_language(chat, lang):
    user = Sender("telegram", f"73{lang}", lang)
    chat.say(user, {"en": "plans", "fr": "forfaits", "ru": "тарифы"}[lang])
    account = chat.account_id(user)
    chat.services.accounts.update(account, language=lang)
    fund(chat.engine, account, "25")
    subs = chat.subscriptions()
    subs.subscribe(account, "Business")
    sub = subs.store.subscription(account)
    sent: list[tuple[str, str]] = []

    async def send(external_id: str, reply: Reply) -> None:
        sent.append((external_id, reply.text))

    chat.services.outbox.register("telegram", send)
    renewal = PlanRenewal(subs, plan_notifier(chat.services.accounts, subs, chat.services.outbox))

    async def rounds(*moments):
        for moment in moments:
            for notice in renewal.run_once(moment):
                assert await renewal.deliver(notice)

    end = sub.period_end
    asyncio.run(rounds(end - timedelta(days=2), end - timedelta(days=1), end, end))
    price = t(
        lang,
        "plans_price",
        ett=money_text(20 * ETT, "ETT", lang),
        waves=money_text(25_000_000, "WAVES", lang),
    )
    when = end.strftime("%Y-%m-%d %H:%M")
    assert sent == [
        (user.external_id, t(lang, "plans_notice_ahead", plan="Business", end=when, price=price)),
        (user.external_id, t(lang, "plans_notice_lapsed", plan="Business", end=when, price=price)),
    ]


def test_two_running_instances_renew_once_and_tell_a_lapse_once(
    db_url, telegram_api, start_service
):
    engine = open_database(db_url, migrate=False)
    try:
        accounts = AccountStore(engine)
        poor = accounts.resolve("telegram", "951", language="fr").id
        rich = accounts.resolve("telegram", "952", language="en").id
        subs = Subscriptions(engine, Catalogue.load(), Rates("100", "25"))
        long_ago = utcnow() - timedelta(days=40)
        for account, money in ((poor, "20"), (rich, "60")):
            fund(engine, account, money)
            subs.subscribe(account, "Business", now=long_ago)
        due = subs.store.subscription(rich)
        assert due is not None and due.period_end < utcnow()
        telegram_api.user(951, "fr")
        telegram_api.user(952, "en")
        for _ in range(2):  # two instances of the service on the same database (webhooks)
            start_service(**_webhook(telegram_api, free_port()))
        [notice] = telegram_api.wait_messages(951, 1)
        assert notice.text.startswith("Votre forfait Business s'est arrêté le ")
        telegram_api.wait_for(
            lambda: (subs.store.subscription(rich) or due).period_end > utcnow(), what="renewal"
        )
        time.sleep(2)  # both instances have had their round
        assert len(telegram_api.messages(951)) == 1 and telegram_api.messages(952) == []
        renewed = subs.store.subscription(rich)
        assert renewed is not None and renewed.state == "active"
        assert available(engine, rich) == 20 * ETT  # two periods, not three
        assert LedgerStore(engine).transfer_by_key(period_key(rich, due.period_end)) is not None
        assert datetime.now(UTC) < renewed.period_end
    finally:
        engine.dispose()
