"""Linking a Waves wallet in the chat ("link my wallet 3P…"): its key becomes the
account's recording key once the user proves the address is theirs (wallet.link).

The answer to an address gives the message to prove it with and both ways: sign the
message in Keeper, Signer or waves.exchange and paste the signature and public key here,
or send any tiny amount from that address to the service's deposit address (the one the
payments feature gives) with the message as memo; the deposit watcher then tells the
account (`link_notifier`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.assistant import Context, Refusal, Reply
from bot.assistant.i18n import DEFAULT_LANGUAGE, t
from bot.assistant.outbox import Outbox
from bot.features.recordings.text import SIGN_COMMAND, key_is_wallets, local_time, network
from nlu.commands import LinkWallet
from storage.accounts import AccountStore
from wallet.link import (
    BAD_ADDRESS,
    BAD_SIGNATURE,
    EXPIRED,
    MALFORMED,
    NO_CHALLENGE,
    OTHER_ADDRESS,
    WRONG_CHAIN,
    Challenge,
    Linked,
    LinkRefused,
    WalletLinker,
)

log = logging.getLogger(__name__)
# The longest address echoed back in a refusal (what the user typed may be anything).
MAX_SHOWN = 60
# The catalogue sentence of each refusal (wallet.link.REASONS).
REFUSALS = {
    BAD_ADDRESS: "rec_link_bad_address",
    WRONG_CHAIN: "rec_link_wrong_chain",
    NO_CHALLENGE: "rec_link_no_challenge",
    EXPIRED: "rec_link_expired",
    MALFORMED: "rec_link_malformed",
    BAD_SIGNATURE: "rec_link_bad_signature",
    OTHER_ADDRESS: "rec_link_other_address",
}


def link_wallet(ctx: Context, cmd: LinkWallet) -> list[Reply]:
    """Start a proof for an address, or answer the pending one with a signature and key."""
    linker = WalletLinker.from_settings(ctx.services.engine, ctx.services.settings)
    try:
        if cmd.signature or cmd.public_key:
            if not (cmd.signature and cmd.public_key):
                return [ctx.say("rec_link_need_both")]
            linked = linker.prove_signature(ctx.account.id, cmd.signature, cmd.public_key)
            return [ctx.say("rec_linked", address=linked.address, public_key=linked.public_key)]
        if cmd.address:
            challenge = linker.start(ctx.account.id, cmd.address)
        elif (pending := linker.pending(ctx.account.id)) is not None:
            challenge = pending  # "link my wallet" again: the proof still to answer
        else:
            return [ctx.say("rec_link_need_address")]
    except LinkRefused as refused:
        raise _refusal(ctx, refused) from None
    return [_challenge(ctx, linker, challenge)]


def _challenge(ctx: Context, linker: WalletLinker, challenge: Challenge) -> Reply:
    """The message to prove an address with, and the ways to prove it."""
    lines = [
        t(
            ctx.lang,
            "rec_link_sign",
            address=challenge.address,
            until=local_time(ctx.account, challenge.expires_at),
            message=challenge.message,
            sign_command=SIGN_COMMAND,
        )
    ]
    deposits = ctx.services.deposits
    if deposits is not None:
        deposit = deposits.deposit_info(ctx.account.id).address
        lines.append(t(ctx.lang, "rec_link_send", address=challenge.address, deposit=deposit))
    account = ctx.account
    same = account.wallet_address == challenge.address and key_is_wallets(account, linker.chain_id)
    if account.recording_key and not same:  # its key is to be replaced by this wallet's
        lines.append(t(ctx.lang, "rec_link_replaces"))
    return Reply("\n\n".join(lines), lang=ctx.lang)


def _refusal(ctx: Context, refused: LinkRefused) -> Refusal:
    """The sentence of a refused proof."""
    chain = ctx.services.settings.WAVES_CHAIN_ID
    return Refusal(
        REFUSALS.get(refused.reason, "rec_link_bad_signature"),
        address=(refused.address or "")[:MAX_SHOWN],
        network=network(chain),
    )


def link_notifier(accounts: AccountStore, outbox: Outbox) -> Callable[[Linked], Awaitable[None]]:
    """The deposit watcher's `on_linked(linked)`: tell the account, in its language, that
    its transfer proved the wallet and its key now seals the recordings."""

    async def on_linked(linked: Linked) -> None:
        account = await asyncio.to_thread(accounts.get, linked.account_id)
        lang = account.language if account else DEFAULT_LANGUAGE
        address, key = linked.address, linked.public_key
        text = t(lang, "rec_linked_by_transfer", address=address, public_key=key)
        delivered = await outbox.notify(linked.account_id, Reply(text, lang=lang))
        log.info("wallet link told to %d chats of account %s", delivered, linked.account_id)

    return on_linked
