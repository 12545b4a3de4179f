"""Every setting in the README changes behaviour: the settings no other test exercises.

A guard test lists the README's settings and fails when one is named by no test at all,
so a new setting comes with a test of its effect.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import build_assistant, build_services
from bot.assistant import Sender
from bot.assistant.i18n import money_text, t
from storage import open_database
from tests.conftest_chat import service_settings
from wallet.billing import Billing
from wallet.fraud import CallRefused

ROOT = Path(__file__).resolve().parents[1]
MOBILE_FR = "+33612345678"
LANDLINE_GB = "+442079460000"


def test_refused_number_types_follow_the_setting(db_url):
    engine = open_database(db_url, migrate=False)
    services = build_services(service_settings(db_url), engine=engine)
    account = services.accounts.resolve("console", "ann")
    default = Billing.from_settings(engine, service_settings(db_url)).rules
    default.check(account, LANDLINE_GB, MOBILE_FR)  # mobiles are callable by default
    strict = Billing.from_settings(
        engine, service_settings(db_url, FRAUD_REFUSED_NUMBER_TYPES="MOBILE,PREMIUM_RATE")
    ).rules
    with pytest.raises(CallRefused) as refused:
        strict.check(account, LANDLINE_GB, MOBILE_FR)
    assert (refused.value.rule, refused.value.number) == ("premium_rate", MOBILE_FR)
    engine.dispose()


@pytest.mark.parametrize("language", ["fr", "ru"])
def test_default_language_is_a_new_accounts_language(db_url, language):
    settings = service_settings(db_url, DEFAULT_LANGUAGE=language)
    engine = open_database(db_url, migrate=False)
    assistant = build_assistant(build_services(settings, engine=engine))
    replies = assistant.handle_sync(Sender("console", "new", None), "/balance")
    zero = f"{money_text(0, 'ETT', language)}, {money_text(0, 'WAVES', language)}"
    assert [r.text for r in replies] == [t(language, "balance", balances=zero)]
    account = assistant.services.accounts.find_by_identity("console", "new")
    assert account is not None and account.language == language
    engine.dispose()


def test_default_timezone_is_a_new_accounts_zone(db_url):
    settings = service_settings(db_url, DEFAULT_TIMEZONE="America/New_York")
    engine = open_database(db_url, migrate=False)
    assistant = build_assistant(build_services(settings, engine=engine))
    assistant.handle_sync(Sender("console", "new", "en"), "help")
    account = assistant.services.accounts.find_by_identity("console", "new")
    assert account is not None and account.timezone == "America/New_York"
    engine.dispose()


def test_every_documented_setting_is_exercised_by_a_test():
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", (ROOT / "README.md").read_text(), re.M))
    assert len(documented) > 30
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "tests").glob("*.py")
        if path.name != "test_settings.py"  # it names settings only to validate them
    )
    untested = sorted(name for name in documented if name not in sources)
    assert untested == [], f"settings no test changes: {untested}"
