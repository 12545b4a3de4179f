"""GET/DELETE /v1/recordings: the sealed files as they are on disk, only to their owner."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from privacy.keys import encode_key, new_seed, public_key_of_seed, secret_key_of_seed
from privacy.sealing import open_sealed
from storage.models import Recording
from tests.api_pages import all_pages
from tests.conftest_api import ApiEnv, Holder

PACKET = 160  # 20 ms at 8 kHz


@pytest.fixture
def rec_env(db_url: str, tmp_path: Path) -> Iterator[ApiEnv]:
    env = ApiEnv(db_url, RECORDING_DIR=str(tmp_path / "recordings"))
    yield env
    env.close()


def record_call(env: ApiEnv, holder: Holder, call_id: str, seconds: float = 0.4) -> Recording:
    """A call recorded through the service's desk: its sealed file and its row."""
    desk = env.services.recordings

    async def call() -> Recording | None:
        recording = desk.start(holder.account_id, call_id, parties=("+33612345678", "1002"))
        assert recording is not None
        for n in range(int(seconds * 50)):
            recording.feed(0, (1000 + n).to_bytes(2, "little", signed=True) * PACKET)
            recording.feed(1, (-1000 - n).to_bytes(2, "little", signed=True) * PACKET)
        return await desk.finish(recording)

    done = asyncio.run(call())
    assert done is not None
    return done


def keyed_account(env: ApiEnv, **kwargs) -> tuple[Holder, bytes]:
    seed = new_seed()
    holder = env.account(recording_key=encode_key(public_key_of_seed(seed)), **kwargs)
    return holder, seed


def test_the_file_downloaded_is_the_sealed_file_on_disk(rec_env: ApiEnv) -> None:
    holder, seed = keyed_account(rec_env)
    made = record_call(rec_env, holder, "call-1")
    path = rec_env.services.recordings.path_of(made)
    listed = rec_env.request(holder, "GET", "/v1/recordings").json()["data"]
    assert [r["id"] for r in listed] == [made.id]
    assert listed[0]["call_id"] == "call-1" and listed[0]["size_bytes"] == path.stat().st_size
    assert listed[0]["seconds"] == made.seconds > 0
    answer = rec_env.request(holder, "GET", f"/v1/recordings/{made.id}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.content == path.read_bytes()
    downloaded = path.parent / "downloaded.ett-rec"
    downloaded.write_bytes(answer.content)
    meta, chunks = open_sealed(downloaded, secret_key_of_seed(seed))
    assert meta["call"] == "call-1" and b"".join(chunks)


def test_another_accounts_recording_is_not_found_and_not_deleted(rec_env: ApiEnv) -> None:
    holder, _seed = keyed_account(rec_env)
    made = record_call(rec_env, holder, "call-1")
    path = rec_env.services.recordings.path_of(made)
    stranger = rec_env.account()
    for method in ("GET", "DELETE"):
        answer = rec_env.request(stranger, method, f"/v1/recordings/{made.id}")
        assert answer.status_code == 404, method
        assert answer.json()["type"] == "/problems/not-found"
    assert rec_env.request(stranger, "GET", "/v1/recordings").json()["data"] == []
    assert path.is_file()
    reader = rec_env.key(holder.account_id, ("read",))
    assert rec_env.request(reader, "DELETE", f"/v1/recordings/{made.id}").status_code == 403
    assert rec_env.request(holder, "DELETE", f"/v1/recordings/{made.id}").status_code == 204
    assert not path.exists()
    assert rec_env.request(holder, "GET", f"/v1/recordings/{made.id}").status_code == 404
    assert rec_env.request(holder, "GET", "/v1/recordings/not-hex").status_code == 422


def test_a_recording_in_progress_is_not_served_yet(rec_env: ApiEnv) -> None:
    holder, _seed = keyed_account(rec_env)
    recording = rec_env.services.recordings.start(
        holder.account_id, "call-2", parties=("+33612345678", "1002")
    )
    assert recording is not None
    answer = rec_env.request(holder, "GET", f"/v1/recordings/{recording.recording_id}")
    assert answer.status_code == 409
    assert answer.json()["type"] == "/problems/apires-recording-in-progress"
    rec_env.services.recordings.abandon(recording)


def test_recordings_come_in_pages(rec_env: ApiEnv) -> None:
    holder, _seed = keyed_account(rec_env)
    store = rec_env.services.recordings.store
    start = datetime(2026, 3, 1, tzinfo=UTC)
    moments = [start, start + timedelta(minutes=1), start + timedelta(minutes=1)]
    moments += [start + timedelta(minutes=2), start + timedelta(minutes=3)]
    for n, moment in enumerate(moments):
        store.add(
            Recording(
                id=f"{n:032x}",
                account_id=holder.account_id,
                call_id=f"call-{n}",
                file_name=f"{n:032x}.ett-rec",
                created_at=moment,
            )
        )
    pages = all_pages(rec_env, holder, "/v1/recordings", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    ids = [r["id"] for page in pages for r in page]
    assert ids == [f"{n:032x}" for n in (4, 3, 2, 1, 0)]
