"""Property tests: the parser never raises and answers every message within 50 ms."""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlu import parse, warm_up

# A guard against pathological inputs (catastrophic backtracking), not a speed target:
# the parser's speed is measured by bench/nlu.py, on a machine that is not shared.
LIMIT = 1.0
NOW = datetime(2026, 11, 28, 10, 0)
WORDS = (
    "call remind forward me at on in to tomorrow demain завтра в 9 h : + 00 33 06 12 34 56 78 "
    "rappelle-moi напомни переадресуй звонки appels ETT waves 1,5 du lundi au vendredi с по "
    "pm am midi полдень через минут dans heures 3PPk9fmA1GGXhpVfJwBzj9hQbj6HiL9TSbn ( ) - . "
    "next friday hide record запиши anonymement 8 (916) 123-45-67 from until de à"
).split()
ZONES = ["UTC", "Europe/Paris", "Europe/Moscow", "America/New_York", "Asia/Tokyo", "Bad/Zone"]

# Warm caches and lazy imports once so the timing measures steady state.
warm_up()
# dateparser caches per relative base (NOW) and language: warm all three at NOW.
for _t in (
    "remind me next month to pay",
    "rappelle-moi le mois prochain : 1,5 h",
    "напомни next : 1,5 в следующем месяце",
    "call +33 6 12 34 56 78",
    "напомни в 9 утра",
):
    parse(_t, NOW, "Europe/Paris", "FR")

slow = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _timed(text, now=NOW, tz="UTC", region=None) -> dict:
    # Time the parser, not the garbage hypothesis leaves behind (a full GC pass can take
    # longer than the parse itself).
    gc.disable()
    try:
        t0 = time.perf_counter()
        got = parse(text, now, tz, region)
        took = time.perf_counter() - t0
    finally:
        gc.enable()
    assert isinstance(got, dict) and "intent" in got and "lang" in got
    assert took <= LIMIT, f"{took * 1000:.1f} ms for {text[:80]!r}"
    return got


@slow
@given(st.text(max_size=300))
def test_arbitrary_unicode(text):
    _timed(text)


@slow
@given(st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=200))
def test_control_characters(text):
    _timed(text)


@slow
@given(
    st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join),
    st.sampled_from(ZONES),
    st.sampled_from([None, "FR", "RU", "GB", "US", "ZZ", ""]),
)
def test_command_like_word_salad(text, tz, region):
    _timed(text, NOW, tz, region)


@settings(
    max_examples=30,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.text(min_size=1, max_size=20), st.integers(min_value=500, max_value=5000))
def test_very_long_input(chunk, repeat):
    _timed("remind me tomorrow at 9 " + chunk * repeat + " +33 6 12 34 56 78" * 50)


@slow
@given(
    st.datetimes(
        min_value=datetime(1971, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.none() | st.just(UTC),
    )
)
def test_any_moment(now):
    _timed("remind me on the 31st at 24:00 and next friday in 400 days", now, "Europe/Paris")


def test_digits_digits_digits():
    _timed("9" * 100_000)
    _timed("+" + " 1" * 5000)
    _timed("в " * 20_000)
