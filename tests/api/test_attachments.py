"""A case's attachments through the API: the case page's list, upload and download, same rules
(DOMAIN.md §5; docs/permissions.md: evidence carries personal data, only the case's workers download)."""
from __future__ import annotations

import hashlib
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mediation.audit.models import AuditEvent
from mediation.models import Attachment
from tests.factories import reads_logged
from tests.lifecycle import case_in_state
from workflows.states import CaseState as S

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored(root) -> list[str]:
    return [name for _, _, files in os.walk(root) for name in files]


def url(case, *rest) -> str:
    return "/".join([f"/api/v1/cases/{case.pk}/attachments", *map(str, rest)]) + "/"


def upload(client, case, content=PNG, name="工资条.png", kind="evidence", **extra):
    return client.post(url(case), {"file": SimpleUploadedFile(name, content), "kind": kind,
                                   "description": "2026年10月工资条"}, **extra)


def test_a_mediator_uploads_lists_and_downloads(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)  # 锦屏街道
    client = api_as(world.mediator_a)
    response = upload(client, case)
    assert response.status_code == 201, response.content
    body = response.json()
    # The type is read from the content, the hash of the bytes kept (services.attachment_add).
    assert body["content_type"] == "image/png" and body["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert body["kind"] == "evidence" and body["size"] == len(PNG) and body["original_name"] == "工资条.png"
    attachment = Attachment.objects.get()
    assert AuditEvent.objects.filter(action="attachment.add", object_id=str(attachment.pk)).count() == 1

    listed = client.get(url(case)).json()
    assert [row["id"] for row in listed] == [attachment.pk]

    download = client.get(url(case, attachment.pk, "download"))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment;") and "filename*=utf-8''" in download[
        "Content-Disposition"].lower()
    assert AuditEvent.objects.filter(action="attachment.download", object_id=str(attachment.pk),
                                     actor_id=world.mediator_a.pk).count() == 1


def test_an_auditor_sees_the_list_on_the_audit_trail_but_neither_downloads_nor_uploads(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    assert upload(api_as(world.mediator_a), case).status_code == 201
    attachment = Attachment.objects.get()
    auditor = api_as(world.auditor_a)
    assert [row["id"] for row in auditor.get(url(case)).json()] == [attachment.pk]
    # Every view of a case by an auditor is logged (DOMAIN.md §5), as on the case page.
    assert reads_logged(case, world.auditor_a, "attachments") == 1
    assert AuditEvent.objects.filter(action="case.read", actor_id=world.auditor_a.pk).count() == 1

    refused = auditor.get(url(case, attachment.pk, "download"))
    assert refused.status_code == 403 and refused["Content-Type"] == "application/problem+json"
    assert "个人信息" in refused.json()["detail"]
    assert not AuditEvent.objects.filter(action="attachment.download").exists()

    assert upload(auditor, case, PDF, "a.pdf").status_code == 403
    assert Attachment.objects.count() == 1


def test_outside_scope_the_case_and_its_files_do_not_exist(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)  # 锦屏街道
    assert upload(api_as(world.mediator_a), case).status_code == 201
    attachment = Attachment.objects.get()
    outsider = api_as(world.supervisor_b)  # 溪口镇
    for response in (outsider.get(url(case)), outsider.get(url(case, attachment.pk, "download")),
                     upload(outsider, case, PDF, "b.pdf")):
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert Attachment.objects.count() == 1
    # Another case's attachment through this case's address: not found either.
    other = case_in_state(world, S.JOINT_MEDIATION)
    assert api_as(world.mediator_a).get(url(other, attachment.pk, "download")).status_code == 404


def test_a_read_token_cannot_upload(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    response = upload(api_as(world.mediator_a, "read"), case)
    assert response.status_code == 403 and not Attachment.objects.exists() and not stored(media)


@pytest.mark.parametrize("content, name, field, words", [
    (b"MZ\x90\x00 this is really a program", "证据.pdf", "file", "只能上传"),
    (b"", "empty.pdf", "file", ""),
    (PNG, "a.png", "kind", ""),
])
def test_bad_input_is_422_in_the_request_language_and_nothing_is_stored(world, api_as, media, content, name, field,
                                                                        words):
    case = case_in_state(world, S.JOINT_MEDIATION)
    client = api_as(world.mediator_a)
    response = upload(client, case, content, name, kind="x" if field == "kind" else "evidence")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["type"].endswith(":unprocessable") and body["errors"][0]["field"] == field
    assert words in body["errors"][0]["detail"]
    assert not Attachment.objects.exists() and not stored(media)
    english = api_as(world.mediator_a, language="en")
    response = upload(english, case, b"MZ\x90\x00 program", "x.pdf")
    assert response.status_code == 422 and response["Content-Language"] == "en"


def test_an_oversize_file_is_refused_and_storage_keeps_nothing(world, api_as, media, settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    case = case_in_state(world, S.JOINT_MEDIATION)
    response = upload(api_as(world.mediator_a), case, PDF + b"0" * 200, "big.pdf")
    assert response.status_code == 422 and "文件过大" in response.json()["errors"][0]["detail"]
    assert not Attachment.objects.exists() and not stored(media)


def test_the_same_file_twice_is_refused_and_a_failed_write_leaves_no_file(world, api_as, media, monkeypatch):
    case = case_in_state(world, S.JOINT_MEDIATION)
    client = api_as(world.mediator_a)
    assert upload(client, case).status_code == 201
    again = upload(client, case)
    assert again.status_code == 422 and "已上传过" in again.json()["errors"][0]["detail"]
    assert Attachment.objects.count() == 1 and len(stored(media)) == 1

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("mediation.services.work.audit.record", broken)
    response = upload(client, case, PDF, "c.pdf")
    assert response.status_code == 500
    assert Attachment.objects.count() == 1 and len(stored(media)) == 1  # no orphan of the failed upload


def test_an_idempotency_key_uploads_once(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    client = api_as(world.mediator_a)
    first = upload(client, case, HTTP_IDEMPOTENCY_KEY="up-1")
    second = upload(client, case, HTTP_IDEMPOTENCY_KEY="up-1")
    assert first.status_code == second.status_code == 201 and second["Idempotency-Replayed"] == "true"
    assert first.json() == second.json() and Attachment.objects.count() == 1


def test_json_is_not_an_upload(world, api_as, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    response = api_as(world.mediator_a).post_json(url(case), {"kind": "evidence"})
    assert response.status_code == 415 and not Attachment.objects.exists()


def test_another_file_under_the_same_key_is_refused_not_replayed(world, api_as, media):
    """The key's fingerprint reads the file's content: a different file of the same name is another request."""
    case = case_in_state(world, S.JOINT_MEDIATION)
    client = api_as(world.mediator_a)
    assert upload(client, case, PNG, "证据.png", HTTP_IDEMPOTENCY_KEY="up-2").status_code == 201
    other = upload(client, case, PDF, "证据.png", HTTP_IDEMPOTENCY_KEY="up-2")
    assert other.status_code == 422 and other.json()["type"].endswith(":idempotency-key-reused")
    assert Attachment.objects.count() == 1 and len(stored(media)) == 1
