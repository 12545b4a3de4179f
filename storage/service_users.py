"""The exchange's SIP users of our own (SipServiceUser): one per instance's dialer."""

from __future__ import annotations

from sqlalchemy import Engine

from domain.clock import utcnow
from storage.db import transaction
from storage.models import SipServiceUser


class ServiceUserStore:
    """Names and digest HA1s of our own SIP users."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, name: str, ha1: str) -> None:
        """Store (or replace) the HA1 of `name`."""
        with transaction(self.engine) as session:
            row = session.get(SipServiceUser, name, with_for_update=True)
            if row is None:
                row = SipServiceUser(name=name, ha1=ha1)
            row.ha1, row.updated_at = ha1, utcnow()
            session.add(row)

    def ha1(self, name: str) -> str | None:
        """The HA1 of `name`, None when it is not one of ours."""
        with transaction(self.engine) as session:
            row = session.get(SipServiceUser, name)
            return row.ha1 if row is not None else None
