"""Names of the ledger's system books used by the wallet.

Invariant checked by `admin reconcile`: for ETT and WAVES, the service wallet's
on-chain balance equals -(DEPOSITS + WITHDRAWALS) in the ledger.
"""

from __future__ import annotations

DEPOSITS = "system:deposits"  # debited by every deposit received on chain
WITHDRAWALS = "system:withdrawals"  # credited by every withdrawal and network fee paid
UNATTRIBUTED = "system:unattributed"  # deposits whose memo names no account
REVENUE = "system:revenue"  # call charges
NETWORK_FEES = "system:network_fees"  # WAVES fees the service paid for withdrawals
