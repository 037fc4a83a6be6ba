"""The case list and the case page."""
from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import replace
from itertools import chain
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.shortcuts import render

from mediation import forms, permissions, prepared
from mediation.audit import log as audit
from mediation.documents.context import Preloaded
from mediation.documents.models import IssuedDocument, SignedCopy
from mediation.documents.selectors import documents_for_case
from mediation.models import (
    Agreement,
    AgreementTerm,
    Attachment,
    Case,
    CaseParty,
    Category,
    ClaimItem,
    FollowUp,
    Instalment,
    MediationSession,
    Membership,
    Organisation,
    PartyRole,
    Referral,
    Signature,
)
from mediation.selectors import (
    SEARCH_LIMIT,
    CaseFilters,
    case_get_for_user,
    case_list_rows,
    case_list_visible_to,
    mediators_of,
    search_matches,
    visible_case_count,
    with_first_applicants,
)
from mediation.transitions import MOVES
from mediation.views.common import BoundedPaginator
from mediation.views.consultation import consultation_facts
from portal.employer import case_panel as respondent_acknowledgement
from workflows import services as lifecycle
from workflows.clocks import WorkCalendar, local_today
from workflows.machine import conditions_met, transition_label
from workflows.models import EscalationRequest, TransitionLog
from workflows.states import WORKING_STATES, CaseState

SORTS = {
    "received": "received_at", "-received": "-received_at", "number": "number", "-number": "-number",
    "due": "mediation_due", "-due": "-mediation_due", "amount": "amount_claimed", "-amount": "-amount_claimed",
    "state": "state", "-state": "-state",
}
PAGE_SIZES = (20, 50, 100)
#: The list's order when none is asked for: the newest first.
DEFAULT_SORT = "-received"


def filters_from_request(request):
    """The list's filter form bound to the query string, and the filters it yields."""
    return filters_from_data(request.user, request.GET or None)


def filters_from_data(user, data):
    """The list's filter form bound to ``data`` (a query string's values; ``None``: unbound) for
    ``user``, and the filters it yields (none when the form is invalid)."""
    def organisations() -> QuerySet[Organisation]:
        return permissions.organisations_where(user, "view_case").filter(is_active=True)

    def mediators() -> QuerySet[Any]:
        return permissions.members_holding("work_case", organisations()).order_by("username")

    # Built only when a value given must be checked, or the lists' statements written (_listed_choices).
    form = forms.CaseFilterForm(data, organisations=organisations, mediators=mediators)
    filters = CaseFilters()
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        filters = CaseFilters(
            state=d["state"] or None, organisation_id=d["organisation"].pk if d["organisation"] else None,
            line=d["line"], category=d["category"].code if d["category"] else None, channel=d["channel"] or None,
            mediator_id=d["mediator"].pk if d["mediator"] else None, received_from=d["received_from"],
            received_to=d["received_to"], overdue=d["overdue"], applied_online=d["online"], query=d["q"].strip())
    return form, filters


#: The filter form's lists of the people and places a user may filter by.
_LISTED_CHOICES = ("organisation", "category", "mediator")


def _listed_choices(form: forms.CaseFilterForm, user: Any) -> None:
    """Give the filter form's lists (organisations, dispute categories, mediators) their choices as the
    page shows them: the rows of the very querysets that check a choice (the user's reach), read
    afresh through statements written once per process and planned once per connection
    (``prepared.rows``; building them anew cost about 1.5 ms of Python on every list page,
    docs/performance.md, "Thirteenth pass"). What each offers is what Django's own iterator offers,
    in its order (``tests/web/test_case_list_choices.py``)."""
    for name in _LISTED_CHOICES:
        field = forms.field_of(form, name, forms.ListedModelChoiceField)
        key = ("case_list.choices", name)
        # The categories are the same whoever asks; the others follow the user's reach. The field's
        # queryset is built only where its statement is written.
        found = (prepared.rows_of_anyone(key, lambda field=field: field.queryset, ()) if name == "category"
                 else prepared.rows(user, key, lambda field=field: field.queryset))
        field.choices = [*([("", field.empty_label)] if field.empty_label is not None else []),
                         *((field.prepare_value(obj), field.label_from_instance(obj)) for obj in found)]


@login_required
def case_list(request):
    form, filters = filters_from_request(request)
    _listed_choices(form, request.user)
    sort = request.GET.get("sort", DEFAULT_SORT)
    order = SORTS.get(sort, "-received_at")
    try:
        per_page = int(request.GET.get("per_page", 20))
    except ValueError:
        per_page = 20
    per_page = per_page if per_page in PAGE_SIZES else 20
    more_found = False
    if filters.query:  # what the search found, once: the page and its count read only those cases
        found, more_found = search_matches(filters.query, user=request.user)
        filters = replace(filters, matched=tuple(found))
    def listed(row_by_row: bool = False) -> QuerySet[Case]:
        return case_list_rows(case_list_visible_to(user=request.user, filters=filters, row_by_row=row_by_row)).order_by(
            *(_sorted_found(order) if filters.matched is not None else (order, "-pk")))

    exact_count = visible_case_count(user=request.user, filters=filters, request=request)
    opened = (sort, per_page) == (DEFAULT_SORT, PAGE_SIZES[0]) and _opened(filters) and exact_count is not None
    if opened and not filters.overdue:
        # The list as it opens, on its first page, is read below by a statement written once: the list's
        # own queryset is not built for it (some 0.3–0.7 ms of the server's CPU, docs/performance.md,
        # "Twenty-second pass"). Which page was asked for is decided by the count alone.
        qs = Case.objects.none().order_by("pk")
        page = BoundedPaginator(qs, per_page, exact_count=exact_count, ids_first=True).get_page(request.GET.get("page"))
        opened = page.number == 1
    if not opened or filters.overdue:
        # What a search found, read by their ids: the user's grants asked of each, when they are many.
        qs = listed(row_by_row=filters.matched is not None and permissions.asks_grants_row_by_row(request.user))
        page = BoundedPaginator(qs, per_page, exact_count=exact_count, ids_first=True).get_page(request.GET.get("page"))
    if page.number == 1 and opened:
        # The list as it opens (its usual order and size, no filter but the state and "overdue"): its
        # first page's statement written once per process for the user's reach and these filters, and
        # planned once per connection (``prepared``). A few statements a user, not one for every
        # combination of sort, size and filters a user may click through.
        key = ("case_list.first", filters, local_today() if filters.overdue else None)
        if filters.overdue:
            # The overdue cases lie behind the newer ones not yet due, more of them the more cases come in
            # a day: the page's ids are read from an index that holds what "overdue" is decided by
            # (``case_running_newest``), passing over those in it alone, then the rows by their ids
            # with the list's filters and order again, as a later page is read.
            ids = prepared.rows(request.user, (*key, "ids"), lambda: qs.values_list("pk", flat=True)[:per_page])
            rows = list(qs.filter(pk__in=ids))
        else:
            # Read down the index of cases by date received until the page is full: a user's cases
            # granted one by one, when they are many, asked of each row it reaches, not hashed first.
            rows = prepared.rows(request.user, key, lambda: listed(
                row_by_row=permissions.asks_grants_row_by_row(request.user))[:per_page])
    else:
        rows = list(page.object_list)
    page.object_list = with_first_applicants(rows)
    if filters.query:
        # A search reads personal data (names, an ID number): on the trail, the number masked.
        text, by_id_number = audit.mask_search(filters.query)
        audit.record(actor=request.user, action="case.search",
                     new={"query": text, "id_number": by_id_number, "results": page.paginator.count})
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return render(request, "mediation/case_list.html", {
        "form": form, "page": page, "sort": sort, "per_page": per_page, "page_sizes": PAGE_SIZES,
        "query": query.urlencode(), "sort_query": sort_query.urlencode(), "today": local_today(),
        "more_found": more_found, "search_limit": SEARCH_LIMIT,
    })


def _opened(filters: CaseFilters) -> bool:
    """Whether the list is filtered by nothing but the state and "overdue" (each one of a few values)."""
    return replace(filters, state=None, overdue=False) == CaseFilters()


def _sorted_found(order: str) -> tuple[Any, ...]:
    """The list's order over what a search found (at most ``SEARCH_LIMIT`` cases, read by their ids),
    written so that the database reads those cases and sorts them: in the column itself, the order
    would let it walk that column's index instead, from the newest case of the district, testing
    each against the found ids, and the oldest matches cost it tens of thousands of rows
    (docs/performance.md, "Seventh pass"). ``COALESCE(x, x)`` is ``x``, in the same order, nulls
    where ``x`` has them; no index holds it."""
    field = order.lstrip("-")
    key = Coalesce(F(field), F(field))
    return (key.desc() if order.startswith("-") else key.asc(), "-pk")


@login_required
def case_detail(request, pk: int):
    case = case_get_for_user(user=request.user, case_id=pk, annotations=_ROWS_EXIST)
    user = request.user
    calendar = WorkCalendar.from_db()
    today = local_today()
    show_personal = permissions.may_see_personal_data(user, case)
    rows = _case_rows(case)
    parties, agreements, issued = rows["parties"], rows["agreements"], rows["issued_documents"]
    transitions, escalations, sessions = rows["transitions"], rows["escalations"], rows["sessions"]
    follow_ups, attachments = rows["follow_ups"], rows["attachments"]
    available = lifecycle.available_transitions(case, user)
    may_work = permissions.user_may(user, "work", case)
    may_assign = permissions.user_may(user, "assign_mediator", case)
    may_extend = permissions.user_may(user, "extend_deadline", case) and case.state in (
        CaseState.SELF_RESOLUTION, CaseState.JOINT_MEDIATION, CaseState.LINKED_MEDIATION, CaseState.ESCALATION_PENDING)
    working = case.state in (CaseState.SELF_RESOLUTION, CaseState.JOINT_MEDIATION, CaseState.LINKED_MEDIATION)
    registered = {"at": case.created_at, "kind": "registered", "obj": case, "who": case.created_by}
    documents = documents_for_case(case, user, preloaded=Preloaded(
        logs=transitions, escalations=escalations, sessions=sessions, follow_ups=follow_ups, agreements=agreements,
        issued=issued), scope_checked=True)
    timeline = sorted(chain(
        [registered],
        documents["documents"]["timeline"],
        ({"at": t.at, "kind": "transition", "obj": t, "who": t.actor} for t in transitions),
        ({"at": s.held_at, "kind": "session", "obj": s, "who": s.recorded_by} for s in sessions),
        ({"at": e.requested_at, "kind": "escalation", "obj": e, "who": e.requested_by} for e in escalations),
        ({"at": f.recorded_at, "kind": "follow_up", "obj": f, "who": f.recorded_by} for f in follow_ups),
        ({"at": a.uploaded_at, "kind": "attachment", "obj": a, "who": a.uploaded_by} for a in attachments),
        # The agreement's own steps: each version drafted, each signature recorded from the paper.
        ({"at": a.drafted_at, "kind": "agreement", "obj": a, "who": a.drafted_by} for a in agreements),
        ({"at": s.recorded_at, "kind": "signature", "obj": s, "who": s.recorded_by}
         for a in agreements for s in a.signatures.all()),
    ), key=lambda item: item["at"], reverse=True)
    draft = next((a for a in agreements if a.status == Agreement.Status.DRAFT), None)
    effective = next((a for a in agreements if a.status == Agreement.Status.EFFECTIVE), None)
    action_forms = _action_forms(case, available, user)
    pending = next((e for e in escalations if e.decision == EscalationRequest.Decision.PENDING), None)
    mediators = rows["mediators"]
    signers = [p for p in parties if p.role != PartyRole.AGENT]
    # A form is built only where the template shows it to this user in this state.
    context = {
        **documents,
        "case": case, "parties": parties, "show_personal": show_personal,
        "applicants": [p for p in parties if p.role == PartyRole.APPLICANT],
        "respondents": [p for p in parties if p.role == PartyRole.RESPONDENT],
        "agents": [p for p in parties if p.role == PartyRole.AGENT],
        "claims": rows["claims"], "categories": rows["categories"], "mediators": mediators,
        "deadlines": case.deadlines(calendar=calendar), "today": today,
        "consultation": consultation_facts(case, user, calendar=calendar, today=today),
        "acknowledgement": respondent_acknowledgement(request, case, parties),
        "timeline": timeline, "agreements": agreements, "draft": draft, "effective": effective,
        "agreement_instalments": _agreement_instalments(
            agreements, effective, today,
            with_forms=may_work and case.state in (CaseState.SETTLED, CaseState.PERFORMED)),
        "sessions": sessions, "follow_ups": follow_ups, "referrals": rows["referrals"], "attachments": attachments,
        "escalations": escalations, "pending_escalation": pending,
        # Who may decide the pending request, its requester never (issue 10: no request waits unseen).
        "escalation_deciders": list(permissions.escalation_deciders(pending.to_organisation,
                                                                    exclude=pending.requested_by))
        if pending else [],
        "action_forms": action_forms, "may_work": may_work, "may_assign": may_assign, "may_extend": may_extend,
        "working": working,
        "missing_signatures": _missing(draft),
        "correctable_states": (*WORKING_STATES, CaseState.SETTLED, CaseState.PERFORMED),
        "payment_correctable_states": (CaseState.SETTLED, CaseState.PERFORMED),
        # Each form gets its own id prefix: one page holds many forms with like-named fields.
        "session_form": forms.SessionForm(auto_id="session_%s",
                                          initial={"place": case.organisation.address or case.organisation.name})
        if may_work and working else None,
        "followup_form": forms.FollowUpForm(auto_id="followup_%s", initial={"visited_on": today})
        if may_work and case.state in (CaseState.SETTLED, CaseState.PERFORMED) else None,
        "attachment_form": forms.AttachmentForm(auto_id="attachment_%s") if may_work else None,
        "signature_form": forms.SignatureForm(parties=signers, auto_id="signature_%s", initial={"signed_on": today})
        if may_work and draft else None,
        "outcome_form": forms.ReferralOutcomeForm(auto_id="outcome_%s", initial={"outcome_on": today})
        if may_work and case.state == CaseState.REFERRED else None,
        "extend_form": forms.ExtendForm(auto_id="extend_%s") if may_extend else None,
        "assign_form": forms.AssignForm(candidates=_candidates(case), auto_id="assign_%s",
                                        initial={"mediators": mediators}) if may_assign else None,
    }
    return render(request, "mediation/case_detail.html", context)


#: Which of its related tables hold rows for a case: read with the case itself (``has_<relation>``).
_ROWS_EXIST: dict[str, Exists] = {
    "has_transitions": Exists(TransitionLog.objects.filter(case=OuterRef("pk"))),
    "has_escalations": Exists(EscalationRequest.objects.filter(case=OuterRef("pk"))),
    "has_sessions": Exists(MediationSession.objects.filter(case=OuterRef("pk"))),
    "has_follow_ups": Exists(FollowUp.objects.filter(case=OuterRef("pk"))),
    "has_referrals": Exists(Referral.objects.filter(case=OuterRef("pk"))),
    "has_attachments": Exists(Attachment.objects.filter(case=OuterRef("pk"))),
    "has_issued_documents": Exists(IssuedDocument.objects.filter(case=OuterRef("pk"))),
    "has_signed_copies": Exists(SignedCopy.objects.filter(document__case=OuterRef("pk"))),
    "has_agreements": Exists(Agreement.objects.filter(case=OuterRef("pk"))),
    "has_instalments": Exists(Instalment.objects.filter(agreement__case=OuterRef("pk"))),
    "has_signatures": Exists(Signature.objects.filter(agreement__case=OuterRef("pk"))),
    "has_claims": Exists(ClaimItem.objects.filter(case=OuterRef("pk"))),
    "has_categories": Exists(Case.categories.through.objects.filter(case=OuterRef("pk"))),
    "has_mediators": Exists(Case.mediators.through.objects.filter(case=OuterRef("pk"))),
}


#: What the case page lists of a case, relation by relation: the rows' queryset, with what they
#: show joined in and in the order the page lists them, and the filter that names the case.
_OF_CASE: dict[str, tuple[Callable[[], QuerySet[Any]], str]] = {
    "parties": (lambda: CaseParty.objects.select_related(
        "person", "employer", "represents__person", "represents__employer"), "case_id"),
    "issued_documents": (lambda: IssuedDocument.objects.select_related("author").order_by("-created_at", "-pk"),
                         "case_id"),
    "agreements": (lambda: Agreement.objects.select_related("drafted_by").order_by("-version"), "case_id"),
    "transitions": (lambda: TransitionLog.objects.select_related("actor", "from_organisation", "to_organisation"),
                    "case_id"),
    "escalations": (lambda: EscalationRequest.objects.select_related(
        "from_organisation", "to_organisation", "requested_by", "decided_by"), "case_id"),
    "sessions": (lambda: MediationSession.objects.select_related("recorded_by"), "case_id"),
    "follow_ups": (lambda: FollowUp.objects.select_related("recorded_by"), "case_id"),
    "referrals": (lambda: Referral.objects.select_related("referred_by"), "case_id"),
    "attachments": (lambda: Attachment.objects.select_related("uploaded_by"), "case_id"),
    "claims": (lambda: ClaimItem.objects.select_related("category"), "case_id"),
    "categories": (lambda: Category.objects.all(), "cases"),
    "mediators": (lambda: get_user_model().objects.all(), "assigned_cases"),
}
#: The rows of the case's agreements and issued documents: (the case's relation, theirs, the foreign
#: key naming their owner) → their queryset and the filter that names the case, for all of the
#: case's at once.
_OF_ITS: dict[tuple[str, str, str], tuple[Callable[[], QuerySet[Any]], str]] = {
    ("agreements", "terms", "agreement"): (lambda: AgreementTerm.objects.all(), "agreement__case_id"),
    ("agreements", "instalments", "agreement"): (lambda: Instalment.objects.all(), "agreement__case_id"),
    ("agreements", "signatures", "agreement"): (lambda: Signature.objects.select_related(
        "party__person", "party__employer", "recorded_by"), "agreement__case_id"),
    ("issued_documents", "signed_copies", "document"): (lambda: SignedCopy.objects.select_related("attachment"),
                                                        "document__case_id"),
}


def _case_rows(case: Case) -> dict[str, list[Any]]:
    """Everything the case page lists about ``case``, in as few queries as the rows need.

    The case was read with ``_ROWS_EXIST``: which of its related tables hold rows for it. Each
    that does is read once, with what its rows show joined in; each that does not is not read at
    all. Each statement names nothing but the case's id, so it is written once per process
    (``prepared.rows_of_anyone``: the reader's right to the case was decided when it was read);
    building and compiling them anew was about half of the Python time the rows took. The rows
    go into the case's own caches, as Django's ``prefetch_related`` puts them (:func:`_hold`), where
    the lifecycle's conditions and the agreement's missing signatures find them too. The signing
    version an agreement is bound to is taken from the registered documents already read.
    """
    read: dict[str, list[Any]] = {}
    for relation, (rows_of, naming) in _OF_CASE.items():
        found = (prepared.rows_of_anyone(("case page", relation), _of_one_case(rows_of, naming), (case.pk,))
                 if getattr(case, f"has_{relation}", True) else [])
        read[relation] = _hold(case, relation, found, rows_of)
    for (owners, relation, owner_field), (rows_of, naming) in _OF_ITS.items():
        if not read[owners]:
            continue
        found = (prepared.rows_of_anyone(("case page", owners, relation), _of_one_case(rows_of, naming),
                                         (case.pk,))
                 if getattr(case, f"has_{relation}", True) else [])
        by_owner: dict[int, list[Any]] = {}
        for row in found:
            by_owner.setdefault(getattr(row, f"{owner_field}_id"), []).append(row)
        for owner in read[owners]:
            _hold(owner, relation, by_owner.get(owner.pk, []), rows_of)
    issued = {d.pk: d for d in read["issued_documents"]}
    for a in read["agreements"]:
        if a.signing_document_id in issued:
            a.signing_document = issued[a.signing_document_id]
    return read


def _of_one_case(rows_of: Callable[[], QuerySet[Any]], naming: str) -> Callable[[int], QuerySet[Any]]:
    """The rows ``rows_of()`` of the case whose id is given, by the filter ``naming`` it."""
    return lambda pk: rows_of().filter(**{naming: pk})


def _hold(instance: Any, relation: str, found: list[Any], rows_of: Callable[[], QuerySet[Any]]) -> list[Any]:
    """Put ``found`` where Django's prefetch of ``instance.<relation>`` with the queryset ``rows_of()``
    puts its rows: the relation's manager answers from the instance's prefetch cache with that
    queryset, narrowed to the instance (a narrower question asked of it goes to the database, in its
    order and with what it joins in, as after a prefetch), and each row of a reverse foreign key
    knows its instance. A relation without rows keeps an empty queryset, which costs nothing to
    build."""
    manager = getattr(instance, relation)
    # A many-to-many manager names its cache; a reverse foreign key's is its field's (Django's own names).
    name = getattr(manager, "prefetch_cache_name", None) or manager.field.remote_field.cache_name
    if found:
        kept = manager._apply_rel_filters(rows_of())  # what Django's prefetch keeps (prefetch_one_level)
        if not hasattr(manager, "prefetch_cache_name"):  # a reverse foreign key
            for row in found:
                setattr(row, manager.field.name, instance)
    else:
        kept = manager.model._default_manager.none()
    kept._result_cache, kept._prefetch_done = found, True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = kept
    return found


def _agreement_instalments(agreements: list[Agreement], effective: Agreement | None, today: datetime.date,
                           *, with_forms: bool = True,
                           ) -> list[tuple[Agreement, list[tuple[Instalment, forms.PaymentForm | None,
                                                             forms.PaymentForm | None]]]]:
    """Each agreement with its instalments; those of the effective one come with the form recording a
    payment, or, once one is recorded, the form correcting it — and, while a part payment leaves
    something owed, the form recording the further payment. Without ``with_forms`` (the user does not
    record payments on this case now, so the page shows none), no form is built."""
    def payment_form(instalment: Instalment) -> forms.PaymentForm:
        # Its own id prefix: the page holds one such form per instalment.
        if instalment.paid_on is not None:
            return forms.PaymentCorrectionForm(auto_id=f"fix{instalment.pk}_%s", initial={
                "paid_on": instalment.paid_on, "paid_amount": f"{instalment.paid_amount or 0:,.2f}",
                "payment_note": instalment.payment_note})
        return forms.PaymentForm(auto_id=f"pay{instalment.pk}_%s",
                                 initial={"paid_on": today, "paid_amount": f"{instalment.amount:,.2f}"})

    def further_form(instalment: Instalment) -> forms.PaymentForm | None:
        if instalment.paid_on is None or instalment.outstanding <= 0:
            return None
        return forms.PaymentForm(auto_id=f"more{instalment.pk}_%s",
                                 initial={"paid_on": today, "paid_amount": f"{instalment.outstanding:,.2f}"})

    return [(a, [(i, payment_form(i), further_form(i)) if with_forms and a is effective else (i, None, None)
                 for i in a.instalments.all()])
            for a in agreements]


def _missing(draft):
    if draft is None:
        return []
    from mediation.services import agreement_missing_signatures

    return agreement_missing_signatures(draft)


def _candidates(case):
    return mediators_of(case.organisation)


def _action_forms(case, available, user):
    """One form per move this user may make now, in the order of the graph, the dangerous ones
    (ending the case, refusing) after the others."""
    available = sorted(available, key=lambda name: MOVES[name].danger)
    return [{"name": name, "label": transition_label(name),
             "form": MOVES[name].bind(case, user=user, auto_id=f"{name}_%s"),
             "blocked": None if conditions_met(case, name) else lifecycle.condition_message(name, case),
             "danger": MOVES[name].danger} for name in available]


__all__ = ["case_list", "case_detail", "filters_from_request", "Membership"]
