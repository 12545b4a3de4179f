"""Deposits and withdrawals in the chat, against the Waves node emulator (real HTTP, signatures)."""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Sender
from bot.assistant.i18n import t
from bot.features.payments import PendingWithdrawals
from storage.accounts import AccountStore
from storage.ledger_store import LedgerStore, account_book
from testbed.waves_node import random_seed
from tests.conftest_chat import service_settings, telegram_settings
from wallet.memo import memo_for
from wallet.waves import WavesClient

ETT = 10**8
ANN = Sender("console", "ann")
BOB = Sender("console", "bob")


def wallet_assistant(db_url, chain, pending=None, **overrides) -> Assistant:
    """An assistant whose services have the deposit watcher and withdrawals, as `serve` builds."""
    settings = service_settings(db_url, **chain.settings_overrides(**overrides))
    return build_assistant(build_services(settings), pending)


def account_of(assistant: Assistant, sender: Sender) -> int:
    return assistant.services.accounts.resolve(sender.network, sender.external_id).id


def funded(assistant: Assistant, chain, sender: Sender, ett: int = 10 * ETT, fees: bool = True):
    """The sender's account with `ett` deposited on chain; the service holding WAVES for fees."""
    account = account_of(assistant, sender)
    chain.send_deposit(memo_for(account), ett)
    if fees:
        chain.send_deposit("fees", ETT, asset=None)
    assistant.services.deposits.poll_once()
    return account


def available(assistant: Assistant, account: int, asset: str = "ETT") -> int:
    return assistant.services.ledger.balance(account_book(account), asset).available


def transfers_to(chain, address: str) -> list[dict]:
    return [tx for tx in chain.node.transactions.values() if tx.get("recipient") == address]


def ask(assistant: Assistant, sender: Sender, text: str):
    [reply] = assistant.handle_sync(sender, text)
    return reply


def press(assistant: Assistant, sender: Sender, data: str):
    [reply] = assistant.press_sync(sender, data)
    return reply


def test_without_waves_deposits_and_withdrawals_are_not_configured(db_url):
    assistant = build_assistant(build_services(service_settings(db_url)))
    assert ask(assistant, ANN, "deposit").text == t("en", "deposit_not_configured")
    assert ask(assistant, ANN, "пополнить счёт").text == t("ru", "deposit_not_configured")
    assert ask(assistant, ANN, "retirer 2 ETT vers 3P").text == t("fr", "withdraw_not_configured")
    # A node without the service wallet's seed: still off (the address comes from the seed).
    settings = service_settings(db_url, WAVES_NODE_URL="http://127.0.0.1:9")
    services = build_services(settings)
    assert services.deposits is None and services.withdrawals is None
    assistant.services.engine.dispose()
    services.engine.dispose()


def test_deposit_answer_gives_address_memo_and_link_in_each_language(db_url, waves_chain):
    assistant = wallet_assistant(db_url, waves_chain, WAVES_CONFIRMATIONS=3)
    account = account_of(assistant, ANN)
    memo = memo_for(account)
    address, asset_id = waves_chain.service_address, waves_chain.ett_asset_id
    link = f"https://waves.exchange/#send/{asset_id}?recipient={address}&attachment={memo}&strict"
    for lang, text in (("en", "deposit"), ("fr", "dépôt"), ("ru", "как пополнить баланс")):
        reply = ask(assistant, ANN, text)
        assert reply.text == t(
            lang, "deposit_info", address=address, memo=memo, asset="ETT", link=link,
            confirmations=3,
        )  # fmt: skip
        assert address in reply.text and memo in reply.text and link in reply.text
    waves = ask(assistant, ANN, "deposit 2.5 WAVES").text
    assert f"#send/WAVES?recipient={address}&amount=2.5&attachment={memo}&strict" in waves
    assert ask(assistant, ANN, "deposit 0.000000001 ETT").text == t("en", "amount_invalid")
    assert waves_chain.service_seed not in waves
    assistant.services.engine.dispose()


def test_a_deposit_is_credited_and_the_user_told_through_the_running_service(
    db_url, waves_chain, telegram_api, start_service
):
    user = 7001
    service = start_service(
        **telegram_settings(db_url, telegram_api),
        **waves_chain.settings_overrides(WALLET_POLL_SECONDS=0.1),
    )
    telegram_api.send_text(user, "je veux recharger mon compte", language_code="fr")
    [answer] = telegram_api.wait_messages(user, 1)
    engine = service.assistant.services.engine
    account = AccountStore(engine).find_by_identity("telegram", str(user))
    memo = memo_for(account.id)
    assert waves_chain.service_address in answer.text and memo in answer.text
    # The user pays from their own wallet on chain, with the memo the bot gave.
    tx_id = waves_chain.send_deposit(re.search(r"ET\d+-\d\d", answer.text)[0], 1250 * ETT // 100)
    notice = telegram_api.wait_messages(user, 2)[1]
    assert notice.text == t("fr", "deposit_received", amount="12,5 ETT", balance="12,5 ETT")
    ledger = LedgerStore(engine)
    assert ledger.balance(account_book(account.id), "ETT").amount == 1250 * ETT // 100
    [entry] = ledger.entries(account_book(account.id))
    assert (entry["kind"], entry["ref"], entry["amount"]) == ("deposit", tx_id, 1250 * ETT // 100)
    telegram_api.send_text(user, "solde", language_code="fr")
    assert telegram_api.wait_messages(user, 3)[2].text == t(
        "fr", "balance", balances="12,5 ETT, 0 WAVES"
    )

    # A withdrawal confirmed with the inline button: the question is edited into the outcome.
    waves_chain.send_deposit("fees", ETT, asset=None)
    to = waves_chain.address_of(random_seed())
    telegram_api.send_text(user, f"retirer 2,5 ETT vers {to}", language_code="fr")
    question = telegram_api.wait_messages(user, 4)[3]
    assert question.text == t("fr", "withdraw_confirm", amount="2,5 ETT", address=to)
    telegram_api.press_button(user, question, question.buttons[0][1], language_code="fr")
    telegram_api.wait_for(lambda: bool(telegram_api.messages(user)[3].edits), what="an edit")
    [tx] = transfers_to(waves_chain, to)
    assert telegram_api.messages(user)[3].text == t(
        "fr", "withdraw_sent", amount="2,5 ETT", address=to, tx_id=tx["id"], balance="10 ETT"
    )
    assert waves_chain.node.balance(to, waves_chain.ett_asset_id) == 250 * ETT // 100


def test_withdraw_confirmed_once_by_its_account_only(db_url, waves_chain, caplog):
    caplog.set_level(logging.DEBUG)
    assistant = wallet_assistant(db_url, waves_chain)
    account = funded(assistant, waves_chain, ANN)
    to = waves_chain.address_of(random_seed())
    node_txs = len(waves_chain.node.transactions)

    question = ask(assistant, ANN, f"withdraw 3 ETT to {to}")
    assert question.text == t("en", "withdraw_confirm", amount="3 ETT", address=to)
    yes, no = (button.data for button in question.buttons)
    assert yes.startswith("withdraw:yes:") and no.startswith("withdraw:no:")
    assert all(len(b.data.encode()) <= 64 for b in question.buttons)
    assert (
        len(waves_chain.node.transactions) == node_txs and available(assistant, account) == 10 * ETT
    )

    # Another account can neither confirm nor cancel it.
    assert press(assistant, BOB, yes).text == t("en", "choice_expired")
    assert press(assistant, BOB, no).text == t("en", "cancelled")  # in Bob's chat only
    assert transfers_to(waves_chain, to) == []

    done = press(assistant, ANN, yes)
    [tx] = transfers_to(waves_chain, to)
    assert done.key == question.key
    assert done.text == t(
        "en", "withdraw_sent", amount="3 ETT", address=to, tx_id=tx["id"], balance="7 ETT"
    )
    assert waves_chain.node.balance(to, waves_chain.ett_asset_id) == 3 * ETT
    assert available(assistant, account) == 7 * ETT
    entries = assistant.services.ledger.entries(account_book(account))
    assert [(e["kind"], e["amount"]) for e in entries] == [
        ("withdrawal", -3 * ETT),
        ("deposit", 10 * ETT),
    ]

    # Pressing again (a double tap) sends nothing more.
    assert press(assistant, ANN, yes).text == t("en", "choice_expired")
    assert press(assistant, ANN, no).text == t("en", "cancelled")
    assert len(transfers_to(waves_chain, to)) == 1 and available(assistant, account) == 7 * ETT

    # On XMPP and the console the user types the button's word.
    ask(assistant, ANN, f"withdraw 1.5 ETT to {to}")
    assert ask(assistant, ANN, "yes").text.startswith("Sent: 1.5 ETT")
    assert waves_chain.node.balance(to, waves_chain.ett_asset_id) == 45 * ETT // 10
    assert available(assistant, account) == 55 * ETT // 10

    seed = waves_chain.service_seed
    assert all(seed not in record.getMessage() for record in caplog.records)
    assistant.services.engine.dispose()


def test_two_simultaneous_presses_send_one_transfer(db_url, waves_chain):
    assistant = wallet_assistant(db_url, waves_chain)
    account = funded(assistant, waves_chain, ANN)
    to = waves_chain.address_of(random_seed())
    yes = ask(assistant, ANN, f"withdraw 4 ETT to {to}").buttons[0].data
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: press(assistant, ANN, yes).text, range(4)))
    assert answers.count(t("en", "choice_expired")) == 3
    assert sum(answer.startswith("Sent: 4 ETT") for answer in answers) == 1
    assert len(transfers_to(waves_chain, to)) == 1
    assert available(assistant, account) == 6 * ETT
    assistant.services.engine.dispose()


def test_cancel_moves_nothing(db_url, waves_chain):
    assistant = wallet_assistant(db_url, waves_chain)
    account = funded(assistant, waves_chain, ANN)
    to = waves_chain.address_of(random_seed())
    question = ask(assistant, ANN, f"вывести 2 ETT на {to}")
    assert question.text == t("ru", "withdraw_confirm", amount="2 ETT", address=to)
    assert [b.label for b in question.buttons] == [
        t("ru", "button_withdraw"),
        t("ru", "button_cancel"),
    ]
    yes, no = (button.data for button in question.buttons)
    assert press(assistant, BOB, no).text == t("en", "cancelled")  # Bob's own chat only
    cancelled = press(assistant, ANN, no)
    assert (cancelled.text, cancelled.key) == (t("ru", "cancelled"), question.key)
    assert press(assistant, ANN, yes).text == t("ru", "choice_expired")
    assert transfers_to(waves_chain, to) == [] and available(assistant, account) == 10 * ETT
    assistant.services.engine.dispose()


def test_an_expired_question_cannot_be_confirmed(db_url, waves_chain, monkeypatch):
    assistant = wallet_assistant(db_url, waves_chain, PendingWithdrawals(ttl=0.0))
    account = funded(assistant, waves_chain, ANN)
    to = waves_chain.address_of(random_seed())
    yes = ask(assistant, ANN, f"withdraw 1 ETT to {to}").buttons[0].data
    assert press(assistant, ANN, yes).text == t("en", "choice_expired")
    # A button of a service that restarted (or never asked) is expired too.
    assert press(assistant, ANN, "withdraw:yes:unknownToken").text == t("en", "choice_expired")
    assert transfers_to(waves_chain, to) == [] and available(assistant, account) == 10 * ETT
    assistant.services.engine.dispose()


def test_bad_withdrawals_get_a_clear_answer_and_move_nothing(db_url, waves_chain):
    assistant = wallet_assistant(db_url, waves_chain)
    account = funded(assistant, waves_chain, ANN)
    good = waves_chain.address_of(random_seed())
    mainnet = WavesClient(waves_chain.url, "W", random_seed()).address
    typo = good[:-1] + ("2" if good[-1] != "2" else "3")
    for bad in (mainnet, typo):
        reply = ask(assistant, ANN, f"withdraw 1 ETT to {bad}")
        assert (reply.text, reply.buttons) == (t("en", "withdraw_bad_address", address=bad), ())
    assert ask(assistant, ANN, f"retirer 50 ETT vers {good}").text == t(
        "fr", "withdraw_insufficient", available="10 ETT", amount="50 ETT"
    )
    assert ask(assistant, ANN, f"withdraw 1 WAVES to {good}").text == t(
        "en", "withdraw_insufficient", available="0 WAVES", amount="1 WAVES"
    )
    assert ask(assistant, ANN, f"withdraw 1.123456789 ETT to {good}").text == t(
        "en", "amount_invalid"
    )
    assert ask(assistant, ANN, "withdraw 5 ETT").text == t(
        "en", "withdraw_need_address", amount="5 ETT"
    )
    assert ask(assistant, ANN, f"withdraw ETT to {good}").text == t("en", "withdraw_need_amount")
    assert len(assistant.services.withdrawals.store.list(account)) == 0
    assert transfers_to(waves_chain, good) == [] and available(assistant, account) == 10 * ETT
    assistant.services.engine.dispose()


def test_balance_spent_between_question_and_confirmation(db_url, waves_chain):
    assistant = wallet_assistant(db_url, waves_chain)
    account = funded(assistant, waves_chain, ANN)
    to = waves_chain.address_of(random_seed())
    first = ask(assistant, ANN, f"withdraw 8 ETT to {to}").buttons[0].data
    second = ask(assistant, ANN, f"withdraw 8 ETT to {to}").buttons[0].data
    assert press(assistant, ANN, first).text.startswith("Sent: 8 ETT")
    assert press(assistant, ANN, second).text == t(
        "en", "withdraw_insufficient", available="2 ETT", amount="8 ETT"
    )
    assert len(transfers_to(waves_chain, to)) == 1 and available(assistant, account) == 2 * ETT
    assistant.services.engine.dispose()


def test_node_refusal_refunds_and_node_down_is_reported(db_url, waves_chain):
    assistant = wallet_assistant(db_url, waves_chain)
    account = funded(assistant, waves_chain, ANN, fees=False)  # no WAVES to pay the fee
    to = waves_chain.address_of(random_seed())
    yes = ask(assistant, ANN, f"withdraw 4 ETT to {to}").buttons[0].data
    assert press(assistant, ANN, yes).text == t("en", "withdraw_failed", amount="4 ETT")
    assert available(assistant, account) == 10 * ETT and transfers_to(waves_chain, to) == []

    yes = ask(assistant, ANN, f"withdraw 1 ETT to {to}").buttons[0].data
    waves_chain.node.down()
    try:
        answer = press(assistant, ANN, yes).text
    finally:
        waves_chain.node.up()
    [row] = [w for w in assistant.services.withdrawals.store.list(account) if w.state == "unknown"]
    assert answer == t("en", "withdraw_unknown", amount="1 ETT", tx_id=row.tx_id)
    assistant.services.engine.dispose()


def test_withdrawals_left_unknown_are_finished_and_the_user_told(db_url, waves_chain):
    """The node stops answering during the broadcast: the user reads that the outcome is
    not known yet; once the recovery decides, they are told how it ended."""
    assistant = wallet_assistant(db_url, waves_chain)
    account = funded(assistant, waves_chain, ANN)
    told: list[str] = []

    async def collect(external_id: str, reply) -> None:
        told.append(reply.text)

    assistant.services.outbox.register("console", collect)
    watcher, node = assistant.services.deposits, waves_chain.node
    watcher.recovery.grace, watcher.recovery_seconds = timedelta(0), 0
    to = waves_chain.address_of(random_seed())

    def withdraw_while_the_node_is_down(text: str) -> None:
        yes = ask(assistant, ANN, text).buttons[0].data
        node.down()
        try:
            assert press(assistant, ANN, yes).text.startswith("The Waves node did not answer")
        finally:
            node.up()

    withdraw_while_the_node_is_down(f"withdraw 1 ETT to {to}")
    asyncio.run(watcher.recover_withdrawals())  # the transfer reaches the node now
    [sent] = assistant.services.withdrawals.store.list(account)
    assert told == [
        t("en", "withdraw_finished_sent", amount="1 ETT", address=to, tx_id=sent.tx_id,
          balance="9 ETT")
    ]  # fmt: skip
    withdraw_while_the_node_is_down(f"withdraw 2 ETT to {to}")
    node.clock_offset_ms = 3 * 3600 * 1000  # past the transfer's acceptance window
    node.mine()
    asyncio.run(watcher.recover_withdrawals())
    assert told[1:] == [
        t("en", "withdraw_finished_refunded", amount="2 ETT", address=to, balance="9 ETT")
    ]
    assert available(assistant, account) == 9 * ETT and len(transfers_to(waves_chain, to)) == 1
    asyncio.run(watcher.recover_withdrawals())
    assert len(told) == 2  # each outcome told once
    assistant.services.engine.dispose()
