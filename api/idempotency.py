"""``Idempotency-Key`` on POST: the same key with the same body gets the first answer again (status
and body) without doing anything twice; the same key with another body is refused (422). Keys are
kept 24 hours per user."""
from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import PROBLEM_TYPE, IdempotencyMismatch
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
#: How each POST that takes a key describes it in the schema.
KEY_PARAMETER = OpenApiParameter(HEADER, str, OpenApiParameter.HEADER,
                                description="同一键、同一内容的重复请求得到第一次的答复")
KEEP = datetime.timedelta(hours=24)
#: Answers that say "try again later" are not kept: the retry should really try again.
NOT_KEPT = {409, 429}


def _fingerprint(request: Request) -> str:
    body = json.dumps({"method": request.method, "path": request.path, "body": request.data},
                      sort_keys=True, default=_described, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _described(value: Any) -> Any:
    """A value JSON does not know, as the fingerprint takes it: an uploaded file by its content's
    SHA-256 (another file under the same name is another request), anything else as text."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"name": value.name, "size": value.size, "sha256": digest.hexdigest()}
    return str(value)


def idempotent(request: Request, perform: Callable[[], Response], handle: Callable[[Exception], Response]) -> Response:
    """Answer with ``perform()`` (exceptions turned into answers by ``handle``), remembering the answer
    under the request's key, or replay the answer remembered for it.

    The key is claimed (its row written) in the same transaction as the work, before the work: a
    second request with the same key sent meanwhile waits on that row and then replays the first
    answer, so the work is never done twice; if the work did not take, neither did the claim."""
    key = request.headers.get(HEADER)
    if key is None:
        return perform()
    if not key or len(key) > 255 or not key.isprintable():
        raise exceptions.ValidationError({HEADER: [_("Idempotency-Key 应为1至255个可打印字符。")]})
    user_id: int = request.user.pk or 0  # authenticated: TokenScope lets nobody else through
    fingerprint = _fingerprint(request)
    IdempotencyRecord.objects.filter(user_id=user_id, created_at__lt=timezone.now() - KEEP).delete()
    kept = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
    if kept is not None:
        return _replay(kept, fingerprint)
    try:
        with transaction.atomic():
            claim = IdempotencyRecord.objects.create(user_id=user_id, key=key, method=request.method or "",
                                                     path=request.path[:500], request_hash=fingerprint,
                                                     status=0, body=None)
            try:
                with transaction.atomic():  # the work's own savepoint: a failure undoes it, not the claim
                    response = perform()
            except Exception as exc:  # the view's own handler answers it; then the answer is kept
                response = handle(exc)
            if response.status_code >= 500 or response.status_code in NOT_KEPT:
                claim.delete()
            else:
                claim.status, claim.body = response.status_code, _plain(response.data)
                claim.save(update_fields=["status", "body"])
    except IntegrityError:
        # The same key was claimed by a request that ended while this one waited: answer as it did.
        kept = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
        if kept is None:
            raise
        return _replay(kept, fingerprint)
    return response


def _replay(kept: IdempotencyRecord, fingerprint: str) -> Response:
    if kept.request_hash != fingerprint:
        raise IdempotencyMismatch()
    replay = Response(kept.body, status=kept.status, content_type=PROBLEM_TYPE if kept.status >= 400 else None)
    replay["Idempotency-Replayed"] = "true"
    return replay


def purge_expired() -> int:
    """Forget the answers older than :data:`KEEP` (the periodic task ``api.purge_idempotency_keys``)."""
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return deleted


def _plain(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))
