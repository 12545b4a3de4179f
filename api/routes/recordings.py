"""Recorded calls: the sealed files themselves (privacy.recordings). The server cannot open
them; their owner does, with the recording key's words (`python main.py recording
decrypt FILE`). Deleting one deletes its file (as the chat's "delete my recordings").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from api.auth import Caller, Calling, Reader, ServicesDep
from api.cursors import Cursor, Limit, decode, next_cursor
from api.problems import Problem
from api.schemas import PROBLEMS, Page, ProblemDoc
from bot.assistant import Services
from bot.assistant.i18n import t
from storage.models import Recording

router = APIRouter(prefix="/v1/recordings", tags=["recordings"], responses=PROBLEMS)
RecordingId = Annotated[
    str, Path(max_length=32, pattern="^[0-9a-f]+$", description="the recording's id")
]
MEDIA_TYPE = "application/octet-stream"
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the sealed file (.ett-rec)",
        "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    409: {"model": ProblemDoc, "content": {"application/problem+json": {}}},
}


class RecordingOut(BaseModel):
    """A recording (one part of a long call): `seconds` is 0 while it is being made."""

    id: str
    call_id: str | None
    size_bytes: int
    seconds: int
    created_at: datetime
    expires_at: datetime | None = Field(description="when the server deletes it")

    @classmethod
    def of(cls, row: Recording) -> RecordingOut:
        return cls(
            id=row.id,
            call_id=row.call_id,
            size_bytes=row.size_bytes,
            seconds=row.seconds,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )


@router.get("")
def list_recordings(
    services: ServicesDep, caller: Reader, limit: Limit = 50, cursor: Cursor = None
) -> Page[RecordingOut]:
    """The account's recordings on the server, newest first."""
    before = decode(cursor, caller.lang) if cursor else None
    rows = services.recordings.store.page(caller.account.id, limit=limit + 1, before=before)
    page, after = next_cursor(rows, limit, lambda r: (r.created_at, r.id))
    return Page[RecordingOut](data=[RecordingOut.of(row) for row in page], next_cursor=after)


@router.get("/{recording_id}", response_class=FileResponse, responses=FILE_RESPONSE)
def download(recording_id: RecordingId, services: ServicesDep, caller: Reader) -> Any:
    """The sealed file, as stored (409 while the call is still being recorded)."""
    row = _own(services, caller, recording_id)
    path = services.recordings.path_of(row)
    if not path.is_file():
        raise _not_found(caller)
    if row.seconds <= 0:
        detail = t(caller.lang, "apires_recording_in_progress")
        raise Problem("apires_recording_in_progress", detail, status=409)
    return FileResponse(path, media_type=MEDIA_TYPE, filename=path.name)


@router.delete("/{recording_id}", status_code=204)
def delete(recording_id: RecordingId, services: ServicesDep, caller: Calling) -> Response:
    """Delete a recording and its file from the server."""
    if not services.recordings.delete(caller.account.id, recording_id):
        raise _not_found(caller)
    return Response(status_code=204)


def _own(services: Services, caller: Caller, recording_id: str) -> Recording:
    row = services.recordings.store.get(caller.account.id, recording_id)
    if row is None:
        raise _not_found(caller)
    return row


def _not_found(caller: Caller) -> Problem:
    return Problem("not-found", t(caller.lang, "api_not_found", what="recording"))
