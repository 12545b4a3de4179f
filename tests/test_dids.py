"""Direct numbers (DIDs): the store (pool, assignment, release) and the operators'
`admin did list|assign|release` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import main as entry
from storage.accounts import AccountStore
from storage.dids import DidError, DidStore

ROOT = Path(__file__).resolve().parent.parent
POOL = "+33199000100-+33199000102,+442079460500"
NUMBERS = ["+33199000100", "+33199000101", "+33199000102", "+442079460500"]


# --- the store ----------------------------------------------------------------------------


def test_the_pool_is_synced_once_and_numbers_are_assigned_and_released(engine):
    dids, accounts = DidStore(engine), AccountStore(engine)
    ann = accounts.resolve("console", "ann")
    bob = accounts.resolve("console", "bob")
    assert dids.sync_pool(NUMBERS) == 4
    assert dids.sync_pool(NUMBERS) == 0
    dids.assign("+33 1 99 00 01 01", ann.id)
    dids.assign("+33199000101", ann.id)  # already hers: nothing changes
    dids.assign("0033199000100", ann.id)
    assert dids.numbers_of(ann.id) == ["+33199000100", "+33199000101"]
    assert dids.owner("+33199000101") == ann.id and dids.owner("+33199000102") is None
    with pytest.raises(DidError) as taken:
        dids.assign("+33199000101", bob.id)
    assert taken.value.reason == "taken"
    with pytest.raises(DidError) as foreign:
        dids.assign("+33199000999", bob.id)
    assert foreign.value.reason == "not_in_pool"
    with pytest.raises(DidError) as nobody:
        dids.assign("+33199000102", bob.id + 100)
    assert nobody.value.reason == "no_account"
    assert dids.release("+33199000101") is True
    assert dids.release("+33199000101") is False
    dids.assign("+33199000101", bob.id)
    assert dids.numbers_of(bob.id) == ["+33199000101"]
    assert [(d.number, d.account_id) for d in dids.all()] == [
        ("+33199000100", ann.id),
        ("+33199000101", bob.id),
        ("+33199000102", None),
        ("+442079460500", None),
    ]


# --- the admin commands -------------------------------------------------------------------


@pytest.fixture
def admin_env(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DID_POOL", POOL)
    return db_url


def admin(capsys, *args: str) -> tuple[int, str, str]:
    status = entry.main(["admin", *args])
    out, err = capsys.readouterr()
    return status, out, err


def listed(capsys) -> list[dict]:
    status, out, err = admin(capsys, "did", "list", "--json")
    assert status == 0 and err == ""
    return json.loads(out)


def test_list_syncs_the_pool(admin_env, engine, capsys):
    assert listed(capsys) == [
        {"number": n, "account": None, "extension": None, "in_pool": True} for n in NUMBERS
    ]
    status, out, _err = admin(capsys, "did", "list")
    assert status == 0
    assert out.splitlines() == [f"{n:<16}  free" for n in NUMBERS]
    assert len(DidStore(engine).all()) == 4


def test_assign_creates_the_account_with_its_extension(admin_env, engine, capsys):
    status, out, err = admin(capsys, "did", "assign", "+33 1 99 00 01 01", "telegram:12345")
    assert (status, err) == (0, "")
    account = AccountStore(engine).find_by_identity("telegram", "12345")
    assert account is not None and account.extension is not None
    assert out == f"+33199000101 assigned to account {account.id} (extension {account.extension})\n"
    [row] = [r for r in listed(capsys) if r["account"] is not None]
    assert row == {
        "number": "+33199000101",
        "account": account.id,
        "extension": account.extension,
        "in_pool": True,
    }
    status, out, _err = admin(capsys, "did", "list")
    assert f"+33199000101      extension {account.extension}" in out
    # again for the same account: nothing changes
    status, _out, err = admin(capsys, "did", "assign", "+33199000101", "telegram:12345")
    assert (status, err) == (0, "")
    assert DidStore(engine).numbers_of(account.id) == ["+33199000101"]


def test_assign_refuses_a_taken_number_before_creating_anyone(admin_env, engine, capsys):
    assert admin(capsys, "did", "assign", "+33199000100", "console:ann")[0] == 0
    ann = AccountStore(engine).find_by_identity("console", "ann")
    status, out, err = admin(capsys, "did", "assign", "+33199000100", "console:bob")
    assert (status, out) == (2, "")
    assert err == (
        f"error: +33199000100 is held by account {ann.id} (extension {ann.extension}); "
        "release it first\n"
    )
    assert AccountStore(engine).find_by_identity("console", "bob") is None
    assert DidStore(engine).owner("+33199000100") == ann.id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["+33199000999", "console:bob"], "error: +33199000999 is not in DID_POOL"),
        (["12345", "console:bob"], "error: '12345' is not an E.164 number such as +33199000100"),
        (["+33199000100", "bob"], "error: IDENTITY must be NETWORK:ID"),
        (["+33199000100", "telegram:abc"], "error: a telegram id is the user's number"),
    ],
)
def test_assign_refuses_bad_arguments_in_one_line(admin_env, engine, capsys, args, message):
    status, out, err = admin(capsys, "did", "assign", *args)
    assert (status, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1
    assert AccountStore(engine).get(1) is None  # nothing created
    assert all(d.account_id is None for d in DidStore(engine).all())


def test_release_frees_a_number_also_one_dropped_from_the_pool(
    admin_env, engine, capsys, monkeypatch
):
    admin(capsys, "did", "assign", "+442079460500", "xmpp:ann@example.org")
    ann = AccountStore(engine).find_by_identity("xmpp", "ann@example.org")
    monkeypatch.setenv("DID_POOL", "+33199000100-+33199000102")
    rows = listed(capsys)
    assert rows[-1] == {
        "number": "+442079460500",
        "account": ann.id,
        "extension": ann.extension,
        "in_pool": False,
    }
    status, out, _err = admin(capsys, "did", "list")
    assert out.splitlines()[-1].endswith("(no longer in DID_POOL)")
    status, out, err = admin(capsys, "did", "release", "+44 20 7946 0500")
    assert (status, err) == (0, "")
    assert out == f"+442079460500 released from account {ann.id} (extension {ann.extension})\n"
    assert DidStore(engine).numbers_of(ann.id) == []
    assert [r["number"] for r in listed(capsys)] == NUMBERS[:3]  # free and not ours: gone
    # a free number of the pool: nothing to do; one not ours at all: an error
    assert admin(capsys, "did", "release", "+33199000100")[:2] == (
        0,
        "+33199000100 was free; nothing to do\n",
    )
    status, out, err = admin(capsys, "did", "release", "+442079460500")
    assert (status, out, err) == (2, "", "error: +442079460500 is not in DID_POOL\n")


def test_an_empty_pool_lists_nothing(db_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DID_POOL", "")
    assert admin(capsys, "did", "list") == (0, "no direct numbers (DID_POOL is empty)\n", "")
    assert admin(capsys, "did", "list", "--json") == (0, "[]\n", "")


def test_did_runs_as_a_process_and_is_in_the_help(admin_env):
    run = subprocess.run(
        [sys.executable, "main.py", "admin", "did", "assign", "+33199000102", "console:carol"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("+33199000102 assigned to account ")
    bad = subprocess.run(
        [sys.executable, "main.py", "admin", "--database", admin_env, "did", "release", "x"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.startswith("error: ")
    help_ = subprocess.run(
        [sys.executable, "main.py", "admin", "did", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert help_.returncode == 0
    assert all(word in help_.stdout for word in ("list", "assign", "release"))
