"""Outside the user's scope a case does not exist, through every API endpoint that takes one.

The endpoints are read from the URL conf, so one added later is knocked on too."""
from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import register

#: A value for each path argument other than the case's id (a move that exists for a registered case).
OTHER_ARGUMENTS = {"name": "withdraw", "version": "v1", "instalment_id": 1}


def _api_patterns(patterns=None, namespace: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            inner = p.namespace or namespace
            if inner == "api":
                found += _api_patterns(p.url_patterns, "api")
        elif isinstance(p, URLPattern) and p.name and namespace == "api":
            found.append((f"api:{p.name}", p))
    return found


def _case_urls(case_id: int, rows: dict[str, int] | None = None) -> dict[str, str]:
    """Every API endpoint whose path takes a case id (``pk``), for this case (and ``rows``: its own rows' ids)."""
    given = {**OTHER_ARGUMENTS, **(rows or {})}
    urls = {}
    for name, pattern in _api_patterns():
        arguments = set(pattern.pattern.regex.groupindex)
        if "pk" in arguments:
            urls[name] = reverse(name, kwargs={"version": "v1", "pk": case_id,
                                               **{k: given.get(k, 0) for k in arguments - {"pk"}}})
    return urls


def test_the_walk_finds_the_case_endpoints():
    assert set(_case_urls(1)) >= {"api:case_detail", "api:case_transitions", "api:case_transition",
                                  "api:case_attachments", "api:case_attachment_download", "api:case_documents",
                                  "api:case_document_download"}


def _rows_of(world, case) -> dict[str, int]:
    """Rows of the case that endpoints name in their path: an attachment and an issued document."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from mediation.documents.services import document_issue
    from mediation.services import attachment_add

    attachment = attachment_add(case_id=case.pk, actor=world.mediator_a, kind="evidence",
                                upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%scope\n"))
    document = document_issue(case_id=case.pk, kind="application_record", actor=world.mediator_a)
    return {"attachment_id": attachment.pk, "document_id": document.pk}


def test_an_out_of_scope_case_is_404_through_every_endpoint(world, api_as):
    case = register(world.mediator_a, world.town_a)  # 锦屏街道
    rows = _rows_of(world, case)
    outsiders = [api_as(world.mediator_b), api_as(world.supervisor_b)]  # 溪口镇: every right, elsewhere
    insider = api_as(world.supervisor_a)
    for name, url in _case_urls(case.pk, rows).items():
        for client in outsiders:
            for method in ("get", "post", "put", "delete"):
                body = {"reason": "申请人已撤回", "arguments": {"applicant_withdrew": True},
                        "dispute_summary": "拖欠工资", "terms": ["被申请人支付工资"]}
                response = (client.get(url) if method == "get"
                            else getattr(client, method)(url, body, content_type="application/json"))
                if response.status_code == 405:
                    continue
                assert response.status_code == 404, (name, method, response.status_code)
                assert response["Content-Type"] == "application/problem+json"
        inside = insider.get(url)
        assert inside.status_code in (200, 405), (name, inside.status_code)
    case.refresh_from_db()
    assert case.state == "registered" and not case.agreements.exists()
