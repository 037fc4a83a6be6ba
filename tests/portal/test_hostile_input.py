"""What a stranger may send the public pages: NUL bytes, huge and odd strings, repeated fields, hostile
file names, too many files, forged form posts, markup meant for the mediators' pages. Never a 500,
never a form taken without its CSRF token, never markup that runs on a mediator's or respondent's page."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mediation.models import Case
from tests.portal.conftest import PNG, application, submitted
from tests.portal.test_employer_acknowledgement import invite, last_code, link_from_case_page, opened, staff, token_of

pytestmark = pytest.mark.django_db
HOSTILE = ["\x00", "a\x00b", "x" * 100_000, "𝕏😀\u202e", "<script>alert(1)</script>", "'; drop table x; --", " ",
           "１２３"]
MARKUP = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _no_limits(settings):
    for rate in ("PORTAL_APPLY_RATE_PER_IP", "PORTAL_LOOKUP_RATE_PER_IP", "PORTAL_LOOKUP_RATE_PER_CASE",
                 "PORTAL_SMS_RATE_PER_CASE"):
        setattr(settings, rate, "")


def test_no_input_makes_a_500(world):
    failures: list[tuple[object, ...]] = []
    for value in HOSTILE:
        for field in application():
            for given in (value, [value, value]):
                status = Client().post(reverse("portal:apply"), application(**{field: given})).status_code
                if status >= 500:
                    failures.append(("apply", field, value[:20], status))
        for url, data in (("portal:follow", {"number": value, "access_code": value}),
                          ("portal:documents", {"number": value, "id_number": value})):
            status = Client().post(reverse(url), data).status_code
            if status >= 500:
                failures.append((url, value[:20], status))
        client = Client()
        client.post(reverse("portal:documents"), {"number": "锦调〔2099〕1号", "id_number": "x"})
        if client.post(reverse("portal:documents_code"), {"code": value}).status_code >= 500:
            failures.append(("code", value[:20]))
        token = value[:200].replace("\x00", "%00")
        for response in (Client().get(f"/service/employer/{token}/"),
                         Client().post(f"/service/employer/{token}/", {"code": value})):
            if response.status_code >= 500:
                failures.append(("respondent", value[:20], response.status_code))
    for data in ({}, application(township="9" * 30), application(township="-1"), application(categories=["nope"])):
        if Client().post(reverse("portal:apply"), data).status_code >= 500:
            failures.append(("apply", str(data)[:40]))
    assert Client().get("/service/documents/99999999999999999999999/download/").status_code == 302
    assert failures == []


def test_hostile_file_names_and_too_many_files(world):
    for name in ("../../etc/passwd.png", "x" * 1000 + ".png", "<img src=x>.png"):
        upload = SimpleUploadedFile(name, PNG, content_type="image/png")
        response = Client().post(reverse("portal:apply"), {**application(township=str(world.town_a.pk)),
                                                           "evidence": [upload]})
        assert response.status_code == 302, name
    stored = Case.objects.order_by("pk").first()
    assert stored is not None
    attachment = stored.attachments.get()
    assert "/" not in attachment.original_name and attachment.file.name.startswith(f"attachments/{stored.pk}/")
    many = [SimpleUploadedFile(f"{i}.png", PNG + bytes([i]), content_type="image/png") for i in range(101)]
    response = Client().post(reverse("portal:apply"), {**application(township=str(world.town_a.pk)),
                                                       "evidence": many})
    assert response.status_code == 400
    assert Case.objects.count() == 3


def test_every_public_form_needs_its_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    for url, data in ((reverse("portal:apply"), application()),
                      (reverse("portal:follow"), {"number": "x", "access_code": "y"}),
                      (reverse("portal:documents"), {"number": "x", "id_number": "y"}),
                      (reverse("portal:documents_end"), {}), ("/service/employer/abc/", {"code": "123456"}),
                      ("/service/employer/abc/resend/", {}), ("/service/employer/abc/answer/", {"answer": "consent"})):
        assert client.post(url, data).status_code == 403, url
    assert not Case.objects.exists()


def test_markup_in_an_application_never_runs_on_the_mediators_or_the_respondents_pages(world):
    case, _code = submitted(Client(), township=str(world.town_a.pk), name="李" + MARKUP[:30],
                            employer_name="某公司" + MARKUP, employer_address="锦屏街道" + MARKUP,
                            dispute_summary=MARKUP, claim_0_description=MARKUP[:200])
    mediator = staff(world.mediator_a)

    def clean(page: str) -> bool:
        return "<script>alert" not in page and "<img src=x" not in page

    case_page = mediator.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in case_page and clean(case_page)
    assert clean(mediator.get(reverse("case_list")).content.decode())
    assert invite(mediator, case).status_code == 302
    token = token_of(link_from_case_page(mediator, case))
    respondent = opened(token, last_code())
    assert clean(respondent.get(reverse("portal:respondent_answer", args=[token])).content.decode())
    assert respondent.post(reverse("portal:respondent_answer", args=[token]), {
        "answer": "refuse", "reason": MARKUP, "answered_by": MARKUP[:50]}).status_code == 302
    case_page = mediator.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "&lt;img src=x" in case_page and clean(case_page)
    assert clean(mediator.get(reverse("case_transition", args=[case.pk, "reject"])).content.decode())
