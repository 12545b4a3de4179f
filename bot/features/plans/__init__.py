"""Monthly plans in the chat: "plans" (listed with their ETT and WAVES prices), "subscribe
to Business" (a button confirms; the first period is charged from the balance at once, or
a switch is taken from the next period), "cancel my plan" (runs to the end of the paid
period), "how many minutes are left" (per destination group, and when the period ends).

- `desk`: what each request does (wallet.subscriptions, storage.plans);
- `notices`: the renewal duty's notices as chat messages (sent through the outbox);
- `handlers`: the feature's routes.
"""

from bot.features.plans.handlers import router

__all__ = ["router"]
