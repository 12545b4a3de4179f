"""LOG_FORMAT=json: one JSON object per line, the call id on every line about a call, the
privacy filter still applied; a real callback through the SIP lab (kamailio + baresip)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from domain.logcontext import call_context, current_call_id, in_call
from ops.logs import CallIdFilter, JsonFormatter, formatter
from privacy.logs import PrivacyFilter
from testbed.sip_lab import ANSWER, SipLab
from tests.call_env import CallEnv
from tests.conftest_chat import service_settings
from tests.test_calls import confirm_button, verified_user

ME, CALLEE = "+33612345678", "+442079460000"
SECRET = "s3cret-sip-password-XYZ"
DB = "sqlite:///unused.db"  # settings only: no database is opened


@pytest.fixture(scope="module")
def lab() -> Iterator[SipLab]:
    lab = SipLab()
    lab.plan_phone(ME[1:], ANSWER, 440.0)
    lab.plan_phone(CALLEE[1:], ANSWER, 1000.0)
    lab.start()
    yield lab
    lab.stop()


class Captured:
    """The service's handler as main.py configures it for LOG_FORMAT=json, on a buffer."""

    def __init__(self, level: int = logging.INFO) -> None:
        self.buffer = io.StringIO()
        self.handler = logging.StreamHandler(self.buffer)
        self.handler.setFormatter(formatter("json"))
        self.handler.addFilter(PrivacyFilter([SECRET]))
        self.handler.addFilter(CallIdFilter())
        self.handler.setLevel(level)
        self.root = logging.getLogger()
        self.level = self.root.level

    def __enter__(self) -> Captured:
        self.root.addHandler(self.handler)
        self.root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.root.removeHandler(self.handler)
        self.root.setLevel(self.level)

    def lines(self) -> list[dict]:
        """Every line written, parsed one by one (each must be one JSON object)."""
        parsed = []
        for line in self.buffer.getvalue().splitlines():
            record = json.loads(line)
            assert isinstance(record, dict)
            assert {"time", "level", "logger", "message"} <= set(record), line
            parsed.append(record)
        return parsed


@pytest.mark.sip
def test_every_line_of_a_calls_flow_carries_its_call_id(db_url, lab):
    env = CallEnv(db_url, lab)
    try:
        with Captured(logging.DEBUG) as captured:
            ann, _ = verified_user(env)
            (status,) = env.press(ann, confirm_button(env.say(ann, "call +44 20 7946 0000")))
            call_id = status.key.removeprefix("call:")
            env.wait_pushed(ann, lambda r: r.text.startswith("📞 Connected"))
            env.say(ann, "hang up")
            env.wait_pushed(ann, lambda r: "ended after" in r.text)
            env.wait_idle()
            logging.getLogger("tests").info("after the call")
    finally:
        env.close()
    lines = captured.lines()
    about = [line for line in lines if line.get("call_id") == call_id]
    # The dialer's SIP work and the call runner's lines, all with the id.
    assert {line["logger"].split(".")[0] for line in about} >= {"dialer", "bot"}
    assert any(f"call {call_id} ended" in line["message"] for line in about)
    naming = [line for line in lines if call_id in line["message"]]
    assert naming and all(line.get("call_id") == call_id for line in naming)
    (after,) = [line for line in lines if line["message"] == "after the call"]
    assert "call_id" not in after and current_call_id() is None


def test_json_lines_are_cleaned_by_the_privacy_filter():
    log = logging.getLogger("exchange.test")
    with Captured() as captured:
        with call_context("c-1"):
            log.info("dialling %s with %s", ME, SECRET)
            try:
                raise RuntimeError(f"sip:{ME}@carrier refused, password {SECRET}")
            except RuntimeError:
                log.exception("leg failed")
        log.warning("outside any call")
    first, failed, outside = captured.lines()
    assert first["message"] == "dialling +33 6 12 ** ** 78 with ***"
    assert (first["level"], first["logger"], first["call_id"]) == ("INFO", "exchange.test", "c-1")
    assert first["time"].endswith("+00:00")
    assert "RuntimeError" in failed["exc_info"] and "***" in failed["exc_info"]
    text = captured.buffer.getvalue()
    assert ME not in text and ME[1:] not in text and SECRET not in text
    assert "call_id" not in outside


def test_extra_fields_are_not_written():
    with Captured() as captured:
        logging.getLogger("x").info("hello", extra={"number": ME})
    (line,) = captured.lines()
    assert set(line) == {"time", "level", "logger", "message"}


def test_in_call_sets_the_id_for_the_work_and_its_tasks_and_threads():
    seen: list[str | None] = []

    @in_call("record.id")
    async def work(record: dict) -> None:
        seen.append(current_call_id())
        await asyncio.to_thread(lambda: seen.append(current_call_id()))
        await asyncio.create_task(asyncio.sleep(0, result=None))
        seen.append(await asyncio.create_task(_current()))

    asyncio.run(work({"id": "c-9"}))
    assert seen == ["c-9", "c-9", "c-9"] and current_call_id() is None


async def _current() -> str | None:
    return current_call_id()


def test_log_format_setting_picks_the_formatter():
    json_lines = formatter(service_settings(DB, LOG_FORMAT="json").LOG_FORMAT)
    assert isinstance(json_lines, JsonFormatter)
    text = formatter(service_settings(DB).LOG_FORMAT)
    record = logging.LogRecord("bot.app", logging.INFO, __file__, 1, "running", None, None)
    assert text.format(record).endswith(" INFO bot.app: running")  # the format of before
