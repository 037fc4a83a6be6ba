"""A case's documents through the API: the registry, issuing, downloading — the documents card's rules
(docs/documents.md: the case's mediators and supervisors issue; only those who may see the parties'
personal data download; an effective agreement's document is frozen)."""
from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from mediation.audit.models import AuditEvent
from mediation.documents import services
from mediation.documents.models import DocumentKind as K
from mediation.documents.models import IssuedDocument
from mediation.documents.render import DocumentRenderError
from tests.documents.conftest import stored_files
from tests.factories import reads_logged
from tests.lifecycle import case_in_state, snapshot
from workflows.states import CaseState as S


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def url(case, *rest) -> str:
    return "/".join([f"/api/v1/cases/{case.pk}/documents", *map(str, rest)]) + "/"


@pytest.fixture
def notice(world, media):
    case = case_in_state(world, S.JOINT_MEDIATION)  # 锦屏街道
    return services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=world.mediator_a)


def test_a_mediator_issues_a_notice_and_downloads_the_registered_pdf(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    client = api_as(world.mediator_a)
    listed = client.get(url(case)).json()
    assert listed["may_issue"] and listed["may_download"] and listed["issued"] == []
    assert K.ACCEPTANCE_NOTICE in {row["kind"] for row in listed["issuable"]}

    response = client.post_json(url(case), {"kind": K.ACCEPTANCE_NOTICE})
    assert response.status_code == 201, response.content
    body = response.json()
    document = IssuedDocument.objects.get()
    assert body["id"] == document.pk and body["kind"] == K.ACCEPTANCE_NOTICE and body["version"] == 1
    assert body["case_number"] == case.number and body["verification_code"] == document.code_display
    assert body["issued_by"] == (world.mediator_a.get_full_name() or world.mediator_a.username)
    assert body["issuer"] == document.issuer and body["reused"] is False and body["standing"] == "issued"
    assert AuditEvent.objects.filter(action__startswith="document.", object_id=str(document.pk)).exists()

    download = client.get(url(case, document.pk, "download"))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    data = b"".join(download.streaming_content)
    assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == document.sha256
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Cache-Control"] == "private, no-store"
    assert AuditEvent.objects.filter(action="document.download", object_id=str(document.pk),
                                     actor_id=world.mediator_a.pk).count() == 1
    # Whatever the client accepts, the file comes as the file.
    pdf_only = client.get(url(case, document.pk, "download"), HTTP_ACCEPT="application/pdf")
    assert pdf_only.status_code == 200 and pdf_only["Content-Type"] == "application/pdf"


def test_the_list_is_the_documents_card_and_the_supervisor_downloads_too(world, api_as, notice):
    case = notice.case
    row = api_as(world.supervisor_a).get(url(case)).json()["issued"][0]
    assert (row["id"], row["kind"], row["verification_code"]) == (notice.pk, K.ACCEPTANCE_NOTICE, notice.code_display)
    assert row["issued_at"] and row["sha256"] == notice.sha256
    response = api_as(world.supervisor_a).get(url(case, notice.pk, "download"))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")


def test_an_auditor_reads_the_registry_on_the_audit_trail_but_gets_no_file(world, api_as, notice):
    case = notice.case
    auditor = api_as(world.auditor_a)
    listed = auditor.get(url(case)).json()
    assert [row["id"] for row in listed["issued"]] == [notice.pk]
    assert not listed["may_issue"] and not listed["may_download"] and listed["issuable"] == []
    assert reads_logged(case, world.auditor_a, "documents") == 1
    refused = auditor.get(url(case, notice.pk, "download"))
    assert refused.status_code == 403 and "身份证号码" in refused.json()["detail"]
    # The attempt is on the audit trail as on the web (a read of the case), the download is not.
    assert reads_logged(case, world.auditor_a, f"document:{notice.pk}") == 1
    assert not AuditEvent.objects.filter(action="document.download").exists()
    assert auditor.post_json(url(case), {"kind": K.ACCEPTANCE_NOTICE}).status_code == 403
    assert IssuedDocument.objects.count() == 1


def test_outside_scope_documents_do_not_exist(world, api_as, notice):
    case = notice.case
    outsider = api_as(world.supervisor_b)
    for response in (outsider.get(url(case)), outsider.get(url(case, notice.pk, "download")),
                     outsider.post_json(url(case), {"kind": K.ACCEPTANCE_NOTICE})):
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert IssuedDocument.objects.count() == 1
    # A document of one case asked for under another case's address: not found.
    other = case_in_state(world, S.JOINT_MEDIATION)
    assert api_as(world.mediator_a).get(url(other, notice.pk, "download")).status_code == 404


def test_a_read_token_cannot_issue(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    response = api_as(world.mediator_a, "read").post_json(url(case), {"kind": K.ACCEPTANCE_NOTICE})
    assert response.status_code == 403 and not IssuedDocument.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"kind": "no_such_kind"}, "kind"),
    ({"kind": K.ACCEPTANCE_NOTICE, "subject_id": -1}, "subject_id"),
    ({"kind": K.ACCEPTANCE_NOTICE, "stage": "final"}, "stage"),
    ({}, "kind"),
    ({"kind": ["acceptance_notice"]}, "kind"),
])
def test_bad_input_is_422_and_nothing_is_issued(world, api_as, media, body, field):
    case = case_in_state(world, S.JOINT_MEDIATION)
    before = snapshot(case)
    response = api_as(world.mediator_a, language="en").post_json(url(case), body)
    assert response.status_code == 422, response.content
    problem = response.json()
    assert response["Content-Language"] == "en" and problem["errors"][0]["field"] == field
    assert snapshot(case) == before and not IssuedDocument.objects.exists() and not stored_files()


def test_a_document_that_does_not_apply_is_a_conflict(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    response = api_as(world.mediator_a).post_json(url(case), {"kind": K.REJECTION_NOTICE})
    assert response.status_code == 409 and "不能生成" in response.json()["detail"]
    assert not IssuedDocument.objects.exists()


def test_a_failed_render_is_422_and_changes_nothing(world, api_as, media, monkeypatch):
    case = case_in_state(world, S.JOINT_MEDIATION)
    before = snapshot(case)

    def broken(*args, **kwargs):
        raise DocumentRenderError("文书生成失败。案件数据未作任何修改，请稍后重试或联系管理员。")

    monkeypatch.setattr(services, "render_pdf", broken)
    response = api_as(world.mediator_a).post_json(url(case), {"kind": K.ACCEPTANCE_NOTICE})
    assert response.status_code == 422 and "文书生成失败" in response.json()["errors"][0]["detail"]
    assert snapshot(case) == before and not IssuedDocument.objects.exists() and not stored_files()


def test_an_altered_stored_file_is_never_served(world, api_as, notice):
    path = notice.file.path
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(path, "wb").write(bytes(data))
    response = api_as(world.mediator_a).get(url(notice.case, notice.pk, "download"))
    assert response.status_code == 500 and response["Content-Type"] == "application/problem+json"
    assert not AuditEvent.objects.filter(action="document.download").exists()


def test_reissuing_with_a_key_replays_the_first_answer(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    client = api_as(world.mediator_a)
    first = client.post_json(url(case), {"kind": K.ACCEPTANCE_NOTICE}, HTTP_IDEMPOTENCY_KEY="doc-1")
    again = client.post_json(url(case), {"kind": K.ACCEPTANCE_NOTICE}, HTTP_IDEMPOTENCY_KEY="doc-1")
    assert first.status_code == again.status_code == 201 and again["Idempotency-Replayed"] == "true"
    assert IssuedDocument.objects.count() == 1
    # Without the key a second issue is a new version, as the web button makes one.
    assert client.post_json(url(case), {"kind": K.ACCEPTANCE_NOTICE}).json()["version"] == 2


def test_the_web_download_and_the_api_download_are_one_rule(world, api_as, notice):
    """The same bytes and the same audit row through both doors."""
    web = Client()
    web.force_login(world.mediator_a)
    from_web = b"".join(web.get(f"/documents/{notice.pk}/download/").streaming_content)  # type: ignore[attr-defined]
    from_api = b"".join(api_as(world.mediator_a).get(url(notice.case, notice.pk, "download")).streaming_content)
    assert from_web == from_api
    assert AuditEvent.objects.filter(action="document.download", object_id=str(notice.pk)).count() == 2


def test_the_schema_describes_the_downloads_as_binary(world):
    client = Client()
    client.force_login(world.mediator_a)
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for path, media_types in {
        "/api/v1/cases/{id}/documents/{document_id}/download/": {"application/pdf"},
        "/api/v1/cases/{id}/attachments/{attachment_id}/download/": {"application/pdf", "image/png"},
        "/api/v1/exports/{job_id}/download/": {"application/zip"},
    }.items():
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert set(content) >= media_types
        assert all(content[m]["schema"] == {"type": "string", "format": "binary"} for m in media_types)
    assert {"/api/v1/statistics/", "/api/v1/exports/ledger/", "/api/v1/exports/{job_id}/",
            "/api/v1/notifications/", "/api/v1/notifications/{notification_id}/read/",
            "/api/v1/notifications/read-all/", "/api/v1/cases/{id}/attachments/",
            "/api/v1/cases/{id}/documents/"} <= set(paths)
