"""The console chat: the terminal (or a pipe) talks to the assistant as one local account."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TextIO

from bot.assistant import Assistant, Reply, Sender

NETWORK = "console"


def _reader(stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
    # A daemon thread, so a blocked read never delays shutdown.
    for line in stream:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


def render(reply: Reply) -> str:
    """A reply as terminal text, with its buttons as numbered choices."""
    lines = [reply.text]
    lines += [f"  [{b.data}] {b.label}" for b in reply.buttons]
    return "\n".join(lines)


async def run_console(
    assistant: Assistant,
    user: str,
    stop: asyncio.Event,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Answer each line of `stdin` until EOF or `stop` is set."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=_reader, args=(stdin, loop, queue), daemon=True).start()
    sender = Sender(NETWORK, user)
    interactive = stdin.isatty()
    while not stop.is_set():
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line_task = asyncio.ensure_future(queue.get())
        stop_task = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({line_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        stop_task.cancel()
        if line_task not in done:
            line_task.cancel()
            return
        line = line_task.result()
        if line is None:
            return
        if not line.strip():
            continue
        for reply in await assistant.handle(sender, line.strip()):
            stdout.write(render(reply) + "\n")
        stdout.flush()


class ConsoleAdapter:
    """The console as a chat network: one local user, `user`, on this terminal or pipe."""

    network = NETWORK
    edits = False

    def __init__(
        self,
        assistant: Assistant,
        user: str,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
    ) -> None:
        self.assistant, self.user, self.stdin, self.stdout = assistant, user, stdin, stdout

    async def run(self, stop: asyncio.Event) -> None:
        """Answer each line until end of input or `stop`. Pushed messages are printed until
        the process ends, also after the input ended (a reminder due at start still shows)."""
        self.assistant.services.outbox.register(NETWORK, self.send)
        await run_console(self.assistant, self.user, stop, self.stdin, self.stdout)

    async def send(self, external_id: str, reply: Reply) -> None:
        """Print a message pushed to the console user; LookupError for anyone else (the
        outbox counts it as not delivered)."""
        if external_id != self.user:
            raise LookupError("not the console user")
        self.stdout.write(render(reply) + "\n")
        self.stdout.flush()
