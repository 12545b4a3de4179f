"""The key recordings are sealed to: shown ("my recording key"), or a new key pair made
on request ("new recording key").

A key made here is a Waves-style seed of 15 words (privacy.keys.new_seed): only its
public key is stored (`Account.recording_key`); the words are shown once, in the reply
that made them, and kept nowhere (never logged). Replacing the key of a linked wallet is
asked first (a button whose data names the key it replaces, so a second press, or a
press after the key changed, makes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.assistant import Button, Context, Refusal, Reply
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import t
from bot.assistant.router import CancelData
from bot.features.recordings.text import DECRYPT_COMMAND, key_is_wallets
from nlu.commands import RecordingKey
from privacy.keys import encode_key, new_seed, public_key_of_seed

# How many characters of the replaced key a confirmation button carries.
KEY_TAG = 12
QUESTION_KEY = "rec_key:replace"


@dataclass(frozen=True)
class NewKeyData(ButtonData, prefix="reckey"):
    """The confirmation of replacing the recording key that starts with `replaces`."""

    replaces: str


def recording_key(ctx: Context, cmd: RecordingKey) -> list[Reply]:
    """Show the account's recording key and where it comes from, or make a new one."""
    account = ctx.account
    chain = ctx.services.settings.WAVES_CHAIN_ID
    if cmd.new:
        if key_is_wallets(account, chain):
            return [_ask_replace(ctx)]
        return [_new_key(ctx)]
    if not account.recording_key:
        return [ctx.say("rec_key_none")]
    if key_is_wallets(account, chain):
        return [
            ctx.say(
                "rec_key_wallet",
                address=account.wallet_address,
                public_key=account.recording_key,
                command=DECRYPT_COMMAND,
            )
        ]
    return [ctx.say("rec_key_made", public_key=account.recording_key, command=DECRYPT_COMMAND)]


def confirm_new_key(ctx: Context, data: NewKeyData) -> list[Reply]:
    """The button that replaces a linked wallet's key with a new one."""
    current = ctx.account.recording_key or ""
    if not current or current[:KEY_TAG] != data.replaces:
        raise Refusal("choice_expired", reply_key=QUESTION_KEY)
    return [_new_key(ctx, reply_key=QUESTION_KEY)]


def _ask_replace(ctx: Context) -> Reply:
    tag = (ctx.account.recording_key or "")[:KEY_TAG]
    buttons = (
        Button(t(ctx.lang, "rec_button_new_key"), NewKeyData(tag).pack(), t(ctx.lang, "word_yes")),
        Button(
            t(ctx.lang, "button_cancel"), CancelData(QUESTION_KEY).pack(), t(ctx.lang, "word_no")
        ),
    )
    text = t(ctx.lang, "rec_key_replace_wallet", address=ctx.account.wallet_address)
    return Reply(text, buttons=buttons, key=QUESTION_KEY, lang=ctx.lang)


def _new_key(ctx: Context, reply_key: str | None = None) -> Reply:
    """Make a key pair, store its public key, and show its words this once."""
    seed = new_seed()
    public_key = encode_key(public_key_of_seed(seed))
    had_key = bool(ctx.account.recording_key)
    ctx.services.accounts.update(ctx.account.id, recording_key=public_key)
    lines = [
        t(ctx.lang, "rec_key_new", words=seed, public_key=public_key, command=DECRYPT_COMMAND),
    ]
    if had_key:
        lines.append(t(ctx.lang, "rec_key_older"))
    return Reply("\n\n".join(lines), key=reply_key, lang=ctx.lang)
