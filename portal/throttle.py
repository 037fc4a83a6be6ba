"""Counting the public pages' requests in Django's cache: per client address and per case number.

Fixed windows ("10/hour": at most 10 in each clock hour). With several server processes give them
a shared cache (``CACHES``), or each process counts alone. The keys hold a digest, never the
case number or the address itself.

The address counted is the client's: ``REMOTE_ADDR``, or behind reverse proxies (``LOGIN_PROXY_COUNT``
of them, the one setting that says how many ``X-Forwarded-For`` entries to trust) the entry the
outermost trusted proxy wrote; anything a client adds to the left of it is never believed. An IPv6
address counts by its /64 network, which one subscriber holds whole.
"""
from __future__ import annotations

import hashlib
import ipaddress
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

from mediation.http_security import client_address

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
          "d": 86400, "day": 86400}


def client_key(request: Any) -> str:
    """What the per-address throttles count: the client's address, an IPv6 one by its /64 network."""
    address = client_address(request)
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/hour' → (10, 3600); '' → (0, 0), meaning no limit."""
    if not rate:
        return 0, 0
    count, _slash, unit = rate.partition("/")
    return int(count), _UNITS[unit.strip().lower()]


def allow(scope: str, key: str, setting: str) -> bool:
    """Count one request of ``scope`` for ``key`` against the rate in ``settings.<setting>``;
    False once the window's limit is passed."""
    limit, period = parse_rate(getattr(settings, setting))
    if period == 0:
        return True
    window = int(time.time() // period)
    digest = hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:32]
    cache_key = f"portal:{scope}:{digest}:{window}"
    cache.add(cache_key, 0, period + 60)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, period + 60)
        count = 1
    return count <= limit
