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


def _sessions_url(case) -> str:
    return f"/api/v1/cases/{case.pk}/sessions/"


def test_a_key_is_the_callers_own_another_user_sending_it_gets_no_replay(world, api_as):
    from mediation.models import MediationSession
    from tests.api.test_sessions import SESSION
    from tests.lifecycle import accepted

    case = accepted(world, world.town_a)
    key = {"Idempotency-Key": "shared-key"}
    first = api_as(world.mediator_a).post_json(_sessions_url(case), SESSION, headers=key)
    # A colleague on the same case, the same key and body: their own request, done for them.
    colleague = api_as(world.mediator_a2).post_json(_sessions_url(case), SESSION, headers=key)
    assert first.status_code == colleague.status_code == 201
    assert "Idempotency-Replayed" not in colleague and colleague.json()["id"] != first.json()["id"]
    assert MediationSession.objects.filter(case=case).count() == 2
    # An outsider with the same key: the case does not exist for them, whatever the key holds.
    outsider = api_as(world.mediator_b).post_json(_sessions_url(case), SESSION, headers=key)
    assert outsider.status_code == 404 and "Idempotency-Replayed" not in outsider
    assert set(IdempotencyRecord.objects.filter(key="shared-key").values_list("user_id", flat=True)) == {
        world.mediator_a.pk, world.mediator_a2.pk, world.mediator_b.pk}


def test_a_key_reused_for_another_body_or_address_is_refused_and_does_nothing(world, api_as):
    from mediation.models import FollowUp, MediationSession
    from tests.api.test_sessions import SESSION
    from tests.lifecycle import accepted

    case = accepted(world, world.town_a)
    client = api_as(world.mediator_a)
    key = {"Idempotency-Key": "k-1"}
    assert client.post_json(_sessions_url(case), SESSION, headers=key).status_code == 201
    for url, body in ((_sessions_url(case), {**SESSION, "place": "溪口镇调解室"}),
                      (f"/api/v1/cases/{case.pk}/follow-ups/", SESSION),
                      (_sessions_url(accepted(world, world.town_a)), SESSION)):
        response = client.post_json(url, body, headers=key)
        assert response.status_code == 422 and response.json()["type"].endswith(":idempotency-key-reused")
    assert MediationSession.objects.count() == 1 and not FollowUp.objects.exists()
