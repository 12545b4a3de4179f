"""Linking a Waves wallet: the user proves they own an address, and its public key (a
Curve25519 key) becomes the key their recordings are sealed to.

"link my wallet 3P…" starts a proof (`WalletLinker.start`): a one-time message
`encryptotel-link-<random>` valid LINK_TTL (30 minutes), one per account. It is proven
either way:

- A. a signature of the message (`prove_signature`), in either format wallets produce
  (source: the project's Waves notes, ../shared/notes/waves.md, checked there against
  Keeper's published signatures):
  - Signer `signMessage(message)` (waves.exchange's providers among others) signs
    `FF FF FF 01 | message` (the message Latin-1);
  - Keeper `auth({data: message})` signs `u16be(n) "WavesWalletAuthentication" |
    u16be(n) host | u16be(n) message` (n: the UTF-8 byte length of what follows), where
    `host` is the host name of the page that called it: we accept KEEPER_HOSTS,
    "encryptotel" (a sign-in page of this service is to be served under that host name).
  Either is verified with curve25519 (`verifySignature(key, bytes, signature) == 0`, as
  the node checks transaction proofs), and the key must derive the claimed address on
  the configured chain (WAVES_CHAIN_ID).
- B. a transfer of any amount to the service's deposit address with the message as its
  attachment, sent from the claimed address (`prove_transfer`, called by the deposit
  watcher): the node checked the transaction's signature, so its `senderPublicKey` is the
  address's key. The amount is credited as any deposit (to the account of the proof).

Errors are `LinkRefused` with a `reason` (REASONS) the chat turns into a sentence.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import base58
import pywaves_curve25519 as curve
from sqlalchemy import Engine

from domain.clock import utcnow
from settings import Settings
from storage.wallet_links import WalletLinkStore

# wallet.waves imports pywaves keeping the service's root logger (pywaves' own import
# configures it): its hashes come from there.
from wallet.waves import ADDRESS_LENGTH, waves_crypto

log = logging.getLogger(__name__)

NONCE_PREFIX = "encryptotel-link-"
NONCE_BYTES = 12  # random bytes of a nonce (96 bits), base58 after the prefix
LINK_TTL = timedelta(minutes=30)
KEY_BYTES, SIGNATURE_BYTES = 32, 64
SIGNER_PREFIX = b"\xff\xff\xff\x01"  # Signer's signMessage (a string message)
KEEPER_PREFIX = "WavesWalletAuthentication"  # Keeper's auth()
KEEPER_HOSTS = ("encryptotel",)
SIGNATURE, TRANSFER = "signature", "transfer"

# Why a proof is refused (LinkRefused.reason).
BAD_ADDRESS = "bad_address"  # not a Waves address (base58, version, length, checksum)
WRONG_CHAIN = "wrong_chain"  # an address of another chain than WAVES_CHAIN_ID
NO_CHALLENGE = "no_challenge"  # no proof pending (never started, used, or replaced)
EXPIRED = "expired"  # the proof's message is older than LINK_TTL
MALFORMED = "malformed"  # the signature or key is not base58 of 64 / 32 bytes
BAD_SIGNATURE = "bad_signature"  # the key did not sign the message (in either format)
OTHER_ADDRESS = "other_address"  # the key is another address's than the one claimed
REASONS = (
    BAD_ADDRESS,
    WRONG_CHAIN,
    NO_CHALLENGE,
    EXPIRED,
    MALFORMED,
    BAD_SIGNATURE,
    OTHER_ADDRESS,
)


class LinkRefused(ValueError):
    """A proof that links nothing: `reason` is one of REASONS; `address` the address the
    key belongs to (OTHER_ADDRESS) or the one refused, when known."""

    def __init__(self, reason: str, address: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.address = address


@dataclass(frozen=True)
class Challenge:
    """A pending proof: `message` (the nonce) to sign or send as memo before `expires_at`
    (aware UTC)."""

    account_id: int
    address: str
    message: str
    expires_at: datetime


@dataclass(frozen=True)
class Linked:
    """A proven link: the account now has `address` and its `public_key` (base58)
    as recording key; `by` is SIGNATURE or TRANSFER."""

    account_id: int
    address: str
    public_key: str
    by: str


def address_of(public_key: bytes, chain_id: str) -> str:
    """The Waves address of a public key on a chain: base58(`01 | chain byte |
    keccak256(blake2b256(key))[:20] | checksum`), the checksum the first 4 bytes of the
    same hash of what precedes it."""
    body = b"\x01" + chain_id.encode() + _secure_hash(public_key)[:20]
    return base58.b58encode(body + _secure_hash(body)[:4]).decode()


def check_address(address: str, chain_id: str) -> str:
    """The address, stripped, if it is one of `chain_id`; raises LinkRefused BAD_ADDRESS
    (not an address) or WRONG_CHAIN (a valid address of another chain)."""
    address = address.strip()
    try:
        raw = base58.b58decode(address)
    except ValueError:
        raise LinkRefused(BAD_ADDRESS, address) from None
    if len(raw) != ADDRESS_LENGTH or raw[0] != 1 or _secure_hash(raw[:22])[:4] != raw[22:]:
        raise LinkRefused(BAD_ADDRESS, address)
    if raw[1] != ord(chain_id):
        raise LinkRefused(WRONG_CHAIN, address)
    return address


def signer_bytes(message: str) -> bytes:
    """What Signer's `signMessage(message)` signs (a string is encoded Latin-1)."""
    return SIGNER_PREFIX + message.encode("latin-1")


def keeper_bytes(message: str, host: str) -> bytes:
    """What Keeper's `auth({data: message})` signs when called from a page of `host`."""
    return b"".join(_string(part) for part in (KEEPER_PREFIX, host, message))


def is_link_message(memo: str | None) -> bool:
    """Whether a transfer's memo (its attachment as text) looks like a link message."""
    return memo is not None and memo.strip().startswith(NONCE_PREFIX)


class WalletLinker:
    """Start and check proofs of ownership of Waves addresses of one chain."""

    def __init__(
        self,
        engine: Engine,
        chain_id: str,
        *,
        ttl: timedelta = LINK_TTL,
        keeper_hosts: tuple[str, ...] = KEEPER_HOSTS,
    ) -> None:
        self.store = WalletLinkStore(engine)
        self.chain_id = chain_id
        self.ttl = ttl
        self.keeper_hosts = keeper_hosts

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> WalletLinker:
        """A linker for the chain of WAVES_CHAIN_ID."""
        return cls(engine, settings.WAVES_CHAIN_ID)

    def start(self, account_id: int, address: str, now: datetime | None = None) -> Challenge:
        """A new proof for the account that it owns `address` (replacing one pending).

        Raises LinkRefused BAD_ADDRESS or WRONG_CHAIN.
        """
        address = check_address(address, self.chain_id)
        message = NONCE_PREFIX + base58.b58encode(secrets.token_bytes(NONCE_BYTES)).decode()
        expires = (now or utcnow()) + self.ttl
        self.store.put(account_id, address, message, expires)
        return Challenge(account_id, address, message, expires)

    def pending(self, account_id: int, now: datetime | None = None) -> Challenge | None:
        """The account's proof still to answer, None when there is none or it expired."""
        link = self.store.of_account(account_id)
        if link is None or _aware(link.expires_at) <= (now or utcnow()):
            return None
        return Challenge(account_id, link.address, link.nonce, _aware(link.expires_at))

    def account_of(self, memo: str | None) -> int | None:
        """The account whose pending proof (expired or not) has `memo` as its message: a
        transfer that carried it but proved nothing is still that account's money."""
        message = (memo or "").strip()
        link = self.store.by_nonce(message) if is_link_message(message) else None
        return link.account_id if link is not None else None

    def prove_signature(
        self, account_id: int, signature: str, public_key: str, now: datetime | None = None
    ) -> Linked:
        """Answer the account's proof with a signature of its message (base58, Signer's or
        Keeper's format) and the signing public key (base58).

        Raises LinkRefused NO_CHALLENGE, EXPIRED, MALFORMED, BAD_SIGNATURE or
        OTHER_ADDRESS (the key's address in `address`).
        """
        now = now or utcnow()
        link = self.store.of_account(account_id)
        if link is None:
            raise LinkRefused(NO_CHALLENGE)
        if _aware(link.expires_at) <= now:
            raise LinkRefused(EXPIRED, link.address)
        key, proof = _decoded(public_key, KEY_BYTES), _decoded(signature, SIGNATURE_BYTES)
        signed = [signer_bytes(link.nonce)]
        signed += [keeper_bytes(link.nonce, host) for host in self.keeper_hosts]
        if not any(curve.verifySignature(key, data, proof) == 0 for data in signed):
            raise LinkRefused(BAD_SIGNATURE, link.address)
        return self._complete(account_id, link.nonce, link.address, key, SIGNATURE, now)

    def prove_transfer(
        self,
        sender: str | None,
        sender_public_key: str | None,
        attachment: str | None,
        now: datetime | None = None,
    ) -> Linked:
        """Answer the proof whose message is a confirmed transfer's memo (`attachment`,
        the attachment as text: `wallet.deposits.decode_attachment`), sent by `sender`
        whose key the node gives as `senderPublicKey` (base58).

        Raises LinkRefused NO_CHALLENGE (no proof has this message), EXPIRED, MALFORMED
        (no key), or OTHER_ADDRESS (sent from another address than the one claimed).
        """
        now = now or utcnow()
        message = (attachment or "").strip()
        link = self.store.by_nonce(message) if is_link_message(message) else None
        if link is None:
            raise LinkRefused(NO_CHALLENGE)
        if _aware(link.expires_at) <= now:
            raise LinkRefused(EXPIRED, link.address)
        key = _decoded(sender_public_key or "", KEY_BYTES)
        if sender is not None and address_of(key, self.chain_id) != sender:
            raise LinkRefused(OTHER_ADDRESS, sender)  # not the sender's key: not its proof
        return self._complete(link.account_id, link.nonce, link.address, key, TRANSFER, now)

    def _complete(
        self, account_id: int, nonce: str, address: str, key: bytes, by: str, now: datetime
    ) -> Linked:
        owner = address_of(key, self.chain_id)
        if owner != address:
            raise LinkRefused(OTHER_ADDRESS, owner)
        public_key = base58.b58encode(key).decode()
        if self.store.complete(account_id, nonce, public_key, now) is None:
            raise LinkRefused(NO_CHALLENGE)  # used or replaced meanwhile
        log.info("account %s proved its wallet by %s", account_id, by)
        return Linked(account_id, address, public_key, by)


def _secure_hash(data: bytes) -> bytes:
    """keccak256(blake2b256(data)), Waves' hash of addresses (a hasher per call: pywaves'
    module-level one is shared by every thread)."""
    inner = hashlib.blake2b(data, digest_size=32).digest()
    return bytes(waves_crypto.KeccakHash().digest(inner))


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def _decoded(text: str, size: int) -> bytes:
    """base58 `text` of `size` bytes; LinkRefused MALFORMED otherwise."""
    try:
        raw = base58.b58decode(text.strip())
    except ValueError:
        raise LinkRefused(MALFORMED) from None
    if len(raw) != size:
        raise LinkRefused(MALFORMED)
    return raw


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
