"""What a user of monthly plans reads and writes (the review of issue 16): geographic
destination groups with names per language, plurals, the plan file's errors, phrases
understood, "subscribe" without a plan, near spellings and aliases, a pending switch, the
API's problem details without chat instructions. Chat and API on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Assistant, Reply, Sender
from bot.assistant.i18n import t
from nlu.parser import parse
from storage import open_database
from tests.conftest_api import ApiEnv
from tests.conftest_chat import service_settings
from tests.wallet_helpers import fund
from wallet.plans import Catalogue, PlanError, PlanFileError

# --- the shipped groups and the plan file (no database) --------------------------------


@pytest.mark.parametrize(
    ("number", "group"),
    [
        ("+33142685300", "france"),  # Paris
        ("+33612345678", "france"),  # a French mobile
        ("+33712345678", "france"),
        ("+447700900123", "europe"),  # a UK mobile
        ("+442079460958", "europe"),
        ("+4915112345678", "europe"),  # a German mobile
        ("+34612345678", "europe"),  # a Spanish mobile
        ("+79161234567", "russia"),  # a Moscow mobile
        ("+74951234567", "russia"),
        ("+77011234567", None),  # Kazakhstan shares +7: not Russia
        ("+12125550100", "north_america"),
        ("+81312345678", None),
        ("1001", None),
    ],
)
def test_shipped_groups_are_geographic_mobiles_included(number, group):
    assert Catalogue.load().group_of(number) == group


def test_groups_have_names_per_language_falling_back_to_english_then_the_key():
    catalogue = Catalogue.load()
    assert catalogue.label("france", "ru") == "Франция"
    assert catalogue.label("north_america", "fr") == "Amérique du Nord (+1)"
    assert catalogue.label("russia", "de") == "Russia"
    plain = Catalogue.parse({"groups": {"fr": ["33"]}, "plan": [{"name": "X", "price_ett": "1"}]})
    assert plain.label("fr", "ru") == "fr"
    assert plain.group_of("+33612345678") == "fr"


def test_aliases_name_a_plan_in_other_spellings():
    catalogue = Catalogue.load()
    business = catalogue.find("бизнес")
    assert business is not None and business.name == "Business"
    assert catalogue.find(" Стартер ") is catalogue.plans[0]
    assert catalogue.find("Gold") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[groups.fr]\nprefixes = "33"\n', "group 'fr': field 'prefixes'"),
        ('[groups.fr]\nprefixes = ["33"]\nlabel = "France"\n', "group 'fr': field 'label'"),
        ('[groups.fr]\nprefixes = ["33"]\nlabel = { en = "" }\n', "group 'fr': field 'label'"),
        ('[groups.fr]\nprefixes = ["33"]\ncolour = 1\n', "group 'fr': field 'colour': unknown"),
        ('[[plan]]\nname = "X"\nprice_ett = "1"\naliases = "Y"\n', "plan 'X': field 'aliases'"),
        (
            '[[plan]]\nname = "X"\nprice_ett = "1"\n[[plan]]\nname = "Y"\nprice_ett = "2"\n'
            'aliases = ["x"]\n',
            "plan 'Y': field 'aliases': 'x' names plan 'X' too",
        ),
        ('[[plan]]\nname = "X"\nprice_ett = "-1"\n', "plan 'X': field 'price_ett'"),
        ("[[plan]\n", "not TOML"),
    ],
)
def test_a_bad_plan_file_is_one_error_naming_its_full_path(tmp_path: Path, text, message):
    path = tmp_path / "conf" / "operator-plans.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanFileError) as error:
        Catalogue.load(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert isinstance(error.value, PlanError) and isinstance(error.value, ValueError)


def test_a_missing_plan_file_names_its_full_path(tmp_path: Path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(PlanFileError, match=f"^{path}: cannot be read"):
        Catalogue.load(path)


# --- phrases (the parser) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "name"),
    [
        ("subscribe", "subscribe", None),
        ("Subscribe", "subscribe", None),
        ("подписаться", "subscribe", None),
        ("je veux m'abonner", "subscribe", None),
        ("switch to Enterprise", "subscribe", "Enterprise"),
        ("upgrade to Business please", "subscribe", "Business"),
        ("passer à Business", "subscribe", "Business"),
        ("перейти на Бизнес", "subscribe", "Бизнес"),
        ("подключи тариф Бизнес", "subscribe", "Бизнес"),
        ("subscribe to Busines", "subscribe", "Busines"),
        ("my minutes", "usage", None),
        ("mes minutes", "usage", None),
        ("минуты", "usage", None),
        ("мои минуты", "usage", None),
        ("résilier", "cancel", None),
        ("annule mon forfait", "cancel", None),
        ("отмена тарифа", "cancel", None),
        ("don't cancel my plan", "usage", None),  # not cancelled: the plan shown
    ],
)
def test_plan_phrases_are_understood(text, action, name):
    parsed = parse(text)
    assert (parsed["intent"], parsed["action"], parsed["name"]) == ("plan", action, name)


@pytest.mark.parametrize(
    "text",
    ["annule", "отмена", "Cancel", "stop", "switch to English", "перейди на английский",
     "passer en français", "switch to speaker"],
)  # fmt: skip
def test_a_bare_cancel_word_or_a_language_is_not_taken_for_a_plan(text):
    assert parse(text)["intent"] != "plan"


# --- the chat ---------------------------------------------------------------------------


class Chat:
    """An assistant on its own services and database."""

    def __init__(self, db_url: str) -> None:
        self.engine = open_database(db_url, migrate=False)
        services = build_services(service_settings(db_url), engine=self.engine)
        self.assistant: Assistant = build_assistant(services)
        self.services = services

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


@pytest.fixture
def chat(db_url: str) -> Iterator[Chat]:
    made = Chat(db_url)
    yield made
    made.engine.dispose()


NAMES = "Starter, Business, Enterprise"


@pytest.mark.parametrize(
    ("lang", "listing", "texts"),
    [
        ("en", "plans", ["100 min France", "1 direct number;", "5 direct numbers", "2 tracking"]),
        ("fr", "forfaits", ["100 min France", "1 numéro direct;", "5 numéros directs"]),
        (
            "ru",
            "тарифы",
            ["100 мин Франция", "1 прямой номер;", "5 прямых номеров", "2 номера отслеживания"],
        ),
    ],
)
def test_the_list_names_groups_in_the_users_language_with_plurals(chat, lang, listing, texts):
    user = Sender("telegram", f"81{lang}", lang)
    text = chat.say(user, listing).text
    for expected in texts:
        assert expected in text
    assert "france" not in text and "north_america" not in text and "(s)" not in text
    assert t(lang, "plans_list_footer") in text  # says who assigns the direct numbers
    assert text.splitlines()[-1] == t(lang, "plans_list_how", example="Starter")


def test_subscribe_without_a_plan_asks_which_and_the_list_adapts_to_a_subscriber(chat):
    user = Sender("telegram", "8201", "en")
    assert chat.say(user, "subscribe").text == t("en", "plans_which", names=NAMES)
    fund(chat.engine, chat.account_id(user), "100")
    asked = chat.say(user, "subscribe to Business")
    assert asked.buttons
    # "subscribe" without a plan while the question is pending: not a silent plans list
    assert chat.say(user, "I want to subscribe").text == t("en", "plans_which", names=NAMES)
    done = chat.press(user, asked.buttons[0].data)
    assert done.text.startswith("Done: you are subscribed to Business until ")
    listed = chat.say(user, "plans").text
    assert listed.splitlines()[-1] == t("en", "plans_list_how_switch", plan="Business")
    assert "subscribe to Starter" not in listed


def test_near_spellings_and_aliases(chat):
    user = Sender("telegram", "8202", "ru")
    chat.say(user, "тарифы")
    fund(chat.engine, chat.account_id(user), "100")
    guess = chat.say(user, "подключи тариф Бизнесс")
    assert guess.text == t("ru", "plans_did_you_mean", name="Бизнесс", plan="Business")
    english = chat.say(user, "subscribe to Busines")
    assert english.text == t("en", "plans_did_you_mean", name="Busines", plan="Business")
    assert not guess.buttons  # nothing is charged on a guess
    asked = chat.say(user, "подключи тариф Бизнес")
    assert asked.buttons and asked.text.startswith("Подключить Business за ")
    assert chat.say(user, "подключи тариф Голд").text == t(
        "ru", "plans_unknown", name="Голд", names=NAMES
    )


def test_a_pending_switch_is_told_as_a_switch(chat):
    user = Sender("telegram", "8203", "en")
    chat.say(user, "plans")
    fund(chat.engine, chat.account_id(user), "100")
    chat.press(user, chat.say(user, "subscribe to Starter").buttons[0].data)
    switch = chat.say(user, "switch to Enterprise")
    assert switch.text.startswith("Switch from Starter to Enterprise")
    chat.press(user, switch.buttons[0].data)
    usage = chat.say(user, "my minutes").text.splitlines()
    assert usage[0] == t("en", "plans_usage_header", plan="Starter")
    assert usage[-1].startswith("The period ends ")
    assert "you switch to Enterprise then, for 80 ETT a month" in usage[-1]
    assert usage[1:3] == ["• France: 100 min of 100 min", "• Europe: 30 min of 30 min"]


# --- the API ------------------------------------------------------------------------------


def test_api_group_names_and_problems_without_chat_instructions(api_env: ApiEnv):
    holder = api_env.account()
    fr = {"Accept-Language": "fr"}
    body = api_env.request(holder, "GET", "/v1/plans", headers=fr).json()
    assert body["group_names"]["north_america"] == "Amérique du Nord (+1)"
    assert "33" in body["groups"]["france"] and "79" in body["groups"]["russia"]
    none = api_env.request(holder, "DELETE", "/v1/plan", headers=fr)
    assert (none.status_code, none.json()["detail"]) == (404, t("fr", "plans_api_none"))
    poor = api_env.request(holder, "POST", "/v1/plan", json={"plan": "Starter"}, headers=fr)
    assert poor.status_code == 402
    for detail in (none.json()["detail"], poor.json()["detail"]):
        assert "«" not in detail and '"' not in detail  # nothing to write in a chat
