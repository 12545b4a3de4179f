"""The storage layer's clock is `domain.clock.utcnow`; this name stays for the modules
that still import it from here (storage/ledger_store.py)."""

from __future__ import annotations

from domain.clock import utcnow

__all__ = ["utcnow"]
