"""Paying for calls with ETT: tariffs, holds, fraud rules, Waves deposits and withdrawals.

billing = Billing.from_settings(engine, settings)
auth = billing.authorize(account_id, call_id, a_number, b_number)  # raises CallRefused
... dial with auth.max_seconds; while bridged, billing.extend(call_id, seconds) ...
billing.settle(call_id)            # after the call; billing.settle_pending() at start

watcher = DepositWatcher.from_settings(engine, settings, on_credit=notify)
watcher.deposit_info(account_id)   # address, memo, payment link
await watcher.run(stop_event)      # also finishes or refunds interrupted withdrawals

Withdrawals.from_settings(engine, settings).withdraw(account_id, units, "ETT", address)
"""

from __future__ import annotations

from wallet.billing import Authorization, Billing, Quote
from wallet.deposits import AssetMisconfigured, Credit, DepositInfo, DepositWatcher, deposit_info
from wallet.fraud import RULES, CallRefused, FraudRules
from wallet.memo import account_from_memo, memo_for
from wallet.rates import Rates
from wallet.tariffs import Tariffs
from wallet.waves import InvalidAddress, NodeUnavailable, TransferRejected, WavesClient
from wallet.withdrawal_recovery import WithdrawalRecovery
from wallet.withdrawals import Withdrawals

__all__ = [
    "RULES",
    "AssetMisconfigured",
    "Authorization",
    "Billing",
    "CallRefused",
    "Credit",
    "DepositInfo",
    "DepositWatcher",
    "FraudRules",
    "InvalidAddress",
    "NodeUnavailable",
    "Quote",
    "Rates",
    "Tariffs",
    "TransferRejected",
    "WavesClient",
    "WithdrawalRecovery",
    "Withdrawals",
    "account_from_memo",
    "deposit_info",
    "memo_for",
]
