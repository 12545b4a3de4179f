"""The short memo (transfer attachment) that says which account a deposit is for.

`ET<account id>-<2 check digits>`, e.g. `ET42-17`: short enough to type into any
wallet, and a mistyped digit is caught by the check digits instead of crediting a
stranger.
"""

from __future__ import annotations

import re
import zlib

_MEMO = re.compile(r"^ET(\d{1,12})-(\d{2})$")


def _check(account_id: int) -> int:
    return zlib.crc32(f"EncryptoTel:{account_id}".encode()) % 97


def memo_for(account_id: int) -> str:
    """The deposit memo of an account."""
    return f"ET{account_id}-{_check(account_id):02d}"


def account_from_memo(memo: str | None) -> int | None:
    """The account id a memo names, None when it is not a valid memo."""
    if not memo:
        return None
    match = _MEMO.match(re.sub(r"\s+", "", memo).upper())
    if not match:
        return None
    account_id = int(match[1])
    return account_id if int(match[2]) == _check(account_id) else None
