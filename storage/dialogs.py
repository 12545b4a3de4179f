"""SIP dialogs of live call legs (storage.models.SipDialog), kept so that a restarted
instance can end the legs a stopped one left up (RFC 3261 §12: a dialog is its Call-ID,
tags, CSeq, route set and remote target)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, delete
from sqlmodel import col, select

from domain.clock import utcnow
from storage.db import transaction
from storage.models import SipDialog


class DialogStore:
    """Save, list and delete the SIP dialogs of call legs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, dialog: SipDialog) -> None:
        """Insert or replace the row of `dialog.sip_call_id` (its state moves on)."""
        dialog.updated_at = utcnow()
        with transaction(self.engine) as session:
            session.merge(dialog)

    def delete(self, sip_call_id: str) -> None:
        """Forget one leg's dialog (the leg ended); nothing happens for an unknown one."""
        with transaction(self.engine) as session:
            session.exec(delete(SipDialog).where(col(SipDialog.sip_call_id) == sip_call_id))

    def delete_leg(self, call_id: str, leg: str) -> None:
        """Forget the dialog of leg `leg` ("a" or "b") of call `call_id`."""
        with transaction(self.engine) as session:
            session.exec(
                delete(SipDialog).where(
                    col(SipDialog.call_id) == call_id, col(SipDialog.leg) == leg
                )
            )

    def delete_call(self, call_id: str) -> None:
        """Forget every dialog of a call."""
        with transaction(self.engine) as session:
            session.exec(delete(SipDialog).where(col(SipDialog.call_id) == call_id))

    def for_calls(self, call_ids: Iterable[str]) -> list[SipDialog]:
        """The dialogs of these calls, oldest first."""
        ids = list(call_ids)
        if not ids:
            return []
        query = select(SipDialog).where(col(SipDialog.call_id).in_(ids))
        return self._rows(query.order_by(col(SipDialog.updated_at)))

    def all(self) -> list[SipDialog]:
        """Every stored dialog, oldest first."""
        return self._rows(select(SipDialog).order_by(col(SipDialog.updated_at)))

    def _rows(self, query: Any) -> list[SipDialog]:
        with transaction(self.engine) as session:
            return list(session.exec(query))
