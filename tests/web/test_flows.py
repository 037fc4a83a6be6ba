"""Working a case through the web: intake, moves by POST, refusals, attachments."""
from __future__ import annotations

import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from mediation.models import Attachment, Case
from tests.factories import register, valid_credit_code, valid_id_number
from tests.lifecycle import case_in_state
from workflows.clocks import local_date
from workflows.states import CaseState


def intake_post(world, **overrides):
    data = {
        "organisation": world.town_a.pk, "application_form": "oral",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "channel": "walk_in",
        "categories": ["wages", "compensation"], "dispute_summary": "公司拖欠三个月工资",
        "reasons": "多次催讨未果", "dispute_known_on": "",
        "employer_name": "宁波甬兴电器有限公司", "employer_credit_code": valid_credit_code(),
        "employer_legal_representative": "陈建国", "employer_address": "奉化区锦屏街道", "employer_phone": "",
        "employer_industry": "制造业", "work_form": "", "platform_name": "", "platform_credit_code": "",
        "intake_token": str(uuid.uuid4()),
        "applicants-TOTAL_FORMS": "2", "applicants-INITIAL_FORMS": "0", "applicants-MIN_NUM_FORMS": "1",
        "applicants-MAX_NUM_FORMS": "1000",
        "applicants-0-name": "王建军", "applicants-0-sex": "M", "applicants-0-id_number": valid_id_number(),
        "applicants-0-phone": "13805740001", "applicants-0-address": "",
        "applicants-1-name": "李秀英", "applicants-1-sex": "F", "applicants-1-id_number": valid_id_number(),
        "applicants-1-phone": "13805740002", "applicants-1-address": "",
        "claims-TOTAL_FORMS": "2", "claims-INITIAL_FORMS": "0", "claims-MIN_NUM_FORMS": "0",
        "claims-MAX_NUM_FORMS": "1000",
        "claims-0-description": "拖欠工资", "claims-0-category": "wages", "claims-0-amount": "18,600",
        "claims-1-description": "经济补偿金", "claims-1-category": "compensation", "claims-1-amount": "9300.50",
        "agents-TOTAL_FORMS": "0", "agents-INITIAL_FORMS": "0", "agents-MIN_NUM_FORMS": "0",
        "agents-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


class TestIntake:
    def test_oral_application_with_two_applicants_and_claims_is_registered(self, world, client):
        client.force_login(world.mediator_a)
        response = client.post(reverse("case_intake"), intake_post(world))
        case = Case.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse("case_detail", args=[case.pk])
        assert case.applicant_count == 2 and str(case.amount_claimed) == "27900.50"
        assert case.application_form == "oral" and case.state == CaseState.REGISTERED

    def test_bad_id_number_is_shown_inline_and_nothing_is_saved(self, world, client):
        client.force_login(world.mediator_a)
        data = intake_post(world, **{"applicants-1-id_number": "330283199001011230"})
        response = client.post(reverse("case_intake"), data)
        assert response.status_code == 400
        body = response.content.decode()
        assert "身份证号码" in body and "案件尚未保存" in body
        assert not Case.objects.exists()

    def test_negative_amount_is_refused_inline(self, world, client):
        client.force_login(world.mediator_a)
        response = client.post(reverse("case_intake"), intake_post(world, **{"claims-0-amount": "-5"}))
        assert response.status_code == 400 and "金额不能为负数" in response.content.decode()
        assert not Case.objects.exists()

    def test_double_submitted_form_creates_one_case(self, world, client):
        client.force_login(world.mediator_a)
        data = intake_post(world)
        first = client.post(reverse("case_intake"), data)
        second = client.post(reverse("case_intake"), data)
        assert Case.objects.count() == 1
        assert first["Location"] == second["Location"]

    def test_same_applicant_against_same_employer_is_warned_then_confirmed(self, world, client):
        client.force_login(world.mediator_a)
        data = intake_post(world)
        client.post(reverse("case_intake"), data)
        again = dict(data, intake_token=str(uuid.uuid4()))
        warned = client.post(reverse("case_intake"), again)
        assert warned.status_code == 400 and "已有未结案件" in warned.content.decode()
        assert Case.objects.count() == 1
        confirmed = client.post(reverse("case_intake"), dict(again, confirm_duplicate="1"))
        assert confirmed.status_code == 302 and Case.objects.count() == 2

    def test_auditor_cannot_register(self, world, client):
        client.force_login(world.auditor_a)
        assert client.get(reverse("case_intake")).status_code == 403
        assert client.post(reverse("case_intake"), intake_post(world)).status_code == 403
        assert not Case.objects.exists()


class TestMoves:
    def test_accept_by_post_moves_the_case(self, world, client):
        case = register(world.mediator_a, world.town_a)
        client.force_login(world.mediator_a)
        response = client.post(reverse("case_transition", args=[case.pk, "accept"]), {
            "expected_state": "registered", "consent_confirmed": "on", "consent_note": "电话征询，同意调解",
            "consent_recorded_on": local_date(case.received_at).isoformat()})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == CaseState.JOINT_MEDIATION
        assert case.respondent_consent == "consented"

    def test_the_action_panel_points_to_the_work_that_is_not_a_move(self, world, client):
        """Sessions, the agreement and payments are recorded in their own sections further down the
        page; while they are the next step the action panel links to them (on a phone they are
        screens away)."""
        from tests.lifecycle import case_in_state

        working = case_in_state(world, CaseState.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        panel = client.get(reverse("case_detail", args=[working.pk])).content.decode().split('id="h-actions"')[1]
        panel = panel.split("</section>")[0]
        assert 'href="#h-sessions"' in panel and reverse("agreement_edit", args=[working.pk]) in panel
        settled = case_in_state(world, CaseState.SETTLED)
        panel = client.get(reverse("case_detail", args=[settled.pk])).content.decode().split('id="h-actions"')[1]
        assert "登记履行" in panel.split("</section>")[0] and 'href="#h-agreement"' in panel.split("</section>")[0]
        client.force_login(world.auditor_a)
        panel = client.get(reverse("case_detail", args=[settled.pk])).content.decode().split('id="h-actions"')[1]
        assert 'href="#h-agreement"' not in panel.split("</section>")[0]  # a reader is shown no work to do

    def test_moves_need_post(self, world, client):
        case = register(world.mediator_a, world.town_a)
        client.force_login(world.mediator_a)
        assert client.get(reverse("case_transition", args=[case.pk, "accept"])).status_code == 405

    def test_moves_need_csrf(self, world):
        from django.test import Client

        case = register(world.mediator_a, world.town_a)
        c = Client(enforce_csrf_checks=True)
        c.force_login(world.mediator_a)
        assert c.post(reverse("case_transition", args=[case.pk, "accept"])).status_code == 403
        case.refresh_from_db()
        assert case.state == CaseState.REGISTERED

    def test_case_of_another_township_answers_404_everywhere(self, world, client):
        case = case_in_state(world, CaseState.JOINT_MEDIATION)
        client.force_login(world.mediator_b)
        assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
        assert client.post(reverse("case_transition", args=[case.pk, "terminate"]), {"reason": "x"}).status_code == 404
        assert client.get(reverse("agreement_edit", args=[case.pk])).status_code == 404
        list_page = client.get(reverse("case_list"), {"q": case.number}).content.decode()
        assert reverse("case_detail", args=[case.pk]) not in list_page and "没有符合条件的案件" in list_page
        by_party = client.get(reverse("case_list"), {"q": case.employer.name}).content.decode()
        assert reverse("case_detail", args=[case.pk]) not in by_party
        case.refresh_from_db()
        assert case.state == CaseState.JOINT_MEDIATION

    def test_forbidden_move_answers_403_with_the_reason(self, world, client):
        case = case_in_state(world, CaseState.REJECTED)
        client.force_login(world.mediator_a)  # may see the case, may not close it
        response = client.post(reverse("case_transition", args=[case.pk, "close"]), {})
        assert response.status_code == 403 and "结案" in response.content.decode()
        case.refresh_from_db()
        assert case.state == CaseState.REJECTED

    def test_missing_reason_re_shows_the_form_with_the_error(self, world, client):
        case = case_in_state(world, CaseState.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        response = client.post(reverse("case_transition", args=[case.pk, "terminate"]),
                               {"reason": "", "expected_state": "joint_mediation"})
        assert response.status_code == 400 and "这个字段是必填项" in response.content.decode()

    def test_acting_on_a_stale_page_gives_a_clear_message(self, world, client):
        case = case_in_state(world, CaseState.JOINT_MEDIATION)
        from workflows import services as ws

        ws.case_terminate(case_id=case.pk, actor=world.mediator_a2, reason="调解不成")
        client.force_login(world.mediator_a)
        response = client.post(reverse("case_transition", args=[case.pk, "withdraw"]),
                               {"reason": "撤回", "applicant_withdrew": "on", "expected_state": "joint_mediation"},
                               follow=True)
        assert "已被他人更新" in response.content.decode()
        case.refresh_from_db()
        assert case.state == CaseState.MEDIATION_FAILED

    def test_supervisor_approves_from_the_queue_and_the_case_moves_up(self, world, client):
        case = case_in_state(world, CaseState.ESCALATION_PENDING)
        client.force_login(world.supervisor_a)
        queue = client.get(reverse("escalation_queue")).content.decode()
        assert case.number in queue
        client.post(reverse("case_transition", args=[case.pk, "approve_escalation"]), {"reason": "同意"})
        case.refresh_from_db()
        assert case.organisation == world.town_a and case.state == CaseState.JOINT_MEDIATION
        client.force_login(world.enterprise_mediator)  # the former mediator still reads it
        assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


class TestAttachments:
    def test_upload_sniffs_the_type_stores_the_hash_and_downloads_for_those_who_may(self, world, client):
        import hashlib

        case = case_in_state(world, CaseState.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        upload = SimpleUploadedFile("工资条.png.exe", PNG, content_type="application/octet-stream")
        response = client.post(reverse("attachment_upload", args=[case.pk]), {"file": upload, "kind": "evidence"})
        assert response.status_code == 302
        attachment = Attachment.objects.get()
        assert attachment.content_type == "image/png" and attachment.sha256 == hashlib.sha256(PNG).hexdigest()
        download = client.get(reverse("attachment_download", args=[case.pk, attachment.pk]))
        assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
        client.force_login(world.mediator_b)
        assert client.get(reverse("attachment_download", args=[case.pk, attachment.pk])).status_code == 404

    def test_content_that_is_not_an_accepted_type_is_refused_whatever_its_name(self, world, client):
        case = case_in_state(world, CaseState.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        fake = SimpleUploadedFile("证据.pdf", b"MZ\x90\x00 this is really a program", content_type="application/pdf")
        response = client.post(reverse("attachment_upload", args=[case.pk]), {"file": fake, "kind": "evidence"})
        assert response.status_code == 400 and "只能上传" in response.content.decode()
        assert not Attachment.objects.exists()

    def test_oversize_file_is_refused_and_nothing_is_stored(self, world, client, settings, tmp_path):
        import os

        settings.ATTACHMENT_MAX_BYTES = 100
        settings.MEDIA_ROOT = str(tmp_path)
        case = case_in_state(world, CaseState.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        big = SimpleUploadedFile("a.pdf", PDF + b"0" * 200, content_type="application/pdf")
        response = client.post(reverse("attachment_upload", args=[case.pk]), {"file": big, "kind": "evidence"})
        assert response.status_code == 400 and "文件过大" in response.content.decode()
        assert not Attachment.objects.exists()
        assert not any(files for _, _, files in os.walk(tmp_path))

    def test_auditor_may_download_but_not_upload(self, world, client):
        case = case_in_state(world, CaseState.JOINT_MEDIATION)
        client.force_login(world.auditor_a)
        response = client.post(reverse("attachment_upload", args=[case.pk]),
                               {"file": SimpleUploadedFile("a.pdf", PDF), "kind": "evidence"})
        assert response.status_code == 403
        assert not Attachment.objects.exists()


class TestQueryCounts:
    def test_case_list_queries_do_not_grow_with_page_size(self, world, client, django_assert_max_num_queries):
        for _ in range(30):
            register(world.mediator_a, world.town_a, applicants=3)
        client.force_login(world.supervisor_a)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        # The first request of each size on a connection prepares the statements written once per process
        # (PostgreSQL, mediation/prepared.py; the first page's is one per page size): once, not per row;
        # counted from the second on.
        for per_page in (20, 100):
            client.get(reverse("case_list"), {"per_page": per_page})
        counts = []
        for per_page in (20, 100):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse("case_list"), {"per_page": per_page}).status_code == 200
            counts.append(len(ctx.captured_queries))
        assert counts[0] == counts[1]
        with django_assert_max_num_queries(16):
            client.get(reverse("case_list"), {"per_page": 100})

    def test_case_page_queries_are_bounded(self, world, client, django_assert_max_num_queries):
        case = case_in_state(world, CaseState.PERFORMED)
        client.force_login(world.supervisor_a)
        client.get(reverse("case_detail", args=[case.pk]))
        # 45 for the case page, plus the bell's unread count (one COUNT on an index).
        with django_assert_max_num_queries(46):
            assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


class TestSearch:
    def test_search_finds_by_number_applicant_employer_and_exact_id_number_only(self, world, client):
        from mediation.selectors import CaseFilters, case_list_visible_to

        case = register(world.mediator_a, world.town_a)
        other = register(world.mediator_a, world.town_a)
        person = case.parties.get(role="applicant").person

        def found(text):
            return set(case_list_visible_to(user=world.mediator_a, filters=CaseFilters(query=text))
                       .values_list("pk", flat=True))

        assert found(case.number) == {case.pk}
        assert found(person.name) >= {case.pk}
        assert found(case.employer.name[-4:]) >= {case.pk}
        assert found(person.id_number) == {case.pk}
        assert case.pk not in found(person.id_number[:10])  # partial ID numbers find nothing
        assert other.pk not in found(case.employer.name)
        # and nothing outside the user's scope, however exact the query
        assert not case_list_visible_to(user=world.mediator_b, filters=CaseFilters(query=person.id_number)).exists()
