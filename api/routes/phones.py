"""The account's phones: its extension and direct numbers (as the chat's "my numbers",
bot.features.numbers.direct), and its softphone (SIP) credentials (as "my SIP account",
bot.features.softphone.credentials): the password is shown once, when it is made, and
kept only as its digest (exchange.softphones).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.auth import Calling, Reader, ServicesDep
from api.schemas import PROBLEMS

router = APIRouter(prefix="/v1", tags=["phones"], responses=PROBLEMS)


class ExtensionOut(BaseModel):
    """The account's numbers on the exchange."""

    extension: str = Field(description="its internal number (allocated on first use)")
    direct_numbers: list[str] = Field(description="its direct numbers (DIDs), E.164")
    caller_id_hidden: bool = Field(description="its number is withheld on outside calls")


class SoftphoneOut(BaseModel):
    """What a SIP phone or app needs to register (`udp_port` serves UDP and TCP)."""

    domain: str = Field(description="the SIP server and digest realm")
    username: str = Field(description="the account's extension")
    udp_port: int
    tls_port: int
    password_set: bool = Field(description="a password exists (shown only when made)")


class NewPasswordOut(SoftphoneOut):
    """The credentials with a new password: shown this once; the old one stops working."""

    password: str


@router.get("/extension")
def extension(services: ServicesDep, caller: Reader) -> ExtensionOut:
    """The account's extension, direct numbers and caller-ID setting."""
    account_id = caller.account.id
    return ExtensionOut(
        extension=services.accounts.extension(account_id),
        direct_numbers=services.dids.numbers_of(account_id),
        caller_id_hidden=caller.account.hide_caller_id,
    )


@router.get("/softphone")
def softphone(services: ServicesDep, caller: Reader) -> SoftphoneOut:
    """The softphone settings, without a password (`POST /v1/softphone/password` makes
    one). Reading them makes no password, so none is ever made unseen."""
    settings = services.settings
    return SoftphoneOut(
        domain=settings.PBX_DOMAIN,
        username=services.accounts.extension(caller.account.id),
        udp_port=settings.PBX_SIP_PORT,
        tls_port=settings.PBX_TLS_PORT,
        password_set=caller.account.sip_ha1 is not None,
    )


@router.post("/softphone/password", status_code=201)
def new_password(services: ServicesDep, caller: Calling, response: Response) -> NewPasswordOut:
    """A new SIP password, shown this once (the old one stops working at once)."""
    response.headers["Cache-Control"] = "no-store"
    made = services.softphones.credentials(caller.account.id, reset=True)
    assert made.password is not None  # a reset always makes one
    return NewPasswordOut(
        domain=made.domain,
        username=made.username,
        udp_port=made.udp_port,
        tls_port=made.tls_port,
        password_set=True,
        password=made.password,
    )
