"""The account's softphone (SIP) credentials in the chat: "my SIP account", "mes
identifiants SIP", "настройки SIP"; with a new password on "new SIP password".

The answer gives the domain, the user name (the account's extension), the transports
and their ports, and the password only when this request made it (the account's first,
or a reset): it is shown this once and kept nowhere but as its digest (see
`exchange.softphones`). Only private chats are answered at all (the adapters answer a
group with a link to a private chat), so the password never reaches a group.
"""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.assistant.i18n import t
from nlu.commands import Softphone

router = Router("softphone")


@router.intent(Softphone, menu=7)
def softphone(ctx: Context, cmd: Softphone) -> list[Reply]:
    """The credentials; a password made when the account has none, or on `cmd.reset`."""
    had_password = ctx.account.sip_ha1 is not None
    credentials = ctx.services.softphones.credentials(ctx.account.id, reset=cmd.reset)
    settings = t(
        ctx.lang,
        "softphone_settings",
        domain=credentials.domain,
        username=credentials.username,
        udp_port=credentials.udp_port,
        tls_port=credentials.tls_port,
    )
    if credentials.password is None:
        return [ctx.say("softphone_known", settings=settings)]
    key = "softphone_reset" if cmd.reset and had_password else "softphone_new"
    return [ctx.say(key, settings=settings, password=credentials.password)]
