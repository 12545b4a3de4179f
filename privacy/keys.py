"""Curve25519 keys of recordings: a Waves account's own keys, or a seed made on request.

A Waves account key pair is an X25519 (Montgomery) pair: the account's public key is the
key a recording is sealed to, and its private key (or the seed phrase it comes from)
opens it. Keys are shown and stored in base58, as Waves shows them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import struct
from functools import cache
from types import ModuleType

import base58
from nacl.bindings import crypto_box_SECRETKEYBYTES, crypto_scalarmult_base

KEY_BYTES = crypto_box_SECRETKEYBYTES  # 32, public and secret alike
SEED_WORDS = 15  # as Waves wallets make them: 15 × 11 bits = 165 bits


def encode_key(raw: bytes) -> str:
    """A 32-byte key as base58 text (the Bitcoin alphabet, as Waves shows keys).

    Raises ValueError when `raw` is not 32 bytes."""
    if len(raw) != KEY_BYTES:
        raise ValueError(f"a key is {KEY_BYTES} bytes, not {len(raw)}")
    return base58.b58encode(raw).decode("ascii")


def decode_key(text: str) -> bytes:
    """The 32 bytes of a base58 key (surrounding white space ignored).

    Raises ValueError when `text` is not base58 or does not decode to 32 bytes."""
    try:
        raw = base58.b58decode(text.strip())
    except ValueError:
        raise ValueError("not a key: it is not base58") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"not a key: it decodes to {len(raw)} bytes, not {KEY_BYTES}")
    return raw


def secret_key_of_seed(seed: str) -> bytes:
    """The 32-byte X25519 private key of the Waves account of seed phrase `seed` (nonce 0).

    Waves' derivation (docs.waves.tech, "Cryptographic practical details"; pywaves
    `Address._generate`): account seed = keccak256(blake2b256(nonce as 4 bytes big-endian
    + seed)); private key = sha256(account seed), clamped as X25519 keys are. The seed is
    taken exactly as given, in UTF-8 (as Waves' wallets do; pywaves uses latin-1, which is
    the same for the English word list). Works offline."""
    if not seed:
        raise ValueError("an empty seed phrase")
    inner = hashlib.blake2b(struct.pack(">L", 0) + seed.encode("utf-8"), digest_size=32).digest()
    account_seed = _keccak256(inner)
    key = bytearray(hashlib.sha256(account_seed).digest())
    # X25519 clamping (RFC 7748, section 5), as Waves stores its private keys.
    key[0] &= 248
    key[31] &= 127
    key[31] |= 64
    return bytes(key)


def public_key_of(secret_key: bytes) -> bytes:
    """The 32-byte X25519 public key of a 32-byte private key (libsodium
    crypto_scalarmult_base). Raises ValueError when `secret_key` is not 32 bytes."""
    if len(secret_key) != KEY_BYTES:
        raise ValueError(f"a key is {KEY_BYTES} bytes, not {len(secret_key)}")
    return crypto_scalarmult_base(secret_key)


def public_key_of_seed(seed: str) -> bytes:
    """The 32-byte public key of the Waves account of seed phrase `seed`: the key its
    recordings are sealed to (equal to the account's publicKey in Waves)."""
    return public_key_of(secret_key_of_seed(seed))


@cache
def seed_words() -> frozenset[str]:
    """The 2048 words seeds are made of (BIP39 English, Waves' word list)."""
    return frozenset(_waves_modules()[1].wordList)


def new_seed() -> str:
    """A new seed phrase: 15 words of the BIP39 English list (Waves' word list, 2048
    words), chosen with `secrets`, separated by single spaces."""
    words = _waves_modules()[1].wordList
    return " ".join(secrets.choice(words) for _ in range(SEED_WORDS))


def secret_key_of(text: str) -> bytes:
    """The 32-byte private key given by the owner: a seed phrase (several words, taken
    exactly as typed apart from surrounding white space) or a base58 private key (one
    token, as Waves exports it).

    Raises ValueError when `text` is empty, or one token that is not a base58 key."""
    text = text.strip()
    if not text:
        raise ValueError("no seed phrase or private key given")
    if len(text.split()) > 1:
        return secret_key_of_seed(text)
    try:
        return decode_key(text)
    except ValueError:
        raise ValueError("neither a seed phrase (several words) nor a private key") from None


def secret_keys_of(text: str) -> list[bytes]:
    """The private keys `text` may mean: as typed (`secret_key_of`), then, for a seed
    phrase typed with other spacing, line breaks or capitals, its words lower-cased and
    joined by single spaces, as Waves wallets make seeds (a seed is any text to Waves, so
    the exact form is tried first). Raises ValueError as `secret_key_of`."""
    keys = [secret_key_of(text)]
    words = text.split()
    if len(words) > 1:
        tidy = " ".join(word.lower() for word in words)
        if tidy != text.strip():
            keys.append(secret_key_of_seed(tidy))
    return keys


def _keccak256(data: bytes) -> bytes:
    # Keccak-256 as Waves uses it (the original padding: not hashlib's SHA3-256).
    # A fresh hasher per call: pywaves' module-level one keeps state between calls.
    return bytes(_waves_modules()[0].KeccakHash().digest(data))


@cache
def _waves_modules() -> tuple[ModuleType, ModuleType]:
    """pywaves' crypto and address modules, imported on first use; pywaves configures
    the root logger on import, so the process's logging is put back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import pywaves.address
        import pywaves.crypto
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("pywaves").setLevel(logging.WARNING)
    return pywaves.crypto, pywaves.address


def sign_message(secret_key: bytes, message: bytes) -> bytes:
    """The 64-byte curve25519 signature of `message` with `secret_key` (32 bytes), as
    Waves signs (XEdDSA over the Montgomery key, pywaves' curve25519 module, random
    nonce): what Waves Signer's signMessage returns. ValueError for a bad key."""
    if len(secret_key) != KEY_BYTES:
        raise ValueError("a private key is 32 bytes")
    import pywaves_curve25519 as curve

    return bytes(curve.calculateSignature(secrets.token_bytes(64), secret_key, message))
