"""Idempotency keys: a retry sent while the first request is still at work waits for it and gets its
answer (the work is done once); kept answers are forgotten after 24 hours (docs/api.md)."""
from __future__ import annotations

import datetime
import threading
import time
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from api import idempotency, views
from api.models import IdempotencyRecord
from api.tasks import purge_idempotency_keys
from tests.api.test_transitions import _accept
from tests.factories import register
from workflows.models import TransitionLog

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="two requests at once need parallel connections: PostgreSQL")


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retry_sent_while_the_first_request_works_waits_and_replays_its_answer(world, api_as, monkeypatch):
    case = register(world.mediator_a, world.town_a)
    url = f"/api/v1/cases/{case.pk}/transitions/accept/"
    body = _accept(case)
    working, release = threading.Event(), threading.Event()
    move = views.TransitionView._move

    def slow_first_move(self, request, pk, name):
        if not working.is_set():  # only the first request to get here is held
            working.set()
            release.wait(10)
        return move(self, request, pk, name)

    monkeypatch.setattr(views.TransitionView, "_move", slow_first_move)
    first_client, retry_client = api_as(world.mediator_a), api_as(world.mediator_a)
    answers: dict[str, Any] = {}

    def send(label, client):
        try:
            answers[label] = client.post_json(url, body, headers={"Idempotency-Key": "retry-1"})
        finally:
            connections.close_all()

    first = threading.Thread(target=send, args=("first", first_client))
    first.start()
    assert working.wait(10)
    retry = threading.Thread(target=send, args=("retry", retry_client))
    retry.start()
    time.sleep(0.5)  # the retry is now at the door: it must wait for the first, not do the move itself
    release.set()
    first.join(30)
    retry.join(30)

    one, two = answers["first"], answers["retry"]
    assert one.status_code == two.status_code == 200, (one.content, two.content)
    assert "Idempotency-Replayed" not in one and two["Idempotency-Replayed"] == "true"
    assert two.json() == one.json()
    assert TransitionLog.objects.filter(case=case, transition="accept").count() == 1
    assert IdempotencyRecord.objects.filter(user=world.mediator_a, key="retry-1", status=200).count() == 1


def test_a_request_whose_work_fails_keeps_no_claim_on_its_key(world, api_as, monkeypatch):
    case = register(world.mediator_a, world.town_a)
    url = f"/api/v1/cases/{case.pk}/transitions/accept/"

    def broken(self, request, pk, name):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(views.TransitionView, "_move", broken)
    client = api_as(world.mediator_a)
    client.raise_request_exception = False
    assert client.post_json(url, _accept(case), headers={"Idempotency-Key": "k"}).status_code == 500
    assert not IdempotencyRecord.objects.filter(key="k").exists()
    monkeypatch.undo()
    # The retry really tries again, and this time the move is made.
    assert client.post_json(url, _accept(case), headers={"Idempotency-Key": "k"}).status_code == 200
    assert TransitionLog.objects.filter(case=case, transition="accept").count() == 1


def test_kept_answers_are_forgotten_after_24_hours(world):
    now = timezone.now()

    def kept(key: str, age: datetime.timedelta) -> None:
        IdempotencyRecord.objects.create(user=world.mediator_a, key=key, method="POST", path="/api/v1/x/",
                                         request_hash="0" * 64, status=200, body={}, created_at=now - age)

    kept("old", datetime.timedelta(hours=24, minutes=1))
    kept("young", datetime.timedelta(hours=23, minutes=59))
    assert purge_idempotency_keys.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]
    assert idempotency.purge_expired() == 0
