"""The caller's own notifications through the API, as the notification centre: listed newest first,
marked read once; anyone else's does not exist."""
from __future__ import annotations

import datetime

from django.utils import timezone

from notifications.models import Notification

URL = "/api/v1/notifications/"


def notice(user, n: int, **extra) -> Notification:
    return Notification.objects.create(user=user, key=f"test:{n}", threshold="notice", subject=f"通知{n}",
                                       body="调解期限将至", **extra)


def test_the_list_is_ones_own_newest_first_and_the_unread_filter(world, api_as):
    mine = [notice(world.mediator_a, n) for n in range(3)]
    notice(world.mediator_b, 9)
    Notification.objects.filter(pk=mine[0].pk).update(read_at=timezone.now())
    client = api_as(world.mediator_a, "read")
    rows = client.get(URL).json()["results"]
    assert [row["id"] for row in rows] == [mine[2].pk, mine[1].pk, mine[0].pk]
    assert [row["read"] for row in rows] == [False, False, True]
    assert [row["id"] for row in client.get(URL, {"unread": "true"}).json()["results"]] == [mine[2].pk, mine[1].pk]
    assert [row["id"] for row in client.get(URL, {"unread": "false"}).json()["results"]] == [mine[0].pk]


def test_pages_walk_every_notification_once(world, api_as):
    made = {notice(world.mediator_a, n).pk for n in range(5)}
    client = api_as(world.mediator_a, "read")
    seen: list[int] = []
    response = client.get(URL, {"page_size": 2})
    while True:
        body = response.json()
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            break
        response = client.get(body["next"])
    assert len(seen) == len(set(seen)) == 5 and set(seen) == made


def test_marking_read_keeps_the_first_reading_time(world, api_as):
    n = notice(world.mediator_a, 1)
    client = api_as(world.mediator_a)
    first = client.post_json(f"{URL}{n.pk}/read/", {})
    assert first.status_code == 200 and first.json()["read"] is True
    n.refresh_from_db()
    read_at = n.read_at
    assert read_at is not None
    again = client.post_json(f"{URL}{n.pk}/read/", {})
    n.refresh_from_db()
    assert again.status_code == 200 and n.read_at == read_at


def test_another_users_notification_does_not_exist(world, api_as):
    theirs = notice(world.mediator_b, 1)
    response = api_as(world.mediator_a).post_json(f"{URL}{theirs.pk}/read/", {})
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_read_token_cannot_mark(world, api_as):
    n = notice(world.mediator_a, 1)
    assert api_as(world.mediator_a, "read").post_json(f"{URL}{n.pk}/read/", {}).status_code == 403
    assert api_as(world.mediator_a, "read").post_json(f"{URL}read-all/", {}).status_code == 403
    n.refresh_from_db()
    assert n.read_at is None


def test_read_all_marks_only_ones_own_unread(world, api_as):
    earlier = timezone.now() - datetime.timedelta(days=1)
    read = notice(world.mediator_a, 1, read_at=earlier)
    unread = [notice(world.mediator_a, n) for n in (2, 3)]
    theirs = notice(world.mediator_b, 4)
    response = api_as(world.mediator_a).post_json(f"{URL}read-all/", {})
    assert response.status_code == 200 and response.json() == {"marked": 2}
    assert all(Notification.objects.get(pk=n.pk).read_at for n in unread)
    assert Notification.objects.get(pk=read.pk).read_at == earlier
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_a_bad_filter_is_400(world, api_as):
    response = api_as(world.mediator_a, "read").get(URL, {"unread": "perhaps"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "unread"
    assert api_as(world.mediator_a, "read").get(URL, {"cursor": "garbage"}).status_code == 404
