"""The API keys feature's routes: the parser's `api_key` intent and the buttons that
confirm a revocation."""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.features.api_keys import keys
from nlu.commands import ApiKeys

router = Router("api_keys")


@router.intent(ApiKeys)
def api_keys(ctx: Context, cmd: ApiKeys) -> list[Reply]:
    """ "api key" / "my api keys" / "revoke api key 3f2a…" / "revoke all api keys"."""
    if cmd.action == "new":
        return [keys.make(ctx, cmd)]
    if cmd.action == "revoke":
        return [keys.revoke(ctx, cmd)]
    return [keys.listing(ctx)]


@router.action(keys.RevokeKeyData)
def confirm_revoke(ctx: Context, data: keys.RevokeKeyData) -> list[Reply]:
    """The button revoking one key."""
    return [keys.confirm_revoke(ctx, data)]


@router.action(keys.RevokeAllData)
def confirm_revoke_all(ctx: Context, data: keys.RevokeAllData) -> list[Reply]:
    """The button revoking every key."""
    return [keys.confirm_revoke_all(ctx, data)]
