"""Counting the public pages' requests in Django's cache: per client address and per case number.

Fixed windows ("10/hour": at most 10 in each clock hour). With several server processes give them
a shared cache (``CACHES``), or each process counts alone. The keys hold a digest, never the
case number or the address itself.
"""
from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
          "d": 86400, "day": 86400}


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
