"""The web side: issuing by POST, downloading within scope, the case page's documents card, public verification."""
from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mediation.documents import registry, services
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.documents.render import DocumentRenderError
from mediation.documents.selectors import documents_for_case
from tests.documents import pdfcheck
from tests.documents.conftest import make_effective, rare_case, stored_files
from tests.lifecycle import case_in_state, snapshot
from workflows.states import CaseState as S

K = DocumentKind


def flip_one_byte(document: IssuedDocument) -> bytes:
    path = document.file.path
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(path, "wb").write(bytes(data))
    return bytes(data)


@pytest.fixture
def notice(world, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    return services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=world.mediator_a)


class TestIssue:
    def test_a_mediator_issues_a_document_from_the_case_page(self, world, client, media):
        case = case_in_state(world, S.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        response = client.post(reverse("documents:issue", args=[case.pk]), {"kind": K.ACCEPTANCE_NOTICE})
        assert response.status_code == 302 and response["Location"].startswith(reverse("case_detail", args=[case.pk]))
        document = IssuedDocument.objects.get()
        assert document.author == world.mediator_a and document.kind == K.ACCEPTANCE_NOTICE
        # The QR code and printed link point at the site the request came to.
        text = pdfcheck.squeezed(pdfcheck.stored(document))
        assert f"http://testserver/documents/verify/{document.code_display}/" in text

    def test_a_failed_render_shows_a_clear_chinese_message_and_changes_nothing(self, world, client, media, monkeypatch):
        case = case_in_state(world, S.JOINT_MEDIATION)
        before = snapshot(case)

        def broken(*args, **kwargs):
            raise DocumentRenderError("文书生成失败（documents/acceptance_notice.html：ValueError）。"
                                      "案件数据未作任何修改，请稍后重试或联系管理员。")

        monkeypatch.setattr(services, "render_pdf", broken)
        client.force_login(world.mediator_a)
        response = client.post(reverse("documents:issue", args=[case.pk]), {"kind": K.ACCEPTANCE_NOTICE}, follow=True)
        assert response.status_code == 200
        assert "文书生成失败" in response.content.decode() and "案件数据未作任何修改" in response.content.decode()
        assert snapshot(case) == before and not IssuedDocument.objects.exists() and not stored_files()

    def test_a_document_that_does_not_apply_is_refused_with_a_message(self, world, client, media):
        case = case_in_state(world, S.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        response = client.post(reverse("documents:issue", args=[case.pk]), {"kind": K.REJECTION_NOTICE})
        assert response.status_code == 302
        assert any("不能生成" in str(m) for m in get_messages(response.wsgi_request))
        assert not IssuedDocument.objects.exists()

    def test_issuing_is_refused_to_readers_and_hidden_outside_scope(self, world, client, media):
        case = case_in_state(world, S.JOINT_MEDIATION)
        client.force_login(world.auditor_a)
        assert client.post(reverse("documents:issue", args=[case.pk]), {"kind": K.ACCEPTANCE_NOTICE}).status_code == 403
        client.force_login(world.mediator_b)
        assert client.post(reverse("documents:issue", args=[case.pk]), {"kind": K.ACCEPTANCE_NOTICE}).status_code == 404
        assert not IssuedDocument.objects.exists()

    def test_issuing_needs_post(self, world, client, media):
        case = case_in_state(world, S.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        assert client.get(reverse("documents:issue", args=[case.pk])).status_code == 405

    def test_reissuing_an_effective_agreement_says_it_is_frozen(self, world, client, media):
        case, agreement = rare_case(world)
        make_effective(world, case, agreement)
        client.force_login(world.mediator_a)
        url = reverse("documents:issue", args=[case.pk])
        client.post(url, {"kind": K.AGREEMENT, "subject_id": agreement.pk})
        response = client.post(url, {"kind": K.AGREEMENT, "subject_id": agreement.pk})
        assert any("已冻结" in str(m) for m in get_messages(response.wsgi_request))
        assert IssuedDocument.objects.count() == 1


class TestDownload:
    def test_the_case_workers_download_the_registered_bytes(self, world, client, notice):
        client.force_login(world.supervisor_a)
        response = client.get(reverse("documents:download", args=[notice.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == pdfcheck.stored(notice)
        assert "attachment" in response["Content-Disposition"]

    def test_readers_without_the_personal_data_permission_get_a_reason_not_the_file(self, world, client, notice):
        client.force_login(world.auditor_a)
        response = client.get(reverse("documents:download", args=[notice.pk]))
        assert response.status_code == 403 and "身份证号码" in response.content.decode()

    def test_outside_scope_the_document_does_not_exist(self, world, client, notice):
        client.force_login(world.mediator_b)
        assert client.get(reverse("documents:download", args=[notice.pk])).status_code == 404
        client.logout()
        assert client.get(reverse("documents:download", args=[notice.pk])).status_code == 302

    def test_an_altered_stored_file_is_never_served(self, world, client, notice):
        flip_one_byte(notice)
        client.force_login(world.mediator_a)
        response = client.get(reverse("documents:download", args=[notice.pk]))
        assert response.status_code == 500 and "文件校验失败" in response.content.decode()


class TestCasePage:
    def test_the_context_helper_lists_documents_and_what_may_be_issued(self, world, notice):
        case = notice.case
        context = documents_for_case(case, world.mediator_a)["documents"]
        assert context["may_issue"] and context["may_download"]
        assert [d.pk for d in context["issued"]] == [notice.pk]
        row = next(r for r in context["issuable"] if r["kind"] == K.ACCEPTANCE_NOTICE)
        assert row["latest"] == notice
        first = context["timeline"][0]
        assert first["kind"] == "document" and str(first["obj"]).startswith("受理通知书")
        reader = documents_for_case(case, world.auditor_a)["documents"]
        assert not reader["may_issue"] and not reader["may_download"] and reader["issuable"] == []

    def test_the_case_documents_page_renders_the_card(self, world, client, notice, django_assert_max_num_queries):
        client.force_login(world.mediator_a)
        with django_assert_max_num_queries(40):
            response = client.get(reverse("documents:case_documents", args=[notice.case_id]))
        body = response.content.decode()
        assert response.status_code == 200
        assert reverse("documents:download", args=[notice.pk]) in body and notice.code_display in body
        assert 'name="kind" value="case_file"' in body


class TestVerify:
    def test_the_verification_page_is_public_and_shows_no_personal_data(self, world, client, notice):
        response = client.get(reverse("documents:verify_code", args=[notice.code_display]))
        body = response.content.decode()
        assert response.status_code == 200
        assert notice.case.number in body and notice.sha256 in body and "受理通知书" in body
        for party in notice.case.parties.select_related("person", "employer"):
            assert party.name not in body
            if party.person_id:
                assert party.person.id_number not in body and party.person.phone not in body

    def test_a_code_is_found_however_it_is_typed(self, world, client, notice):
        typed = notice.code_display.lower().replace("-", " ").replace("0", "o")
        response = client.get(reverse("documents:verify"), {"code": typed})
        assert response.status_code == 302
        assert response["Location"] == reverse("documents:verify_code", args=[notice.code_display])

    def test_an_unknown_code_says_so(self, client, db):
        response = client.get(reverse("documents:verify_code", args=["AAAA-BBBB-CCCC-DDDD"]))
        assert response.status_code == 404 and "未找到" in response.content.decode()

    def test_uploading_the_registered_file_matches_and_a_tampered_copy_does_not(self, world, client, notice):
        url = reverse("documents:verify_code", args=[notice.code_display])
        good = pdfcheck.stored(notice)
        response = client.post(url, {"file": SimpleUploadedFile("copy.pdf", good, "application/pdf")})
        assert "上传的文件与登记的文书完全一致" in response.content.decode()
        bad = bytearray(good)
        bad[len(bad) // 3] ^= 0x20
        response = client.post(url, {"file": SimpleUploadedFile("copy.pdf", bytes(bad), "application/pdf")})
        assert response.status_code == 200 and "上传的文件与登记的文书不同" in response.content.decode()


class TestTampering:
    def test_one_flipped_byte_fails_verification(self, world, notice):
        original = pdfcheck.stored(notice)
        assert registry.check_bytes(original).matches
        assert registry.check_bytes(original, code=notice.code_display).matches
        tampered = flip_one_byte(notice)
        assert not registry.stored_intact(notice)
        by_code = registry.check_bytes(tampered, code=notice.verification_code)
        assert by_code.document == notice and not by_code.matches
        alone = registry.check_bytes(tampered)
        assert not alone.matches and alone.document in (None, notice)
