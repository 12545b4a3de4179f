"""Deposits and withdrawals in the chat, and the notification of a credited deposit."""

from bot.features.payments.wallet import (
    PendingWithdrawals,
    build_router,
    credit_notifier,
    withdrawal_notifier,
)

__all__ = ["PendingWithdrawals", "build_router", "credit_notifier", "withdrawal_notifier"]
