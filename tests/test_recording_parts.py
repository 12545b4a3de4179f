"""A long recording is cut into parts (RECORDING_PART_SECONDS), each its own sealed file
delivered as soon as it is complete, while the call goes on."""

from __future__ import annotations

import asyncio
import math

import pytest

from privacy.keys import encode_key, new_seed, public_key_of_seed, secret_key_of_seed
from privacy.recordings import RecordingDesk
from privacy.sealing import open_sealed
from storage.accounts import AccountStore
from storage.models import Recording
from storage.recordings import RecordingStore

PACKET = 160  # 20 ms at 8 kHz


def packet(value: int) -> bytes:
    return value.to_bytes(2, "little", signed=True) * PACKET


@pytest.mark.parametrize("seconds", [2.5, 3.0])
def test_a_long_call_is_delivered_in_parts_that_together_hold_it_all(engine, tmp_path, seconds):
    accounts = AccountStore(engine)
    seed = new_seed()
    account = accounts.resolve("console", "long-caller")
    accounts.update(account.id, recording_key=encode_key(public_key_of_seed(seed)))
    desk = RecordingDesk(
        RecordingStore(engine), accounts, tmp_path, retention_days=30, part_seconds=1
    )
    delivered: list[tuple[Recording, int]] = []

    async def listener(recording: Recording) -> None:
        # Told while the call still feeds the next part: this part is whole already.
        meta, chunks = open_sealed(desk.path_of(recording), secret_key_of_seed(seed))
        delivered.append((recording, meta["part"]))

    desk.listeners.append(listener)

    async def call() -> Recording | None:
        recording = desk.start(account.id, "call-1", parties=("+33612345678", "1002"))
        assert recording is not None
        for n in range(int(seconds * 50)):
            recording.feed(0, packet(1000 + n))
            recording.feed(1, packet(-1000 - n))
            await asyncio.sleep(0)
        return await desk.finish(recording)

    last = asyncio.run(call())
    parts = math.ceil(seconds)
    assert [part for _recording, part in delivered] == list(range(1, parts + 1))
    if seconds == parts:  # the part begun at the very end holds nothing: removed
        assert last is None
    else:
        assert last is not None and last.id == delivered[-1][0].id
    rows = RecordingStore(engine).of_account(account.id)
    assert len(rows) == parts and all(r.call_id == "call-1" for r in rows)
    frames = []
    for recording, _part in delivered:
        _meta, chunks = open_sealed(desk.path_of(recording), secret_key_of_seed(seed))
        frames.append(b"".join(chunks))
    audio = b"".join(frames)
    # Every packet is there once, in order, left and right: nothing lost between parts.
    left = [
        int.from_bytes(audio[i : i + 2], "little", signed=True)
        for i in range(0, len(audio), 4 * PACKET)
    ]
    assert left == [1000 + n for n in range(int(seconds * 50))]
    files = sorted(p.name for p in tmp_path.glob("*.ett-rec"))
    assert files == sorted(r.file_name for r in rows)


def test_the_part_length_is_the_operators_setting(db_url, tmp_path):
    from bot.app import build_services
    from tests.conftest_chat import service_settings

    settings = service_settings(
        db_url, RECORDING_PART_SECONDS=60, RECORDING_DIR=str(tmp_path / "recordings")
    )
    services = build_services(settings, wallet=False)
    try:
        assert services.recordings.part_seconds == 60
        assert services.recordings.directory == tmp_path / "recordings"
    finally:
        services.engine.dispose()
