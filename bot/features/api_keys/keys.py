"""The account's keys of the HTTP API (storage.api_keys), made, listed and revoked.

A key made here is shown once, in the reply that made it, with a curl line to try it;
only its SHA-256 is stored, and it is never logged (privacy.logs masks `ett_…` tokens).
Only private chats reach the assistant at all (the adapters answer a group with a link
to a private chat), so a token never reaches a group.

A key is revoked by its id or the start of it (4 characters or more) at once; every key,
or the one of "delete my api key" when no id is named, after a button confirms it. The
API looks each key up on every request, so a revoked key stops working at once. Keys
belong to the account, so every chat identity linked to it sees and revokes the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.assistant import Button, Context, Refusal, Reply
from bot.assistant.buttons import ButtonData
from bot.assistant.i18n import t
from bot.assistant.router import CancelData
from nlu.api_keys import DEFAULT_SCOPES
from nlu.commands import ApiKeys
from storage.models import API_SCOPES, ApiKey

# The most live keys an account may hold (a key per integration is plenty).
MAX_KEYS = 20
# The shortest start of an id that names a key (of 12 hexadecimal digits).
MIN_ID = 4
QUESTION_KEY = "apikeys:revoke"
TRY_PATH = "/v1/balance"


@dataclass(frozen=True)
class RevokeKeyData(ButtonData, prefix="apikeyrev"):
    """The confirmation of revoking the account's key `key_id`."""

    key_id: str


@dataclass(frozen=True)
class RevokeAllData(ButtonData, prefix="apikeyall"):
    """The confirmation of revoking every key, asked when `newest` was the account's
    newest key: a press after another key was made asks again."""

    newest: str


def api_url(ctx: Context) -> str | None:
    """Where the API is reached: API_PUBLIC_URL when set, else http://API_LISTEN; None
    when this server does not serve it (API_LISTEN "off" and no public URL)."""
    settings = ctx.services.settings
    if settings.API_PUBLIC_URL:
        return settings.API_PUBLIC_URL.rstrip("/")
    if not settings.api_enabled:
        return None
    return f"http://{settings.API_LISTEN}"


def make(ctx: Context, cmd: ApiKeys) -> Reply:
    """A new key of the account with the scopes asked (read and calls by default); its
    token in this reply only. Refused past MAX_KEYS live keys."""
    store = ctx.services.api_keys
    if len(store.of_account(ctx.account.id)) >= MAX_KEYS:
        raise Refusal("apikeys_too_many", limit=MAX_KEYS)
    scopes = tuple(s for s in API_SCOPES if s in cmd.scopes) or DEFAULT_SCOPES
    new = store.create(ctx.account.id, scopes, cmd.name)
    url = api_url(ctx)
    example = f'curl -H "Authorization: Bearer {new.token}" {url}{TRY_PATH}' if url else ""
    text = t(
        ctx.lang,
        "apikeys_new" if url else "apikeys_new_no_url",
        id=new.key.id,
        name=_name(new.key),
        scopes=new.key.scopes.replace(",", ", "),
        token=new.token,
        example=example,
    )
    return Reply(text, lang=ctx.lang)


def listing(ctx: Context) -> Reply:
    """The account's live keys: id, name, scopes, when made and last used (never a
    token, which is not kept)."""
    live = ctx.services.api_keys.of_account(ctx.account.id)
    if not live:
        return ctx.say("apikeys_none")
    lines = [t(ctx.lang, "apikeys_list_header", count=len(live))]
    lines += [_line(ctx, key) for key in live]
    lines.append(t(ctx.lang, "apikeys_list_footer"))
    return Reply("\n".join(lines), lang=ctx.lang)


def revoke(ctx: Context, cmd: ApiKeys) -> Reply:
    """Revoke the key whose id starts with `cmd.key` at once; for every key (`cmd.all`),
    or for the only one when none is named, ask first; with several and none named, list
    them to choose from."""
    store = ctx.services.api_keys
    live = store.of_account(ctx.account.id)
    if cmd.key is not None:
        return _revoke_named(ctx, live, cmd.key.lower())
    if not live:
        return ctx.say("apikeys_none_to_revoke")
    if cmd.all:
        return _ask(
            ctx,
            t(ctx.lang, "apikeys_revoke_all_ask", count=len(live)),
            RevokeAllData(live[-1].id),
            "apikeys_button_revoke_all",
        )
    if len(live) == 1:
        key = live[0]
        return _ask(
            ctx,
            t(ctx.lang, "apikeys_revoke_ask", id=key.id, name=_name(key)),
            RevokeKeyData(key.id),
            "apikeys_button_revoke",
        )
    lines = [t(ctx.lang, "apikeys_which", count=len(live))]
    lines += [_line(ctx, key) for key in live]
    return Reply("\n".join(lines), lang=ctx.lang)


def confirm_revoke(ctx: Context, data: RevokeKeyData) -> Reply:
    """The button revoking one key of the account; refused when it is revoked already
    (or is no key of this account)."""
    revoked = ctx.services.api_keys.revoke(ctx.account.id, data.key_id)
    if not revoked:
        raise Refusal("choice_expired", reply_key=QUESTION_KEY)
    return ctx.keyed(QUESTION_KEY, "apikeys_revoked", id=data.key_id)


def confirm_revoke_all(ctx: Context, data: RevokeAllData) -> Reply:
    """The button revoking every key of the account; refused when a key was made since
    it was shown, or none is left."""
    store = ctx.services.api_keys
    live = store.of_account(ctx.account.id)
    if not live or live[-1].id != data.newest:
        raise Refusal("choice_expired", reply_key=QUESTION_KEY)
    revoked = store.revoke(ctx.account.id)
    return ctx.keyed(QUESTION_KEY, "apikeys_revoked_all", count=len(revoked))


def _revoke_named(ctx: Context, live: list[ApiKey], start: str) -> Reply:
    if len(start) < MIN_ID:
        raise Refusal("apikeys_id_short", digits=MIN_ID)
    matching = [key for key in live if key.id.startswith(start)]
    if not matching:  # (another account's key is never named here: not found either)
        raise Refusal("apikeys_not_found", start=start)
    if len(matching) > 1:
        raise Refusal("apikeys_ambiguous", start=start)
    [key] = matching
    ctx.services.api_keys.revoke(ctx.account.id, key.id)
    return ctx.say("apikeys_revoked", id=key.id)


def _ask(ctx: Context, text: str, data: ButtonData, label: str) -> Reply:
    buttons = (
        Button(t(ctx.lang, label), data.pack(), t(ctx.lang, "word_yes")),
        Button(
            t(ctx.lang, "button_cancel"), CancelData(QUESTION_KEY).pack(), t(ctx.lang, "word_no")
        ),
    )
    return Reply(text, buttons=buttons, key=QUESTION_KEY, lang=ctx.lang)


def _name(key: ApiKey) -> str:
    return f" ({key.name})" if key.name else ""


def _line(ctx: Context, key: ApiKey) -> str:
    if key.last_used_at is None:
        used = t(ctx.lang, "apikeys_never_used")
    else:
        used = t(ctx.lang, "apikeys_used", at=ctx.local_time(key.last_used_at))
    return t(
        ctx.lang,
        "apikeys_list_line",
        id=key.id,
        name=_name(key),
        scopes=key.scopes.replace(",", ", "),
        created=ctx.local_time(key.created_at),
        used=used,
    )
