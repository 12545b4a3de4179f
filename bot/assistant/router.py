"""Routers: each feature declares, next to its code, what it answers.

As aiogram's router per feature: a feature makes a `Router`, registers its handlers on
it, and the composition root hands every router to the `Assistant`, which imports no
feature. A router holds
- intents of the parser (`nlu.commands`), each marked when it only reads (such
  answers may be computed on the event loop, see `Assistant`);
- chat commands read before the parser ("/tz Europe/Paris", "link 12345678"), with
  their place in the bot's menu;
- button actions, by the `ButtonData` class their data packs;
- files a user sends, by their name's suffix or their type (".ics", "text/calendar").
A handler returns the replies, or raises `Refusal`, answered as one sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from bot.assistant.buttons import ButtonData, prefix_of
from bot.assistant.context import Context, Refusal
from bot.assistant.replies import ReceivedFile, Reply
from nlu.commands import Command

C = TypeVar("C", bound=Command)
D = TypeVar("D", bound=ButtonData)
Handler = Callable[[Context, Any], list[Reply]]

# "/name arg". Telegram's "/name@Bot" is the adapter's to read (only our own bot's name is
# ours): a command addressed to someone is not one of ours here.
_SLASH = re.compile(r"^/(?P<name>[a-z_]+)(?:\s+(?P<arg>.*))?$", re.IGNORECASE | re.DOTALL)
LANGUAGE_GROUPS = ("en", "fr", "ru")


@dataclass(frozen=True)
class CancelData(ButtonData, prefix="cancel"):
    """The Cancel button of a question; `key` is the question's reply key, so the
    cancellation replaces it."""

    key: str


@dataclass(frozen=True)
class IntentRoute:
    """A parser intent and its handler."""

    command_type: type[Command]
    handler: Handler
    read_only: bool


@dataclass(frozen=True)
class CommandRoute:
    """A chat command: `/name arg`, or the words of `pattern` (groups `arg`, `en`/`fr`/`ru`).

    `intent`: the command runs that intent's handler (a menu shortcut such as /balance).
    """

    name: str
    handler: Handler | None
    read_only: bool
    pattern: re.Pattern[str] | None = None
    aliases: tuple[str, ...] = ()
    menu: int | None = None
    intent: IntentRoute | None = None


@dataclass(frozen=True)
class FileRoute:
    """The handler of the files whose name ends with one of `suffixes` (lower case) or
    whose type is one of `mimes`."""

    suffixes: tuple[str, ...]
    mimes: tuple[str, ...]
    handler: Handler

    def takes(self, file: ReceivedFile) -> bool:
        """Whether this route handles `file`."""
        mime = (file.mime or "").split(";")[0].strip().lower()
        return file.name.lower().endswith(self.suffixes) or mime in self.mimes


@dataclass(frozen=True)
class CommandMatch:
    """A message recognised as a command: its route, argument ('' when none) and the
    language of its words (None when they tell none, as for "/tz")."""

    route: CommandRoute
    arg: str
    lang: str | None


class Router:
    """The intents, commands and button actions of one feature."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.intents: dict[str, IntentRoute] = {}
        self.commands: list[CommandRoute] = []
        self.actions: dict[str, tuple[type[ButtonData], Handler]] = {}
        self.files: list[FileRoute] = []

    def intent(
        self, command_type: type[C], *, read_only: bool = False, menu: int | None = None
    ) -> Callable[[Callable[[Context, C], list[Reply]]], Callable[[Context, C], list[Reply]]]:
        """Register the handler of a parser intent; `menu`: also a /command at that place
        of the bot's menu. `read_only`: the handler never writes."""

        def register(
            handler: Callable[[Context, C], list[Reply]],
        ) -> Callable[[Context, C], list[Reply]]:
            route = IntentRoute(command_type, handler, read_only)
            self.intents[command_type.intent] = route
            if menu is not None:
                self.commands.append(
                    CommandRoute(command_type.intent, None, read_only, menu=menu, intent=route)
                )
            return handler

        return register

    def command(
        self,
        name: str,
        *,
        pattern: str | None = None,
        aliases: Iterable[str] = (),
        menu: int | None = None,
        read_only: bool = False,
    ) -> Callable[[Callable[[Context, str], list[Reply]]], Callable[[Context, str], list[Reply]]]:
        """Register a chat command `/name` (and `/alias`), also written as `pattern`."""

        def register(
            handler: Callable[[Context, str], list[Reply]],
        ) -> Callable[[Context, str], list[Reply]]:
            compiled = re.compile(pattern, re.IGNORECASE) if pattern else None
            self.commands.append(
                CommandRoute(name, handler, read_only, compiled, tuple(aliases), menu)
            )
            return handler

        return register

    def action(
        self, data_type: type[D]
    ) -> Callable[[Callable[[Context, D], list[Reply]]], Callable[[Context, D], list[Reply]]]:
        """Register the handler of the buttons whose data is a `data_type`."""

        def register(
            handler: Callable[[Context, D], list[Reply]],
        ) -> Callable[[Context, D], list[Reply]]:
            self.actions[data_type.prefix] = (data_type, handler)
            return handler

        return register

    def file(
        self, suffixes: tuple[str, ...], mimes: tuple[str, ...] = ()
    ) -> Callable[[Callable[[Context, ReceivedFile], list[Reply]]], Handler]:
        """Register the handler of the files a user sends that end with one of `suffixes`
        or have one of the types `mimes`."""

        def register(handler: Callable[[Context, ReceivedFile], list[Reply]]) -> Handler:
            self.files.append(FileRoute(suffixes, mimes, handler))
            return handler

        return register


class Dispatcher:
    """Every router's routes, merged; raises ValueError when two routers claim one name."""

    def __init__(self, routers: Iterable[Router]) -> None:
        self.intents: dict[str, IntentRoute] = {}
        self.commands: dict[str, CommandRoute] = {}
        self.patterns: list[CommandRoute] = []
        self.files: list[FileRoute] = []
        self.actions: dict[str, tuple[type[ButtonData], Handler]] = {
            CancelData.prefix: (CancelData, _cancel)
        }
        for router in routers:
            self._merge(router)
        self.menu: tuple[str, ...] = tuple(
            route.name
            for route in sorted(
                (r for r in self.commands.values() if r.menu is not None),
                key=lambda r: r.menu or 0,
            )
        )

    def _merge(self, router: Router) -> None:
        for name, intent in router.intents.items():
            _claim(self.intents, name, intent, router.name)
        for command in router.commands:
            for name in (command.name, *command.aliases):
                _claim(self.commands, name, command, router.name)
            if command.pattern is not None:
                self.patterns.append(command)
        for prefix, action in router.actions.items():
            _claim(self.actions, prefix, action, router.name)
        self.files += router.files

    def match(self, text: str) -> CommandMatch | None:
        """The command `text` is, or None for a message the parser should read."""
        text = text.strip()
        if slash := _SLASH.match(text):
            route = self.commands.get(slash["name"].lower())
            return CommandMatch(route, (slash["arg"] or "").strip(), None) if route else None
        for route in self.patterns:
            assert route.pattern is not None
            if found := route.pattern.match(text):
                groups = found.groupdict()
                lang = next((g for g in LANGUAGE_GROUPS if groups.get(g)), None)
                return CommandMatch(route, (groups.get("arg") or "").strip(), lang)
        return None

    def read_only(self, intent: str) -> bool:
        """Whether the handler of `intent` only reads (unknown intents only read)."""
        route = self.intents.get(intent)
        return route.read_only if route is not None else True

    def run_command(self, ctx: Context, found: CommandMatch) -> list[Reply]:
        """Answer a recognised command."""
        route = found.route
        if route.intent is not None:
            return _guarded(ctx, route.intent.handler, route.intent.command_type(lang=ctx.lang))
        assert route.handler is not None
        return _guarded(ctx, route.handler, found.arg)

    def dispatch(self, ctx: Context, command: Command) -> list[Reply]:
        """Answer a parsed command with its intent's handler ("unknown" when none)."""
        route = self.intents.get(command.intent)
        if route is None:
            return [ctx.say("unknown")]
        return _guarded(ctx, route.handler, command)

    def receive(self, ctx: Context, file: ReceivedFile) -> list[Reply]:
        """Answer a file the user sent with the handler of its kind, or say which files
        are understood."""
        for route in self.files:
            if route.takes(file):
                return _guarded(ctx, route.handler, file)
        return [ctx.say("file_not_understood", name=file.name)]

    def press(self, ctx: Context, data: str) -> list[Reply]:
        """Answer a button press; data of no known shape reads as an expired choice."""
        action = self.actions.get(prefix_of(data))
        if action is None:
            return [ctx.say("choice_expired")]
        data_type, handler = action
        try:
            value = data_type.unpack(data)
        except ValueError:
            return [ctx.say("choice_expired")]
        return _guarded(ctx, handler, value)


def _guarded(ctx: Context, handler: Handler, value: object) -> list[Reply]:
    try:
        return handler(ctx, value)
    except Refusal as refusal:
        return [refusal.reply(ctx.lang)]


def _cancel(ctx: Context, data: CancelData) -> list[Reply]:
    return [replace(ctx.say("cancelled"), key=data.key or None)]


def _claim(table: dict[str, Any], name: str, value: object, router: str) -> None:
    if name in table:
        raise ValueError(f"router {router!r} registers {name!r}, which is already taken")
    table[name] = value
