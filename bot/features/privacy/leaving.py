"""Leaving, in the chat: "my data" (a JSON file of everything kept about the user) and
"forget me" (everything that names them deleted, after a confirmation).

The confirmation names what will be lost and, when money is left, asks to withdraw it
first: forgotten, it stays in the ledger under the account's number, unreachable. It is
valid for CONFIRM_FOR and for the account that asked only: its button carries both, so
a button pressed late, or from a chat that now reaches another account (a forgotten
one's next message starts a new account), is an expired choice. Text networks type the
button's word ("forget", "oublier", "забыть"); "no" cancels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.assistant import Button, Context, Reply, Router
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import money_text, number_text, t
from bot.assistant.replies import Attachment
from bot.assistant.router import CancelData
from domain.clock import utcnow
from nlu.commands import ForgetMe, MyData
from privacy.export import MIME, export_json, file_name
from privacy.forget import ForgetBlocked, ForgetSummary, forget, preview
from storage.privacy import PrivacyStore

log = logging.getLogger(__name__)
router = Router("privacy")
CONFIRM_FOR = timedelta(minutes=5)
# The words, also before the parser knows them (a group per language: rule 1 of
# bot.assistant.core, the language the answer is in).
MY_DATA = r"^(?:(?P<en>my\s+data)|(?P<fr>mes\s+donn[ée]es)|(?P<ru>мои\s+данные))\s*[.!?]*$"
FORGET_ME = (
    r"^(?:(?P<en>forget\s+me)|(?P<fr>oubliez?[\s-]+moi)|(?P<ru>забудь(?:те)?\s+меня))\s*[.!?]*$"
)


@dataclass(frozen=True)
class ForgetData(ButtonData, prefix="forget"):
    """The confirmation of "forget me": the account that asked, and until when it holds
    (Unix seconds)."""

    account_id: int
    until: int


def key_of(account_id: int) -> str:
    """The key of the question and its outcome: the outcome replaces the question."""
    return f"forget:{account_id}"


# --- "my data" ---------------------------------------------------------------------------


@router.command("my_data", pattern=MY_DATA, menu=10)
def my_data_words(ctx: Context, _arg: str) -> list[Reply]:
    """'my data', 'mes données', 'мои данные', /my_data."""
    return my_data(ctx)


# Not read-only for the assistant: an export can be long, so it is made in a worker
# thread rather than on the event loop (the flag's other use).
@router.intent(MyData)
def my_data_intent(ctx: Context, _cmd: MyData) -> list[Reply]:
    """The parser's "my data" in other words."""
    return my_data(ctx)


def my_data(ctx: Context) -> list[Reply]:
    """One message: a line, with the JSON export attached (privacy.export)."""
    now = utcnow()
    data = export_json(PrivacyStore(ctx.services.engine), ctx.account.id, now=now)
    attachment = Attachment(file_name(now), data=data, mime=MIME)
    return [Reply(t(ctx.lang, "privacy_my_data"), lang=ctx.lang, attachment=attachment)]


# --- "forget me" -------------------------------------------------------------------------


@router.command("forget_me", pattern=FORGET_ME)
def forget_me_words(ctx: Context, _arg: str) -> list[Reply]:
    """'forget me', 'oublie-moi', 'забудь меня', /forget_me."""
    return ask(ctx)


@router.intent(ForgetMe)
def forget_me_intent(ctx: Context, _cmd: ForgetMe) -> list[Reply]:
    """The parser's "forget me" in other words."""
    return ask(ctx)


def ask(ctx: Context) -> list[Reply]:
    """The confirmation: what will be lost, the money left (withdraw it first), and the
    buttons Forget me / Cancel; or why it cannot be done now."""
    account_id = ctx.account.id
    summary = preview(PrivacyStore(ctx.services.engine), account_id)
    key = key_of(account_id)
    if summary.blocker is not None:
        return [ctx.keyed(key, f"privacy_forget_blocked_{summary.blocker.value}")]
    text = t(ctx.lang, "privacy_forget_confirm", lost=_lost(ctx, summary))
    if summary.balances:
        balances = _money(ctx, summary.balances)
        text += "\n\n" + t(
            ctx.lang, "privacy_forget_balances", balances=balances, account=account_id
        )
    until = int((utcnow() + CONFIRM_FOR).timestamp())
    buttons = (
        Button(
            t(ctx.lang, "privacy_button_forget"),
            ForgetData(account_id, until).pack(),
            word=t(ctx.lang, "privacy_word_forget"),
        ),
        Button(t(ctx.lang, "button_cancel"), CancelData(key).pack(), word=t(ctx.lang, "word_no")),
    )
    return [Reply(text, buttons=buttons, key=key, lang=ctx.lang)]


@router.action(ForgetData)
def confirm(ctx: Context, data: ForgetData) -> list[Reply]:
    """Forget the account, if the confirmation is its own and still holds."""
    if data.account_id != ctx.account.id or utcnow().timestamp() > data.until:
        return [ctx.keyed(key_of(data.account_id), "choice_expired")]
    key = key_of(ctx.account.id)
    try:
        result = forget(PrivacyStore(ctx.services.engine), ctx.services.recordings, ctx.account.id)
    except ForgetBlocked as blocked:
        return [ctx.keyed(key, f"privacy_forget_blocked_{blocked.blocker.value}")]
    log.info("account %s asked to be forgotten", ctx.account.id)
    if not result.balances:
        return [ctx.keyed(key, "privacy_forget_done")]
    balances = _money(ctx, result.balances)
    return [
        ctx.keyed(key, "privacy_forget_done_balances", balances=balances, account=data.account_id)
    ]


def _lost(ctx: Context, summary: ForgetSummary) -> str:
    """What forgetting deletes, as a list in the user's language (empty items left out)."""
    lang = ctx.lang
    parts = [t(lang, "privacy_lost_identities", count=summary.identities)]
    if summary.numbers:
        numbers = ", ".join(number_text(n) for n in summary.numbers)
        parts.append(t(lang, "privacy_lost_numbers", numbers=numbers))
    counted = (
        ("privacy_lost_calls", summary.calls),
        ("privacy_lost_reminders", summary.reminders),
        ("privacy_lost_rules", summary.rules),
        ("privacy_lost_recordings", summary.recordings),
    )
    parts += [t(lang, key, count=count) for key, count in counted if count]
    parts.append(t(lang, "privacy_lost_settings"))
    return t(lang, "privacy_lost_separator").join(parts)


def _money(ctx: Context, balances: dict[str, int]) -> str:
    return ", ".join(money_text(units, asset, ctx.lang) for asset, units in balances.items())
