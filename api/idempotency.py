"""``Idempotency-Key`` on POST: the same key with the same body gets the first answer again (status
and body) without doing anything twice; the same key with another body is refused (422). Keys are
kept 24 hours per user."""
from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import PROBLEM_TYPE, IdempotencyMismatch
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP = datetime.timedelta(hours=24)
#: Answers that say "try again later" are not kept: the retry should really try again.
NOT_KEPT = {409, 429}


def _fingerprint(request: Request) -> str:
    body = json.dumps({"method": request.method, "path": request.path, "body": request.data},
                      sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def idempotent(request: Request, perform: Callable[[], Response], handle: Callable[[Exception], Response]) -> Response:
    """Answer with ``perform()`` (exceptions turned into answers by ``handle``), remembering the answer
    under the request's key, or replay the answer remembered for it."""
    key = request.headers.get(HEADER)
    if key is None:
        return perform()
    if not key or len(key) > 255 or not key.isprintable():
        raise exceptions.ValidationError({HEADER: [_("Idempotency-Key 应为1至255个可打印字符。")]})
    user_id: int = request.user.pk or 0  # authenticated: TokenScope lets nobody else through
    now = timezone.now()
    fingerprint = _fingerprint(request)
    IdempotencyRecord.objects.filter(user_id=user_id, created_at__lt=now - KEEP).delete()
    kept = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
    if kept is not None:
        if kept.request_hash != fingerprint:
            raise IdempotencyMismatch()
        replay = Response(kept.body, status=kept.status,
                          content_type=PROBLEM_TYPE if kept.status >= 400 else None)
        replay["Idempotency-Replayed"] = "true"
        return replay
    try:
        response = perform()
    except Exception as exc:  # the view's own handler answers it; then the answer is kept
        response = handle(exc)
    if response.status_code < 500 and response.status_code not in NOT_KEPT:
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(user_id=user_id, key=key, method=request.method or "",
                                                 path=request.path[:500], request_hash=fingerprint,
                                                 status=response.status_code, body=_plain(response.data))
        except IntegrityError:
            pass  # a concurrent request with the same key was kept first
    return response


def _plain(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))
