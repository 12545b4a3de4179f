"""Shared fixtures: every test that takes `engine` or `db_url` runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest

from storage import open_database
from testbed.dbs import BACKENDS, isolated_database

pytest_plugins = [
    "tests.conftest_waves",
    "tests.conftest_chat",
    "tests.conftest_sip",
    "tests.conftest_api",
]

# Services started by tests (also `main.py` in a subprocess) run chat-only unless a test
# of the exchange turns it on: kamailio and rtpengine are started by those tests alone.
os.environ.setdefault("PBX_ENABLED", "false")
# Nor do they serve the HTTP API unless a test asks (each on a port of its own).
os.environ.setdefault("API_LISTEN", "off")
# Nor /metrics (METRICS_LISTEN), but in the tests of the metrics.
os.environ.setdefault("METRICS_LISTEN", "off")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path):
    """URL of an isolated, migrated database (one per test, per backend)."""
    with isolated_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url: str):
    """An engine on the isolated database of this test."""
    eng = open_database(db_url, migrate=False)
    yield eng
    eng.dispose()
