"""Tables of everything the service keeps.

Times are timezone-aware UTC datetimes (`domain.clock.utcnow()`) on SQLite and
PostgreSQL. Money is an integer in the asset's smallest unit (8 decimals for ETT
and WAVES).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from domain.calls import CallKind
from domain.clock import utcnow

# What a call record is (CallRecord.kind, domain.calls.CallKind): a callback the user
# asked for, or one of the free calls the service places to the user's own phone.
CALL_KINDS = tuple(kind.value for kind in CallKind)
HOLD_STATES = ("open", "settled", "released")


# Integer primary keys are declared `id: int = Field(default=None, primary_key=True)`:
# the id is None only on a row built in memory and not flushed yet, and every row read
# from the database has one, so callers need not narrow `int | None`. The column is the
# same either way (a primary key is NOT NULL, autoincremented).


def _money() -> Any:
    # Any, like Field() itself, so that `amount: int = _money()` type-checks.
    return Field(default=0, sa_column=Column(BigInteger, nullable=False))


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Account(SQLModel, table=True):
    """One person, however many networks they write from."""

    id: int = Field(default=None, primary_key=True)
    language: str = Field(default="en", max_length=8)
    timezone: str = Field(default="UTC", max_length=64)
    phone_number: str | None = Field(default=None, max_length=32)
    phone_verified: bool = False
    extension: str | None = Field(default=None, max_length=16, unique=True)
    allowed_countries: str | None = Field(default=None, max_length=512)
    created_at: datetime = Field(default_factory=utcnow)
    # Softphones (exchange/softphones.py): the digest HA1 of the SIP password, 32 lowercase
    # hex digits of MD5(extension ":" PBX_DOMAIN ":" password) (RFC 8760, RFC 2617), and when
    # that password was made. The password itself is never stored.
    sip_ha1: str | None = Field(default=None, max_length=32)
    sip_password_at: datetime | None = None
    # Calls from this account's phones go out with a withheld caller ID (RFC 3323
    # Privacy: id) unless the number is dialled with *82; with False, *67 withholds it.
    hide_caller_id: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Privacy (privacy/): every call of the account recorded unless asked otherwise.
    record_calls: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # The Curve25519 public key recordings are sealed to (base58, 32 bytes): the linked
    # Waves account's key, or one made on request whose secret only the user holds.
    recording_key: str | None = Field(default=None, max_length=64)
    # The Waves address whose ownership the user proved (privacy/wallet_link), if any.
    wallet_address: str | None = Field(default=None, max_length=64)
    # "forget me": when the account's personal data was deleted (its ledger stays).
    forgotten_at: datetime | None = None


class Did(SQLModel, table=True):
    """A direct number (DID) of the pool the carrier routes to us (DID_POOL), and the
    account it is assigned to (None: free)."""

    number: str = Field(primary_key=True, max_length=32)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    assigned_at: datetime | None = None


class Identity(SQLModel, table=True):
    """A user of one network (Telegram id, JID, Waves address, console) mapped to an account."""

    __table_args__ = (UniqueConstraint("network", "external_id"),)

    id: int = Field(default=None, primary_key=True)
    network: str = Field(max_length=16)
    external_id: str = Field(max_length=255)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class LinkCode(SQLModel, table=True):
    """A one-time code that links a second network's identity to an account."""

    code: str = Field(primary_key=True, max_length=16)
    account_id: int = Field(foreign_key="account.id")
    expires_at: datetime
    used_at: datetime | None = None
    # Wrong codes written anywhere while this one was live: at LINK_MAX_FAILURES it dies.
    failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Balance(SQLModel, table=True):
    """Current balance and reserved amount of one ledger book in one asset.

    Derived from the ledger entries and kept alongside them in the same
    transaction; it is also the row that is locked to serialise charges. Only user
    books have a row, and the database itself refuses a row whose held amount is
    negative or more than the balance: available = amount - held is never negative.
    """

    __table_args__ = (
        CheckConstraint("held >= 0", name="ck_balance_held_not_negative"),
        CheckConstraint("amount >= held", name="ck_balance_held_within_amount"),
    )

    book: str = Field(primary_key=True, max_length=64)
    asset: str = Field(primary_key=True, max_length=8)
    amount: int = _money()
    held: int = _money()


class LedgerTransfer(SQLModel, table=True):
    """One movement of money between two books; its entries sum to zero."""

    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_ledgertransfer_amount_positive"),
        CheckConstraint("debit_book <> credit_book", name="ck_ledgertransfer_two_books"),
    )

    id: int = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    kind: str = Field(max_length=32)
    asset: str = Field(max_length=8)
    amount: int = _money()
    debit_book: str = Field(max_length=64)
    credit_book: str = Field(max_length=64)
    reason: str = Field(default="", max_length=255)
    ref: str | None = Field(default=None, max_length=128, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class LedgerEntry(SQLModel, table=True):
    """One side of a transfer: a signed change of one book's balance."""

    __table_args__ = (
        Index("ix_ledgerentry_book_asset", "book", "asset"),
        CheckConstraint("amount <> 0", name="ck_ledgerentry_amount_not_zero"),
    )

    id: int = Field(default=None, primary_key=True)
    transfer_id: int = Field(foreign_key="ledgertransfer.id", index=True)
    book: str = Field(max_length=64)
    asset: str = Field(max_length=8)
    amount: int = _money()
    created_at: datetime = Field(default_factory=utcnow)


class Hold(SQLModel, table=True):
    """Funds reserved on an account before a call, settled or released after it."""

    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_hold_amount_positive"),
        CheckConstraint(_one_of("state", HOLD_STATES), name="ck_hold_state"),
    )

    id: int = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    book: str = Field(max_length=64, index=True)
    asset: str = Field(max_length=8)
    amount: int = _money()
    state: str = Field(default="open", max_length=16, index=True)
    ref: str | None = Field(default=None, max_length=128, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None


class CallRecord(SQLModel, table=True):
    """One call: who asked, both legs, every state change, cause and cost.

    `kind` is one of CALL_KINDS: a callback joins a_number and b_number; a service
    call (verification, reminder) rings the account's own phone on leg a only, and
    keeps that number in both a_number and b_number.
    """

    __table_args__ = (CheckConstraint(_one_of("kind", CALL_KINDS), name="ck_callrecord_kind"),)

    id: str = Field(primary_key=True, max_length=32)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    kind: str = Field(
        default=CallKind.CALLBACK.value,
        max_length=16,
        sa_column_kwargs={"server_default": CallKind.CALLBACK.value},
    )
    a_number: str = Field(max_length=64)
    b_number: str = Field(max_length=64)
    # Digits dialled on leg b once it answers (its extension), "" for none.
    dtmf: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    # An inbound call: where the owner's forwarding rule sent it (an extension or an
    # outside number, the leg billed to the owner); None: the owner's own phones.
    forwarded_to: str | None = Field(default=None, max_length=64)
    state: str = Field(default="created", max_length=32, index=True)
    anonymous: bool = False
    record: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    scheduled_at: datetime | None = Field(default=None, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime | None = None
    a_ringing_at: datetime | None = None
    a_answered_at: datetime | None = None
    a_ended_at: datetime | None = None
    b_ringing_at: datetime | None = None
    b_answered_at: datetime | None = None
    b_ended_at: datetime | None = None
    bridged_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_cause: str | None = Field(default=None, max_length=32)
    max_seconds: int | None = None
    cost: int = _money()
    cost_asset: str | None = Field(default=None, max_length=8)
    settled_at: datetime | None = None
    # When a_number, b_number and forwarded_to were cut to their country and first
    # digits (CDR_RETENTION_DAYS after the call, or at "forget me").
    numbers_cut_at: datetime | None = None


class CallEvent(SQLModel, table=True):
    """A timestamped transition of a call, in order."""

    id: int = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="callrecord.id", index=True, max_length=32)
    event: str = Field(max_length=32)
    leg: str | None = Field(default=None, max_length=1)
    detail: str | None = Field(default=None, max_length=255)
    at: datetime = Field(default_factory=utcnow)


class Reminder(SQLModel, table=True):
    """Something to tell the user at a time, by chat message or by a call.

    A one-off reminder typed in the chat has no series and no calendar. An occurrence of
    a repeating reminder has `series_id`, one of a calendar's event alarms `calendar_id`;
    `occurrence_key` names the occurrence within either (unique there: an occurrence is
    stored once, so it fires once, whatever the number of instances).
    """

    id: int = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    fire_at: datetime = Field(index=True)
    channel: str = Field(default="message", max_length=16)
    text: str = Field(default="", max_length=1000)
    state: str = Field(default="pending", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    fired_at: datetime | None = None
    series_id: int | None = Field(default=None, foreign_key="reminderseries.id", index=True)
    calendar_id: int | None = Field(default=None, foreign_key="calendarsource.id", index=True)
    occurrence_key: str | None = Field(default=None, max_length=400)
    # Occurrences of the series that passed while no service ran, told instead of fired.
    missed: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A calendar event's start (UTC), said in the reminder ("at 10:00").
    event_at: datetime | None = None

    __table_args__ = (
        UniqueConstraint("series_id", "occurrence_key"),
        UniqueConstraint("calendar_id", "occurrence_key"),
    )


class ReminderSeries(SQLModel, table=True):
    """A repeating reminder: an RFC 5545 rule (RECUR value) from a wall-clock start in the
    user's zone; each occurrence becomes a `Reminder` row when its time comes."""

    id: int = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    rule: str = Field(max_length=200)
    # The local wall-clock start in `timezone` (DTSTART;TZID=), ISO "YYYY-MM-DDTHH:MM:SS".
    dtstart: str = Field(max_length=19)
    timezone: str = Field(max_length=64)
    channel: str = Field(default="message", max_length=16)
    text: str = Field(default="", max_length=1000)
    # The next occurrence not yet stored as a Reminder (UTC); None once the rule ended.
    next_at: datetime | None = Field(default=None, index=True)
    state: str = Field(default="active", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class CalendarSource(SQLModel, table=True):
    """A calendar of the user: an iCalendar feed (its secret URL), a CalDAV account or an
    imported .ics file, read again every few minutes (files: expanded again) into reminders.

    `body` keeps the last calendar text read (JSON: a list of VCALENDAR texts), so that
    repeating events keep coming as time passes even while the server answers 304.
    """

    id: int = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=8)  # feed | caldav | file
    url: str | None = Field(default=None, max_length=2048)
    username: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=500)
    label: str = Field(default="", max_length=200)
    body: str | None = Field(default=None, sa_type=Text)
    file_sha256: str | None = Field(default=None, max_length=64)
    etag: str | None = Field(default=None, max_length=200)
    last_modified: str | None = Field(default=None, max_length=64)
    fingerprint: str | None = Field(default=None, max_length=200)
    minutes_before: int = Field(default=15)
    channel: str = Field(default="call", max_length=16)
    state: str = Field(default="active", max_length=16, index=True)
    error: str | None = Field(default=None, max_length=32)
    failures: int = Field(default=0)
    next_sync_at: datetime = Field(default_factory=utcnow, index=True)
    synced_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "file_sha256"),)


class ForwardingRule(SQLModel, table=True):
    """Forward incoming calls to a number, optionally by caller, weekday and hour."""

    id: int = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    to_number: str = Field(max_length=32)
    days: str | None = Field(default=None, max_length=32)
    start: str | None = Field(default=None, max_length=5)
    end: str | None = Field(default=None, max_length=5)
    caller: str | None = Field(default=None, max_length=32)
    # How long `to_number` rings before the next target (None: until it answers or
    # fails), and the targets tried after it in turn, "NUMBER/SECONDS" separated by
    # commas (follow-me; "" or None: none).
    ring_seconds: int | None = None
    follow_me: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Deposit(SQLModel, table=True):
    """An incoming chain transfer to the service address, credited or kept unattributed."""

    id: int = Field(default=None, primary_key=True)
    tx_id: str = Field(max_length=64, unique=True)
    asset: str = Field(max_length=64)
    amount: int = _money()
    sender: str | None = Field(default=None, max_length=64)
    memo: str | None = Field(default=None, max_length=200)
    height: int | None = None
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    state: str = Field(default="unattributed", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    credited_at: datetime | None = None


class Withdrawal(SQLModel, table=True):
    """A transfer from the service wallet to a user's address."""

    id: int = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=128, unique=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    asset: str = Field(max_length=8)
    amount: int = _money()
    address: str = Field(max_length=64)
    tx_id: str | None = Field(default=None, max_length=64, unique=True)
    state: str = Field(default="pending", max_length=16)
    error: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


class FraudRefusal(SQLModel, table=True):
    """A call the wallet refused before dialling, with the rule that refused it."""

    id: int = Field(default=None, primary_key=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    call_id: str | None = Field(default=None, max_length=32)
    rule: str = Field(max_length=32, index=True)
    number: str | None = Field(default=None, max_length=64)
    detail: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


class WalletCursor(SQLModel, table=True):
    """A named position of a background scan (e.g. the deposit watcher's last height)."""

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", max_length=128)
    updated_at: datetime = Field(default_factory=utcnow)


class SipDialog(SQLModel, table=True):
    """What another process needs to end one leg of a call: its SIP dialog (RFC 3261 §12).

    Written when the leg rings (state `early`: enough to CANCEL it, §9.1) and again when
    it answers (`confirmed`: enough to BYE it, §15.1); deleted when the leg ends. A row
    left behind belongs to a process that stopped without ending its legs.
    """

    sip_call_id: str = Field(primary_key=True, max_length=255)
    call_id: str = Field(max_length=64, index=True)
    leg: str = Field(max_length=1)
    state: str = Field(max_length=16)
    request_uri: str = Field(max_length=512)
    via: str = Field(max_length=512)
    from_header: str = Field(max_length=512)
    to_header: str = Field(max_length=512)
    cseq: int
    remote_target: str = Field(default="", max_length=512)
    route_set: str = Field(default="", max_length=2048)
    owner: str = Field(default="", max_length=255)
    updated_at: datetime = Field(default_factory=utcnow)


class LinkAttempt(SQLModel, table=True):
    """A wrong link code written from one identity (network, external id), when it was
    written: an identity may write only a few within a window (`storage.accounts`)."""

    __table_args__ = (Index("ix_linkattempt_identity_at", "network", "external_id", "at"),)

    id: int = Field(default=None, primary_key=True)
    network: str = Field(max_length=16)
    external_id: str = Field(max_length=255)
    at: datetime = Field(default_factory=utcnow, index=True)


class ChatUpdate(SQLModel, table=True):
    """An update a chat network delivered (Telegram's `update_id` for one bot), claimed
    by the instance that handles it, so that an update delivered again (a resent webhook,
    another instance, a restart) is handled once. Pruned after a day (`storage.updates`)."""

    source: str = Field(primary_key=True, max_length=64)
    update_id: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False, nullable=False)
    )
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class SipServiceUser(SQLModel, table=True):
    """A SIP user of our own on the exchange's kamailio (an instance's callback dialer):
    its digest HA1 (the password is made at each start and never stored), so that any
    instance answering kamailio can check it."""

    name: str = Field(primary_key=True, max_length=128)
    ha1: str = Field(max_length=32)
    updated_at: datetime = Field(default_factory=utcnow)


class Recording(SQLModel, table=True):
    """A call's recording: a file sealed to its owner's key (privacy/sealing.py) in
    RECORDING_DIR, which the server cannot open. Deleted with its file at `expires_at`
    (RECORDING_RETENTION_DAYS after the call) or when the owner asks."""

    id: str = Field(primary_key=True, max_length=32)
    account_id: int = Field(foreign_key="account.id", index=True)
    call_id: str | None = Field(default=None, max_length=64, index=True)
    file_name: str = Field(max_length=128)
    size_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    seconds: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
    expires_at: datetime | None = Field(default=None, index=True)


class WalletLink(SQLModel, table=True):
    """A pending proof that the account owns a Waves address: the user signs `nonce`
    with that address's key, or sends a tiny transfer with `nonce` as its memo."""

    account_id: int = Field(primary_key=True, foreign_key="account.id")
    address: str = Field(max_length=64)
    nonce: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


# --- the HTTP API (api/) -------------------------------------------------------------------

API_SCOPES = ("read", "calls", "payments")
WEBHOOK_DELIVERY_STATES = ("pending", "delivered", "failed")
VERIFICATION_STATES = ("pending", "approved", "failed", "expired")
VERIFICATION_CHANNELS = ("speak", "keypad")


class ApiKey(SQLModel, table=True):
    """A key an integrator's system uses for the account (`Authorization: Bearer <token>`).

    The token (`ett_<id>_<secret>`) is shown once when it is made; only the SHA-256 of it
    is kept (`token_hash`, 64 hex digits): the secret is 32 random bytes, so a fast hash
    is enough (no password to brute-force). `scopes`: comma-separated API_SCOPES.
    """

    __table_args__ = (UniqueConstraint("token_hash"),)

    id: str = Field(primary_key=True, max_length=16)
    account_id: int = Field(foreign_key="account.id", index=True)
    name: str = Field(default="", max_length=64)
    scopes: str = Field(max_length=64)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class IdempotentRequest(SQLModel, table=True):
    """The first answer to a POST with an `Idempotency-Key` (kept IDEMPOTENCY_HOURS): a retry
    with the same key gets it again. `status` is None while the first request runs;
    `fingerprint` (SHA-256 of method, path and body) tells a reused key from a retry."""

    account_id: int = Field(primary_key=True, foreign_key="account.id")
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    status: int | None = None
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    headers: str | None = Field(default=None, max_length=1024)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class WebhookEndpoint(SQLModel, table=True):
    """A URL of the account's that receives events (`events`: comma-separated types, "*"
    for all), signed with `secret` (HMAC-SHA256; shown when the endpoint is made and kept
    here, since the service signs with it)."""

    id: str = Field(primary_key=True, max_length=32)
    account_id: int = Field(foreign_key="account.id", index=True)
    url: str = Field(max_length=2048)
    events: str = Field(default="*", max_length=1024)
    secret: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: datetime | None = None


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint, retried with exponential backoff until delivered or
    WEBHOOK_RETRY_HOURS after it happened. `claimed_until`: an instance sending it."""

    __table_args__ = (
        CheckConstraint(_one_of("state", WEBHOOK_DELIVERY_STATES), name="webhookdelivery_state"),
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhookdelivery_due", "state", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    endpoint_id: str = Field(foreign_key="webhookendpoint.id", index=True, max_length=32)
    account_id: int = Field(foreign_key="account.id", index=True)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None
    delivered_at: datetime | None = None


class WebhookAttempt(SQLModel, table=True):
    """One try at a delivery: the HTTP status the receiver answered, or what failed."""

    id: int = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhookdelivery.id", index=True, max_length=32)
    at: datetime = Field(default_factory=utcnow)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=256)
    duration_ms: int = 0


class Verification(SQLModel, table=True):
    """A second-factor code sent by a voice call (api/verify): spoken (`speak`) or typed
    on the phone's keypad (`keypad`). Only the code's HMAC is kept; at most
    VERIFY_MAX_CHECKS checks, valid VERIFY_TTL_SECONDS. `cost`: ETT units charged."""

    __table_args__ = (
        CheckConstraint(_one_of("state", VERIFICATION_STATES), name="verification_state"),
        CheckConstraint(_one_of("channel", VERIFICATION_CHANNELS), name="verification_channel"),
        Index("ix_verification_number_created", "number", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    account_id: int = Field(foreign_key="account.id", index=True)
    key_id: str | None = Field(default=None, max_length=16, index=True)
    number: str = Field(max_length=32)
    channel: str = Field(max_length=8)
    language: str = Field(default="en", max_length=8)
    code_hash: str = Field(max_length=64)
    checks: int = 0
    state: str = Field(default="pending", max_length=16)
    call_id: str | None = Field(default=None, max_length=64)
    call_outcome: str | None = Field(default=None, max_length=32)
    cost: int = _money()
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


# --- monthly plans (wallet/plans.py, storage/plans.py) ---------------------------------------


class PlanSubscription(SQLModel, table=True):
    """An account's monthly plan: `plan` (a name in PLANS_FILE) for the paid period
    [`period_start`, `period_end`). `state`: "active" (renewed at `period_end`),
    "cancelled" (runs to `period_end`, not renewed), "ended" or "lapsed" (the balance could
    not pay a renewal). `next_plan`: the plan a switch asked for, from the next period.
    `anchor_day`: the day of the month periods start on (clamped to the month's end)."""

    account_id: int = Field(primary_key=True, foreign_key="account.id")
    plan: str = Field(max_length=64)
    next_plan: str | None = Field(default=None, max_length=64)
    anchor_day: int
    period_start: datetime
    period_end: datetime = Field(index=True)
    state: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PlanPeriod(SQLModel, table=True):
    """One paid period of a plan: at most one per account and start (so a renewal is
    recorded once, whichever instance made it). `price`: ETT units; `asset`/`amount`: what
    paid it (ledger transfer `transfer_key`); `included`: JSON {group: seconds} of the plan
    when it was paid."""

    __table_args__ = (UniqueConstraint("account_id", "starts_at"),)

    id: int = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    plan: str = Field(max_length=64)
    starts_at: datetime
    ends_at: datetime
    price: int = _money()
    asset: str = Field(max_length=8)
    amount: int = _money()
    transfer_key: str = Field(max_length=128)
    included: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class PlanUsage(SQLModel, table=True):
    """Included seconds of a period one call leg used (at most one row per call and leg,
    so a second settlement cannot use them twice)."""

    __table_args__ = (UniqueConstraint("call_id", "leg"),)

    id: int = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="planperiod.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    call_id: str = Field(max_length=64)
    leg: str = Field(max_length=1)
    dest_group: str = Field(max_length=32)
    seconds: int
    # True: seconds a call in progress may use (set when it is authorised or extended),
    # trued up to what it used when it is settled (storage/plans.py).
    reserved: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class PlanNotice(SQLModel, table=True):
    """A notice about a plan's renewal to send to the account (claimed before it is sent,
    marked sent once delivered, claimed again when a claim is left unsent): `kind` "ahead"
    (PLAN_NOTICE_DAYS before `period_end`, the balance short) or "lapsed" (the plan lapsed
    at `period_end`)."""

    account_id: int = Field(primary_key=True, foreign_key="account.id")
    kind: str = Field(primary_key=True, max_length=16)
    period_end: datetime = Field(primary_key=True)
    plan: str = Field(default="", max_length=64)
    price: int = _money()  # ETT units of the period that was (or will be) due
    # None until delivered; a claim (claimed_at) left unsent is taken again after a lease.
    claimed_at: datetime | None = None
    sent_at: datetime | None = None


# --- ETT holders' polls (wallet/polls.py, storage/polls.py) ----------------------------------


class Poll(SQLModel, table=True):
    """A consultative vote of ETT holders, weighted by each address's balance of `asset_id`
    at block `height` (the snapshot, read from the node when the poll is opened).
    `options`: JSON list of the options' labels; `decimals`: the asset's, as the node
    reports them; `closed_at`: when the operator closed it before `closes_at` (None: it
    closes at `closes_at`)."""

    id: int = Field(default=None, primary_key=True)
    question: str = Field(max_length=500)
    options: str = Field(sa_column=Column(Text, nullable=False))
    asset_id: str = Field(max_length=64)
    decimals: int = 8
    height: int
    closes_at: datetime = Field(index=True)
    closed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PollWeight(SQLModel, table=True):
    """The balance (smallest units) of one address at the poll's snapshot height: the
    asset's distribution as the node gave it, public chain data about no account."""

    poll_id: int = Field(primary_key=True, foreign_key="poll.id")
    address: str = Field(primary_key=True, max_length=64)
    amount: int = _money()


class PollVote(SQLModel, table=True):
    """The vote of one address in one poll (one per address: a new choice replaces it until
    the poll closes). `option`: index into the poll's options; `weight`: the address's
    balance at the snapshot; `account_id`: the account that chose last (None once that
    account was forgotten)."""

    poll_id: int = Field(primary_key=True, foreign_key="poll.id")
    address: str = Field(primary_key=True, max_length=64)
    option: int
    weight: int = _money()
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    voted_at: datetime = Field(default_factory=utcnow)


class PollNotice(SQLModel, table=True):
    """A message about a poll for one account, claimed before it is sent (the row is the
    claim: one instance sends it): `kind` "open" (the announcement with the buttons) or
    "result" (the results to a voter at closing). `sent_at` None: claimed, not delivered
    yet (claimed again after a while)."""

    poll_id: int = Field(primary_key=True, foreign_key="poll.id")
    account_id: int = Field(primary_key=True, foreign_key="account.id", index=True)
    kind: str = Field(primary_key=True, max_length=8)
    claimed_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
