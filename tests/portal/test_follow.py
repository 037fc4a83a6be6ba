"""Following the case (查询进度): the right case number and access code, nothing more, nothing for a guess."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mediation import services as ms
from mediation.audit.models import AuditEvent
from tests.portal.conftest import submitted
from workflows import services as ws

pytestmark = pytest.mark.django_db


def follow(client: Client, number: str, code: str):
    return client.post(reverse("portal:follow"), {"number": number, "access_code": code})


def without_token(page: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_the_worker_sees_the_state_in_their_words_and_the_acceptance_deadline(world):
    client = Client()
    case, code = submitted(client, township=str(world.town_a.pk))
    page = follow(client, case.number, code.lower().replace("-", " ")).content.decode()
    assert "已提交，等待受理" in page and case.number in page
    assert f"{case.acceptance_due:%Y-%m-%d}" in page and "受理期限" in page


def test_after_acceptance_the_worker_sees_accepted_and_the_mediation_period(world):
    client = Client()
    case, code = submitted(client, township=str(world.town_a.pk))
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    case.refresh_from_db()
    page = follow(client, case.number, code).content.decode()
    assert "已受理" in page and "等待受理" not in page
    assert f"{case.mediation_due:%Y-%m-%d}" in page


def test_mediators_notes_and_other_parties_personal_data_are_never_shown(world):
    client = Client()
    case, code = submitted(client, township=str(world.town_a.pk))
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    ms.session_record(case_id=case.pk, actor=world.mediator_a, held_at=timezone.now(), place="调解室",
                      attendees="双方", record="被申请人私下表示资金紧张，内部意见仅供调解员参考", result="")
    respondent = case.parties.get(role="respondent")
    page = follow(client, case.number, code).content.decode()
    assert "资金紧张" not in page and "内部意见" not in page
    assert respondent.employer.credit_code not in page
    assert world.mediator_a.username not in page


def test_a_wrong_code_and_an_unknown_number_get_the_same_answer(world):
    client = Client()
    case, code = submitted(client, township=str(world.town_a.pk))
    wrong = follow(client, case.number, "ABCD-EFGH-JKMN")
    unknown = follow(client, "锦调〔2099〕9999号", code)
    assert wrong.status_code == unknown.status_code == 400
    assert "案号或查询码不正确" in wrong.content.decode()
    assert without_token(wrong.content.decode()).replace(case.number, "") == \
        without_token(unknown.content.decode()).replace("锦调〔2099〕9999号", "")


def test_ones_code_does_not_open_someone_elses_case(world):
    client = Client()
    mine, my_code = submitted(client, township=str(world.town_a.pk))
    theirs, _their_code = submitted(Client(), township=str(world.town_a.pk))
    response = follow(client, theirs.number, my_code)
    assert response.status_code == 400 and theirs.number not in response.content.decode().split("<form")[0]
    assert "已提交" not in response.content.decode()


def test_every_follow_is_audited_with_its_result(world):
    client = Client()
    case, code = submitted(client, township=str(world.town_a.pk))
    follow(client, case.number, code)
    follow(client, case.number, "WRONG-CODE")
    rows = AuditEvent.objects.filter(action="portal.follow").order_by("pk")
    assert [(r.case_id, (r.new or {})["result"], r.actor_id) for r in rows] == [(case.pk, "shown", None),
                                                                         (case.pk, "refused", None)]
    assert all(code.replace("-", "") not in str(r.new) for r in rows)


def test_lookups_of_one_case_number_are_throttled_whatever_the_address(world, settings):
    settings.PORTAL_LOOKUP_RATE_PER_CASE = "3/hour"
    case, code = submitted(Client(), township=str(world.town_a.pk))
    for i in range(3):
        follow(Client(REMOTE_ADDR=f"10.0.0.{i + 1}"), case.number, "WRONG-CODE")
    response = follow(Client(REMOTE_ADDR="10.0.0.9"), case.number, code)  # even the right code waits
    assert response.status_code == 429 and "已提交" not in response.content.decode()
    assert AuditEvent.objects.filter(action="portal.follow", new__result="throttled").count() == 1


def test_lookups_from_one_address_are_throttled_across_case_numbers(world, settings):
    settings.PORTAL_LOOKUP_RATE_PER_IP = "2/hour"
    client = Client()
    assert follow(client, "锦调〔2026〕1号", "X").status_code == 400
    assert follow(client, "锦调〔2026〕2号", "X").status_code == 400
    assert follow(client, "锦调〔2026〕3号", "X").status_code == 429
