"""What the chat says when the exchange tells an account something on its own: a missed
call (in the account's time zone), a refused call from its phone or its forwarding rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.features.calls.exchange_notices import wording
from exchange.notices import MissedCall, RefusedCall

AT = datetime(2026, 7, 14, 12, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "Missed call from"), ("fr", "Appel manqué de"), ("ru", "Пропущенный звонок")],
)
def test_a_missed_call_is_told_in_the_users_language_and_time_zone(lang, words):
    text = wording(MissedCall(1, "+14155550100", "+33199000100", AT), lang, "Europe/Paris").text
    assert text.startswith(words)
    assert "14:02" in text and "2026-07-14" in text  # UTC+2 in July
    assert "+1 415-555-0100" in text and "+33 1 99 00 01 00" in text
    withheld = wording(MissedCall(1, "anonymous", "1001", AT), lang, "UTC").text
    assert "anonymous" not in withheld and "12:02" in withheld


@pytest.mark.parametrize("lang", ["en", "fr", "ru"])
def test_refusals_say_why_and_name_the_number(lang):
    premium = wording(RefusedCall(1, "premium_rate", "+33899123456"), lang, "UTC").text
    assert "+33 899 12 34 56" in premium
    forwarded = RefusedCall(1, "insufficient_funds", "+33612345678", forwarded=True)
    text = wording(forwarded, lang, "UTC").text
    alone = wording(RefusedCall(1, "insufficient_funds", "+33612345678"), lang, "UTC").text
    assert "+33 6 12 34 56 78" in text and text.endswith(alone) and text != alone
    assert "12ab" in wording(RefusedCall(1, "not_a_number", "12ab"), lang, "UTC").text
