"""Helpers of the API resource tests: every page of a list, a second client of an app."""

from __future__ import annotations

from typing import Any

from tests.conftest_api import ApiEnv, Holder


def all_pages(env: ApiEnv, holder: Holder, url: str, **params: Any) -> list[list[dict[str, Any]]]:
    """The `data` of each page of a list, following `next_cursor` to the end."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        answer = env.request(holder, "GET", url, params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ends"
