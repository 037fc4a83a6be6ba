from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from api import tokens


def bearer(user, scope: str = "write", days: int = 30) -> str:
    """A fresh token's whole value for ``user``."""
    return tokens.token_create(actor=user, name="测试", scope=scope, days=days).plaintext


class ApiClient(Client):
    """The test client speaking to the API with a token, in Chinese unless told otherwise."""

    def __init__(self, token: str | None = None, language: str | None = None) -> None:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if language:
            headers["Accept-Language"] = language
        super().__init__(headers=headers)

    def post_json(self, url: str, data, **extra):
        return self.post(url, data, content_type="application/json", **extra)


@pytest.fixture
def api_as():
    def make(user, scope: str = "write", language: str | None = None) -> ApiClient:
        return ApiClient(bearer(user, scope), language)

    return make


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """The throttles count in the cache: each test starts with a full budget."""
    cache.clear()
    yield
    cache.clear()
