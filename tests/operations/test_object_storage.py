"""Documents and attachments on an S3-compatible object store (docs/operations.md, "Object storage").

The store is a real S3-compatible HTTP server started by the tests (moto's server mode, on a
port of its own); each test gets an empty bucket and the settings a deployment would have
(STORAGES["default"] = django-storages' S3 backend with the options mediation/settings.py sets).
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from mediation import backup
from mediation import services as ms
from mediation.documents import services
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.models import Attachment, Role
from mediation.settings import object_storage
from mediation.storage import is_object_store, walk
from tests.factories import OrganisationFactory, level, member
from tests.lifecycle import case_in_state
from tests.operations.data import EVIDENCE, make_case
from workflows.states import CaseState as S

ACCESS_KEY, SECRET_KEY, REGION = "testing-key", "testing-secret", "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class Bucket:
    name: str
    client: Any

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())


def storage_settings(endpoint: str, bucket: str) -> dict[str, Any]:
    """STORAGES["default"] exactly as mediation/settings.py builds it from these STORAGE_S3_* variables."""
    return object_storage({
        "STORAGE_S3_BUCKET": bucket, "STORAGE_S3_ENDPOINT_URL": endpoint, "STORAGE_S3_REGION": REGION,
        "STORAGE_S3_ACCESS_KEY_ID": ACCESS_KEY, "STORAGE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        "STORAGE_S3_ADDRESSING_STYLE": "path"})


def make_bucket(endpoint: str) -> Bucket:
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY)
    name = f"mediation-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return Bucket(name, client)


@pytest.fixture
def bucket(s3_endpoint, settings, tmp_path) -> Bucket:
    made = make_bucket(s3_endpoint)
    # Local disk must stay untouched: an empty MEDIA_ROOT of the test's own.
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(s3_endpoint, made.name)}
    assert is_object_store(default_storage)
    return made


def local_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_issued_document_goes_to_the_bucket_privately_and_downloads_through_the_application(
        world, client, bucket, settings):
    case = case_in_state(world, S.JOINT_MEDIATION)
    document = services.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    assert bucket.keys() == [document.file.name]
    assert sha256(bucket.read(document.file.name)) == document.sha256
    # Private: the only grant is the owner's, nobody else (no public-read, no authenticated-read).
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=document.file.name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"] and all("URI" not in g["Grantee"] for g in grants)
    assert local_files(settings) == []

    client.force_login(world.mediator_a)
    response = client.get(reverse("documents:download", args=[document.pk]))
    # The bytes come through the application, never a redirect to a signed address of the store.
    assert response.status_code == 200 and "Location" not in response
    body = b"".join(response.streaming_content)
    assert sha256(body) == document.sha256
    assert bucket.name not in response.serialize_headers().decode("latin-1")
    # Outside the case's scope the document does not exist, whatever the storage.
    client.force_login(world.mediator_b)
    assert client.get(reverse("documents:download", args=[document.pk])).status_code == 404


def test_an_attachment_goes_to_the_bucket_and_downloads_byte_for_byte(world, client, bucket, settings):
    case = case_in_state(world, S.JOINT_MEDIATION)
    attachment = ms.attachment_add(case_id=case.pk, actor=world.mediator_a, kind=Attachment.Kind.EVIDENCE,
                                   upload=SimpleUploadedFile("工资条.pdf", EVIDENCE, "application/pdf"))
    assert bucket.keys("attachments/") == [attachment.file.name]
    assert bucket.read(attachment.file.name) == EVIDENCE and attachment.sha256 == sha256(EVIDENCE)
    assert local_files(settings) == []
    client.force_login(world.mediator_a)
    response = client.get(reverse("attachment_download", args=[case.pk, attachment.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == EVIDENCE


def test_a_name_in_the_bucket_is_never_written_twice(bucket):
    # Two uploads under one name must not overwrite each other (the local disk's behaviour, which
    # the delete-on-failure paths rely on: deleting one upload must never remove another).
    first = default_storage.save("attachments/1/same.pdf", ContentFile(b"one"))
    second = default_storage.save("attachments/1/same.pdf", ContentFile(b"two"))
    assert first != second
    assert bucket.read(first) == b"one" and bucket.read(second) == b"two"


def test_verify_document_all_checks_the_bucket_and_finds_a_deleted_object(world, bucket, capsys):
    case = case_in_state(world, S.JOINT_MEDIATION)
    notice = services.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    record = services.document_issue(case_id=case.pk, kind=DocumentKind.APPLICATION_RECORD, actor=world.mediator_a)
    call_command("verify_document", "--all")
    assert "已检查 2 份登记文书，发现 0 个问题" in capsys.readouterr().out

    bucket.client.delete_object(Bucket=bucket.name, Key=notice.file.name)
    bucket.client.put_object(Bucket=bucket.name, Key=f"documents/{case.pk}/stray.pdf", Body=b"%PDF-1.4 stray")
    with pytest.raises(CommandError):
        call_command("verify_document", "--all")
    out = capsys.readouterr().out
    assert f"缺失：{case.number}" in out and notice.file.name in out
    assert f"未登记的文件：documents/{case.pk}/stray.pdf" in out
    assert record.file.name not in out


def test_a_failed_registration_leaves_no_object_in_the_bucket(world, bucket, monkeypatch):
    case = case_in_state(world, S.JOINT_MEDIATION)

    def refuse(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(IssuedDocument.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        services.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    assert bucket.keys() == [] and not IssuedDocument.objects.exists()


def test_listing_a_bucket_goes_past_one_page_of_keys(bucket):
    # A bucket answers at most 1,000 keys a request: the listing must follow the pages.
    names = [f"documents/{n // 10}/{n:04d}.pdf" for n in range(1005)]
    for name in names:
        bucket.client.put_object(Bucket=bucket.name, Key=name, Body=b"x")
    bucket.client.put_object(Bucket=bucket.name, Key="attachments/1/a.pdf", Body=b"y")
    assert list(walk(default_storage, "documents")) == sorted(names)
    assert list(walk(default_storage)) == sorted([*names, "attachments/1/a.pdf"])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_backup_carries_every_object_of_the_bucket(s3_endpoint, settings, tmp_path):
    made = make_bucket(s3_endpoint)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(s3_endpoint, made.name)}
    district = OrganisationFactory.create(name="测试区职工服务中心", level=level(0), case_number_prefix="测区调")
    town = OrganisationFactory.create(name="测试街道调解中心", level=level(1), parent=district,
                                      case_number_prefix="测街调")
    make_case(town, member(town, Role.MEDIATOR))
    stored = {key: sha256(made.read(key)) for key in made.keys()}
    registered = {d.file.name: d.sha256 for d in IssuedDocument.objects.all()}
    registered |= {a.file.name: a.sha256 for a in Attachment.objects.all()}
    assert stored == registered and len(stored) == 3

    result = backup.create_backup(tmp_path / "backup.tar")
    assert result.manifest["media"]["storage"] == "storages.backends.s3.S3Storage"
    with tarfile.open(result.path) as tar:
        carried = {m.name.removeprefix(backup.MEDIA_PREFIX): sha256(tar.extractfile(m).read())  # type: ignore[union-attr]
                   for m in tar.getmembers() if m.name.startswith(backup.MEDIA_PREFIX)}
    assert carried == stored and result.missing == [] and result.skipped == []
    assert local_files(settings) == []
    # A restore writes only into an empty bucket: this one is in use, a new one is empty.
    assert not backup.Media.default().is_empty()
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(s3_endpoint, make_bucket(s3_endpoint).name)}
    assert backup.Media.default().is_empty()


@pytest.mark.parametrize("bucket_name", [None, "mediation-files"])
def test_the_bucket_is_used_only_when_storage_s3_bucket_is_set(bucket_name):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORAGE_S3_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(SECRET_KEY="test-only-not-secret", STORAGE_S3_ENDPOINT_URL="https://store.example:9000")
    if bucket_name:
        env["STORAGE_S3_BUCKET"] = bucket_name
    script = "import json, mediation.settings as s; print(json.dumps(s.STORAGES['default']))"
    found = json.loads(subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                                      env=env, capture_output=True, text=True, check=True, timeout=60).stdout)
    if bucket_name is None:
        assert found == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    else:
        options = found["OPTIONS"]
        assert found["BACKEND"] == "storages.backends.s3.S3Storage" and options["bucket_name"] == bucket_name
        assert options["endpoint_url"] == "https://store.example:9000"
        # Private objects under names never reused (docs/operations.md, "Object storage").
        assert options["default_acl"] is None and options["file_overwrite"] is False
