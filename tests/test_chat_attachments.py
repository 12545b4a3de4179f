"""Files sent with replies, through real peers: Telegram documents (the Bot API emulator),
XMPP HTTP file upload and out-of-band links (prosody's mod_http_file_share), and private
files written by the console."""

from __future__ import annotations

import asyncio
import io
import json
import os
import stat
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.assistant import Button, Reply
from bot.assistant.i18n import t
from bot.assistant.replies import Attachment, AttachmentNotSent
from testbed.prosody_lab import ProsodyLab
from tests.conftest_chat import telegram_settings, xmpp_settings

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ANN = 601
EXPORT = json.dumps({"account": 1, "numbers": ["+44 20 7946 0000"], "name": "Zoë"}).encode()
RECORDING_NAME = "3f2a9c0d1e7b4a56.ett-rec"


def _recording(tmp_path: Path, size: int = 3 * 1024 * 1024) -> Path:
    """A sealed recording as a feature leaves it on disk: random bytes, every value."""
    path = tmp_path / RECORDING_NAME
    path.write_bytes(os.urandom(size - 256) + bytes(range(256)))
    return path


def _answer_with(service: Any, text: str, replies: list[Reply]) -> None:
    """Make the running assistant answer `text` with `replies` (as a feature will), so
    a file reaches the adapter as the answer to a user's message."""
    assistant = service.assistant
    handle, answer_now = assistant.handle, assistant.answer_now

    async def handled(sender: Any, body: str, **kwargs: Any) -> list[Reply]:
        return list(replies) if body == text else await handle(sender, body, **kwargs)

    def answered_now(sender: Any, body: str, **kwargs: Any) -> list[Reply] | None:
        return None if body == text else answer_now(sender, body, **kwargs)

    assistant.handle, assistant.answer_now = handled, answered_now


def _notify(service: Any, network: str, external_id: str, reply: Reply) -> int:
    accounts = service.assistant.services.accounts
    account = accounts.find_by_identity(network, external_id)
    return service.run(service.assistant.services.outbox.notify(account.id, reply), 60)


# -- Telegram ----------------------------------------------------------------------------


def _download(api: Any, file_id: str) -> bytes:
    """A file as a bot fetches it from the Bot API: getFile, then GET its file_path."""
    query = urllib.parse.urlencode({"file_id": file_id})
    with urllib.request.urlopen(f"{api.url}/bot{api.token}/getFile?{query}", timeout=10) as r:
        file_path = json.load(r)["result"]["file_path"]
    with urllib.request.urlopen(f"{api.url}/file/bot{api.token}/{file_path}", timeout=10) as r:
        return r.read()


@sqlite_only
def test_telegram_sends_files_as_documents_with_their_exact_bytes(
    db_url, telegram_api, start_service, tmp_path
):
    service = start_service(**telegram_settings(db_url, telegram_api))
    keep = (Button("Keep", "cancel:"),)
    export = Attachment("my-data.json", data=EXPORT, mime="application/json")
    _answer_with(service, "my data", [Reply("Your data, as JSON.", keep, attachment=export)])
    telegram_api.send_text(ANN, "/help")  # the account
    telegram_api.wait_messages(ANN, 1)
    telegram_api.send_text(ANN, "my data")
    sent = telegram_api.wait_messages(ANN, 2)[1]
    assert (sent.text, sent.caption, sent.buttons) == (
        "",
        "Your data, as JSON.",
        [("Keep", "cancel:")],
    )
    assert sent.document["file_name"] == "my-data.json"
    assert sent.document["mime_type"] == "application/json"
    assert sent.document["file_size"] == len(EXPORT)
    assert telegram_api.file_bytes(sent.document["file_id"]) == EXPORT
    assert _download(telegram_api, sent.document["file_id"]) == EXPORT

    # Pushed: a recording on disk, binary, a few MB.
    recording = _recording(tmp_path)
    reply = Reply("Your call recording.", attachment=Attachment(RECORDING_NAME, path=recording))
    assert _notify(service, "telegram", str(ANN), reply) == 1
    pushed = telegram_api.wait_messages(ANN, 3)[2]
    assert pushed.caption == "Your call recording."
    assert pushed.document["file_name"] == RECORDING_NAME
    assert pushed.document["mime_type"] == "application/octet-stream"
    assert telegram_api.file_bytes(pushed.document["file_id"]) == recording.read_bytes()

    # Too long for a caption: the text first, then the document with the buttons.
    long_text = "\n".join(f"line {i:03d} " + "y" * 60 for i in range(30))
    assert len(long_text) > 1024
    reply = Reply(long_text, keep, attachment=export)
    assert _notify(service, "telegram", str(ANN), reply) == 1
    text, document = telegram_api.wait_messages(ANN, 5)[3:]
    assert (text.text, text.buttons, text.document) == (long_text, [], None)
    assert (document.caption, document.buttons) == (None, [("Keep", "cancel:")])
    assert telegram_api.file_bytes(document.document["file_id"]) == EXPORT


@sqlite_only
def test_telegram_says_so_when_a_file_is_gone(db_url, telegram_api, start_service, tmp_path):
    service = start_service(**telegram_settings(db_url, telegram_api))
    telegram_api.send_text(ANN, "/help", language_code="fr")
    telegram_api.wait_messages(ANN, 1)
    gone = Attachment(RECORDING_NAME, path=tmp_path / "deleted.ett-rec")
    # Told why, but not delivered: a recording's delivery keeps the server's copy.
    assert (
        _notify(
            service,
            "telegram",
            str(ANN),
            Reply("Votre enregistrement.", lang="fr", attachment=gone),
        )
        == 0
    )
    caption, failed = telegram_api.wait_messages(ANN, 3)[1:]
    assert caption.text == "Votre enregistrement."
    assert failed.text == t("fr", "file_failed", name=RECORDING_NAME)
    assert telegram_api.calls_of("sendDocument") == []


# -- XMPP --------------------------------------------------------------------------------


def _start_bot(start_service: Any, lab: ProsodyLab) -> tuple[Any, str]:
    jid, password = lab.register()
    service = start_service(**xmpp_settings(lab, jid, password))
    service.wait_ready("xmpp")
    return service, jid


@pytest.mark.xmpp
@sqlite_only
def test_xmpp_uploads_files_and_sends_their_links_out_of_band(
    db_url, prosody, start_service, xmpp_user, tmp_path
):
    service, bot = _start_bot(start_service, prosody)
    ann = xmpp_user(prosody)
    assert ann.ask(bot, "help") == t("en", "help")
    export = Attachment("my-data.json", data=EXPORT, mime="application/json")
    _answer_with(service, "my data", [Reply("Your data, as JSON.", attachment=export)])
    ann.send(bot, "my data")
    text, link = ann.wait_messages(3)[1:]
    assert text == "Your data, as JSON."
    assert ann.oob_urls == [None, None, link]  # the link's body is its URL, as clients expect
    assert link.startswith(f"https://127.0.0.1:{prosody.https_port}/")
    assert link.endswith("/my-data.json")
    assert ann.download(link) == (EXPORT, "application/json")

    # Pushed: a recording on disk, binary, a few MB.
    recording = _recording(tmp_path)
    reply = Reply("Your call recording.", attachment=Attachment(RECORDING_NAME, path=recording))
    assert _notify(service, "xmpp", ann.jid, reply) == 1
    bodies = ann.wait_messages(5, timeout=60)
    assert bodies[3] == "Your call recording."
    assert ann.oob_urls[4] == bodies[4]
    data, kind = ann.download(bodies[4])
    assert (data == recording.read_bytes(), kind) == (True, "application/octet-stream")

    # A file gone from the disk: the text, then why no file comes.
    gone = Attachment(RECORDING_NAME, path=tmp_path / "deleted.ett-rec")
    assert _notify(service, "xmpp", ann.jid, Reply("Again.", attachment=gone)) == 0
    assert ann.wait_messages(7)[5:] == ["Again.", t("en", "file_failed", name=RECORDING_NAME)]
    assert ann.oob_urls[5:] == [None, None]


@pytest.mark.xmpp
@sqlite_only
def test_xmpp_without_an_upload_service_says_so_in_the_users_language(
    db_url, start_service, xmpp_user, tmp_path
):
    lab = ProsodyLab(tmp_path / "prosody", file_share=False)
    lab.start()
    try:
        service, bot = _start_bot(start_service, lab)
        ann = xmpp_user(lab)
        assert ann.ask(bot, "bonjour") == t("fr", "greeting")
        export = Attachment("mes-données.json", data=EXPORT, mime="application/json")
        reply = Reply("Vos données.", lang="fr", attachment=export)
        assert _notify(service, "xmpp", ann.jid, reply) == 0  # told why, but not delivered
        assert ann.wait_messages(3)[1:] == [
            "Vos données.",
            t("fr", "file_unsupported", name="mes-données.json"),
        ]
        assert ann.oob_urls == [None, None, None]
    finally:
        lab.stop()


# -- console -----------------------------------------------------------------------------


def test_console_writes_files_private_and_names_them(tmp_path):
    out = io.StringIO()
    files = tmp_path / "files"
    console = ConsoleAdapter(None, "me", stdin=io.StringIO(), stdout=out, files_dir=files)  # type: ignore[arg-type]
    export = Attachment("../my-data.json", data=EXPORT, mime="application/json")
    asyncio.run(console.send("me", Reply("Your data.", attachment=export)))
    asyncio.run(console.send("me", Reply("Again.", attachment=export)))
    recording = _recording(tmp_path, 4096)
    asyncio.run(
        console.send(
            "me", Reply("Recording.", attachment=Attachment(RECORDING_NAME, path=recording))
        )
    )
    first, second = (files / "my-data.json").resolve(), (files / "1-my-data.json").resolve()
    copy = (files / RECORDING_NAME).resolve()  # the server may delete its own at once
    assert out.getvalue().splitlines() == [
        "Your data.",
        f"file saved: {first}",
        "Again.",
        f"file saved: {second}",
        "Recording.",
        f"file saved: {copy}",
    ]
    for path in (first, second):
        assert path.read_bytes() == EXPORT
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert copy.read_bytes() == recording.read_bytes()
    assert stat.S_IMODE(files.stat().st_mode) == 0o700
    assert sorted(p.name for p in files.iterdir()) == [
        "1-my-data.json",
        RECORDING_NAME,
        "my-data.json",
    ]
    gone = Attachment(RECORDING_NAME, path=tmp_path / "deleted.ett-rec")
    with pytest.raises(AttachmentNotSent):  # the outbox counts it as not delivered
        asyncio.run(console.send("me", Reply("Gone.", attachment=gone)))
