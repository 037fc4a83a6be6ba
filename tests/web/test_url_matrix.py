"""Every URL of the site × every role, inside and outside the case's scope.

The matrix below is written by hand from DOMAIN.md §5 (who may do what, where):
404 for a case outside the user's scope (its existence is not revealed), 403 inside
the scope without the right, 200 or a redirect back to the work with it; the
anonymous visitor is sent to the login page. The test walks the URL conf itself,
so a view added without a row here fails ``test_every_url_pattern_is_in_the_matrix``
instead of escaping the rules. Administration (``admin:``) is Django's own site with
its own permission checks, tested in tests/mediation/test_admin.py.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mediation import services as ms
from mediation.models import Signature
from tests.lifecycle import TODAY, case_in_state, print_for_signing, signing_code
from workflows.clocks import local_date
from workflows.states import CaseState as S

#: The people who knock, in the matrix's column order. All but the anonymous visitor
#: and the two outsiders hold their role at (or above) 锦屏街道, where every case of
#: the matrix is handled; the outsiders hold theirs at 溪口镇.
ROLES = ("anonymous", "mediator", "supervisor", "district_supervisor", "auditor", "administrator",
         "outsider", "outside_supervisor")

# Shorthands for the rows: the statuses of the eight columns above.
PAGE_FOR_ALL = (302, 200, 200, 200, 200, 200, 200, 200)
CASE_PAGE = (302, 200, 200, 200, 200, 200, 404, 404)
WORK_POST = (302, 302, 302, 302, 403, 403, 404, 404)  # those who work the case; readers refused
SUPERVISOR_POST = (302, 403, 302, 302, 403, 403, 404, 404)  # supervisors of the case's organisation or above
PERSONAL_DATA_GET = (302, 200, 200, 200, 403, 403, 404, 404)  # files that carry full personal data
FIGURES = (302, 403, 200, 200, 200, 200, 403, 200)  # supervisors, administrators, auditors
IMPORT = (302, 403, 200, 200, 403, 200, 403, 200)  # supervisors and administrators
SUPERVISORS_ONLY = (302, 403, 200, 200, 403, 403, 403, 200)
AUDIT_READERS = (302, 403, 403, 403, 200, 200, 403, 403)  # auditors and administrators (read_audit)
PUBLIC = (200, 200, 200, 200, 200, 200, 200, 200)


def _nothing(world) -> dict[str, Any]:
    return {}


def _no_kwargs(made: dict[str, Any]) -> dict[str, Any]:
    return {}


@dataclass
class Knock:
    """How one URL is tried: what it needs to exist, and what is sent."""

    statuses: tuple[int, ...]
    method: str = "get"
    setup: Callable[[Any], dict[str, Any]] = _nothing
    kwargs: Callable[[dict[str, Any]], dict[str, Any]] = _no_kwargs
    data: Callable[[Any, dict[str, Any]], dict[str, Any]] = lambda world, made: {}
    query: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _case(state: str) -> Callable[[Any], dict[str, Any]]:
    def make(world) -> dict[str, Any]:
        case = case_in_state(world, state)
        assert case.organisation_id == world.town_a.pk, "the matrix's cases are handled at 锦屏街道"
        return {"case": case}

    return make


def _draft(world) -> dict[str, Any]:
    made = _case(S.JOINT_MEDIATION)(world)
    made["agreement"] = ms.agreement_draft(
        case_id=made["case"].pk, actor=world.mediator_a, dispute_summary="拖欠工资",
        terms=["被申请人于2026年12月31日前支付申请人工资人民币壹万元整。"],
        instalments=[ms.InstalmentInput(amount=Decimal("10000.00"), due_on=TODAY + datetime.timedelta(days=30))])
    print_for_signing(world.mediator_a, made["agreement"])
    return made


def _instalment(world) -> dict[str, Any]:
    made = _case(S.SETTLED)(world)
    made["instalment"] = made["case"].effective_agreement().instalments.first()
    return made


def _paid_instalment(world) -> dict[str, Any]:
    made = _instalment(world)
    ms.instalment_record_payment(instalment_id=made["instalment"].pk, actor=world.mediator_a, paid_on=TODAY,
                                 paid_amount="6000.00")
    return made


def _referral(world) -> dict[str, Any]:
    made = _case(S.REFERRED)(world)
    made["referral"] = made["case"].referrals.get()
    return made


def _pdf(name: str = "evidence.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")


def _attachment(world) -> dict[str, Any]:
    made = _case(S.JOINT_MEDIATION)(world)
    made["attachment"] = ms.attachment_add(case_id=made["case"].pk, actor=world.mediator_a, upload=_pdf(),
                                           kind="evidence", description="工资条")
    return made


def _document(world) -> dict[str, Any]:
    from mediation.documents import services as documents

    made = _case(S.REGISTERED)(world)
    made["document"] = documents.document_issue(case_id=made["case"].pk, kind="application_record",
                                                actor=world.mediator_a)
    return made


def _case_kwargs(made: dict[str, Any]) -> dict[str, Any]:
    return {"pk": made["case"].pk}


def _respondent(made: dict[str, Any]) -> dict[str, Any]:
    from mediation.models import CaseParty, PartyRole

    return {"party": CaseParty.objects.get(case=made["case"], role=PartyRole.RESPONDENT).pk, "phone": "13805742222"}


def _invitation(world) -> dict[str, Any]:
    """A respondent's confirmation link (portal/acknowledgement.py); the public pages' counters afresh."""
    from django.core.cache import cache

    from portal import acknowledgement

    made = _case(S.REGISTERED)(world)
    invited = acknowledgement.invitation_create(case_id=made["case"].pk, actor=world.mediator_a,
                                                party_id=_respondent(made)["party"], phone="13805742222")
    cache.clear()
    return {**made, "token": invited.token}


def _ledger(world) -> dict[str, Any]:
    """A ledger of one case, as its supervisor exports it: checking it again finds nothing to add."""
    from mediation.reports import ledger

    made = _case(S.REJECTED)(world)
    made["xlsx"] = ledger.ledger_export(user=world.supervisor_a, filters=None).file.read()
    return made


def _ledger_file(world, made) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("ledger.xlsx", made["xlsx"]), "action": "check"}


def _notification(world) -> dict[str, Any]:
    """A reminder for 锦屏's mediator: only its addressee may mark it read; for anyone else it does not exist."""
    from notifications.models import Notification

    made = _case(S.REGISTERED)(world)
    made["notification"] = Notification.objects.create(
        user=world.mediator_a, case=made["case"], key=f"acceptance:{made['case'].pk}:{made['case'].pk}:2026-11-25",
        threshold="on_day", subject="受理期限，今天到期", body="受理期限，今天到期")
    return made


def _job(world) -> dict[str, Any]:
    """锦屏's supervisor's finished ledger export: theirs alone to download; for anyone else it does not exist."""
    from jobs.models import Job
    from jobs.tasks import run_job
    from mediation.permissions import reach_signature

    job = Job.objects.create(owner=world.supervisor_a, kind=Job.Kind.LEDGER,
                             parameters={"filters": {}, "reach": reach_signature(world.supervisor_a)})
    run_job.apply(args=(job.pk,))
    return {"job": job}


def _access_token(world) -> dict[str, Any]:
    from api.tokens import token_create

    return {"token": token_create(actor=world.mediator_a, name="同步", scope="read", days=30).token}


MATRIX: dict[str, Knock] = {
    "home": Knock(PAGE_FOR_ALL),
    "login": Knock(PUBLIC),
    "logout": Knock((302,) * 8, method="post"),
    # One's own password and second factor. Nobody here has a device yet, so there is
    # nothing to verify (back to the work) and no recovery codes (sent to set one up).
    "password_change": Knock(PAGE_FOR_ALL),
    "password_change_done": Knock(PAGE_FOR_ALL),
    "otp_setup": Knock(PAGE_FOR_ALL),
    "otp_verify": Knock((302,) * 8),
    "otp_recovery_codes": Knock((302,) * 8),
    # One's own API access tokens; another's token does not exist (404).
    "api_tokens": Knock(PAGE_FOR_ALL),
    "api_token_revoke": Knock((302, 302, 404, 404, 404, 404, 404, 404), method="post", setup=_access_token,
                              kwargs=lambda made: {"pk": made["token"].pk}),
    "set_language": Knock((302,) * 8, method="post", data=lambda world, made: {"language": "en", "next": "/"}),
    "case_list": Knock(PAGE_FOR_ALL),
    "deadlines": Knock(PAGE_FOR_ALL),
    # Registering happens in one's own organisation; the outsiders register at 溪口镇.
    "case_intake": Knock((302, 200, 200, 200, 403, 403, 200, 200)),
    "case_detail": Knock(CASE_PAGE, setup=_case(S.REGISTERED), kwargs=_case_kwargs),
    # Acceptance with the respondents' consent to mediation (人社部令第17号), asked on the day of receipt.
    "case_transition": Knock(WORK_POST, method="post", setup=_case(S.REGISTERED),
                             kwargs=lambda made: {"pk": made["case"].pk, "name": "accept"},
                             data=lambda world, made: {"consent_confirmed": "on", "consent_note": "电话征询，同意调解",
                                                       "consent_recorded_on": local_date(made["case"].received_at)}),
    "session_new": Knock(WORK_POST, method="post", setup=_case(S.JOINT_MEDIATION), kwargs=_case_kwargs,
                         data=lambda world, made: {"held_at": "2026-11-20T09:30", "place": "调解室",
                                                   "attendees": "双方当事人", "record": "双方陈述了各自意见。"}),
    "agreement_edit": Knock(PERSONAL_DATA_GET, setup=_case(S.JOINT_MEDIATION), kwargs=_case_kwargs),
    "agreement_correct": Knock(WORK_POST, method="post", setup=_case(S.SETTLED), kwargs=_case_kwargs),
    "signature_add": Knock(WORK_POST, method="post", setup=_draft,
                           kwargs=lambda made: {"pk": made["case"].pk, "agreement_id": made["agreement"].pk},
                           data=lambda world, made: {"kind": Signature.Kind.MEDIATOR, "signed_on": "2026-11-20",
                                                     "document_code": signing_code(made["agreement"])}),
    "payment_record": Knock(WORK_POST, method="post", setup=_instalment,
                            kwargs=lambda made: {"pk": made["case"].pk, "instalment_id": made["instalment"].pk},
                            data=lambda world, made: {"paid_on": "2026-11-20", "paid_amount": "6000.00"}),
    # Correcting a recorded payment is working the case, like recording it.
    "payment_correct": Knock(WORK_POST, method="post", setup=_paid_instalment,
                             kwargs=lambda made: {"pk": made["case"].pk, "instalment_id": made["instalment"].pk},
                             data=lambda world, made: {"paid_on": "2026-11-20", "paid_amount": "5000.00",
                                                       "reason": "银行回单显示实付5000元"}),
    "followup_new": Knock(WORK_POST, method="post", setup=_case(S.PERFORMED), kwargs=_case_kwargs,
                          data=lambda world, made: {"visited_on": "2026-11-20", "method": "phone",
                                                    "contact": "申请人", "content": "款项已到账", "satisfied": "on"}),
    "referral_outcome": Knock(WORK_POST, method="post", setup=_referral,
                              kwargs=lambda made: {"pk": made["case"].pk, "referral_id": made["referral"].pk},
                              data=lambda world, made: {"outcome": "award", "outcome_on": "2026-11-20",
                                                        "summary": "仲裁裁决支付工资"}),
    "assign_mediators": Knock(SUPERVISOR_POST, method="post", setup=_case(S.JOINT_MEDIATION), kwargs=_case_kwargs,
                              data=lambda world, made: {"mediators": [world.mediator_a2.pk]}),
    # Consultation (协商, 人社部令第17号) is recorded by those who work the case, at intake.
    # Inviting a respondent to confirm online: those who may accept the case (portal/acknowledgement.py).
    "respondent_invite": Knock(WORK_POST, method="post", setup=_case(S.REGISTERED), kwargs=_case_kwargs,
                               data=lambda world, made: _respondent(made)),
    "consultation_edit": Knock(WORK_POST, method="post", setup=_case(S.REGISTERED), kwargs=_case_kwargs,
                               data=lambda world, made: {"requested_on": local_date(made["case"].received_at),
                                                         "requested_by": "worker", "outcome": "pending"}),
    "extend_deadline": Knock(SUPERVISOR_POST, method="post", setup=_case(S.JOINT_MEDIATION), kwargs=_case_kwargs,
                             data=lambda world, made: {"extra_days": 10, "consent_note": "双方书面同意延长"}),
    "attachment_upload": Knock(WORK_POST, method="post", setup=_case(S.JOINT_MEDIATION), kwargs=_case_kwargs,
                               data=lambda world, made: {"file": _pdf(), "kind": "evidence"}),
    "attachment_download": Knock(PERSONAL_DATA_GET, setup=_attachment,
                                 kwargs=lambda made: {"pk": made["case"].pk,
                                                      "attachment_id": made["attachment"].pk}),
    # Deciding escalations belongs to supervisors; the queue is theirs alone.
    "escalation_queue": Knock(SUPERVISORS_ONLY),
    "documents:case_documents": Knock(CASE_PAGE, setup=_case(S.REGISTERED),
                                      kwargs=lambda made: {"case_id": made["case"].pk}),
    "documents:issue": Knock(WORK_POST, method="post", setup=_case(S.REGISTERED),
                             kwargs=lambda made: {"case_id": made["case"].pk},
                             data=lambda world, made: {"kind": "application_record"}),
    "documents:download": Knock(PERSONAL_DATA_GET, setup=_document,
                                kwargs=lambda made: {"pk": made["document"].pk}),
    # The scan of signed paper is kept by those who work the case (data is built per request: files are read once).
    "documents:signed_copy_add": Knock(WORK_POST, method="post", setup=_document,
                                       kwargs=lambda made: {"pk": made["document"].pk},
                                       data=lambda world, made: {"file": _pdf("signed.pdf")}),
    "documents:export": Knock(SUPERVISORS_ONLY),
    # 批量生成文书 starts a job for the supervisor's own scope and sends them to 我的导出 (an empty scope:
    # back to the export page); readers and mediators are refused as for the export.
    "documents:bulk_issue": Knock((302, 403, 302, 302, 403, 403, 403, 302), method="post",
                                  data=lambda world, made: {"bulk-kind": "acceptance_notice"}),
    "documents:verify": Knock(PUBLIC),
    # Anyone holding the paper may check its code; the answer names no personal data.
    "documents:verify_code": Knock(PUBLIC, setup=_document,
                                   kwargs=lambda made: {"code": made["document"].verification_code}),
    # The worker's own pages (docs/portal.md) are public; without an application, a code sent or a
    # code checked in this browser, the later steps send back to the first. Staff accounts open nothing there.
    "portal:home": Knock(PUBLIC),
    "portal:apply": Knock(PUBLIC),
    "portal:apply_done": Knock((302,) * 8),
    "portal:follow": Knock(PUBLIC),
    "portal:documents": Knock(PUBLIC),
    "portal:documents_code": Knock((302,) * 8),
    "portal:documents_list": Knock((302,) * 8),
    "portal:document_download": Knock((302,) * 8, setup=_document, kwargs=lambda made: {"pk": made["document"].pk}),
    "portal:documents_end": Knock((302,) * 8, method="post"),
    # The respondent's link: its code page is public; the answer needs the code checked in this browser.
    "portal:respondent": Knock(PUBLIC, setup=_invitation, kwargs=lambda made: {"token": made["token"]}),
    "portal:respondent_resend": Knock(PUBLIC, method="post", setup=_invitation,
                                      kwargs=lambda made: {"token": made["token"]}),
    "portal:respondent_answer": Knock((302,) * 8, setup=_invitation, kwargs=lambda made: {"token": made["token"]}),
    "portal:respondent_done": Knock((302,) * 8),
    "reports:statistics": Knock(FIGURES),
    "reports:monthly": Knock(FIGURES),
    "reports:monthly_xlsx": Knock(FIGURES),
    "reports:monthly_pdf": Knock(FIGURES),
    "reports:ledger": Knock(FIGURES),
    "reports:ledger_export": Knock(FIGURES),
    "reports:ledger_template": Knock(IMPORT),
    # 溪口's supervisor may import, but not 锦屏's cases: the file is refused row by row (400).
    "reports:ledger_import": Knock(IMPORT[:-1] + (400,), method="post", setup=_ledger, data=_ledger_file),
    # The audit trail is read by auditors and administrators; one case's extract is a read of
    # that case, so outside the reader's scope it does not exist (404), inside it needs read_audit.
    "audit:log": Knock(AUDIT_READERS),
    "audit:case_extract": Knock((302, 403, 403, 403, 200, 200, 404, 404), setup=_case(S.REGISTERED),
                                kwargs=lambda made: {"case_id": made["case"].pk}),
    # One's own notification centre and reminder settings; a notification is its addressee's alone.
    "notification_list": Knock(PAGE_FOR_ALL),
    "notification_preferences": Knock(PAGE_FOR_ALL),
    "notification_read_all": Knock((302,) * 8, method="post"),
    "notification_read": Knock((302, 302, 404, 404, 404, 404, 404, 404), method="post", setup=_notification,
                               kwargs=lambda made: {"pk": made["notification"].pk}),
    # 我的导出: one's own background exports; another's job does not exist (404).
    "jobs:list": Knock(PAGE_FOR_ALL),
    "jobs:download": Knock((302, 404, 200, 404, 404, 404, 404, 404), setup=_job,
                           kwargs=lambda made: {"pk": made["job"].pk}),
}

#: Namespaces with their own permission system, tested where they are built. The REST API answers
#: tokens and problem documents, not pages: tests/api/test_scope.py knocks on each of its patterns.
EXEMPT_NAMESPACES = {"admin", "api"}


def _names(patterns, namespace: str | None = None) -> set[str]:
    names: set[str] = set()
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = p.namespace or namespace
            if inner in EXEMPT_NAMESPACES:
                continue
            names |= _names(p.url_patterns, f"{namespace}:{p.namespace}" if namespace and p.namespace else inner)
        elif isinstance(p, URLPattern) and p.name:
            names.add(f"{namespace}:{p.name}" if namespace else p.name)
    return names


def test_every_url_pattern_is_in_the_matrix():
    assert _names(get_resolver().url_patterns) == set(MATRIX)


def _user(world, role: str):
    return {
        "mediator": world.mediator_a, "supervisor": world.supervisor_a,
        "district_supervisor": world.district_supervisor, "auditor": world.auditor_a,
        "administrator": world.admin, "outsider": world.mediator_b, "outside_supervisor": world.supervisor_b,
    }.get(role)


def _knock(world, name: str, knock: Knock, role: str, made: dict[str, Any]) -> int:
    client = Client()
    user = _user(world, role)
    if user is not None:
        client.force_login(user)
    url = reverse(name, kwargs=knock.kwargs(made)) + knock.query
    response = getattr(client, knock.method)(url, knock.data(world, made))
    status = response.status_code
    if status == 302:
        to_login = response["Location"].startswith(reverse("login"))
        # The anonymous visitor is sent to log in (not on the public pages); nobody else is, except on the way out.
        assert to_login == (name == "logout" or (role == "anonymous" and name != "set_language"
                                                 and not name.startswith("portal:"))), (role, name)
    return status


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_gets_what_the_rules_say(world, name):
    knock = MATRIX[name]
    shared = knock.setup(world) if knock.method == "get" else None
    got = {}
    for role in ROLES:
        # A POST changes what it touches: each role knocks on a fresh object.
        made = shared if shared is not None else knock.setup(world)
        got[role] = _knock(world, name, knock, role, made)
    assert got == dict(zip(ROLES, knock.statuses, strict=True))


def test_the_matrix_hides_every_case_from_both_outsiders():
    """Every row that knocks on a case says 404 for the other township's mediator and supervisor
    (who holds every right there): a row edited to 403 would reveal that the case exists."""
    case_rows = [n for n, k in MATRIX.items() if k.kwargs is not _no_kwargs
                  and n not in {"documents:verify_code", "notification_read", "jobs:download", "api_token_revoke",
                                "portal:document_download", "portal:respondent", "portal:respondent_resend",
                                "portal:respondent_answer"}]
    assert len(case_rows) == 21
    for name in case_rows:
        statuses = dict(zip(ROLES, MATRIX[name].statuses, strict=True))
        assert statuses["outsider"] == statuses["outside_supervisor"] == 404, name


@pytest.mark.parametrize("name", sorted(n for n, k in MATRIX.items() if k.method == "post"))
def test_a_refusal_comes_before_the_input_is_read(world, name):
    """Where the matrix says 403, an empty or malformed POST is 403 too, never a form's 400."""
    knock = MATRIX[name]
    refused = [role for role, status in zip(ROLES, knock.statuses, strict=True) if status == 403]
    empty = Knock(knock.statuses, method="post", setup=knock.setup, kwargs=knock.kwargs)
    for role in refused:
        assert _knock(world, name, empty, role, knock.setup(world)) == 403, role
