"""'forget me': an account's personal data deleted, its money left in the ledger.

`preview` says what would be lost and what would stay (shown in the confirmation);
`forget` does it: the sealed recordings' files first, through the recordings desk, then
everything else in one database transaction (`storage.privacy.PrivacyStore.forget`).
Neither runs while a call of the account is in progress, money is held for one, or a
withdrawal is on its way (`ForgetBlocked`): the user is asked to try again after.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from storage.forgetting import Blocker, ForgetBlocked, ForgetResult
from storage.models import Recording
from storage.privacy import ForgetSummary, PrivacyStore

__all__ = ["Blocker", "ForgetBlocked", "ForgetResult", "ForgetSummary", "forget", "preview"]

log = logging.getLogger(__name__)


class RecordingFiles(Protocol):
    """The recordings desk (`privacy.recordings.RecordingDesk`) as forgetting uses it."""

    def delete_all(self, account_id: int) -> int:
        """Delete every recording of the account and their files; how many."""
        ...

    def path_of(self, recording: Recording) -> Path:
        """Where a recording's sealed file is."""
        ...


def preview(store: PrivacyStore, account_id: int) -> ForgetSummary:
    """What forgetting the account would lose now, and whether it may (`blocker`)."""
    return store.summary(account_id)


def forget(store: PrivacyStore, recordings: RecordingFiles, account_id: int) -> ForgetResult:
    """Forget the account: its recordings' files, then its data (see
    `PrivacyStore.forget`). Raises ForgetBlocked (nothing deleted) when it cannot now;
    KeyError for an unknown account."""
    blocker = store.summary(account_id).blocker
    if blocker is not None:
        raise ForgetBlocked(blocker)
    removed = recordings.delete_all(account_id)
    result = store.forget(account_id)
    # A recording that started between the two steps: its row went with the rest.
    for recording in result.recordings:
        recordings.path_of(recording).unlink(missing_ok=True)
    log.info(
        "account %s forgotten: %d recordings, rows deleted %s, rewritten %s",
        account_id,
        removed + len(result.recordings),
        result.deleted,
        result.rewritten,
    )
    return result
