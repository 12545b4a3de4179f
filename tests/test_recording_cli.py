"""`main.py recording decrypt`: a sealed recording opened by its owner's seed phrase or
private key, offline, as a stereo WAV; a wrong secret or a damaged file says so and
exits 1."""

from __future__ import annotations

import array
import json
import os
import pty
import select
import subprocess
import sys
import wave
from pathlib import Path

import base58
import pytest

from privacy import keys
from privacy.recorder import Recorder

ROOT = Path(__file__).resolve().parent.parent
SEED = "merry hello world again bonus cream delay follow window crane unfair tiny sheriff"


@pytest.fixture
def sandbox(tmp_path):
    """An empty working directory and an environment in which the service's settings do
    not load and its database would be a file there: the command needs neither."""
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "RECORDING"))}
    env["DATABASE_URL"] = f"sqlite:///{work / 'service.db'}"
    env["RECORDING_RETENTION_DAYS"] = "-1"  # invalid: loading the settings would fail
    return work, env


@pytest.fixture
def recording(tmp_path) -> tuple[Path, array.array]:
    """A 3-second recording sealed to SEED's account, and its stereo samples."""
    path = tmp_path / "call.ett-rec"
    rec = Recorder(path, keys.public_key_of_seed(SEED), meta={"call": "c9", "channels": ["a", "b"]})
    stereo = array.array("h")
    for n in range(150):
        left = array.array("h", range(n, n + 160))
        right = array.array("h", range(-n, -n - 160, -1))
        rec.feed(0, left.tobytes())
        rec.feed(1, right.tobytes())
        for pair in zip(left, right, strict=True):
            stereo.extend(pair)
    rec.close()
    return path, stereo


def _run(sandbox, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    work, env = sandbox
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "recording", "decrypt", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=60,
    )


def _wav(path: Path) -> tuple[tuple[int, int, int], array.array]:
    with wave.open(str(path), "rb") as wav:
        shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        return shape, array.array("h", wav.readframes(wav.getnframes()))


def test_decrypt_with_the_seed_from_a_file(sandbox, recording, tmp_path):
    path, stereo = recording
    secret = tmp_path / "seed.txt"
    secret.write_text(SEED + "\n")
    done = _run(sandbox, str(path), "--secret-file", str(secret))
    assert done.returncode == 0, done.stderr
    out = path.with_suffix(".wav")
    assert _wav(out) == ((2, 2, 8000), stereo)
    assert oct(out.stat().st_mode & 0o777) == oct(0o600)
    lines = done.stdout.splitlines()
    assert lines[0] == f"wrote {out}"
    assert lines[1] == "seconds: 3.00"
    meta = json.loads(lines[2].removeprefix("metadata: "))
    assert meta == {"call": "c9", "channels": ["a", "b"], "format": "s16le", "rate": 8000}
    assert os.listdir(sandbox[0]) == []  # no database, nothing else


def test_decrypt_with_the_private_key_from_stdin_to_another_file(sandbox, recording, tmp_path):
    path, stereo = recording
    private_key = base58.b58encode(keys.secret_key_of_seed(SEED)).decode()
    out = tmp_path / "elsewhere" / "x.wav"
    out.parent.mkdir()
    done = _run(sandbox, str(path), "-o", str(out), stdin=private_key + "\n")
    assert done.returncode == 0, done.stderr
    assert _wav(out)[1] == stereo
    assert not path.with_suffix(".wav").exists()


def test_decrypt_with_the_seed_from_stdin(sandbox, recording):
    path, stereo = recording
    done = _run(sandbox, str(path), stdin=SEED)
    assert done.returncode == 0, done.stderr
    assert _wav(path.with_suffix(".wav"))[1] == stereo


def test_a_seed_copied_from_paper_in_lines_and_capitals_still_opens(sandbox, recording):
    path, stereo = recording
    words = SEED.split()
    typed = "  " + "\n".join(" ".join(words[i : i + 3]).upper() for i in range(0, 15, 3))
    done = _run(sandbox, str(path), stdin=typed)
    assert done.returncode == 0, done.stderr
    assert _wav(path.with_suffix(".wav"))[1] == stereo


def test_a_wrong_seed_is_one_line_and_status_1(sandbox, recording):
    path, _stereo = recording
    done = _run(sandbox, str(path), stdin=keys.new_seed())
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "key does not open" in done.stderr
    assert not path.with_suffix(".wav").exists()


def test_neither_a_seed_nor_a_key(sandbox, recording):
    done = _run(sandbox, str(recording[0]), stdin="justoneword!")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "main.py recording decrypt: neither a seed phrase (several words) nor a private key"
    ]


def test_a_damaged_file_leaves_no_wav(sandbox, recording):
    path, _stereo = recording
    content = bytearray(path.read_bytes())
    content[-30_000] ^= 0x40  # inside the audio
    path.write_bytes(content)
    done = _run(sandbox, str(path), stdin=SEED)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "corrupted" in done.stderr
    assert not path.with_suffix(".wav").exists()


def test_a_truncated_file_gives_what_it_holds(sandbox, recording):
    path, stereo = recording
    path.write_bytes(path.read_bytes()[:-100])  # its final chunk cut
    done = _run(sandbox, str(path), stdin=SEED)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "truncated" in done.stderr
    _shape, got = _wav(path.with_suffix(".wav"))
    assert len(got) == 65536 // 2 and stereo[: len(got)] == got  # its whole first chunk


def test_not_a_recording(sandbox, tmp_path):
    other = tmp_path / "song.mp3"
    other.write_bytes(b"ID3" + bytes(500))
    done = _run(sandbox, str(other), stdin=SEED)
    assert done.returncode == 1
    assert "not a sealed recording" in done.stderr
    missing = _run(sandbox, str(tmp_path / "missing.ett-rec"), stdin=SEED)
    assert missing.returncode == 1 and "No such file" in missing.stderr


def test_the_seed_asked_on_the_terminal_is_not_echoed(sandbox, recording):
    path, stereo = recording
    work, env = sandbox
    command = [sys.executable, str(ROOT / "main.py"), "recording", "decrypt", str(path)]
    pid, terminal = pty.fork()
    if pid == 0:  # the child, on a new terminal of its own
        try:
            os.chdir(work)
            os.execve(sys.executable, command, env)
        finally:
            os._exit(127)  # never back into pytest
    shown = _read_terminal_until(terminal, b"private key: ")
    os.write(terminal, SEED.encode() + b"\n")
    shown += _read_terminal_until(terminal, b"")
    _pid, status = os.waitpid(pid, 0)
    os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, shown
    assert SEED.encode() not in shown
    assert b"seconds: 3.00" in shown
    assert _wav(path.with_suffix(".wav"))[1] == stereo


def _read_terminal_until(terminal: int, end: bytes) -> bytes:
    """What the terminal shows until `end` (or until the child closes it, for b"")."""
    shown = b""
    while not end or end not in shown:
        ready, _, _ = select.select([terminal], [], [], 30)
        assert ready, shown
        try:
            data = os.read(terminal, 1024)
        except OSError:  # EIO: the child is gone
            break
        if not data:
            break
        shown += data
    return shown
