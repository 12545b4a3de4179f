"""The account's numbers in the chat: "my numbers", "what is my number", "mes numéros",
"мои номера" list its direct numbers (DIDs, assigned by the operator with `admin did
assign`), its extension and whether its caller ID is hidden; "hide my number" / "show
my number" ("masquer" / "afficher mon numéro", "скрыть" / "показывать мой номер") set
that for every outside call (`Account.hide_caller_id`). For a single call, *67 before
the number hides it and *82 shows it.
"""

from __future__ import annotations

from bot.assistant import Context, Reply, Router
from bot.assistant.i18n import number_text, t
from nlu.commands import CallerId, Numbers

router = Router("numbers")


@router.intent(Numbers, menu=8)
def my_numbers(ctx: Context, _cmd: Numbers) -> list[Reply]:
    """One reply: the account's direct numbers (or that it has none yet, and that the
    operator assigns them), its extension (allocated on first use), and whether its
    number is hidden on outside calls, with the one-call code that does the opposite."""
    extension = ctx.services.accounts.extension(ctx.account.id)
    numbers = ctx.services.dids.numbers_of(ctx.account.id)
    if not numbers:
        dids = t(ctx.lang, "numbers_none", extension=extension)
    else:
        key = "numbers_dids_one" if len(numbers) == 1 else "numbers_dids_many"
        listed = ", ".join(number_text(number) for number in numbers)
        dids = t(ctx.lang, key, numbers=listed, extension=extension)
    hidden = ctx.account.hide_caller_id
    caller_id = t(ctx.lang, "numbers_hidden" if hidden else "numbers_shown")
    return [ctx.say("numbers", dids=dids, caller_id=caller_id)]


@router.intent(CallerId)
def caller_id(ctx: Context, cmd: CallerId) -> list[Reply]:
    """Hide (`cmd.hide`) or show the account's number on every outside call; the reply
    names the code that does the opposite for a single call (*82 shows, *67 hides)."""
    ctx.services.accounts.update(ctx.account.id, hide_caller_id=cmd.hide)
    return [ctx.say("caller_id_hidden" if cmd.hide else "caller_id_shown")]
