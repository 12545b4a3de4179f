"""The recordings desk: where a recorded call's sealed file is made, stored, handed to its
owner, and deleted.

A call is recorded when it asks (`record`) or its account records every call
(`account.record_calls`), and only when the account has a recording key: the file is
sealed to that key as it is written (privacy.sealing), so the server holds nothing that
opens it. Files are `RECORDING_DIR/<id>.ett-rec`, mode 0600; a row of `recording` exists
while its file does.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from domain.clock import utcnow
from privacy.keys import decode_key
from privacy.recorder import Recorder
from storage.accounts import AccountStore
from storage.models import Recording
from storage.recordings import RecordingStore

log = logging.getLogger(__name__)

SUFFIX = ".ett-rec"
UNDELIVERED_DAYS = 1  # RECORDING_RETENTION_DAYS=0 and no chat took the file
# A part of a long recording: 5 min of 8 kHz stereo S16LE is 9.6 MB, under Telegram's 50 MB
# for a bot's document and prosody's default upload limit (10 MiB).
PART_SECONDS = 300
OnReady = Callable[[Recording], Awaitable[None]]


@dataclass
class CallRecording:
    """A recording in progress: what the call feeds (`feed(channel, pcm16)`, channel 0 or
    1, S16LE at 8 kHz) and whose it is. A long call is cut into parts of the desk's
    `part_seconds`, each its own sealed file, delivered as soon as it is complete (chat
    networks limit the size of a file)."""

    desk: RecordingDesk
    key: bytes
    account_id: int
    call_id: str
    parties: tuple[str, str]
    recorder: Recorder = field(init=False)
    recording_id: str = field(init=False)
    part: int = 0
    # Earlier parts being stored and delivered (finish waits for them).
    finishing: list[asyncio.Task] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.recorder, self.recording_id = self.desk.open_part(self)

    def feed(self, channel: int, pcm16: bytes) -> None:
        """Add audio heard on one channel (0: the first party, 1: the second). OSError
        when the file cannot be written."""
        self.recorder.feed(channel, pcm16)
        limit = self.desk.part_seconds
        if limit and self.recorder.seconds >= limit:
            # The next part starts now (a file and a row, once a part); the finished one
            # is stored and delivered while the call goes on.
            done, done_id = self.recorder, self.recording_id
            self.recorder, self.recording_id = self.desk.open_part(self)
            completing = self.desk.complete(self.account_id, done_id, done)
            self.finishing.append(asyncio.ensure_future(completing))


class RecordingDesk:
    """Start and finish recordings, and delete them with their files."""

    def __init__(
        self,
        store: RecordingStore,
        accounts: AccountStore,
        directory: str | Path,
        *,
        retention_days: int,
        notice: bool = True,
        part_seconds: int = PART_SECONDS,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.directory = Path(directory)
        self.retention_days = retention_days
        # Whether the other party hears "this call is recorded" (RECORDING_NOTICE).
        self.notice = notice
        self.part_seconds = part_seconds
        self.listeners: list[OnReady] = []

    def key_of(self, account_id: int) -> bytes | None:
        """The account's recording key (32 bytes), None when it has none (or a bad one)."""
        account = self.accounts.get(account_id)
        if account is None or not account.recording_key:
            return None
        try:
            return decode_key(account.recording_key)
        except ValueError:
            log.warning("account %s: its recording key is not a key", account_id)
            return None

    def wants(self, account_id: int, asked: bool) -> bool:
        """Whether a call of the account is to be recorded: asked for this call, or the
        account records every call."""
        if asked:
            return True
        account = self.accounts.get(account_id)
        return account is not None and account.record_calls

    def start(
        self, account_id: int, call_id: str, *, parties: tuple[str, str]
    ) -> CallRecording | None:
        """A recorder writing the call's two directions (`parties`: what each channel is,
        labels kept inside the sealed file) to a new sealed file, its row stored at once;
        None when the account has no recording key. Blocking (database): call it from a
        thread in async code. OSError when the file cannot be made."""
        key = self.key_of(account_id)
        if key is None:
            return None
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return CallRecording(self, key, account_id, call_id, parties)

    def open_part(self, recording: CallRecording) -> tuple[Recorder, str]:
        """The recorder of the recording's next part and its id, its row stored."""
        recording.part += 1
        recording_id = secrets.token_hex(16)
        path = self.directory / f"{recording_id}{SUFFIX}"
        meta = {
            "recording": recording_id,
            "call": recording.call_id,
            "part": recording.part,
            "channels": list(recording.parties),
        }
        recorder = Recorder(path, recording.key, meta=meta)
        now = utcnow()
        self.store.add(
            Recording(
                id=recording_id,
                account_id=recording.account_id,
                call_id=recording.call_id,
                file_name=path.name,
                created_at=now,
                expires_at=self.expiry(now),
            )
        )
        return recorder, recording_id

    async def finish(self, recording: CallRecording) -> Recording | None:
        """Close the recorder, note its size and length, and tell the listeners (the chat
        delivers the file), after the earlier parts. The last part's row, None when
        nothing was recorded in it (row and file removed)."""
        for earlier in recording.finishing:
            await earlier
        return await self.complete(recording.account_id, recording.recording_id, recording.recorder)

    async def complete(
        self, account_id: int, recording_id: str, recorder: Recorder
    ) -> Recording | None:
        """Close one part's recorder, note its size and length, and tell the listeners;
        its row, None when it holds nothing (row and file removed) or was deleted."""
        done = recorder.close()
        if done.seconds <= 0:
            await asyncio.to_thread(self.delete, account_id, recording_id)
            return None
        seconds = max(1, round(done.seconds))
        stored = await asyncio.to_thread(
            self.store.complete, recording_id, done.size_bytes, seconds
        )
        if stored is None:  # deleted meanwhile ("delete my recordings", "forget me")
            recorder.path.unlink(missing_ok=True)
            return None
        for listener in self.listeners:
            try:
                await listener(stored)
            except Exception:  # one listener failing must not lose the others
                log.exception("recording %s: a listener failed", recording_id)
        return stored

    def abandon(self, recording: CallRecording) -> None:
        """Drop a recording that is not to be made after all (its first part): nothing
        delivered, its row and file deleted."""
        recording.recorder.close()
        self.delete(recording.account_id, recording.recording_id)

    def expiry(self, now: datetime) -> datetime:
        """When a recording made at `now` is deleted: RECORDING_RETENTION_DAYS later; with
        0, once delivered to the chat, or a day later if no chat could take it."""
        return now + timedelta(days=self.retention_days or UNDELIVERED_DAYS)

    def path_of(self, recording: Recording) -> Path:
        """Where the recording's sealed file is."""
        return self.directory / recording.file_name

    def delete(self, account_id: int, recording_id: str) -> bool:
        """Delete one of the account's recordings and its file; False if there is none."""
        removed = self.store.delete(account_id, recording_id)
        if removed is not None:
            self.path_of(removed).unlink(missing_ok=True)
        return removed is not None

    def delete_all(self, account_id: int) -> int:
        """Delete every recording of the account and their files; how many."""
        removed = self.store.delete_all(account_id)
        for recording in removed:
            self.path_of(recording).unlink(missing_ok=True)
        return len(removed)

    def expire(self, now: datetime | None = None) -> int:
        """Delete the recordings whose retention has passed; how many."""
        removed = self.store.expired(now)
        for recording in removed:
            self.path_of(recording).unlink(missing_ok=True)
        return len(removed)
