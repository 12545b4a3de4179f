"""'my data': everything kept about an account, as one JSON document.

The document (UTF-8 JSON, an object):
- `schema`: SCHEMA, `version`: SCHEMA_VERSION (raised when a section changes shape);
- `generated_at`: when it was made, ISO 8601 UTC;
- `units`: how to read amounts (integers in the smallest unit of their asset);
- the sections of `storage.privacy.PrivacyStore.export`: `account`, `identities`,
  `direct_numbers`, `calls` (each with its `events` and `sip_dialogs`), `ledger`
  (`book`, `balances`, `transfers`, `entries`, `holds`), `reminders`, `forwarding_rules`,
  `deposits`, `withdrawals`, `fraud_refusals`, `recordings` (their metadata: the sealed
  files themselves were delivered to the chat), `link_codes`, `link_attempts`,
  `wallet_link`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from domain.clock import utcnow
from storage.privacy import PrivacyStore

SCHEMA = "encryptotel/my-data"
SCHEMA_VERSION = 1
MIME = "application/json"
UNITS = (
    "Amounts (amount, held, cost) are integers in the smallest unit of the asset named "
    "beside them: 1 ETT or 1 WAVES is 100000000 units."
)


def export_document(store: PrivacyStore, account_id: int, *, now: datetime | None = None) -> dict:
    """The export as a JSON-serialisable object (see the module's docstring); KeyError for
    an unknown account."""
    at = (now or utcnow()).astimezone(UTC)
    header = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "generated_at": at.isoformat(),
        "units": UNITS,
    }
    return header | store.export(account_id)


def export_json(store: PrivacyStore, account_id: int, *, now: datetime | None = None) -> bytes:
    """The export as UTF-8 JSON bytes, indented for people to read."""
    document = export_document(store, account_id, now=now)
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def file_name(now: datetime) -> str:
    """The export's file name: `encryptotel-my-data-YYYYMMDD-HHMMSS.json` (UTC)."""
    return f"encryptotel-my-data-{now.astimezone(UTC):%Y%m%d-%H%M%S}.json"
