"""Small things people read off documents and pages: times with their zone, titles said once,
the integrity-failure page, and a signature line for every party of the session record."""
from __future__ import annotations

import datetime
import io
import logging
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from mediation import services as ms
from mediation.documents import services
from mediation.documents.context import subjects_for
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.models import Case, PartyRole
from mediation.services import PersonInput
from tests.documents import pdfcheck
from tests.documents.conftest import full_case, rare_case
from tests.factories import register
from tests.lifecycle import case_in_state, mediator_for
from workflows import services as ws
from workflows.states import CaseState as S

K = DocumentKind
# 08:30:12 UTC is 16:30 in Beijing: China Standard Time is UTC+8 all year (no daylight saving).
ISSUED_UTC = datetime.datetime(2026, 12, 5, 8, 30, 12, tzinfo=datetime.UTC)
BEIJING = "2026-12-05 16:30"


def verify(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_document", *args, stdout=out)
    return out.getvalue()


def issue(world, case: Case, subject) -> IssuedDocument:
    actor = world.supervisor_a if subject.kind == K.CASE_FILE else mediator_for(world, case)
    return services.document_issue(case_id=case.pk, kind=subject.kind, subject_id=subject.subject_id, actor=actor)


@pytest.fixture
def notice(world, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    document = services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    IssuedDocument.objects.filter(pk=document.pk).update(created_at=ISSUED_UTC)
    document.refresh_from_db()
    return document


# --- (a) times in the project's zone, saying which -----------------------------------------------------------

def test_verify_document_prints_the_time_of_issue_in_beijing_time_and_says_so(notice):
    line = next(x for x in verify(notice.code_display).splitlines() if x.startswith("生成时间"))
    assert f"{BEIJING}（北京时间）" in line
    assert "08:30" not in line


def test_the_web_verification_page_shows_the_same_time_the_same_way(notice, client):
    page = client.get(reverse("documents:verify_code", args=[notice.code_display])).content.decode()
    assert f"{BEIJING}（北京时间）" in page


def test_the_checked_file_route_prints_the_same_time(notice, tmp_path):
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(pdfcheck.stored(notice))
    assert f"{BEIJING}（北京时间）" in verify("--file", str(copy))


# --- (b) a title is said once ---------------------------------------------------------------------------------

def _every_kind(world) -> list[tuple[Case, object]]:
    """One subject of every kind: a whole case, a rejected one, a failed one, one waiting for escalation."""
    cases = [full_case(world), case_in_state(world, S.REJECTED), case_in_state(world, S.MEDIATION_FAILED),
             case_in_state(world, S.ESCALATION_PENDING)]
    found: dict[str, tuple[Case, object]] = {}
    for case in cases:
        for subject in subjects_for(case):
            found.setdefault(subject.kind, (case, subject))
    assert set(found) == set(K.values)
    return list(found.values())


def _doubled(text: str) -> list[str]:
    """Any "X · X…" where the same title follows itself (调解协议书 · 调解协议书)."""
    return [m.group(0) for m in re.finditer(r"(\S+?)\s*·\s*\1", text)]


def test_every_kind_is_named_once_in_the_command_the_pdf_and_the_case_page(world, media, client):
    client.force_login(world.supervisor_a)
    for case, subject in _every_kind(world):
        document = issue(world, case, subject)
        kind = str(K(document.kind).label)
        line = next(x for x in verify(document.code_display).splitlines() if x.startswith("登记文书"))
        assert line.count(document.title) == 1 and line.count(kind) == 1, line
        assert not _doubled(line), line
        metadata = pdfcheck.reader(pdfcheck.stored(document)).metadata
        title = str(metadata.get("/Title") if metadata else "")
        assert title == f"{case.number} {document.title}" and title.count(kind) <= 1 and not _doubled(title), title
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        assert not [d for d in _doubled(re.sub(r"<[^>]+>", " ", page)) if kind in d], kind
        response = client.get(reverse("documents:download", args=[document.pk]))
        assert response["Content-Disposition"].count(".pdf") == 1


# --- (c) a stored file that fails its SHA-256 -----------------------------------------------------------------

def _alter(document: IssuedDocument) -> None:
    path = document.file.path
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(path, "wb").write(bytes(data))


def test_an_altered_stored_file_gets_its_own_page_a_server_error_status_and_a_log_without_personal_data(
        world, client, notice, caplog):
    _alter(notice)
    client.force_login(world.mediator_a)
    with caplog.at_level(logging.ERROR, logger="mediation.documents.views"):
        response = client.get(reverse("documents:download", args=[notice.pk]))
    page = response.content.decode()
    # The server's storage failed, not the request or the user's rights (RFC 9110 §15.6.1): a 5xx, never 403.
    assert response.status_code == 500
    assert "无权操作" not in page and "<title>文书文件校验失败" in page
    assert "SHA-256" in page and notice.code_display in page and "管理员" in page
    assert "application/pdf" not in response.get("Content-Type", "")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert str(notice.pk) in logged and notice.sha256 in logged
    for party in notice.case.parties.all():
        assert party.name not in logged and (party.phone or "\0") not in logged
        if party.person:
            assert party.person.id_number not in logged
    assert notice.case.number not in logged


# --- (d) the session record: a line for every party --------------------------------------------------------------

def _session(world, case: Case, mediators=()):
    session = ms.session_record(case_id=case.pk, actor=world.mediator_a, held_at=timezone.now(),
                                place="锦屏街道调解室", attendees="各方当事人", record="双方陈述。",
                                mediators=list(mediators) or [world.mediator_a])
    subject = next(s for s in subjects_for(case, K.SESSION_RECORD) if s.subject_id == session.pk)
    return issue(world, case, subject)


def test_two_workers_and_a_firm_each_get_their_line_and_the_firm_its_seal_and_signatory(world, media):
    case, _agreement = rare_case(world)
    text = pdfcheck.squeezed(pdfcheck.stored(_session(world, case, [world.mediator_a, world.mediator_a2])))
    applicants = case.parties.filter(role=PartyRole.APPLICANT)
    assert text.count("申请人（签名）") - text.count("被申请人（签名）") == applicants.count() == 2
    for applicant in applicants:
        assert f"申请人（签名）：{applicant.name}" in text
    assert text.count("被申请人（盖章）：宁波喆珺精密机械有限公司") == 1
    assert text.count("法定代表人或委托代理人（签名）") == 1
    assert text.count("调解员（签名）") == 2 and text.count("记录人（签名）") == 1


def test_an_agent_may_sign_on_the_line_of_the_party_they_attended_for(world, media):
    # A registration's agents act for the first applicant.
    case = register(world.mediator_a, world.town_a, applicants=2, agents=[PersonInput(name="林律师")])
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    worker = case.parties.filter(role=PartyRole.APPLICANT).order_by("position", "pk").first()
    assert case.parties.get(role=PartyRole.AGENT).represents_id == worker.pk
    text = pdfcheck.squeezed(pdfcheck.stored(_session(world, case)))
    assert f"申请人（签名）：{worker.name}或委托代理人林律师" in text
    assert text.count("申请人（签名）") - text.count("被申请人（签名）") == 2  # the agent has no line of their own


def test_a_collective_case_of_seventeen_parties_has_seventeen_lines_two_to_a_row(world, media):
    case = register(world.mediator_a, world.town_a, applicants=16)
    assert Case.objects.get(pk=case.pk).is_collective  # ten or more workers (劳动争议调解仲裁法 art. 7)
    ws.case_accept(case_id=case.pk, actor=world.mediator_a)
    pdf = pdfcheck.stored(_session(world, case))
    text = pdfcheck.squeezed(pdf)
    assert text.count("申请人（签名）") - text.count("被申请人（签名）") == 16
    assert text.count("被申请人（盖章）") == 1 and text.count("法定代表人或委托代理人（签名）") == 1
    lines = [re.sub(r"\s+", "", x) for page in pdfcheck.pages_text(pdf) for x in page.splitlines()]
    pairs = [x for x in lines if x.count("申请人（签名）") == 2]
    assert len(pairs) == 8  # sixteen workers, two to a row
    assert len(pdfcheck.pages_text(pdf)) <= 2
