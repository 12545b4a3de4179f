"""The dialer against real peers: kamailio and baresip phones on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest

from dialer import CallbackRequest, Dialer, DialerError, DialerEvent
from testbed.sip_lab import ANSWER, SipLab, audible_seconds, tone_share, write_tone
from tests.conftest_sip import DECLINING_NUMBER, LAB_PHONES, UNKNOWN_NUMBER

pytestmark = pytest.mark.sip
CALL_TIMEOUT = 60


def run(config, scenario, timeout=CALL_TIMEOUT, **changes):
    """Start a dialer on `config`, run `scenario(dialer)`, stop it; return its result."""

    async def main():
        dialer = Dialer(dataclasses.replace(config, **changes))
        await dialer.start()
        try:
            return await asyncio.wait_for(scenario(dialer), timeout)
        finally:
            await dialer.stop()

    return asyncio.run(main())


def callback(config, request: CallbackRequest, during=None, timeout=CALL_TIMEOUT, **changes):
    """Place one callback; `during(dialer, events)` runs alongside it. Returns (summary, events)."""
    events: list[DialerEvent] = []

    async def scenario(dialer):
        task = asyncio.create_task(dialer.callback(request, events.append))
        if during is not None:
            await during(dialer, events)
        return await task

    return run(config, scenario, timeout, **changes), events


def kinds(events):
    return [(e.event, e.leg, e.cause) for e in events if e.event != "dtmf"]


async def wait_event(events, event, leg=None, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not any(e.event == event and e.leg == leg for e in events):
        assert time.monotonic() < deadline, f"no {event}/{leg} in {kinds(events)}"
        await asyncio.sleep(0.05)


def closed_calls(phone):
    return len(phone.calls_with("CALL_CLOSED"))


def test_bridged_callback_carries_both_tones(sip_lab, lab_dialer_config):
    a, b = sip_lab.phones["1001"], sip_lab.phones["1002"]
    closed_a, closed_b = closed_calls(a), closed_calls(b)
    summary, events = callback(
        lab_dialer_config, CallbackRequest("bridge1", "1001", "1002", max_seconds=4)
    )
    assert summary.cause == "max_duration" and summary.bridged
    assert 3.5 <= summary.a_seconds <= 6 and 3.5 <= summary.b_seconds <= 6
    assert kinds(events) == [
        ("ringing", "a", None),
        ("answered", "a", None),
        ("ringing", "b", None),
        ("answered", "b", None),
        ("bridged", None, None),
        ("ended", "a", "max_duration"),
        ("ended", "b", "max_duration"),
        ("ended", None, "max_duration"),
    ]
    a.wait_event("CALL_CLOSED", closed_a + 1)
    b.wait_event("CALL_CLOSED", closed_b + 1)
    heard_by_b, heard_by_a = b.heard(), a.heard()
    assert tone_share(heard_by_b, 440) >= 0.99  # A's tone reached B
    assert tone_share(heard_by_a, 1000) >= 0.99  # B's tone reached A
    assert audible_seconds(heard_by_b) >= 3.0 and audible_seconds(heard_by_a) >= 3.0


def test_to_first_rings_to_before_from(sip_lab, lab_dialer_config):
    summary, events = callback(
        lab_dialer_config,
        CallbackRequest("tofirst", "1001", "1006", to_first=True, max_seconds=2),
    )
    assert summary.bridged
    answered = [e.leg for e in events if e.event == "answered"]
    assert answered == ["b", "a"]


@pytest.mark.parametrize(
    ("to_number", "cause"),
    [("1003", "busy"), (DECLINING_NUMBER, "declined"), (UNKNOWN_NUMBER, "not_found")],
)
def test_second_leg_failure_ends_call_and_hangs_up_first(
    sip_lab, lab_dialer_config, to_number, cause
):
    a = sip_lab.phones["1001"]
    closed_a = closed_calls(a)
    summary, events = callback(
        lab_dialer_config, CallbackRequest(f"f{to_number}", "1001", to_number)
    )
    assert summary.cause == cause and not summary.bridged
    assert ("ended", "b", cause) in kinds(events)
    assert ("ended", "a", cause) in kinds(events)
    assert kinds(events)[-1] == ("ended", None, cause)
    a.wait_event("CALL_CLOSED", closed_a + 1)  # the first leg was hung up


def test_first_leg_busy_never_rings_second(sip_lab, lab_dialer_config):
    summary, events = callback(lab_dialer_config, CallbackRequest("firstbusy", "1003", "1001"))
    assert summary.cause == "busy" and summary.a_seconds == 0
    assert not any(e.leg == "b" for e in events)


def test_no_answer_cancels_after_ring_timeout(sip_lab, lab_dialer_config):
    b = sip_lab.phones["1004"]
    closed_b = closed_calls(b)
    started = time.monotonic()
    summary, events = callback(
        lab_dialer_config, CallbackRequest("noanswer", "1001", "1004", ring_timeout=3)
    )
    assert summary.cause == "no_answer"
    assert 2.5 <= time.monotonic() - started <= 20
    assert ("ringing", "b", None) in kinds(events) and ("ended", "b", "no_answer") in kinds(events)
    b.wait_event("CALL_CLOSED", closed_b + 1)  # the CANCEL reached the phone


def test_hangup_while_ringing_cancels(sip_lab, lab_dialer_config):
    b = sip_lab.phones["1004"]
    closed_b = closed_calls(b)

    async def hang_up_when_ringing(dialer, events):
        await wait_event(events, "ringing", "b")
        assert await dialer.hangup("cancel1")

    summary, events = callback(
        lab_dialer_config, CallbackRequest("cancel1", "1001", "1004"), hang_up_when_ringing
    )
    assert summary.cause == "hangup" and not summary.bridged
    assert ("ended", "b", "hangup") in kinds(events) and ("ended", "a", "hangup") in kinds(events)
    b.wait_event("CALL_CLOSED", closed_b + 1)


def test_party_hanging_up_ends_the_call(sip_lab, lab_dialer_config):
    b = sip_lab.phones["1006"]

    async def b_hangs_up(dialer, events):
        await wait_event(events, "bridged")
        await asyncio.sleep(1)
        b.command("hangup")

    summary, events = callback(
        lab_dialer_config, CallbackRequest("bhang", "1001", "1006", max_seconds=30), b_hangs_up
    )
    assert summary.cause == "hangup_b" and summary.bridged
    assert kinds(events)[-3:] == [
        ("ended", "b", "hangup_b"),
        ("ended", "a", "hangup_b"),
        ("ended", None, "hangup_b"),
    ]
    assert summary.a_seconds < 20


def test_dtmf_is_reported(sip_lab, lab_dialer_config):
    phone = sip_lab.phones["1005"]

    async def press_keys(dialer, events):
        await wait_event(events, "bridged")
        await asyncio.to_thread(phone.send_dtmf, "19#")
        await asyncio.sleep(1)
        await dialer.hangup("dtmf1")

    summary, events = callback(
        lab_dialer_config, CallbackRequest("dtmf1", "1001", "1005", max_seconds=30), press_keys
    )
    assert summary.cause == "hangup"
    assert [(e.leg, e.digit) for e in events if e.event == "dtmf"] == [
        ("b", "1"),
        ("b", "9"),
        ("b", "#"),
    ]


@pytest.mark.parametrize("anonymous", [False, True])
def test_caller_id_shown_or_withheld(sip_lab, lab_dialer_config, anonymous):
    b = sip_lab.phones["1002"]
    incoming = len(b.calls_with("CALL_ESTABLISHED"))
    summary, _ = callback(
        lab_dialer_config,
        CallbackRequest(f"anon{anonymous}", "1001", "1002", max_seconds=1, anonymous=anonymous),
    )
    assert summary.bridged
    seen = b.wait_event("CALL_ESTABLISHED", incoming + 1)["peeruri"]
    if anonymous:
        assert "anonymous.invalid" in seen and "1001" not in seen
    else:
        assert seen.startswith("sip:1001@")


def test_announce_plays_and_collects_digits(sip_lab, lab_dialer_config, tmp_path):
    phone = sip_lab.phones["1005"]
    closed = closed_calls(phone)
    prompt = write_tone(tmp_path / "prompt.wav", 700, seconds=2.0)
    events: list[DialerEvent] = []

    async def scenario(dialer):
        task = asyncio.create_task(
            dialer.announce(
                "1005", prompt, collect_digits=3, timeout=30, call_id="ann1", on_event=events.append
            )
        )
        await wait_event(events, "answered", "a")
        await asyncio.sleep(2.5)  # let the prompt play
        await asyncio.to_thread(phone.send_dtmf, "042")
        return await task

    result = run(lab_dialer_config, scenario)
    assert result.answered and result.cause == "completed" and result.digits == "042"
    phone.wait_event("CALL_CLOSED", closed + 1)
    heard = phone.heard()
    assert tone_share(heard, 700) >= 0.99
    assert audible_seconds(heard) >= 1.8


def test_announcement_hangs_up_when_it_has_been_played(sip_lab, lab_dialer_config, tmp_path):
    phone = sip_lab.phones["1001"]
    closed = closed_calls(phone)
    prompt = write_tone(tmp_path / "prompt.wav", 700, seconds=1.5)

    async def scenario(dialer):
        began = time.monotonic()
        result = await dialer.announce("1001", prompt, timeout=30, call_id="ann2")
        return result, time.monotonic() - began

    result, took = run(lab_dialer_config, scenario)
    assert result.answered and result.cause == "completed"
    assert 1.5 <= result.seconds < 3.5 and took < 5  # not the 30 s timeout
    phone.wait_event("CALL_CLOSED", closed + 1)
    assert tone_share(phone.heard(), 700) >= 0.99


def test_bad_numbers_are_refused(lab_dialer_config):
    async def scenario(dialer):
        with pytest.raises(DialerError, match="bad number"):
            await dialer.callback(CallbackRequest("bad", "12ab", "1001"))
        with pytest.raises(DialerError, match="bad number"):
            await dialer.callback(CallbackRequest("bad", "1001", "+0123"))

    run(lab_dialer_config, scenario)


def test_wrong_password_is_reported_at_start(lab_dialer_config):
    async def start():
        dialer = Dialer(dataclasses.replace(lab_dialer_config, password="wrong-password"))
        await dialer.start()

    with pytest.raises(DialerError, match="rejected the credentials") as error:
        asyncio.run(start())
    assert "wrong-password" not in str(error.value)


def test_unreachable_server_is_reported_at_start(lab_dialer_config):
    from testbed.sip_lab import PORTS

    config = dataclasses.replace(lab_dialer_config, port=PORTS.sip_port(), start_timeout=2)
    with pytest.raises(DialerError, match="registration with"):
        asyncio.run(Dialer(config).start())


def test_record_routing_proxy_sees_ack_and_bye():
    lab = SipLab(record_route=True, strict_route_set=True)
    a = lab.plan_phone("2101", ANSWER, 440)
    b = lab.plan_phone("2102", ANSWER, 1000)
    lab.start()
    try:
        from dialer import SipConfig
        from settings import load_settings

        overrides = lab.settings_overrides()
        config = SipConfig.from_settings(load_settings(**overrides))
        closed_b = closed_calls(b)
        summary, _ = callback(config, CallbackRequest("rr1", "2101", "2102", max_seconds=3))
        assert summary.bridged and summary.cause == "max_duration"
        b.wait_event("CALL_CLOSED", closed_b + 1)
        assert tone_share(b.heard(), 440) >= 0.99 and tone_share(a.heard(), 1000) >= 0.99
        log = lab.kamailio.log_text()
        ours = f"from 127.0.0.1:{overrides['SIP_LOCAL_PORT']}"
        assert f"loose-routed ACK {ours}" in log
        assert f"loose-routed BYE {ours}" in log
        assert "without route set" not in log
    finally:
        lab.stop()


def test_registration_comes_back_after_server_restart():
    lab = SipLab()
    phone = lab.plan_phone("2201", ANSWER, 440)
    lab.start()
    try:
        from dialer import SipConfig
        from settings import load_settings

        config = SipConfig.from_settings(load_settings(**lab.settings_overrides()))
        config = dataclasses.replace(config, register_seconds=10)

        def dial_dialer() -> str:
            """What the server answers a phone that calls the dialer's account."""
            before = len(phone.calls_with("CALL_CLOSED"))
            phone.command("dial", f"sip:{lab.dialer_user}@127.0.0.1:{lab.port}")
            return phone.wait_event("CALL_CLOSED", before + 1, timeout=15)["param"]

        async def scenario(dialer):
            assert dialer.registered
            assert (await asyncio.to_thread(dial_dialer)).startswith("486")  # found: busy
            await asyncio.to_thread(lab.kamailio.restart)
            await asyncio.to_thread(phone.command, "uareg", "600")
            assert (await asyncio.to_thread(dial_dialer)).startswith("404")  # forgotten
            deadline = time.monotonic() + 30
            while True:
                answer = await asyncio.to_thread(dial_dialer)
                if answer.startswith("486"):
                    break
                assert time.monotonic() < deadline, f"not re-registered: {answer}"
                await asyncio.sleep(1)

        run(config, scenario)
    finally:
        lab.stop()


def test_ten_bridged_calls_at_once():
    lab = SipLab()
    pairs = []
    for index in range(10):
        a = lab.plan_phone(f"3{index:02d}0", ANSWER, 400 + 60 * index)
        b = lab.plan_phone(f"3{index:02d}1", ANSWER, 1100 + 60 * index)
        pairs.append((a, b))
    lab.start()
    try:
        from dialer import SipConfig
        from settings import load_settings

        config = SipConfig.from_settings(load_settings(**lab.settings_overrides()))

        async def scenario(dialer):
            requests = [
                CallbackRequest(f"many{i}", a.user, b.user, max_seconds=6)
                for i, (a, b) in enumerate(pairs)
            ]
            return await asyncio.gather(*(dialer.callback(r) for r in requests))

        summaries = run(config, scenario)
        assert [s.cause for s in summaries] == ["max_duration"] * 10
        for a, b in pairs:
            b.wait_event("CALL_CLOSED")
            assert tone_share(b.heard(), a.tone_hz) >= 0.99, a.user
            assert tone_share(a.heard(), b.tone_hz) >= 0.99, b.user
    finally:
        lab.stop()


def test_call_held_sixty_seconds(sip_lab, lab_dialer_config):
    a, b = sip_lab.phones["1001"], sip_lab.phones["1006"]
    closed_b = closed_calls(b)
    summary, _ = callback(
        lab_dialer_config, CallbackRequest("long1", "1001", "1006", max_seconds=62), timeout=120
    )
    assert summary.cause == "max_duration" and summary.bridged_seconds >= 60
    b.wait_event("CALL_CLOSED", closed_b + 1)
    heard = b.heard()
    assert audible_seconds(heard) >= 59 and tone_share(heard, 440) >= 0.99
    assert tone_share(a.heard(), 1300) >= 0.99


def test_phone_list_is_consistent(sip_lab):
    assert set(LAB_PHONES) <= set(sip_lab.phones)
    assert threading.active_count() < 200


def test_dtmf_is_dialled_on_leg_b(sip_lab, lab_dialer_config):
    b = sip_lab.phones["1002"]
    started, ended = len(b.calls_with("CALL_DTMF_START")), len(b.calls_with("CALL_DTMF_END"))
    summary, events = callback(
        lab_dialer_config,
        CallbackRequest("ext1", "1001", "1002", max_seconds=4, dtmf="1,2#"),
    )
    assert summary.bridged and summary.cause == "max_duration"
    b.wait_event("CALL_DTMF_END", ended + 3)
    assert [e["param"] for e in b.calls_with("CALL_DTMF_START")[started:]] == ["1", "2", "#"]
    assert not [e for e in events if e.event == "dtmf"]  # sent, not reported as pressed
