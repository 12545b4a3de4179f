"""The assistant core: which answers are computed on the event loop, and that they agree."""

from __future__ import annotations

import asyncio
import time

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.i18n import t
from tests.conftest_chat import service_settings

ANN = Sender("telegram", "4711", "en")


def test_read_only_answers_on_sqlite_and_every_write_in_a_thread(engine, db_url):
    assistant = build_assistant(build_services(service_settings(db_url), engine=engine))
    assert assistant.reads_on_loop is (engine.dialect.name == "sqlite")
    loop_thread: list[bool] = []
    original = assistant._answer

    def spy(sender, text, now, *, read_only, **more):
        replies = original(sender, text, now, read_only=read_only, **more)
        if replies is not None:
            loop_thread.append(read_only)
        return replies

    assistant._answer = spy

    async def conversation() -> list[str]:
        texts = ["help", "solde", "solde", "my number is +44 7911 123456", "/balance"]
        return [(await assistant.handle(ANN, text))[0].text for text in texts]

    answers = asyncio.run(conversation())
    assert answers == [
        t("en", "help"),
        t("fr", "balance", balances="0 ETT, 0 WAVES"),
        t("fr", "balance", balances="0 ETT, 0 WAVES"),
        t("en", "number_saved", number="+447911123456"),
        t("en", "balance", balances="0 ETT, 0 WAVES"),
    ]
    if assistant.reads_on_loop:
        # First contact creates the account (thread); a switch of language is stored by the
        # writer thread while the answer is given at once; a new number is written (thread).
        assert loop_thread == [False, True, True, False, True]
    else:
        assert loop_thread == [False] * 5
    account = assistant.services.accounts.find_by_identity(ANN.network, ANN.external_id)
    deadline = time.monotonic() + 5
    while account.language != "en" and time.monotonic() < deadline:
        time.sleep(0.02)
        account = assistant.services.accounts.get(account.id)
    assert (account.language, account.phone_number) == ("en", "+447911123456")
