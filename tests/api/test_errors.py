"""Errors as application/problem+json (RFC 9457), in the request's language; throttling; no 5xx."""
from __future__ import annotations

import pytest

from tests.factories import register

PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert body["status"] == status
    return body


def test_an_unknown_address_under_api_is_a_problem_never_html(world, api_as):
    client = api_as(world.mediator_a, "read")
    for path in ("/api/v1/nothing/", "/api/v2/cases/", "/api/", "/api/v1/cases", "/api/v1/cases/abc/"):
        body = _problem(client.get(path), 404)
        assert body["instance"] == path
        assert body["title"] == "未找到"


def test_problems_speak_chinese_by_default_and_english_when_asked(world, api_as):
    chinese = api_as(world.mediator_a).put("/api/v1/cases/")
    body = _problem(chinese, 405)
    assert chinese["Content-Language"] == "zh-hans"
    assert (body["title"], body["detail"]) == ("不支持该请求方法", "不支持 PUT 请求方法。")
    assert _problem(api_as(world.mediator_a).get("/api/v1/cases/", {"cursor": "x"}), 404)["detail"] == (
        "翻页游标无效，请从第一页重新开始。")
    english = api_as(world.mediator_a, language="en-GB,en;q=0.9").get("/api/v1/nothing/")
    assert _problem(english, 404)["title"] == "Not found" and english["Content-Language"] == "en"
    # A language we do not speak: Chinese.
    other = api_as(world.mediator_a, language="fr").get("/api/v1/nothing/")
    assert _problem(other, 404)["title"] == "未找到" and other["Content-Language"] == "zh-hans"


def test_validation_errors_are_listed_under_errors(world, api_as):
    case = register(world.mediator_a, world.town_a)
    response = api_as(world.mediator_a).post_json(f"/api/v1/cases/{case.pk}/transitions/reject/",
                                                  {"reason": "", "arguments": {"reason_kind": "nonsense"}})
    body = _problem(response, 422)  # read, then refused by the move's form (docs/api.md, "Errors")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"reason_kind", "reason"}
    assert all(e["detail"] for e in body["errors"])
    assert body["detail"] == "提交的内容有 2 处错误。"


@pytest.mark.parametrize("query", [
    {"cursor": "garbage"}, {"cursor": "cD0yMDI2"}, {"page_size": "-1"}, {"page_size": "1e9"},
    {"received_from": "2026-13-45"}, {"line": "x"}, {"mediator": "99999999999999999999"}, {"q": "\x00"},
    {"overdue": "maybe"}, {"category": "💥"}, {"organisation": "-5"},
])
def test_no_query_parameter_gives_a_5xx(world, api_as, query):
    register(world.mediator_a, world.town_a)
    response = api_as(world.supervisor_a, "read").get("/api/v1/cases/", query)
    assert response.status_code < 500
    if response.status_code >= 400:
        _problem(response, response.status_code)


def test_bodies_that_are_not_forms_are_refused_not_crashed(world, api_as):
    case = register(world.mediator_a, world.town_a)
    client = api_as(world.mediator_a)
    url = f"/api/v1/cases/{case.pk}/transitions/accept/"
    bodies: list[object] = [{"arguments": {"consent_recorded_on": {"y": 2026}}}, {"arguments": [1, 2]},
                            {"reason": ["x"]}, [], 7, {"arguments": {"consent_recorded_on": [[1]]}}]
    for body in bodies:  # JSON, but not in the documented shape: read and refused
        _problem(client.post_json(url, body), 422)
    for unreadable in ("{not json", "text"):  # cannot be read at all
        _problem(client.post(url, unreadable, content_type="application/json"), 400)
    _problem(client.post(url, "a=b", content_type="application/x-www-form-urlencoded"), 415)
    _problem(client.get("/api/v1/cases/99999999999999999999/"), 404)


def test_throttling_answers_429_per_token(world, api_as, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"read": "3/min", "write": "1/min"}}
    first = api_as(world.mediator_a, "read")
    for _ in range(3):
        assert first.get("/api/v1/cases/").status_code == 200
    body = _problem(first.get("/api/v1/cases/"), 429)
    assert body["title"] == "请求过于频繁"
    assert int(first.get("/api/v1/cases/")["Retry-After"]) > 0
    # Another token of the same user has its own budget.
    assert api_as(world.mediator_a, "read").get("/api/v1/cases/").status_code == 200
    # Writes are counted apart from reads.
    case = register(world.mediator_a, world.town_a)
    writer = api_as(world.mediator_a)
    assert writer.get("/api/v1/cases/").status_code == 200
    url = f"/api/v1/cases/{case.pk}/transitions/withdraw/"
    assert writer.post_json(url, {}).status_code == 422
    _problem(writer.post_json(url, {}), 429)


def test_a_post_to_an_unknown_address_with_a_session_cookie_is_a_404_problem(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.mediator_a)
    _problem(client.post("/api/v1/cases/1/transitions/ïÁ/", {}), 404)


def test_a_refusal_the_web_says_too_reads_the_same_in_english(world, api_as):
    case = register(world.mediator_a, world.town_a)
    response = api_as(world.auditor_a, language="en").post_json(f"/api/v1/cases/{case.pk}/transitions/accept/", {})
    body = _problem(response, 403)
    assert body["detail"].startswith("You do not have permission to perform “") and response["Content-Language"] == "en"


def _cursor(raw: str) -> str:
    import base64

    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize("raw", ["p=2026", "p=\x00", "p=2026-13-45 00:00:00", "o=1&p=x", "r=1&p=2026-01-01x"])
@pytest.mark.parametrize("url", ["/api/v1/cases/", "/api/v1/notifications/"])
def test_a_cursor_whose_position_is_not_a_time_is_an_invalid_cursor(world, api_as, url, raw):
    # Well-formed base64 around a position the client made up: the same 404 as any invalid cursor
    # (docs/api.md, "Pagination"), not a 422 the list's schema does not describe.
    body = _problem(api_as(world.mediator_a, "read").get(url, {"cursor": _cursor(raw)}), 404)
    assert body["detail"] == "翻页游标无效，请从第一页重新开始。"


def test_a_cursor_the_api_gave_still_walks_the_list(world, api_as):
    for _ in range(3):
        register(world.mediator_a, world.town_a)
    client = api_as(world.mediator_a, "read")
    first = client.get("/api/v1/cases/", {"page_size": 2}).json()
    second = client.get(first["next"])
    assert second.status_code == 200 and len(second.json()["results"]) == 1


def test_json_nested_too_deep_to_read_is_a_400_not_a_500(world, api_as):
    case = register(world.mediator_a, world.town_a)
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    for url in (f"/api/v1/cases/{case.pk}/transitions/withdraw/", f"/api/v1/cases/{case.pk}/sessions/",
                "/api/v1/cases/"):
        body = _problem(api_as(world.mediator_a).post(url, deep, content_type="application/json"), 400)
        assert body["detail"] == "请求内容不是有效的 JSON。"
    case.refresh_from_db()
    assert case.state == "registered"


def test_a_request_too_large_to_read_is_a_413_or_400_problem_never_a_500(world, api_as, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from mediation.models import Attachment

    case = register(world.mediator_a, world.town_a)
    client = api_as(world.mediator_a)
    move = f"/api/v1/cases/{case.pk}/transitions/withdraw/"
    upload = f"/api/v1/cases/{case.pk}/attachments/"
    # A JSON body, or a form field, beyond DATA_UPLOAD_MAX_MEMORY_SIZE (Django refuses to hold it).
    big = '{"reason": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    _problem(client.post(move, big, content_type="application/json"), 413)
    _problem(client.post(upload, {"kind": "evidence", "description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
                                  "file": SimpleUploadedFile("a.pdf", b"%PDF-1.4 a")}), 413)
    # More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: unreadable as sent.
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    body = _problem(client.post(upload, {**fields, "kind": "evidence",
                                         "file": SimpleUploadedFile("b.pdf", b"%PDF-1.4 b")}), 400)
    assert body["detail"] == "请求中的字段或文件过多，无法读取。"
    # Declaring more than REQUEST_MAX_BYTES: refused before anything reads it, as a problem too.
    settings.REQUEST_MAX_BYTES = 1000
    body = _problem(client.post(move, "x" * 1001, content_type="application/json"), 413)
    assert body["type"].endswith(":payload-too-large") and body["title"] == "请求内容过大"
    case.refresh_from_db()
    assert case.state == "registered" and not Attachment.objects.exists()


@pytest.mark.parametrize("value", [True, False, ["2026-11-20"], ["2026-11-20", "x"], [True], []])
def test_a_moves_arguments_of_the_wrong_type_are_refused_never_a_500(world, api_as, value):
    # Yes/no or a list where the form wants a date or a choice: the form reads them as the page posts
    # them and refuses them (422); nothing moves.
    case = register(world.mediator_a, world.town_a)
    client = api_as(world.supervisor_a)
    moves = [m for m in client.get(f"/api/v1/cases/{case.pk}/transitions/").json() if m["name"] in ("accept", "reject")]
    assert len(moves) == 2
    for move in moves:  # a date (consent recorded on) and a choice (the reason's kind) among their fields
        names = [argument["name"] for argument in move["arguments"] if argument["name"] != "reason"]
        response = client.post_json(f"/api/v1/cases/{case.pk}/transitions/{move['name']}/",
                                    {"reason": "核对", "arguments": dict.fromkeys(names, value)})
        assert response.status_code in (409, 422), (move["name"], response.status_code)
        _problem(response, response.status_code)
    case.refresh_from_db()
    assert case.state == "registered"
