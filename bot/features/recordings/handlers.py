"""The recordings feature's routes: the recording default, the recordings on the server,
the recording key, and linking a Waves wallet."""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.features.recordings import calls, keys, wallet_link
from nlu.commands import LinkWallet, RecordCalls, RecordingKey, Recordings

router = Router("recordings")


@router.intent(RecordCalls)
def record_calls(ctx: Context, cmd: RecordCalls) -> list[Reply]:
    """ "record all my calls" / "stop recording my calls"."""
    return calls.record_calls(ctx, cmd)


@router.intent(Recordings, menu=9)
def recordings(ctx: Context, cmd: Recordings) -> list[Reply]:
    """ "my recordings" / "delete my recordings"."""
    return calls.recordings(ctx, cmd)


@router.action(calls.DeleteRecordingsData)
def confirm_delete(ctx: Context, data: calls.DeleteRecordingsData) -> list[Reply]:
    """The button deleting every recording from the server."""
    return calls.confirm_delete(ctx, data)


@router.intent(RecordingKey)
def recording_key(ctx: Context, cmd: RecordingKey) -> list[Reply]:
    """ "my recording key" / "new recording key"."""
    return keys.recording_key(ctx, cmd)


@router.action(keys.NewKeyData)
def confirm_new_key(ctx: Context, data: keys.NewKeyData) -> list[Reply]:
    """The button replacing a linked wallet's key with a new one."""
    return keys.confirm_new_key(ctx, data)


@router.intent(LinkWallet)
def link_wallet(ctx: Context, cmd: LinkWallet) -> list[Reply]:
    """ "link my wallet 3P…", then the signature and public key."""
    return wallet_link.link_wallet(ctx, cmd)
