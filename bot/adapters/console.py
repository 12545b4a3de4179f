"""The console chat: the terminal (or a pipe) talks to the assistant as one local account.

A reply's file is written to a private file (mode 0600) under `files_dir`, or, when it is
already a file on disk, named where it is: "file saved: PATH" under the reply's text. The
user sends a file with "/file PATH" (an .ics calendar to import).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.assistant import Assistant, Reply, Sender
from bot.assistant.choices import words
from bot.assistant.replies import Attachment, AttachmentNotSent, ReceivedFile

NETWORK = "console"
SEND_FILE = "/file "  # "/file PATH": send a file of this machine to the assistant
FILES_DIR = Path("data/console-files")  # relative to the working directory, as data/*.db


def _reader(stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
    # A daemon thread, so a blocked read never delays shutdown.
    for line in stream:
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


def render(reply: Reply) -> str:
    """A reply as terminal text, with its buttons as choices: the word that presses each
    (its own word, else its number; its label works too: bot.assistant.choices)."""
    lines = [reply.text]
    lines += [f"  [{word}] {b.label}" for word, b in words(reply)]
    return "\n".join(lines)


def save(attachment: Attachment, directory: Path) -> Path:
    """Where the user finds a reply's file: a new file under `directory` (made 0700)
    readable by this user only (0600), never overwriting another; a copy, for a file of
    the server's (a recording is deleted from the server once delivered). OSError when
    it cannot be read or written."""
    data = attachment.read()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = Path(attachment.name).name
    name = name if name not in ("", ".", "..") else "file"
    for number in itertools.count():
        target = directory / (name if number == 0 else f"{number}-{name}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as file:
            os.fchmod(fd, 0o600)  # whatever the umask
            file.write(data)
        return target.resolve()
    raise AssertionError("unreachable")


async def shown(reply: Reply, files_dir: Path) -> tuple[str, bool]:
    """A reply as terminal text, with where its file is saved; and False when its file
    could not be saved."""
    text = render(reply)
    if reply.attachment is None:
        return text, True
    try:
        path = await asyncio.to_thread(save, reply.attachment, files_dir)
    except OSError as error:
        name = reply.attachment.name
        return f"{text}\nfile not saved: {name} ({type(error).__name__})", False
    return f"{text}\nfile saved: {path}", True


async def run_console(
    assistant: Assistant,
    user: str,
    stop: asyncio.Event,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    files_dir: Path = FILES_DIR,
) -> None:
    """Answer each line of `stdin` until EOF or `stop` is set; files go to `files_dir`."""
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
        if line.strip().startswith(SEND_FILE):
            replies = await _send_file(assistant, sender, line.strip()[len(SEND_FILE) :].strip())
        else:
            replies = await assistant.handle(sender, line.strip())
        for reply in replies:
            stdout.write((await shown(reply, files_dir))[0] + "\n")
        stdout.flush()


async def _send_file(assistant: Assistant, sender: Sender, path: str) -> list[Reply]:
    """ "/file PATH": the console's user sends a file of this machine (an .ics calendar),
    as a Telegram user sends a document."""
    file = Path(path).expanduser()
    try:
        data = await asyncio.to_thread(file.read_bytes)
    except OSError as error:
        return [Reply(f"{path}: {error.strerror or error}")]
    return await assistant.handle_file(sender, ReceivedFile(file.name, data))


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
        files_dir: Path = FILES_DIR,
    ) -> None:
        self.assistant, self.user, self.stdin, self.stdout = assistant, user, stdin, stdout
        self.files_dir = files_dir

    async def run(self, stop: asyncio.Event) -> None:
        """Answer each line until end of input or `stop`. Pushed messages are printed until
        the process ends, also after the input ended (a reminder due at start still shows)."""
        self.assistant.services.outbox.register(NETWORK, self.send)
        await run_console(self.assistant, self.user, stop, self.stdin, self.stdout, self.files_dir)

    async def send(self, external_id: str, reply: Reply) -> None:
        """Print a message pushed to the console user; LookupError for anyone else (the
        outbox counts it as not delivered)."""
        if external_id != self.user:
            raise LookupError("not the console user")
        text, saved = await shown(reply, self.files_dir)
        self.stdout.write(text + "\n")
        self.stdout.flush()
        if not saved:
            raise AttachmentNotSent(reply.attachment.name if reply.attachment else "")
