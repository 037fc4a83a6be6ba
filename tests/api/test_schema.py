"""The OpenAPI schema and its docs page, served from our own static files under the site's CSP."""
from __future__ import annotations

from django.contrib.staticfiles import finders
from django.test import Client


def test_the_schema_lists_the_v1_endpoints(world):
    client = Client()
    client.force_login(world.mediator_a)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) >= {"/api/v1/cases/", "/api/v1/cases/{id}/", "/api/v1/cases/{id}/transitions/",
                                    "/api/v1/cases/{id}/transitions/{name}/"}
    work = {"/api/v1/cases/{id}/sessions/", "/api/v1/cases/{id}/agreements/", "/api/v1/cases/{id}/agreements/draft/",
            "/api/v1/cases/{id}/signatures/", "/api/v1/cases/{id}/instalments/",
            "/api/v1/cases/{id}/instalments/{instalment_id}/pay/", "/api/v1/cases/{id}/follow-ups/"}
    assert set(schema["paths"]) >= work
    assert set(schema["paths"]["/api/v1/cases/"]) == {"get", "post"}  # the list and registration
    scheme = schema["components"]["securitySchemes"]["accessToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_the_docs_page_loads_only_our_own_scripts_under_the_csp(world):
    client = Client()
    client.force_login(world.mediator_a)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    html = page.content.decode()
    assert "<script>" not in html and "<style>" not in html  # nothing inline: the CSP would block it
    assert "http://" not in html and "https://" not in html  # no CDN
    for asset in ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"):
        assert f"/static/drf_spectacular_sidecar/{asset}" in html
        assert finders.find(f"drf_spectacular_sidecar/{asset}")
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def _operations(world) -> dict[str, dict]:
    client = Client()
    client.force_login(world.mediator_a)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return {op["operationId"]: op for methods in schema["paths"].values() for op in methods.values()}


def test_what_accept_and_content_type_refusals_answer_is_described(world, api_as):
    """A client that accepts no JSON gets 406 from any JSON endpoint (a download answers whatever it
    accepts); a key's body that is not JSON is 415 even where no body is read. The schema says so."""
    from tests.factories import register

    operations = _operations(world)
    case = register(world.mediator_a, world.town_a)
    client = api_as(world.mediator_a)
    refused = client.get(f"/api/v1/cases/{case.pk}/", headers={"Accept": "text/html"})
    assert refused.status_code == 406 and refused["Content-Type"] == "application/problem+json"
    downloads = {"cases_attachments_download", "cases_documents_download", "exports_download"}
    for name, operation in operations.items():
        assert ("406" in operation["responses"]) == (name not in downloads), name
    for name, url in (("notifications_read_all", "/api/v1/notifications/read-all/"),
                      ("notifications_read", "/api/v1/notifications/1/read/")):
        response = client.post(url, "x", content_type="text/plain", headers={"Idempotency-Key": name})
        assert response.status_code == 415 and "415" in operations[name]["responses"], name
