"""Service settings, read from environment variables or a `.env` file.

Every name is documented in README.md. Secrets are `SecretStr`, so they never
appear in a repr, a log line or a validation error.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FIELDS = {
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "XMPP_PASSWORD",
    "SIP_PASSWORD",
    "SIP_TRUNK_PASSWORD",
    "WAVES_SEED",
    "VERIFY_SECRET",
}


class Settings(BaseSettings):
    """All configuration of one EncryptoTel instance."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    DATABASE_URL: str = "sqlite:///data/encryptotel.db"
    LOG_LEVEL: str = "INFO"
    # Log lines as today's text, or one JSON object per line (ops/logs.py).
    LOG_FORMAT: Literal["text", "json"] = "text"
    # Where Prometheus scrapes /metrics (ops/metrics.py), never on the API's address.
    METRICS_LISTEN: str = "127.0.0.1:9464"

    TELEGRAM_BOT_TOKEN: SecretStr | None = None
    TELEGRAM_API_URL: str = "https://api.telegram.org"
    TELEGRAM_WEBHOOK_URL: str | None = None
    # Webhook mode: the local address the webhook server listens on (behind the proxy).
    TELEGRAM_WEBHOOK_LISTEN: str = "127.0.0.1:8443"
    TELEGRAM_WEBHOOK_SECRET: SecretStr | None = None

    XMPP_JID: str | None = None
    XMPP_PASSWORD: SecretStr | None = None
    XMPP_HOST: str | None = None
    XMPP_PORT: int = Field(default=5222, ge=1, le=65535)
    XMPP_CA_FILE: str | None = None

    SIP_SERVER: str | None = None
    SIP_PORT: int = Field(default=5060, ge=1, le=65535)
    SIP_USER: str | None = None
    SIP_PASSWORD: SecretStr | None = None
    SIP_LOCAL_IP: str = "127.0.0.1"
    SIP_LOCAL_PORT: int = Field(default=5070, ge=1, le=65535)
    SIP_RTP_PORTS: str = "40000-40999"
    SIP_STRIP_PLUS: bool = False
    SIP_DIAL_PREFIX: str = ""
    SIP_RING_TIMEOUT: int = Field(default=30, ge=1, le=600)

    # The exchange (exchange/): kamailio and rtpengine, started as children of `serve`.
    PBX_ENABLED: bool = True
    PBX_ENGINES: Literal["children", "external"] = "children"
    PBX_DOMAIN: str = "127.0.0.1"
    PBX_LISTEN_IP: str = "127.0.0.1"
    PBX_SIP_PORT: int = Field(default=5060, ge=1, le=65535)
    PBX_TLS_PORT: int = Field(default=5061, ge=1, le=65535)
    PBX_TLS_CERT: str | None = None
    PBX_TLS_KEY: str | None = None
    # Below 32768: the kernel's ephemeral ports (TLS connections of phones) stay clear; and
    # apart from Debian's rtpengine service defaults (30000-40000, ng 2223-2225).
    PBX_RTP_PORTS: str = "20000-20999"
    PBX_SRTP: Literal["optional", "mandatory"] = "optional"
    PBX_RUN_DIR: str = "data/exchange"
    # Loopback ports between the engines and us: our control API, kamailio's JSON-RPC,
    # rtpengine's ng protocol.
    PBX_CONTROL_PORT: int = Field(default=5090, ge=1, le=65535)
    PBX_RPC_PORT: int = Field(default=5091, ge=1, le=65535)
    PBX_RTPENGINE_PORT: int = Field(default=22222, ge=1, le=65535)
    # Numbers dialled in national format ("06 12 34 56 78") are read in the account's
    # region: the country of its verified number or direct number, else this one.
    PBX_DEFAULT_REGION: str = "US"
    # The carrier's SIP trunk (exchange part 2): where outside calls go and inbound calls
    # to the direct numbers come from (accepted by that address, unauthenticated).
    SIP_TRUNK_HOST: str | None = None
    SIP_TRUNK_PORT: int = Field(default=5060, ge=1, le=65535)
    SIP_TRUNK_USER: str | None = None
    SIP_TRUNK_PASSWORD: SecretStr | None = None
    # The direct numbers (DIDs) the carrier routes to us: E.164 numbers and ranges,
    # e.g. "+33199000100-+33199000109,+442079460500".
    DID_POOL: str = ""

    WAVES_NODE_URL: str | None = None
    WAVES_CHAIN_ID: str = "W"
    WAVES_SEED: SecretStr | None = None
    ETT_ASSET_ID: str = "8ofu3VpEaVCFjRqLLqzTMNs5URKUUQMrPp3k6oFmiCc6"
    WAVES_CONFIRMATIONS: int = Field(default=1, ge=0, le=1000)

    # Wallet and billing (wallet/). Prices and caps are ETT amounts with up to 8 decimals.
    WALLET_TARIFFS_FILE: str | None = None
    # Monthly plans (wallet/plans.py): a TOML file of plans and destination groups.
    PLANS_FILE: str | None = None
    WALLET_MIN_BILLED_SECONDS: int = Field(default=60, ge=0, le=3600)
    WALLET_BILLING_INCREMENT: int = Field(default=1, ge=1, le=600)
    WALLET_WAVES_ETT_RATE: Decimal = Field(default=Decimal("100"), gt=0)
    WALLET_WAVES_SURCHARGE_PERCENT: Decimal = Field(default=Decimal("25"), ge=0, le=1000)
    WALLET_MAX_CALL_SECONDS: int = Field(default=3600, ge=60, le=86400)
    WALLET_POLL_SECONDS: float = Field(default=10.0, gt=0, le=3600)
    WALLET_NETWORK_FEE: int = Field(default=100000, ge=100000)
    WALLET_PAYMENT_LINK: str = (
        "https://waves.exchange/#send/{asset_id}?recipient={address}"
        "&amount={amount}&attachment={memo}&strict"
    )
    FRAUD_DEFAULT_COUNTRIES: str = (
        "US,CA,GB,IE,FR,DE,AT,CH,BE,NL,LU,IT,ES,PT,DK,SE,NO,FI,PL,CZ,RU,UA,AU,NZ,JP"
    )
    FRAUD_REFUSED_NUMBER_TYPES: str = "PREMIUM_RATE,SHARED_COST,UNKNOWN"
    FRAUD_DAILY_CAP_ETT: Decimal = Field(default=Decimal("50"), gt=0)
    FRAUD_MAX_CONCURRENT_CALLS: int = Field(default=2, ge=1, le=100)
    FRAUD_MAX_CALLS_SAME_NUMBER_DAILY: int = Field(default=20, ge=1, le=10000)
    FRAUD_MAX_PRICE_PER_MINUTE_ETT: Decimal = Field(default=Decimal("3"), gt=0)

    # Privacy (privacy/): recordings sealed to their owner's key, kept here for
    # RECORDING_RETENTION_DAYS (0: deleted once delivered to the chat); "this call is
    # recorded" played to the other party when RECORDING_NOTICE is on; call records'
    # numbers cut to country and first digits after CDR_RETENTION_DAYS.
    RECORDING_DIR: str = "data/recordings"
    RECORDING_RETENTION_DAYS: int = Field(default=30, ge=0, le=3650)
    RECORDING_NOTICE: bool = True
    # A long call's recording is cut into files of this many seconds (each delivered as
    # soon as it is complete): 300 s is 9.6 MB, under the chat networks' file limits.
    RECORDING_PART_SECONDS: int = Field(default=300, ge=10, le=86400)
    CDR_RETENTION_DAYS: int = Field(default=90, ge=1, le=3650)

    # The HTTP API (api/): host:port it listens on inside `serve` ("off": not served;
    # `python main.py api` serves it alone), each key's request rate (the `limits`
    # library's notation, "100/second;2000/minute"), how long a POST's Idempotency-Key
    # answers a retry. Webhooks: retried for WEBHOOK_RETRY_HOURS, each try waiting at most
    # WEBHOOK_TIMEOUT_SECONDS; a webhook URL on a loopback or private address is refused
    # unless WEBHOOK_ALLOW_PRIVATE (tests, a CRM on the same network).
    API_LISTEN: str = "127.0.0.1:8080"
    API_RATE_LIMIT: str = "100/second;3000/minute"
    API_PUBLIC_URL: str | None = None
    IDEMPOTENCY_HOURS: int = Field(default=24, ge=1, le=24 * 30)
    WEBHOOK_RETRY_HOURS: float = Field(default=24, gt=0, le=24 * 7)
    WEBHOOK_TIMEOUT_SECONDS: float = Field(default=10, gt=0, le=60)
    WEBHOOK_ALLOW_PRIVATE: bool = False
    # Calendars (an iCalendar feed's URL or a CalDAV account, given in the chat): read every
    # CALENDAR_INTERVAL_SECONDS, each answer at most CALENDAR_MAX_BYTES and
    # CALENDAR_TIMEOUT_SECONDS. Any URL a user gives (a calendar, a file's link on XMPP) on
    # a loopback or private network is refused unless FETCH_ALLOW_PRIVATE (tests, a
    # calendar server on the same network).
    CALENDAR_INTERVAL_SECONDS: int = Field(default=300, ge=10, le=24 * 3600)
    CALENDAR_MAX_BYTES: int = Field(default=5 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    CALENDAR_TIMEOUT_SECONDS: float = Field(default=15, gt=0, le=120)
    FETCH_ALLOW_PRIVATE: bool = False
    # Second factor by voice call (POST /verify): the price of one verification (ETT), how
    # long a code lives, how many checks it allows, how many verifications a number (and
    # a key) may be sent in an hour.
    VERIFY_PRICE_ETT: Decimal = Field(default=Decimal("0.05"), ge=0)
    VERIFY_TTL_SECONDS: int = Field(default=600, ge=60, le=3600)
    VERIFY_MAX_CHECKS: int = Field(default=5, ge=1, le=20)
    VERIFY_NUMBER_HOURLY: int = Field(default=5, ge=1, le=1000)
    VERIFY_KEY_HOURLY: int = Field(default=100, ge=1, le=100_000)
    # Secret; keys the HMAC kept of each 2FA code, so the database alone cannot give a live
    # code back (a 6-digit code is a million tries). Unset: a new one at each start (codes
    # live 10 minutes; set it when several instances serve the API).
    VERIFY_SECRET: SecretStr | None = None

    DEFAULT_LANGUAGE: str = "en"
    DEFAULT_TIMEZONE: str = "UTC"
    CONSOLE_USER: str = "console"
    # Flood limit of one sender on Telegram and XMPP: a burst of CHAT_BURST messages, then
    # CHAT_RATE_PER_MINUTE a minute (0: no limit). The console, the local operator, has none.
    CHAT_RATE_PER_MINUTE: int = Field(default=30, ge=0, le=100_000)
    CHAT_BURST: int = Field(default=20, ge=1, le=100_000)

    @field_validator("LOG_LEVEL")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("SIP_RTP_PORTS", "PBX_RTP_PORTS")
    @classmethod
    def _rtp_ports(cls, value: str) -> str:
        low, _, high = value.partition("-")
        if not (low.isdigit() and high.isdigit() and 1024 <= int(low) < int(high) <= 65535):
            raise ValueError("must be a port range such as 40000-40999")
        return value

    @field_validator("API_LISTEN")
    @classmethod
    def _api_listen(cls, value: str) -> str:
        if value == "off":
            return value
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError('must be host:port, for example 127.0.0.1:8080, or "off"')
        return value

    @field_validator("METRICS_LISTEN")
    @classmethod
    def _metrics_listen(cls, value: str) -> str:
        if value == "off":
            return value
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError('must be host:port, for example 127.0.0.1:9464, or "off"')
        return value

    @field_validator("API_RATE_LIMIT")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError('must be rates such as "100/second;3000/minute"') from None
        return value

    @field_validator("PBX_LISTEN_IP")
    @classmethod
    def _listen_ip(cls, value: str) -> str:
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError("must be an IPv4 address, for example 127.0.0.1") from None
        if address.is_unspecified:
            raise ValueError("must be the address phones reach, not 0.0.0.0 (it goes in SDP)")
        return value

    @field_validator("PBX_DEFAULT_REGION")
    @classmethod
    def _region(cls, value: str) -> str:
        import phonenumbers

        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter country code, for example FR or US")
        return region

    @field_validator("SIP_TRUNK_HOST")
    @classmethod
    def _trunk_host(cls, value: str | None) -> str | None:
        # kamailio compares it with a request's source address: an IPv4 address.
        if value is None or value == "":
            return None
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError("must be the carrier's IPv4 address, for example 192.0.2.10") from None
        return value

    @field_validator("DID_POOL")
    @classmethod
    def _did_pool(cls, value: str) -> str:
        from domain.numbers import expand_pool

        expand_pool(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("PBX_DOMAIN")
    @classmethod
    def _pbx_domain(cls, value: str) -> str:
        # Written into kamailio's configuration and phones' URIs: a host name or an address.
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", value):
            raise ValueError("must be a host name or an IPv4 address, for example pbx.example.org")
        return value

    @field_validator("TELEGRAM_WEBHOOK_LISTEN")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not (host and port.isdigit() and 1 <= int(port) <= 65535):
            raise ValueError("must be host:port, for example 127.0.0.1:8443")
        return value

    @field_validator("TELEGRAM_WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("must be 1-256 characters A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        # Without the secret header check anyone who reaches the listener could post
        # updates with a made-up sender and act as any user.
        if self.TELEGRAM_WEBHOOK_URL and self.TELEGRAM_WEBHOOK_SECRET is None:
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_WEBHOOK_URL is set "
                "(Telegram sends it with every update; requests without it are refused)"
            )
        return self

    @field_validator("WAVES_CHAIN_ID")
    @classmethod
    def _chain_id(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("must be one character (W mainnet, T testnet, S stagenet)")
        return value

    @field_validator("DEFAULT_LANGUAGE")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in {"en", "fr", "ru"}:
            raise ValueError("must be en, fr or ru")
        return value

    @property
    def rtp_port_range(self) -> tuple[int, int]:
        """SIP_RTP_PORTS as (low, high), both inclusive."""
        low, _, high = self.SIP_RTP_PORTS.partition("-")
        return int(low), int(high)

    @property
    def pbx_rtp_port_range(self) -> tuple[int, int]:
        """PBX_RTP_PORTS as (low, high), both inclusive."""
        low, _, high = self.PBX_RTP_PORTS.partition("-")
        return int(low), int(high)

    @property
    def telegram_enabled(self) -> bool:
        return self.TELEGRAM_BOT_TOKEN is not None

    @property
    def telegram_webhook_address(self) -> tuple[str, int]:
        """TELEGRAM_WEBHOOK_LISTEN as (host, port)."""
        host, _, port = self.TELEGRAM_WEBHOOK_LISTEN.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def xmpp_enabled(self) -> bool:
        return bool(self.XMPP_JID and self.XMPP_PASSWORD)

    @property
    def sip_enabled(self) -> bool:
        return bool(self.SIP_SERVER)

    @property
    def trunk_enabled(self) -> bool:
        return bool(self.SIP_TRUNK_HOST)

    @property
    def did_pool(self) -> list[str]:
        """DID_POOL expanded: every direct number, E.164, in order."""
        from domain.numbers import expand_pool

        return expand_pool(self.DID_POOL)

    @property
    def waves_enabled(self) -> bool:
        return bool(self.WAVES_NODE_URL)

    @property
    def api_enabled(self) -> bool:
        return self.API_LISTEN != "off"

    @property
    def metrics_enabled(self) -> bool:
        return self.METRICS_LISTEN != "off"

    @property
    def metrics_address(self) -> tuple[str, int]:
        """METRICS_LISTEN as (host, port)."""
        host, _, port = self.METRICS_LISTEN.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def api_address(self) -> tuple[str, int]:
        """API_LISTEN as (host, port)."""
        host, _, port = self.API_LISTEN.rpartition(":")
        return host.strip("[]"), int(port)


class SettingsError(Exception):
    """Raised with a message that names each bad variable and never its value."""


def describe_errors(error: ValidationError) -> str:
    """Format a validation error without echoing any input value."""
    lines = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "settings"
        lines.append(f"{name}: {item['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise SettingsError on bad values.

    `overrides` are raw values of any type (as from the environment): pydantic
    validates and converts each one.
    """
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
