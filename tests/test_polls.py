"""ETT holders' votes against the Waves node emulator (its asset distribution at a height):
weights are the balances at the snapshot, whatever moved after; one vote per address,
changed until closing and refused after; each linked account told once, even by two
instances; results as a table and a PNG chart; the export recounted against the chain;
the chat in en/fr/ru; the admin CLI. Both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from PIL import Image

import main
import nlu
from bot.app import build_assistant, build_services
from bot.assistant import Context, Reply, Sender, choices
from bot.assistant.i18n import t
from bot.features.polls import PollNotices
from bot.features.polls.notices import CLAIM_LEASE
from bot.features.polls.text import CHOSEN, ExportData, VoteData
from domain.clock import utcnow
from nlu.commands import PollRequest
from privacy.forget import forget
from storage import open_database
from storage.accounts import AccountStore
from storage.polls import CLOSED, NO_WEIGHT, OPEN, RESULT, PollStore, VoteRefused
from storage.privacy import PrivacyStore
from testbed.waves_node import random_seed
from tests.conftest_chat import service_settings, telegram_settings
from wallet.polls import NO_ADDRESS, NodeReader, PollError, Polls
from wallet.waves import NodeUnavailable

UNIT = 10**8
FEES = 10**8  # WAVES given to a holder for its transfers' fees
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _holder(chain) -> tuple[str, str]:
    """A fresh address with WAVES for fees: (seed, address)."""
    seed = random_seed()
    address = chain.address_of(seed)
    chain.node.genesis(address, FEES)
    return seed, address


def _give(chain, address: str, ett: int, sender_seed: str | None = None) -> None:
    chain.send_deposit("", ett * UNIT, to=address, sender_seed=sender_seed)


def _distribution(chain, height: int) -> dict[str, int]:
    """The asset's holders at `height`, as anyone reads them from the node (one page)."""
    url = f"{chain.url}/assets/{chain.ett_asset_id}/distribution/{height}/limit/1000"
    answer = requests.get(url, timeout=10).json()
    assert answer["hasNext"] is False
    return {address: int(amount) for address, amount in answer["items"].items()}


class Scene:
    """Three holders on the chain (A 10 ETT, B 5 ETT, C none) at the snapshot, then
    balances moved after it (C gets 7, A sends 4 to B), and a poll opened on it."""

    def __init__(self, engine, chain, *, minutes: int = 60) -> None:
        self.chain = chain
        (self.seed_a, self.a), (_, self.b), (_, self.c) = (_holder(chain) for _ in range(3))
        _give(chain, self.a, 10)
        _give(chain, self.b, 5)
        self.height = chain.node.height  # the block of B's transfer
        _give(chain, self.c, 7)
        _give(chain, self.b, 4, sender_seed=self.seed_a)
        self.polls = Polls(engine)
        self.poll = self.polls.open(
            NodeReader(chain.url),
            question="Open an office in Lyon?",
            options=["Yes", "No", "Later"],
            height=self.height,
            closes_at=utcnow() + timedelta(minutes=minutes),
            asset_id=chain.ett_asset_id,
        )


def test_weights_are_the_balances_at_the_snapshot_height(engine, waves_chain):
    scene = Scene(engine, waves_chain)
    node = waves_chain.node
    # The chain moved on: now A has 6, B 9, C 7; at the snapshot A had 10, B 5, C none.
    assert node.balance(scene.a, waves_chain.ett_asset_id) == 6 * UNIT
    assert node.balance(scene.c, waves_chain.ett_asset_id) == 7 * UNIT
    snapshot = scene.polls.store.snapshot(scene.poll.id)
    assert (snapshot[scene.a], snapshot[scene.b]) == (10 * UNIT, 5 * UNIT)
    assert scene.c not in snapshot
    assert snapshot == _distribution(waves_chain, scene.height)  # every holder, the faucet too
    assert sum(snapshot.values()) == 10**8 * UNIT  # the whole supply, none lost in paging
    assert (scene.poll.decimals, scene.poll.height) == (8, scene.height)
    # Read in pages of 1 and 2 (each page's items in no particular order): the same holders.
    reader = NodeReader(waves_chain.url)
    for page in (1, 2):
        assert reader.distribution(waves_chain.ett_asset_id, scene.height, page=page) == snapshot
    # A later snapshot sees the moves (once a block is on top of the last one).
    node.mine()
    later = reader.distribution(waves_chain.ett_asset_id, node.height - 1)
    assert (later[scene.a], later[scene.b], later[scene.c]) == (6 * UNIT, 9 * UNIT, 7 * UNIT)


def test_the_node_answers_only_heights_it_has_passed_within_its_depth(engine, waves_chain):
    node, asset = waves_chain.node, waves_chain.ett_asset_id
    _give(waves_chain, _holder(waves_chain)[1], 1)
    base = f"{waves_chain.url}/assets/{asset}/distribution"

    def refusal(path: str) -> tuple[int, dict]:
        answer = requests.get(f"{base}/{path}", timeout=10)
        return answer.status_code, answer.json()

    current = node.height
    assert refusal(f"{current}/limit/10") == (
        400,
        {
            "error": 199,
            "message": "Using 'assetDistributionAtHeight' on current height can lead to "
            "inconsistent result",
        },
    )
    assert refusal(f"{current + 5}/limit/10")[1]["message"] == (
        f"Asset distribution available only at height not greater than {current - 1}"
    )
    assert refusal("0/limit/10")[1]["message"] == "Height should be greater than zero"
    assert refusal(f"{current - 1}/limit/1001")[1]["message"] == (
        "Limit should be less than or equal to 1000"
    )
    assert refusal(f"{current - 1}/limit/10?after=nonsense")[1]["error"] == 102
    polls = Polls(engine)
    opening = {
        "question": "Q?",
        "options": ["Yes", "No"],
        "closes_at": utcnow() + timedelta(days=1),
        "asset_id": asset,
    }
    with pytest.raises(PollError, match=f"at most {current - 1}"):
        polls.open(NodeReader(waves_chain.url), height=current, **opening)
    node.max_distribution_depth = 1  # a node that keeps one block of history
    with pytest.raises(NodeUnavailable, match="Unable to get distribution past height") as old:
        polls.open(NodeReader(waves_chain.url), height=1, **opening)
    assert old.value.code == 199
    with pytest.raises(PollError, match="2 to 10 options"):
        polls.open(NodeReader(waves_chain.url), height=current - 1, **opening | {"options": ["A"]})
    with pytest.raises(PollError, match="future"):
        past = opening | {"closes_at": utcnow() - timedelta(minutes=1)}
        polls.open(NodeReader(waves_chain.url), height=current - 1, **past)
    assert PollStore(engine).listing() == []


# --- the chat ------------------------------------------------------------------------------


class Chat:
    """The assistant on this test's database, with accounts in three languages."""

    def __init__(self, db_url: str, engine) -> None:
        self.engine = engine
        self.assistant = build_assistant(build_services(service_settings(db_url), engine=engine))
        self.accounts = AccountStore(engine)

    def user(self, network: str, external_id: str, lang: str, address: str | None) -> Sender:
        account = self.accounts.resolve(network, external_id, language=lang)
        if address:
            self.accounts.update(account.id, wallet_address=address)
        return Sender(network, external_id, lang)

    def account_id(self, sender: Sender) -> int:
        account = self.accounts.find_by_identity(sender.network, sender.external_id)
        assert account is not None
        return account.id

    def say(self, sender: Sender, text: str) -> list[Reply]:
        return self.assistant.handle_sync(sender, text)

    def press(self, sender: Sender, data: str) -> Reply:
        [reply] = self.assistant.press_sync(sender, data)
        return reply


@pytest.fixture
def chat(db_url, engine) -> Chat:
    return Chat(db_url, engine)


def test_one_vote_per_address_changed_until_closing_refused_after(chat, engine, waves_chain):
    scene = Scene(engine, waves_chain)
    poll_id = scene.poll.id
    # Ann (en) and Bob (fr) proved the same wallet A: they vote for it alike.
    ann = chat.user("telegram", "71", "en", scene.a)
    bob = chat.user("xmpp", "bob@pbx.test", "fr", scene.a)
    cleo = chat.user("telegram", "72", "ru", scene.c)  # C held nothing at the snapshot
    dan = chat.user("telegram", "73", "en", None)  # no wallet linked
    bea = chat.user("telegram", "74", "fr", scene.b)

    [shown] = chat.say(ann, "polls")
    assert "Open an office in Lyon?" in shown.text and "10.00000000 ETT" in shown.text
    assert [b.label for b in shown.buttons] == ["Yes", "No", "Later"]
    assert shown.buttons[0].data == VoteData(poll_id, 1).pack()
    assert shown.buttons[1].word == "vote 1 2"

    voted = chat.press(ann, VoteData(poll_id, 1).pack())
    assert voted.key == f"poll:{poll_id}"
    assert t("en", "poll_your_vote", option="Yes") in voted.text
    assert [b.label for b in voted.buttons] == [CHOSEN + "Yes", "No", "Later"]
    changed = chat.say(bob, "voter 1 2")[0]  # Bob's words, in French: A now votes No
    assert t("fr", "poll_your_vote", option="No") in changed.text
    assert "10,00000000 ETT" in changed.text
    chat.press(bea, VoteData(poll_id, 3).pack())
    votes = PollStore(engine).votes(poll_id)
    assert [(v.address, v.option, v.weight) for v in votes] == sorted(
        [(scene.a, 1, 10 * UNIT), (scene.b, 2, 5 * UNIT)]
    )
    assert {v.address: v.account_id for v in votes}[scene.a] == chat.account_id(bob)
    # Both of A's accounts get the results at closing; Bea's too.
    assert PollStore(engine).voters(poll_id) == sorted(
        chat.account_id(sender) for sender in (ann, bob, bea)
    )

    refused = chat.press(cleo, VoteData(poll_id, 1).pack())
    assert refused.text == t(
        "ru", "poll_no_weight", address=scene.c, height=scene.height, id=poll_id
    )
    assert chat.press(dan, VoteData(poll_id, 1).pack()).text == t("en", "poll_need_wallet")
    assert chat.press(ann, VoteData(poll_id, 10).pack()).text == t(
        "en", "poll_bad_option", id=poll_id, count=3
    )
    assert chat.press(ann, VoteData(999, 2).pack()).text == t("en", "poll_unknown", id=999)
    with pytest.raises(VoteRefused) as no_address:
        scene.polls.vote(poll_id, 0, chat.accounts.get(chat.account_id(dan)))
    assert no_address.value.reason == NO_ADDRESS
    # Results are kept for the closing (only the turnout while open).
    [still_open] = chat.say(ann, "poll results")
    assert still_open.text.startswith(t("en", "poll_no_results"))
    [still_open] = chat.say(ann, f"poll results {poll_id}")
    assert "Addresses that voted so far: 2" in still_open.text

    PollStore(engine).close(poll_id)
    for sender, lang in ((ann, "en"), (bob, "fr"), (cleo, "ru")):
        late = chat.press(sender, VoteData(poll_id, 1).pack())
        assert late.text.startswith(t(lang, "poll_closed", id=poll_id, closes="X").split("X")[0])
        assert not late.buttons
    with pytest.raises(VoteRefused) as closed:
        scene.polls.vote(poll_id, 0, chat.accounts.get(chat.account_id(ann)))
    assert closed.value.reason == CLOSED
    assert [(v.address, v.option) for v in PollStore(engine).votes(poll_id)] == sorted(
        [(scene.a, 1), (scene.b, 2)]
    )  # unchanged by the late presses
    with pytest.raises(VoteRefused) as nothing:
        PollStore(engine).vote(poll_id, scene.c, 0, chat.account_id(cleo), utcnow())
    assert nothing.value.reason == CLOSED  # closed is checked first
    assert NO_WEIGHT == "no_weight"


@pytest.mark.parametrize(
    ("lang", "results_words", "export_words", "decimal"),
    [
        ("en", "poll results", "poll export", "."),
        ("fr", "résultats du vote", "export du vote", ","),
        ("ru", "результаты голосования", "экспорт голосования", ","),
    ],
)
def test_results_table_chart_and_export_recounted_against_the_chain(
    chat, engine, waves_chain, lang, results_words, export_words, decimal
):
    scene = Scene(engine, waves_chain)
    poll_id = scene.poll.id
    voter = chat.user("telegram", "81", lang, scene.a)
    chat.press(voter, VoteData(poll_id, 1).pack())
    chat.press(chat.user("telegram", "82", "en", scene.b), VoteData(poll_id, 2).pack())
    PollStore(engine).close(poll_id)

    [results] = chat.say(voter, results_words)
    assert results.lang == lang
    lines = results.text.splitlines()
    yes, no, later = (line for line in lines if line.startswith("• "))
    share = f"66{decimal}67"
    assert yes == t(
        lang,
        "poll_results_line",
        option="Yes",
        votes=t(lang, "poll_results_votes", count=1),
        weight=f"10{decimal}00000000",
        share=share,
    )
    assert f"5{decimal}00000000 ETT" in no and f"33{decimal}33" in no
    assert f"0{decimal}00000000 ETT" in later
    assert t(lang, "poll_results_votes", count=2) in lines[-2]
    assert f"15{decimal}00000000 ETT" in lines[-2]
    png = results.attachment.read()
    assert results.attachment.mime == "image/png" and png.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == 900 and 150 <= image.height <= 600
    assert 10_000 < len(png) < 300_000
    assert [b.data for b in results.buttons] == [ExportData(poll_id).pack()]
    assert chat.say(voter, f"{results_words} {poll_id}")[0].text == results.text

    csv_reply, json_reply = chat.say(voter, export_words)
    assert [r.attachment.name for r in (csv_reply, json_reply)] == [
        f"encryptotel-poll-{poll_id}.csv",
        f"encryptotel-poll-{poll_id}.json",
    ]
    pressed = chat.assistant.press_sync(voter, ExportData(poll_id).pack())
    assert [r.attachment.read() for r in pressed] == [
        r.attachment.read() for r in (csv_reply, json_reply)
    ][:1] + [pressed[1].attachment.read()]
    rows = list(csv.DictReader(io.StringIO(csv_reply.attachment.read().decode())))
    document = json.loads(json_reply.attachment.read())
    assert {r["asset_id"] for r in rows} == {waves_chain.ett_asset_id}
    assert {int(r["height"]) for r in rows} == {document["height"]} == {scene.height}
    # The recount: each weight read again from the chain at that height, summed by option.
    chain = _distribution(waves_chain, int(rows[0]["height"]))
    recount: dict[str, int] = {}
    for row in rows:
        assert int(row["weight"]) == chain[row["address"]]
        recount[row["option"]] = recount.get(row["option"], 0) + chain[row["address"]]
    counted = {tally.label: tally.weight for tally in scene.polls.results(scene.poll).tallies}
    assert recount == {k: v for k, v in counted.items() if v}
    assert {v["address"]: v["weight"] for v in document["votes"]} == {
        row["address"]: int(row["weight"]) for row in rows
    }
    assert [(x["option"], x["weight"]) for x in document["totals"]] == list(counted.items())
    assert "account" not in json.dumps(document)


# --- announcements and results pushed, two instances -----------------------------------


class Instance:
    """One more instance of the service on the same database, whose "telegram" network
    (a stand-in for the chat network) keeps what it was asked to send."""

    def __init__(self, db_url: str) -> None:
        self.engine = open_database(db_url, migrate=False)
        self.services = build_services(service_settings(db_url), engine=self.engine)
        self.sent: list[tuple[str, Reply]] = []
        self.reachable: set[str] = set()

        async def send(external_id: str, reply: Reply) -> None:
            if external_id not in self.reachable:
                raise LookupError("not on this network")
            self.sent.append((external_id, reply))

        self.services.outbox.register("telegram", send)
        self.notices = PollNotices(self.services)


def test_each_linked_account_is_told_once_and_voters_get_the_results(db_url, engine, waves_chain):
    scene = Scene(engine, waves_chain)
    accounts = AccountStore(engine)
    ids = {}
    for user, lang, address in (("1", "en", scene.a), ("2", "fr", scene.b), ("3", "ru", scene.c)):
        ids[user] = accounts.resolve("telegram", user, language=lang).id
        accounts.update(ids[user], wallet_address=address)
    accounts.resolve("telegram", "4")  # no wallet: not told
    first, second = Instance(db_url), Instance(db_url)
    try:
        for instance in (first, second):
            instance.reachable = {"1", "2"}  # "3" is reachable nowhere for now

        async def both() -> list[int]:
            return await asyncio.gather(first.notices.tick(), second.notices.tick())

        assert sum(asyncio.run(both())) == 2
        told = sorted(first.sent + second.sent, key=lambda sent: sent[0])
        assert [user for user, _reply in told] == ["1", "2"]
        (_, to_ann), (_, to_bea) = told
        assert to_ann.text.startswith("ETT holders' vote #1: Open an office in Lyon?\n")
        assert "10.00000000 ETT" in to_ann.text and len(to_ann.buttons) == 3
        assert "5,00000000 ETT" in to_bea.text and to_bea.lang == "fr"
        assert asyncio.run(first.notices.tick()) == 0  # told once
        store = PollStore(engine)
        assert store.notices(scene.poll.id, OPEN)[ids["3"]] is None  # claimed, not sent

        # "3" is reachable now: tried again once its claim is stale; it held nothing.
        second.reachable = {"1", "2", "3"}
        assert asyncio.run(second.notices.tick()) == 0
        later = utcnow() + CLAIM_LEASE + timedelta(seconds=1)
        assert asyncio.run(second.notices.tick(later)) == 1
        user, to_cleo = second.sent[-1]
        assert user == "3" and to_cleo.lang == "ru" and not to_cleo.buttons
        assert scene.c in to_cleo.text

        # Votes, the close, then the results to each voter once, with the chart.
        Polls(engine).vote(scene.poll.id, 0, accounts.get(ids["1"]))
        Polls(engine).vote(scene.poll.id, 1, accounts.get(ids["2"]))
        store.close(scene.poll.id)
        before = len(first.sent), len(second.sent)
        assert sum(asyncio.run(both())) == 2
        results = first.sent[before[0] :] + second.sent[before[1] :]
        assert sorted(user for user, _ in results) == ["1", "2"]
        for _user, reply in results:
            assert reply.attachment is not None
            assert reply.attachment.read().startswith(PNG_MAGIC)
        assert sum(asyncio.run(both())) == 0
        assert set(store.notices(scene.poll.id, RESULT)) == {ids["1"], ids["2"]}
    finally:
        first.engine.dispose()
        second.engine.dispose()


# --- the operator's command line -----------------------------------------------------------


def _admin(monkeypatch, capsys, db_url: str, chain, *words: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("WAVES_NODE_URL", chain.url)
    monkeypatch.setenv("WAVES_CHAIN_ID", chain.chain_id)
    monkeypatch.setenv("ETT_ASSET_ID", chain.ett_asset_id)
    status = main.main(["admin", *words])
    out, err = capsys.readouterr()
    return status, out, err


def test_admin_opens_lists_counts_closes_and_exports(
    db_url, engine, waves_chain, monkeypatch, capsys, tmp_path
):
    _seed, holder = _holder(waves_chain)
    _give(waves_chain, holder, 3)
    height = waves_chain.node.height
    _give(waves_chain, holder, 4)  # after the snapshot: not counted
    status, out, err = _admin(
        monkeypatch, capsys, db_url, waves_chain, "poll", "open",
        "--question", "Lower the price of calls to France?",
        "--option", "Yes", "--option", "No",
        "--height", str(height), "--closes", "2099-12-15T12:00Z",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out.startswith("poll 1 open until 2099-12-15 12:00 UTC: 2 holders at block")
    account = AccountStore(engine).resolve("telegram", "5")
    AccountStore(engine).update(account.id, wallet_address=holder)
    Polls(engine).vote(1, 1, AccountStore(engine).get(account.id))

    status, out, _ = _admin(monkeypatch, capsys, db_url, waves_chain, "poll", "list")
    assert [line.split(maxsplit=4) for line in out.splitlines()] == [
        ["id", "state", "block", "closes", "question"],
        ["1", "open", str(height), "2099-12-15", "12:00 UTC  Lower the price of calls to France?"],
    ]
    status, out, _ = _admin(monkeypatch, capsys, db_url, waves_chain, "poll", "list", "--json")
    [row] = json.loads(out)
    assert (row["id"], row["options"], row["height"], row["closed"]) == (
        1,
        ["Yes", "No"],
        height,
        False,
    )
    status, out, _ = _admin(monkeypatch, capsys, db_url, waves_chain, "poll", "results", "1")
    assert "so far (open)" in out
    assert [line.split() for line in out.splitlines()[2:]] == [
        ["Yes", "0", "0.00000000", "0.00", "%"],
        ["No", "1", "3.00000000", "100.00", "%"],
        ["total", "1", "3.00000000"],
    ]
    status, out, _ = _admin(monkeypatch, capsys, db_url, waves_chain, "poll", "close", "1")
    assert status == 0 and out.startswith("poll 1 closed at ")
    target = tmp_path / "poll.json"
    status, _, _ = _admin(
        monkeypatch, capsys, db_url, waves_chain, "poll", "export", "1", "--format", "json",
        "-o", str(target),
    )  # fmt: skip
    document = json.loads(target.read_text())
    assert document["closed"] is True
    assert document["votes"] == [
        {"address": holder, "option": "No", "option_number": 2, "weight": 3 * UNIT}
    ]
    status, out, _ = _admin(monkeypatch, capsys, db_url, waves_chain, "poll", "export", "1")
    assert out.splitlines()[0] == "poll_id,question,asset_id,height,address,option,weight"

    current = waves_chain.node.height
    status, _, err = _admin(
        monkeypatch, capsys, db_url, waves_chain, "poll", "open", "--question", "Q?",
        "--option", "A", "--option", "B", "--height", str(current), "--closes", "2099-01-01",
    )  # fmt: skip
    assert status == 2
    assert err == (
        f"error: the node is at height {current}: the snapshot must be a block it has "
        f"passed (at most {current - 1})\n"
    )
    status, _, err = _admin(monkeypatch, capsys, db_url, waves_chain, "poll", "close", "7")
    assert (status, err) == (1, "error: no poll 7\n")
    # A block where nobody held ETT yet: nobody could vote, so no poll.
    assert _distribution(waves_chain, 1) == {}
    status, out, err = _admin(
        monkeypatch, capsys, db_url, waves_chain, "poll", "open", "--question", "Q?",
        "--option", "A", "--option", "B", "--height", "1", "--closes", "2099-01-01",
    )  # fmt: skip
    assert (status, out) == (2, "")
    assert err == (
        f"error: no address held asset {waves_chain.ett_asset_id} at block 1: nobody could "
        "vote (check --height and ETT_ASSET_ID)\n"
    )
    assert [poll.id for poll in PollStore(engine).listing()] == [1]


# --- "forget me" -----------------------------------------------------------------------------


def test_forgetting_keeps_a_closed_polls_vote_without_its_account(chat, engine, waves_chain):
    scene = Scene(engine, waves_chain)
    other = Scene(engine, waves_chain)  # another poll, still open
    ann = chat.user("telegram", "91", "en", scene.a)
    chat.press(ann, VoteData(scene.poll.id, 1).pack())
    account_id = chat.account_id(ann)
    PollStore(engine).close(scene.poll.id)
    AccountStore(engine).update(account_id, wallet_address=other.a)
    chat.press(ann, VoteData(other.poll.id, 2).pack())
    exported = PrivacyStore(engine).export(account_id)["polls"]
    assert [v["poll_id"] for v in exported["votes"]] == [scene.poll.id, other.poll.id]

    forget(PrivacyStore(engine), chat.assistant.services.recordings, account_id)
    [kept] = PollStore(engine).votes(scene.poll.id)
    assert (kept.address, kept.option, kept.weight, kept.account_id) == (
        scene.a,
        0,
        10 * UNIT,
        None,
    )
    assert PollStore(engine).votes(other.poll.id) == []  # withdrawn from the open poll
    assert PollStore(engine).voters(scene.poll.id) == []


# --- through Telegram (the Bot API emulator) and the running service --------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_telegram_announcement_button_and_results_chart(
    db_url, engine, waves_chain, telegram_api, start_service
):
    scene = Scene(engine, waves_chain)
    service = start_service(**telegram_settings(db_url, telegram_api))
    user = 4242
    telegram_api.send_text(user, "/help", language_code="fr")
    telegram_api.wait_messages(user, 1)
    accounts = service.assistant.services.accounts
    account = accounts.find_by_identity("telegram", str(user))
    accounts.update(account.id, wallet_address=scene.b)
    notices = PollNotices(service.assistant.services)

    # (the service's own duty may be the one that tells it: once either way)
    service.run(notices.tick())
    announced = telegram_api.wait_messages(user, 2)[1]
    assert "5,00000000 ETT" in announced.text and "Lyon" in announced.text
    assert announced.buttons == [
        ("Yes", VoteData(scene.poll.id, 1).pack()),
        ("No", VoteData(scene.poll.id, 2).pack()),
        ("Later", VoteData(scene.poll.id, 3).pack()),
    ]
    telegram_api.press_button(user, announced, VoteData(scene.poll.id, 2).pack(), "fr")
    telegram_api.wait_for(lambda: telegram_api.messages(user)[1].edits, what="the vote")
    edited = telegram_api.messages(user)[1]
    assert t("fr", "poll_your_vote", option="No") in edited.text
    assert edited.buttons[1][0] == CHOSEN + "No"
    assert service.run(notices.tick()) == 0  # told once
    assert len(telegram_api.messages(user)) == 2

    PollStore(engine).close(scene.poll.id)
    service.run(notices.tick())
    chart = telegram_api.wait_messages(user, 3)[2]
    assert chart.document["mime_type"] == "image/png"
    assert chart.document["file_name"] == f"encryptotel-poll-{scene.poll.id}.png"
    assert telegram_api.file_bytes(chart.document["file_id"]).startswith(PNG_MAGIC)
    assert "100,00 %" in chart.caption and "5,00000000 ETT" in chart.caption
    service.run(notices.tick())
    assert len(telegram_api.messages(user)) == 3


def test_presses_at_once_leave_one_vote_per_address(db_url, engine, waves_chain):
    scene = Scene(engine, waves_chain)
    accounts = AccountStore(engine)
    voters = []
    for n in range(6):
        account = accounts.resolve("telegram", f"60{n}")
        accounts.update(account.id, wallet_address=scene.a)
        voters.append(accounts.get(account.id))
    engines = [open_database(db_url, migrate=False) for _ in voters]
    try:

        def press(n: int) -> int:
            return Polls(engines[n]).vote(scene.poll.id, n % 3, voters[n]).option

        with ThreadPoolExecutor(len(voters)) as pool:
            chosen = list(pool.map(press, range(len(voters))))
    finally:
        for each in engines:
            each.dispose()
    [vote] = PollStore(engine).votes(scene.poll.id)
    assert vote.address == scene.a and vote.weight == 10 * UNIT
    assert vote.option in chosen
    assert [t.votes for t in Polls(engine).results(scene.poll).tallies].count(1) == 1


@pytest.mark.parametrize(
    ("lang", "polls", "word", "network"),
    [
        ("en", "polls", "vote", "telegram"),
        ("fr", "sondages", "voter", "xmpp"),
        ("ru", "голосования", "голос", "console"),
    ],
)
def test_options_numbered_from_1_and_typed_votes_told_what_is_wrong(
    chat, engine, waves_chain, lang, polls, word, network
):
    scene = Scene(engine, waves_chain)
    poll_id = scene.poll.id
    user = chat.user(network, f"{lang}@pbx.test", lang, scene.a)
    [shown] = chat.say(user, polls)
    # The text itself says how to vote by typing, the options numbered from 1 as typed.
    how = t(lang, "poll_how_to_vote", id=poll_id, options="1 Yes, 2 No, 3 Later")
    assert how in shown.text and f"{word} {poll_id} 1" in how
    assert [(b.word, b.data) for b in shown.buttons] == [
        (f"{word} {poll_id} {n}", VoteData(poll_id, n).pack()) for n in (1, 2, 3)
    ]
    assert choices.as_text(shown).endswith(
        t(lang, "choice_item", word=f"{word} {poll_id} 3", label="Later") + "."
    )
    # A poll that does not exist, an option out of range (typed and pressed): said so.
    assert chat.say(user, f"{word} 9 1")[0].text == t(lang, "poll_unknown", id=9)
    bad = t(lang, "poll_bad_option", id=poll_id, count=3)
    for number in (4, 0):
        assert chat.say(user, f"{word} {poll_id} {number}")[0].text == bad
    assert chat.press(user, VoteData(poll_id, 7).pack()).text == bad
    assert PollStore(engine).votes(poll_id) == []
    # Typed after the announcement ("vote 1 2"), or later anywhere: option 2 is "No".
    voted = chat.say(user, f"{word} {poll_id} 2")[0]
    assert t(lang, "poll_your_vote", option="No") in voted.text
    assert [b.label for b in voted.buttons] == ["Yes", CHOSEN + "No", "Later"]
    assert chat.say(user, f"{word} #{poll_id} 3")[0].buttons[2].label == CHOSEN + "Later"
    [vote] = PollStore(engine).votes(poll_id)
    assert (vote.address, vote.option, vote.weight) == (scene.a, 2, 10 * UNIT)


# --- the parser ------------------------------------------------------------------------------

# The votes' words: (message, lang, action, poll, option, the chat's route).
WORDS = [
    ("polls", "en", "list", None, None, "polls"),
    ("sondages", "fr", "list", None, None, "polls"),
    ("голосования", "ru", "list", None, None, "polls"),
    ("vote 1 2", "en", "vote", 1, 2, "vote"),
    ("voter 1 2", "fr", "vote", 1, 2, "vote"),
    ("голос #1 2", "ru", "vote", 1, 2, "vote"),
    ("poll results 1", "en", "results", 1, None, "poll_results"),
    ("résultats du vote", "fr", "results", None, None, "poll_results"),
    ("итоги голосования № 1", "ru", "results", 1, None, "poll_results"),
    ("poll export 1", "en", "export", 1, None, "poll_export"),
    ("export du vote 1", "fr", "export", 1, None, "poll_export"),
]


def test_parse_and_the_chat_read_the_votes_words_alike(chat, engine, waves_chain):
    scene = Scene(engine, waves_chain)
    user = chat.user("telegram", "91", "en", scene.a)
    account = chat.accounts.get(chat.account_id(user))
    assistant = chat.assistant
    for text, lang, action, poll, option, route in WORDS:
        parsed = nlu.parse(text)
        assert parsed == {
            "intent": "poll",
            "lang": lang,
            "action": action,
            "poll": poll,
            "option": option,
        }, text
        found = assistant.dispatcher.match(text)
        assert found is not None and (found.route.name, found.lang) == (route, lang), text
        command = nlu.command_of(parsed)
        assert command == PollRequest(lang, action=action, poll=poll, option=option)
        if action in ("list", "vote"):  # the parsed command answers as the chat does
            context = Context(account, lang, assistant.services, user, text)
            by_intent = assistant.dispatcher.dispatch(context, command)
            assert [r.text for r in by_intent] == [r.text for r in chat.say(user, text)], text
    assert [(v.option, v.weight) for v in PollStore(engine).votes(scene.poll.id)] == [
        (1, 10 * UNIT)
    ]
    for other in ("vote for me", "vote 1", "polls 3", "my balance", "call +33612345678"):
        assert nlu.parse(other)["intent"] != "poll", other
