"""The API docs page works under the Content-Security-Policy, from the application's own files."""
from __future__ import annotations

from django.test import Client

from tests.browser.test_case_journey import as_user, browser, pytestmark  # noqa: F401 -- shared fixtures


def test_the_api_docs_render_every_operation_without_a_policy_violation(world, as_user, live_server):  # noqa: F811
    page = as_user(world.mediator_a)
    violations: list[str] = []
    outside: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_server.url) and not request.url.startswith("data:") else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy: ' + e.violatedDirective + ' ' + e.blockedURI));")
    response = page.goto(f"{live_server.url}/api/docs/")
    assert response is not None and response.status == 200
    page.wait_for_selector(".opblock")
    # Every operation the schema describes has its block on the page, no more and no fewer.
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = [(path, method) for path, item in schema["paths"].items()
                  for method in item if method in ("get", "post", "put", "patch", "delete")]
    assert ("/api/v1/cases/{id}/transitions/{name}/", "post") in operations and len(operations) > 20
    assert page.locator(".opblock").count() == len(operations)
    assert violations == [] and outside == []
