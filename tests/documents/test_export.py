"""The supervisor's export: their scope only, one registered PDF/A per case, a manifest, both cores."""
from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from django.urls import reverse

from mediation.documents import export as exporting
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.documents.render import DocumentRenderError
from tests.documents import pdfcheck
from tests.factories import register
from tests.lifecycle import case_in_state
from workflows.states import CaseState as S


def read_zip(data: bytes) -> tuple[list[dict[str, str]], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
        files = {name: archive.read(name) for name in archive.namelist() if name != "manifest.csv"}
    return manifest, files


@pytest.fixture
def two_towns(world, media):
    mine = [case_in_state(world, S.JOINT_MEDIATION), case_in_state(world, S.CLOSED)]
    theirs = register(world.mediator_b, world.town_b)
    return mine, theirs


def test_a_supervisor_exports_their_scope_as_a_zip_with_a_manifest(world, client, settings, two_towns):
    settings.DOCUMENTS_EXPORT_WORKERS = 1
    mine, theirs = two_towns
    client.force_login(world.supervisor_a)
    response = client.post(reverse("documents:export"), {"state": "", "received_from": "", "received_to": ""})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    manifest, files = read_zip(b"".join(response.streaming_content))
    assert sorted(row["case"] for row in manifest) == sorted(c.number for c in mine)
    assert theirs.number not in {row["case"] for row in manifest}
    for row in manifest:
        assert row["status"] == "ok" and row["type"] == "卷宗"
        pdf = files[row["file"]]
        assert hashlib.sha256(pdf).hexdigest() == row["sha256"]
        registered = IssuedDocument.objects.get(verification_code=row["verification_code"].replace("-", ""))
        assert registered.sha256 == row["sha256"] and registered.kind == DocumentKind.CASE_FILE
        assert registered.author == world.supervisor_a


def test_only_supervisors_may_export(world, client, media):
    for user in (world.mediator_a, world.auditor_a):
        client.force_login(user)
        assert client.get(reverse("documents:export")).status_code == 403
        assert client.post(reverse("documents:export"), {}).status_code == 403


def test_the_export_form_shows_the_scope(world, client, two_towns):
    client.force_login(world.supervisor_a)
    response = client.get(reverse("documents:export"))
    assert response.status_code == 200 and "2 件案件" in response.content.decode()


def test_a_case_whose_file_fails_is_reported_in_the_manifest_and_the_rest_are_exported(world, media, monkeypatch,
                                                                                    two_towns):
    mine, _theirs = two_towns
    real = exporting._render_job
    failing = mine[0].number

    def sometimes(template_name, context, pdf_variant):
        if context["case"]["number"] == failing:
            raise DocumentRenderError("文书生成失败（测试）")
        return real(template_name, context, pdf_variant)

    monkeypatch.setattr(exporting, "_render_job", sometimes)
    target = io.BytesIO()
    cases = exporting.export_scope(world.supervisor_a)
    summary = exporting.export_to_file(target, user=world.supervisor_a, cases=cases, workers=1)
    assert (summary.exported, summary.failed) == (1, 1)
    manifest, files = read_zip(target.getvalue())
    failed = next(r for r in manifest if r["case"] == failing)
    assert failed["file"] == "" and "文书生成失败" in failed["status"]
    assert len(files) == 1
    assert not IssuedDocument.objects.filter(case=mine[0]).exists()


def test_two_worker_processes_render_the_same_files(world, media, two_towns):
    target = io.BytesIO()
    summary = exporting.export_to_file(target, user=world.supervisor_a,
                                       cases=exporting.export_scope(world.supervisor_a), workers=2)
    assert summary.workers == 2 and summary.exported == 2 and summary.failed == 0
    manifest, files = read_zip(target.getvalue())
    for row in manifest:
        pdf = files[row["file"]]
        assert hashlib.sha256(pdf).hexdigest() == row["sha256"]
        assert 'pdfaid:part="3"' in pdfcheck.xmp(pdf)
