"""The HTTP API on a real service: `api_env` gives the services of an isolated database
(both backends), the FastAPI application, an httpx client on it, and accounts with keys.

`ApiEnv.account(...)` makes an account (fields as AccountStore.update takes them) and a key
with the scopes asked; `client(token)` is a client sending that key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bot.app import build_services
from bot.assistant import Services
from storage import open_database
from storage.models import API_SCOPES
from tests.conftest_chat import service_settings
from tests.wallet_helpers import TEST_SETTINGS, new_account


@dataclass(frozen=True)
class Holder:
    """An account and one API key of it."""

    account_id: int
    token: str
    key_id: str


class ApiEnv:
    """The API of one test's service."""

    def __init__(self, db_url: str, **overrides: Any) -> None:
        settings = service_settings(db_url, **{**TEST_SETTINGS, **overrides})
        self.services: Services = build_services(settings, engine=open_database(db_url))
        self.app = create_app(self.services)
        self.http = TestClient(self.app, raise_server_exceptions=False)

    def account(self, scopes: tuple[str, ...] = API_SCOPES, **fields: Any) -> Holder:
        account_id = new_account(self.services.engine, **fields)
        made = self.services.api_keys.create(account_id, scopes)
        return Holder(account_id, made.token, made.key.id)

    def key(self, account_id: int, scopes: tuple[str, ...] = API_SCOPES) -> Holder:
        made = self.services.api_keys.create(account_id, scopes)
        return Holder(account_id, made.token, made.key.id)

    def request(
        self, holder: Holder | None, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if holder is not None:
            headers["Authorization"] = f"Bearer {holder.token}"
        return self.http.request(method, url, headers=headers, **kwargs)

    def close(self) -> None:
        self.http.close()
        self.services.engine.dispose()


@pytest.fixture
def api_env(db_url: str) -> Iterator[ApiEnv]:
    env = ApiEnv(db_url)
    yield env
    env.close()
