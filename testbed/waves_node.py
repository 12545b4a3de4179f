"""A local emulator of the Waves node REST API, for tests and benchmarks.

A real HTTP server on 127.0.0.1 (random free port) with the endpoints pywaves-ce uses
(see /work/shared/notes/waves.md). It keeps balances and blocks, and verifies every
broadcast transfer (type 4 v3), mass transfer (type 11 v2) and issue (type 3 v3) the
way a node does: protobuf body bytes are encoded here, independently of pywaves; the
curve25519 signature in `proofs[0]` is checked against them; the id is
base58(blake2b-256(body)); addresses are checked for version, chain byte and
keccak256(blake2b256) checksum; a timestamp more than 2 h older than the last block or
1.5 h ahead of the node's clock is refused (303).

It can mine blocks on demand, go down (`down()`/`up()`) and answer errors
(`failing = True`). Like a real node it can also:
- grow the newest block (microblocks): with `microblocks = True` every transaction goes
  into the current block instead of a new one, and `add_to_current_block()` moves the
  pending ones there; the block stays the newest (not final) until `mine()`;
- apply a transaction that fails: transfers of an asset in `failing_scripts` are put in
  a block with applicationStatus `script_execution_failed` (fee paid, nothing moved);
- answer address histories not strictly newest-first (`page_disorder = True`: each
  page shuffled, its last transaction kept last so that `after=` still pages);
- run its clock ahead (`clock_offset_ms`), e.g. past a transaction's acceptance window.

It keeps every asset's balances per height, as a node does, and answers the asset
distribution at a height (`GET /assets/{id}/distribution/{height}/limit/{limit}?after=`)
as the node's AssetsApiRoute does: the height must be above 0, below the current height
and at most `max_distribution_depth` (the node's max-rollback-depth, 2000) below it; the
limit 1 to `distribution_limit` (rest-api distribution-address-limit, 1000); refusals are
400 `{error: 199, message}`. Holders come in the order they first held the asset (the
node's address ids), zero balances left out; `after` starts past that address (an
address never seen: from the start); `hasNext` is true when the page is full; `items`
is a JSON object whose keys come in no particular order (shuffled here).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import base58
import pywaves_curve25519 as curve

MIN_FEE = 100_000
MAX_DISTRIBUTION_DEPTH = 2000  # the node's max-rollback-depth
DISTRIBUTION_LIMIT = 1000  # rest-api distribution-address-limit
CUSTOM_VALIDATION = 199  # ApiError.CustomValidationError: the node's GenericError
MASS_TRANSFER_FEE_PER_ENTRY = 50_000
MAX_MASS_TRANSFERS = 100
ISSUE_FEE = 100_000_000
MAX_ATTACHMENT = 140
MAX_TX_AGE_MS = 120 * 60_000  # older than the last block by more: refused (303)
MAX_TX_AHEAD_MS = 90 * 60_000  # ahead of the node's clock by more: refused (303)
SUCCEEDED = "succeeded"
SCRIPT_FAILED = "script_execution_failed"


def random_seed() -> str:
    """A fresh 15-word seed (hex words: any string is a valid Waves seed)."""
    return " ".join(secrets.token_hex(3) for _ in range(15))


# --- hashing -------------------------------------------------------------------------------


def _keccak_f(lanes: list[int]) -> list[int]:
    """Keccak-f[1600] on 25 little-endian 64-bit lanes indexed x + 5y (CompactFIPS202)."""
    mask = (1 << 64) - 1

    def rol(value: int, shift: int) -> int:
        shift %= 64
        return ((value << shift) | (value >> (64 - shift))) & mask

    r = 1
    for _round in range(24):
        c = [
            lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20]
            for x in range(5)
        ]
        d = [c[(x - 1) % 5] ^ rol(c[(x + 1) % 5], 1) for x in range(5)]
        lanes = [lanes[i] ^ d[i % 5] for i in range(25)]
        x, y = 1, 0
        current = lanes[x + 5 * y]
        for t in range(24):
            x, y = y, (2 * x + 3 * y) % 5
            current, lanes[x + 5 * y] = lanes[x + 5 * y], rol(current, (t + 1) * (t + 2) // 2)
        rows = [lanes[5 * y : 5 * y + 5] for y in range(5)]
        lanes = [
            rows[y][x] ^ (~rows[y][(x + 1) % 5] & rows[y][(x + 2) % 5])
            for y in range(5)
            for x in range(5)
        ]
        for j in range(7):
            r = ((r << 1) ^ ((r >> 7) * 0x71)) % 256
            if r & 2:
                lanes[0] ^= 1 << ((1 << j) - 1)
    return lanes


def keccak256(data: bytes) -> bytes:
    """Original Keccak-256 (padding 0x01, not SHA3's 0x06)."""
    rate = 136
    padded = bytearray(data) + b"\x01" + bytes((-len(data) - 1) % rate)
    padded[-1] |= 0x80
    lanes = [0] * 25
    for offset in range(0, len(padded), rate):
        block = padded[offset : offset + rate]
        for i in range(rate // 8):
            lanes[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        lanes = _keccak_f(lanes)
    return b"".join(lane.to_bytes(8, "little") for lane in lanes)[:32]


def blake2b256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def secure_hash(data: bytes) -> bytes:
    return keccak256(blake2b256(data))


def address_bytes(public_key: bytes, chain_id: str) -> bytes:
    body = b"\x01" + chain_id.encode() + secure_hash(public_key)[:20]
    return body + secure_hash(body)[:4]


def address_of(public_key: bytes, chain_id: str) -> str:
    """The base58 address of a public key on a chain."""
    return base58.b58encode(address_bytes(public_key, chain_id)).decode()


def valid_address(address: str, chain_id: str) -> bool:
    try:
        raw = base58.b58decode(address)
    except ValueError:
        return False
    return (
        len(raw) == 26
        and raw[0] == 1
        and raw[1] == ord(chain_id)
        and secure_hash(raw[:22])[:4] == raw[22:]
    )


# --- protobuf body bytes (proto3: default scalars are left out, set messages are kept) -----


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""


def _bytes_field(number: int, value: bytes, *, keep_empty: bool = False) -> bytes:
    if not value and not keep_empty:
        return b""
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _amount(asset_id: str | None, amount: int) -> bytes:
    asset = base58.b58decode(asset_id) if asset_id else b""
    return _bytes_field(1, asset) + _int_field(2, amount)


def _recipient(address: str) -> bytes:
    return _bytes_field(1, base58.b58decode(address)[2:22])


def _mass_transfer(tx: dict) -> bytes:
    asset = base58.b58decode(tx["assetId"]) if tx.get("assetId") else b""
    transfers = b"".join(
        _bytes_field(
            2,
            _bytes_field(1, _recipient(t["recipient"]), keep_empty=True)
            + _int_field(2, t["amount"]),
            keep_empty=True,
        )
        for t in tx["transfers"]
    )
    return (
        _bytes_field(1, asset)
        + transfers
        + _bytes_field(3, base58.b58decode(tx.get("attachment") or ""))
    )


def body_bytes(tx: dict, chain_id: str) -> bytes:
    """The protobuf `waves.Transaction` bytes a transfer, mass transfer or issue is
    signed over."""
    header = (
        _int_field(1, ord(chain_id))
        + _bytes_field(2, base58.b58decode(tx["senderPublicKey"]))
        + _bytes_field(3, _amount(tx.get("feeAssetId"), tx["fee"]), keep_empty=True)
        + _int_field(4, tx["timestamp"])
        + _int_field(5, tx["version"])
    )
    if tx["type"] == 11:
        return header + _bytes_field(111, _mass_transfer(tx), keep_empty=True)
    if tx["type"] == 4:
        recipient = _recipient(tx["recipient"])
        data = (
            _bytes_field(1, recipient, keep_empty=True)
            + _bytes_field(2, _amount(tx.get("assetId"), tx["amount"]), keep_empty=True)
            + _bytes_field(3, base58.b58decode(tx.get("attachment") or ""))
        )
        return header + _bytes_field(104, data, keep_empty=True)
    if tx["type"] == 3:
        data = (
            _bytes_field(1, tx["name"].encode())
            + _bytes_field(2, tx["description"].encode())
            + _int_field(3, tx["quantity"])
            + _int_field(4, tx["decimals"])
            + _int_field(5, int(bool(tx["reissuable"])))
        )
        return header + _bytes_field(103, data, keep_empty=True)
    raise ValueError("unsupported transaction type")


def transaction_id(tx: dict, chain_id: str) -> str:
    return base58.b58encode(blake2b256(body_bytes(tx, chain_id))).decode()


# --- the node ------------------------------------------------------------------------------


def _credits(record: dict) -> list[tuple[str, int]]:
    """(recipient, amount) of each payment a transfer or mass transfer makes."""
    if record["type"] == 4:
        return [(record["recipient"], record["amount"])]
    if record["type"] == 11:
        return [(t["recipient"], t["amount"]) for t in record["transfers"]]
    return []


class NodeError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class WavesNode:
    """Chain state plus an HTTP server that serves it."""

    def __init__(self, chain_id: str = "R", *, auto_mine: bool = True) -> None:
        self.chain_id = chain_id
        self.auto_mine = auto_mine
        self.microblocks = False  # auto-mined transactions join the newest block
        self.page_disorder = False
        self.failing_scripts: set[str] = set()  # asset ids whose transfers fail
        self.clock_offset_ms = 0
        self.failing = False
        self.requests = 0
        self.lock = threading.RLock()
        self.balances: defaultdict[tuple[str, str | None], int] = defaultdict(int)
        self.assets: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.history: defaultdict[str, list[str]] = defaultdict(list)
        self.utx: list[dict] = []
        self.blocks: list[dict] = []
        # asset id -> address -> [(height, balance from that height)], addresses in the
        # order they first held the asset (confirmed transactions only).
        self.asset_history: defaultdict[str, dict[str, list[tuple[int, int]]]] = defaultdict(dict)
        self.max_distribution_depth = MAX_DISTRIBUTION_DEPTH
        self.distribution_limit = DISTRIBUTION_LIMIT
        self._status: dict[str, str] = {}  # applicationStatus of a pending transaction
        self._rng = random.Random(1)
        self._new_block([])
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    # --- lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WavesNode:
        node = self

        class Handler(_Handler):
            pass

        Handler.node = node
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def down(self) -> None:
        """Stop answering: connections are refused until `up()`."""
        self.stop()

    def up(self) -> None:
        """Answer again on the same port."""
        if self.server is None:
            self.start()

    # --- chain ---------------------------------------------------------------------

    @property
    def height(self) -> int:
        return len(self.blocks)

    def now_ms(self) -> int:
        """The node's clock (ms since the epoch), `clock_offset_ms` ahead of ours."""
        return int(time.time() * 1000) + self.clock_offset_ms

    def genesis(self, address: str, amount: int) -> None:
        """Create WAVES out of thin air (not a transaction in any history)."""
        with self.lock:
            self.balances[(address, None)] += amount

    def mine(self, blocks: int = 1) -> int:
        """Put pending transactions into a new block, then add empty blocks; return height."""
        with self.lock:
            pending, self.utx = self.utx, []
            self._new_block(pending)
            for _ in range(blocks - 1):
                self._new_block([])
            return self.height

    def add_to_current_block(self) -> int:
        """Put pending transactions into the newest block (a microblock: the block keeps
        its height and stays the newest); return the height."""
        with self.lock:
            pending, self.utx = self.utx, []
            block = self.blocks[-1]
            for tx in pending:
                self._confirm(tx, block["height"])
            block["transactions"].extend(pending)
            block["transactionCount"] = len(block["transactions"])
            return self.height

    def _confirm(self, tx: dict, height: int) -> None:
        tx["height"] = height
        tx["applicationStatus"] = self._status.pop(tx["id"], SUCCEEDED)
        if tx["applicationStatus"] == SUCCEEDED:
            self._record_assets(tx, height)

    def _record_assets(self, tx: dict, height: int) -> None:
        """The asset balances a confirmed transaction changes, from its height on."""
        if tx["type"] == 3:
            self._change(tx["id"], tx["sender"], tx["quantity"], height)
            return
        asset = tx.get("assetId")
        if not asset:
            return
        for recipient, amount in _credits(tx):
            self._change(asset, tx["sender"], -amount, height)
            self._change(asset, recipient, amount, height)

    def _change(self, asset: str, address: str, delta: int, height: int) -> None:
        history = self.asset_history[asset].setdefault(address, [])
        balance = (history[-1][1] if history else 0) + delta
        if history and history[-1][0] == height:
            history[-1] = (height, balance)
        else:
            history.append((height, balance))

    def asset_balance_at(self, address: str, asset_id: str, height: int) -> int:
        """The balance of `address` in `asset_id` once block `height` was applied."""
        with self.lock:
            history = self.asset_history.get(asset_id, {}).get(address, [])
            return next((b for h, b in reversed(history) if h <= height), 0)

    def distribution(
        self, asset_id: str, height: int, limit: int, after: str | None
    ) -> dict[str, object]:
        """The asset's holders at `height`, one page (see the module's docstring)."""
        with self.lock:
            if limit <= 0:
                raise NodeError(400, CUSTOM_VALIDATION, "Limit should be greater than 0")
            if limit > self.distribution_limit:
                raise NodeError(
                    400,
                    CUSTOM_VALIDATION,
                    f"Limit should be less than or equal to {self.distribution_limit}",
                )
            self._check_distribution_height(height)
            if after is not None and not valid_address(after, self.chain_id):
                raise NodeError(400, 102, "invalid address")
            holders = list(self.asset_history.get(asset_id, {}))
            if after in holders:
                holders = holders[holders.index(after) + 1 :]
            page: list[tuple[str, int]] = []
            for address in holders:
                if len(page) == limit:
                    break
                if (balance := self.asset_balance_at(address, asset_id, height)) > 0:
                    page.append((address, balance))
            shuffled = list(page)
            self._rng.shuffle(shuffled)
            return {
                "hasNext": len(page) == limit,
                "lastItem": page[-1][0] if page else None,
                "items": dict(shuffled),
            }

    def _check_distribution_height(self, height: int) -> None:
        if height <= 0:
            raise NodeError(400, CUSTOM_VALIDATION, "Height should be greater than zero")
        if height == self.height:
            raise NodeError(
                400,
                CUSTOM_VALIDATION,
                "Using 'assetDistributionAtHeight' on current height can lead to "
                "inconsistent result",
            )
        if height > self.height:
            raise NodeError(
                400,
                CUSTOM_VALIDATION,
                f"Asset distribution available only at height not greater than {self.height - 1}",
            )
        if height < self.height - self.max_distribution_depth:
            raise NodeError(
                400,
                CUSTOM_VALIDATION,
                f"Unable to get distribution past height "
                f"{self.height - self.max_distribution_depth}",
            )

    def _new_block(self, txs: list[dict]) -> None:
        height = len(self.blocks) + 1
        for tx in txs:
            self._confirm(tx, height)
        previous = self.blocks[-1]["signature"] if self.blocks else "1" * 64
        signature = base58.b58encode(blake2b256(f"{height}:{previous}".encode()) * 2).decode()
        self.blocks.append(
            {
                "version": 5,
                "height": height,
                "timestamp": self.now_ms(),
                "reference": previous,
                "signature": signature,
                "id": signature,
                "generator": "emulator",
                "transactionCount": len(txs),
                "transactions": txs,
            }
        )

    def balance(self, address: str, asset_id: str | None = None) -> int:
        with self.lock:
            return self.balances[(address, asset_id or None)]

    def submit(self, tx: dict) -> dict:
        """Validate and apply a signed transaction as /transactions/broadcast does."""
        with self.lock:
            record = self._validate(tx)
            self._apply(record)
            self.transactions[record["id"]] = record
            for address in self._parties(record):
                self.history[address].append(record["id"])
            self.utx.append(record)
            answer = dict(record)
            if self.auto_mine:
                if self.microblocks:
                    self.add_to_current_block()
                else:
                    self.mine()
            return answer

    def _apply(self, record: dict) -> None:
        sender, asset = record["sender"], record.get("assetId")
        self.balances[(sender, None)] -= record["fee"]
        if record["type"] == 3:
            self.assets[record["id"]] = record
            self.balances[(sender, record["id"])] += record["quantity"]
            return
        if asset in self.failing_scripts:
            self._status[record["id"]] = SCRIPT_FAILED  # the fee is kept, nothing moves
            return
        for recipient, amount in _credits(record):
            self.balances[(sender, asset)] -= amount
            self.balances[(recipient, asset)] += amount

    @staticmethod
    def _parties(record: dict) -> list[str]:
        addresses = [record["sender"]] + [recipient for recipient, _ in _credits(record)]
        return list(dict.fromkeys(addresses))

    def _validate(self, tx: dict) -> dict:
        try:
            kind, version = int(tx["type"]), int(tx["version"])
            public_key = base58.b58decode(tx["senderPublicKey"])
            fee, timestamp = int(tx["fee"]), int(tx["timestamp"])
            proof = base58.b58decode(tx["proofs"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            raise NodeError(400, 1, "failed to parse transaction") from None
        if (kind, version) not in ((3, 3), (4, 3), (11, 2)) or len(public_key) != 32:
            raise NodeError(400, 1, f"unsupported transaction type {kind} v{version}")
        if not self.blocks[-1]["timestamp"] - MAX_TX_AGE_MS <= timestamp:
            raise NodeError(400, 303, "Transaction timestamp is out of range")
        if timestamp > self.now_ms() + MAX_TX_AHEAD_MS:
            raise NodeError(400, 303, "Transaction timestamp is out of range")
        recipients = [t.get("recipient", "") for t in tx.get("transfers") or []]
        if kind == 4:
            recipients = [tx.get("recipient", "")]
        if not all(valid_address(str(r), self.chain_id) for r in recipients):
            raise NodeError(400, 102, "invalid address")
        try:
            body = body_bytes(tx, self.chain_id)
        except (KeyError, TypeError, ValueError):
            raise NodeError(400, 1, "failed to parse transaction") from None
        tx_id = base58.b58encode(blake2b256(body)).decode()
        if tx_id in self.transactions:
            raise NodeError(400, 400, f"Transaction {tx_id} is already in the state")
        if curve.verifySignature(public_key, body, proof) != 0:
            raise NodeError(400, 101, "Proof doesn't validate as signature")
        sender = address_of(public_key, self.chain_id)
        record = {
            "type": kind,
            "id": tx_id,
            "fee": fee,
            "feeAssetId": None,
            "timestamp": timestamp,
            "version": version,
            "chainId": ord(self.chain_id),
            "sender": sender,
            "senderPublicKey": tx["senderPublicKey"],
            "proofs": list(tx["proofs"]),
        }
        if tx.get("feeAssetId"):
            raise NodeError(400, 112, "State check failed. Reason: sponsored fees not supported")
        if kind == 3:
            needed = self._issue(tx, record)
        elif kind == 4:
            needed = self._transfer(tx, record)
        else:
            needed = self._mass_transfer(tx, record)
        self._check_funds(sender, needed)
        return record

    @staticmethod
    def _issue(tx: dict, record: dict) -> dict[str | None, int]:
        if record["fee"] < ISSUE_FEE:
            raise NodeError(400, 112, "State check failed. Reason: fee too low")
        record.update(
            {k: tx[k] for k in ("name", "description", "quantity", "decimals", "reissuable")}
        )
        record.update(assetId=record["id"], script=None)
        return {None: record["fee"]}

    def _transfer(self, tx: dict, record: dict) -> dict[str | None, int]:
        amount, asset = int(tx["amount"]), self._known_asset(tx.get("assetId"))
        attachment = self._attachment(tx)
        if amount <= 0:
            raise NodeError(400, 112, "State check failed. Reason: bad amount or attachment")
        if record["fee"] < MIN_FEE:
            raise NodeError(400, 112, "State check failed. Reason: fee too low")
        record.update(
            recipient=tx["recipient"], assetId=asset, amount=amount, attachment=attachment
        )
        needed: defaultdict[str | None, int] = defaultdict(int, {None: record["fee"]})
        needed[asset] += amount
        return needed

    def _mass_transfer(self, tx: dict, record: dict) -> dict[str | None, int]:
        asset = self._known_asset(tx.get("assetId"))
        attachment = self._attachment(tx)
        transfers = [
            {"recipient": t["recipient"], "amount": int(t["amount"])} for t in tx["transfers"]
        ]
        if not 0 < len(transfers) <= MAX_MASS_TRANSFERS or any(t["amount"] < 0 for t in transfers):
            raise NodeError(400, 112, "State check failed. Reason: bad transfers")
        if record["fee"] < MIN_FEE + MASS_TRANSFER_FEE_PER_ENTRY * len(transfers):
            raise NodeError(400, 112, "State check failed. Reason: fee too low")
        total = sum(t["amount"] for t in transfers)
        record.update(
            assetId=asset,
            attachment=attachment,
            transferCount=len(transfers),
            totalAmount=total,
            transfers=transfers,
        )
        needed: defaultdict[str | None, int] = defaultdict(int, {None: record["fee"]})
        needed[asset] += total
        return needed

    def _known_asset(self, asset_id: str | None) -> str | None:
        if asset_id and asset_id not in self.assets:
            raise NodeError(400, 112, "State check failed. Reason: unknown asset")
        return asset_id or None

    @staticmethod
    def _attachment(tx: dict) -> str:
        if len(base58.b58decode(tx.get("attachment") or "")) > MAX_ATTACHMENT:
            raise NodeError(400, 112, "State check failed. Reason: bad amount or attachment")
        return tx.get("attachment") or ""

    def _check_funds(self, sender: str, needed: dict[str | None, int]) -> None:
        for asset, amount in needed.items():
            if self.balances[(sender, asset)] < amount:
                raise NodeError(
                    400,
                    112,
                    f"State check failed. Reason: negative {asset or 'waves'} balance: "
                    f"{sender}, old: {self.balances[(sender, asset)]}, new: "
                    f"{self.balances[(sender, asset)] - amount}",
                )

    def address_transactions(self, address: str, limit: int, after: str | None) -> list[dict]:
        """Confirmed transactions of an address, newest first, older than `after` (each
        page shuffled but for its last transaction when `page_disorder` is set)."""
        with self.lock:
            ids = [i for i in self.history.get(address, []) if "height" in self.transactions[i]]
            ids.reverse()
            if after:
                if after not in ids:
                    raise NodeError(400, 311, "transactions does not exist")
                ids = ids[ids.index(after) + 1 :]
            page = [dict(self.transactions[i]) for i in ids[:limit]]
            if self.page_disorder and len(page) > 2:
                head = page[:-1]
                self._rng.shuffle(head)
                page = [*head, page[-1]]
            return page

    # --- HTTP routes --------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, object]:
        self.requests += 1
        if self.failing:
            return 503, {"error": 503, "message": "node is unavailable (emulated failure)"}
        try:
            return 200, self._route(method, path, query, body)
        except NodeError as error:
            return error.status, {"error": error.code, "message": error.message}

    def _route(self, method: str, path: str, query: dict, body: bytes) -> object:
        with self.lock:
            if method == "POST" and path == "/transactions/broadcast":
                try:
                    tx = json.loads(body)
                except ValueError:
                    raise NodeError(400, 1, "failed to parse json") from None
                return self.submit(tx)
            if method != "GET":
                raise NodeError(404, 404, "not found")
            if path == "/node/status":
                return {
                    "blockchainHeight": self.height,
                    "stateHeight": self.height,
                    "updatedTimestamp": self.blocks[-1]["timestamp"],
                    "updatedDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            if path == "/blocks/height":
                return {"height": self.height}
            if path == "/blocks/last":
                return self.blocks[-1]
            if path == "/blocks/headers/last":
                return {k: v for k, v in self.blocks[-1].items() if k != "transactions"}
            if m := re.fullmatch(r"/blocks/at/(\d+)", path):
                height = int(m[1])
                if not 1 <= height <= self.height:
                    raise NodeError(404, 404, "block does not exist")
                return self.blocks[height - 1]
            if m := re.fullmatch(r"/addresses/balance/(\w+)(?:/(\d+))?", path):
                self._check_address(m[1])
                confirmations = int(m[2] or 0)
                return {
                    "address": m[1],
                    "confirmations": confirmations,
                    "balance": self.balance(m[1]),
                }
            if m := re.fullmatch(r"/assets/balance/(\w+)/(\w+)", path):
                self._check_address(m[1])
                return {"address": m[1], "assetId": m[2], "balance": self.balance(m[1], m[2])}
            if m := re.fullmatch(r"/assets/details/(\w+)", path):
                issue = self.assets.get(m[1])
                if issue is None:
                    raise NodeError(404, 313, f"Asset does not exist: {m[1]}")
                return {
                    "assetId": m[1],
                    "issueHeight": issue.get("height"),
                    "issueTimestamp": issue["timestamp"],
                    "issuer": issue["sender"],
                    "issuerPublicKey": issue["senderPublicKey"],
                    "name": issue["name"],
                    "description": issue["description"],
                    "decimals": issue["decimals"],
                    "reissuable": issue["reissuable"],
                    "quantity": issue["quantity"],
                    "scripted": False,
                    "minSponsoredAssetFee": None,
                    "originTransactionId": m[1],
                }
            if m := re.fullmatch(r"/assets/(\w+)/distribution/(\d+)/limit/(\d+)", path):
                after = (query.get("after") or [None])[0]
                return self.distribution(m[1], int(m[2]), int(m[3]), after)
            if m := re.fullmatch(r"/transactions/info/(\w+)", path):
                tx = self.transactions.get(m[1])
                if tx is None or "height" not in tx:
                    raise NodeError(404, 311, "transactions does not exist")
                return tx
            if path == "/transactions/unconfirmed":
                return list(self.utx)
            if m := re.fullmatch(r"/transactions/unconfirmed/info/(\w+)", path):
                for tx in self.utx:
                    if tx["id"] == m[1]:
                        return tx
                raise NodeError(404, 311, "transactions does not exist")
            if m := re.fullmatch(r"/transactions/address/(\w+)/limit/(\d+)", path):
                self._check_address(m[1])
                limit = int(m[2])
                if not 1 <= limit <= 1000:
                    raise NodeError(400, 10, "Too big sequence requested: max limit is 1000")
                after = (query.get("after") or [None])[0]
                return [self.address_transactions(m[1], limit, after)]
            if m := re.fullmatch(r"/alias/by-address/(\w+)", path):
                self._check_address(m[1])
                return []
            if m := re.fullmatch(r"/addresses/scriptInfo/(\w+)", path):
                return {"address": m[1], "complexity": 0, "extraFee": 0}
            raise NodeError(404, 404, "Request is not supported")

    def _check_address(self, address: str) -> None:
        if not valid_address(address, self.chain_id):
            raise NodeError(400, 102, "invalid address")


class _Handler(BaseHTTPRequestHandler):
    node: WavesNode
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve("POST", self.rfile.read(length))

    def _serve(self, method: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        status, answer = self.node.handle(
            method, parts.path.rstrip("/"), parse_qs(parts.query), body
        )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass
