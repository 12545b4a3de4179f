"""What the assistant can do, one folder per feature. Each declares its routes (intents,
chat commands, button actions) on its own `Router`, next to its code; the composition
root (`bot/app.py`) gathers them with `routers` and hands them to the `Assistant`.

Features import the assistant and the lower layers (nlu, wallet, dialer, storage), never
one another.
"""

from __future__ import annotations

from bot.assistant.router import Router
from bot.features import (
    account,
    api_keys,
    calendars,
    calls,
    forwarding,
    linking,
    numbers,
    onboarding,
    payments,
    plans,
    polls,
    privacy,
    recordings,
    reminders,
    softphone,
    verification,
)


def routers(pending_withdrawals: payments.PendingWithdrawals) -> list[Router]:
    """Every feature's router, with the state the composition root made for them."""
    return [
        onboarding.router,
        account.router,
        linking.router,
        calls.router,
        verification.router,
        reminders.router,
        calendars.router,
        forwarding.router,
        softphone.router,
        numbers.router,
        recordings.router,
        privacy.router,
        api_keys.router,
        plans.router,
        polls.router,
        payments.build_router(pending_withdrawals),
    ]
