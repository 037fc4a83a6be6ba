"""The API's write resources: registration, sessions, the agreement draft, signatures, payments and
follow-ups. Each reads and writes as the web page does (mediation/views/work.py, actions.py): the case
found by ``case_get_for_user`` (404 beyond the user's scope), the right checked with
``permissions.user_may`` before the input is read (403), the input read by the web form itself
(422 with its messages), the write done by the one service (atomic, with its audit rows; a state
that does not allow it is 409). Writes take an ``Idempotency-Key``.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import refused
from api.idempotency import KEY_PARAMETER, idempotent
from api.serializers import CaseSummarySerializer, problems
from api.serializers_work import (
    AgreementDraftRequest,
    AgreementSerializer,
    FollowUpRequest,
    FollowUpSerializer,
    InstalmentSerializer,
    PaymentRequest,
    RegistrationRequest,
    SessionRequest,
    SessionSerializer,
    SignatureRequest,
    SignatureSerializer,
)
from api.views import ApiView, CaseListView
from mediation import forms, permissions, services
from mediation.models import Agreement, Case, CaseParty, Instalment, PartyRole, Signature
from mediation.selectors import case_get_for_user, case_list_visible_to
from workflows.errors import ActionNotAllowed


def _body(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The request's JSON in its documented shape, or 422 (a body that is not a JSON object too)."""
    if not isinstance(request.data, dict):
        raise refused([_("请求内容应为 JSON 对象。")])
    body = serializer_class(data=request.data)
    if not body.is_valid():
        raise refused(body.errors)
    return dict(body.validated_data)


def _form_data(values: dict[str, Any], rows: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """The values as the web form receives them: each list of rows as a formset's prefixed fields."""
    data = {k: v for k, v in values.items() if v is not None and k not in (rows or {})}
    for prefix, items in (rows or {}).items():
        data.update({f"{prefix}-TOTAL_FORMS": str(len(items)), f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
        for index, item in enumerate(items):
            data.update({f"{prefix}-{index}-{k}": v for k, v in item.items() if v is not None})
    return data


def _refuse_unless_may_work(user: Any, case: Case) -> None:
    """The case page's rule for recording work: refused before the input is read."""
    if not permissions.user_may(user, "work", case):
        raise PermissionDenied(_("您没有对本案件执行此操作的权限。"))


def _write(request: Request, view: ApiView, perform: Callable[[], Response]) -> Response:
    return idempotent(request, perform, view.handle_exception)


def _created(data: Any) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)


# --- registration -------------------------------------------------------------------------------------

def _summary(user: Any, case_id: int) -> Any:
    """The case as a row of the list shows it (its registrar has just typed all of it in, so a case
    registered where the user may not read afterwards is still shown once)."""
    case = (case_list_visible_to(user=user).select_related("organisation__level", "employer")
            .prefetch_related(Prefetch("parties", queryset=CaseParty.objects.filter(role=PartyRole.APPLICANT)
                                       .order_by("position"), to_attr="applicant_parties"))
            .filter(pk=case_id).first())
    return CaseSummarySerializer(case if case is not None else Case.objects.get(pk=case_id)).data


class CaseCollectionView(CaseListView):
    """``/cases/``: the list (api/views.py) and registration."""

    @extend_schema(request=RegistrationRequest, parameters=[KEY_PARAMETER],
                   responses={200: CaseSummarySerializer, 201: CaseSummarySerializer, **problems(400, 403, 415, 422)},
                   operation_id="cases_create")
    def post(self, request: Request, **kwargs: Any) -> Response:
        """Register a case as the intake page does: the same form, duplicate check, numbering and audit
        (201). The same ``intake_token`` sent again answers with the case it made (200)."""
        return _write(request, self, lambda: self._register(request))

    def _register(self, request: Request) -> Response:
        user = request.user
        organisations = permissions.organisations_user_may_register_in(user)
        if not organisations.exists():
            raise PermissionDenied(_("您没有登记案件的权限。"))
        body = _body(RegistrationRequest, request)
        rows = {name: body.pop(name) for name in ("applicants", "claims", "agents", "respondents")}
        body["intake_token"] = body["intake_token"] or uuid.uuid4()
        sent = forms.IntakeForms(_form_data(body, rows), organisations=organisations)
        valid = sent.is_valid()
        already = (services.case_already_registered(user=user, intake_token=sent.intake.cleaned_data["intake_token"])
                   if sent.intake.is_valid() else None)
        if already is not None:  # the same application sent again: the case it made
            return Response(_summary(user, already.pk))
        if not valid:
            raise refused(sent.errors())
        d = sent.intake.cleaned_data
        data = sent.registration()
        duplicates = services.possible_duplicates(user=user, data=data)
        if duplicates and not d.get("confirm_duplicate"):
            # The intake page shows these cases and asks to send the form again to confirm.
            raise refused({"confirm_duplicate": [_(
                "该申请人对同一用人单位已有未结案件（%(numbers)s），请核对；"
                "确认登记请将 confirm_duplicate 设为 true 后重新提交。")
                % {"numbers": "、".join(c.number for c in duplicates)}]})
        try:
            case = services.case_register(actor=user, data=data, intake_token=d["intake_token"])
        except ValidationError as exc:
            sent.add_errors(exc)
            raise refused(sent.errors()) from None
        response = _created(_summary(user, case.pk))
        response["Location"] = request.build_absolute_uri(f"/api/v1/cases/{case.pk}/")
        return response


# --- sessions -----------------------------------------------------------------------------------------

class SessionListView(ApiView):
    @extend_schema(responses={200: SessionSerializer(many=True), **problems(403, 404)},
                   operation_id="cases_sessions_list")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """The case's mediation sessions (调解笔录), oldest first, as on the case page."""
        case = case_get_for_user(user=request.user, case_id=pk, purpose="sessions")
        sessions = (case.sessions.select_related("organisation", "recorded_by").prefetch_related("mediators")
                    .order_by("held_at", "pk"))
        return Response(SessionSerializer(sessions, many=True).data)

    @extend_schema(request=SessionRequest, parameters=[KEY_PARAMETER],
                   responses={201: SessionSerializer, **problems(400, 403, 404, 409, 415, 422)},
                   operation_id="cases_sessions_create")
    def post(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """Record a session while the case is being mediated, as the case page's form does."""
        return _write(request, self, lambda: self._record(request, pk))

    def _record(self, request: Request, pk: int) -> Response:
        case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
        _refuse_unless_may_work(request.user, case)
        form = forms.SessionForm(_form_data(_body(SessionRequest, request)))
        if not form.is_valid():
            raise refused(form.errors)
        d = form.cleaned_data
        try:
            session = services.session_record(case_id=case.pk, actor=request.user, held_at=d["held_at"],
                                              place=d["place"], attendees=d["attendees"], record=d["record"],
                                              result=d["result"])
        except ValidationError as exc:
            raise refused(exc) from None
        return _created(SessionSerializer(session).data)


# --- agreements and signatures ------------------------------------------------------------------------

def _agreements(case: Case) -> Any:
    return (case.agreements.select_related("drafted_by", "signing_document")
            .prefetch_related("terms", "instalments", Prefetch("signatures", queryset=Signature.objects
                                                               .select_related("recorded_by", "party")))
            .order_by("-version"))


class AgreementListView(ApiView):
    @extend_schema(responses={200: AgreementSerializer(many=True), **problems(403, 404)},
                   operation_id="cases_agreements_list")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """Every version of the case's agreement, newest first: the draft, the effective one, those it corrected."""
        case = case_get_for_user(user=request.user, case_id=pk, purpose="agreements")
        return Response(AgreementSerializer(_agreements(case), many=True).data)


class AgreementDraftView(ApiView):
    @extend_schema(request=AgreementDraftRequest, parameters=[KEY_PARAMETER],
                   responses={200: AgreementSerializer, 201: AgreementSerializer,
                              **problems(400, 403, 404, 409, 415, 422)},
                   operation_id="cases_agreements_draft_update")
    def put(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """Write the draft (201 when there was none, 200 when it is rewritten), as the agreement editor does.
        A first agreement is drafted while the case is being mediated, a correction also once it is settled;
        rewriting a draft voids its printed signing version and the signatures recorded on it."""
        return _write(request, self, lambda: self._draft(request, pk))

    def _draft(self, request: Request, pk: int) -> Response:
        case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
        if not permissions.user_may(request.user, "work", case):
            raise PermissionDenied(_("您没有办理本案件的权限。"))
        body = _body(AgreementDraftRequest, request)
        rows = {"terms": [{"text": text} for text in body.pop("terms")], "instalments": body.pop("instalments")}
        sent = forms.AgreementForms(_form_data(body, rows))
        if not sent.is_valid():
            raise refused(sent.errors())
        existed = case.agreements.filter(status=Agreement.Status.DRAFT).exists()
        try:
            agreement = sent.draft(case_id=case.pk, actor=request.user)
        except ValidationError as exc:
            raise refused(exc) from None
        shown = AgreementSerializer(_agreements(case).get(pk=agreement.pk)).data
        return Response(shown, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class SignatureListView(ApiView):
    @extend_schema(responses={200: SignatureSerializer(many=True), **problems(403, 404)},
                   operation_id="cases_signatures_list")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """The signatures and seals recorded on the case's agreements, newest version first."""
        case = case_get_for_user(user=request.user, case_id=pk, purpose="signatures")
        signatures = (Signature.objects.filter(agreement__case=case).select_related("recorded_by")
                      .order_by("-agreement__version", "recorded_at", "pk"))
        return Response(SignatureSerializer(signatures, many=True).data)

    @extend_schema(request=SignatureRequest, parameters=[KEY_PARAMETER],
                   responses={201: AgreementSerializer, **problems(400, 403, 404, 409, 415, 422)},
                   operation_id="cases_signatures_create")
    def post(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """Record a signature or seal from the signed paper (its signing version's code); the last one
        missing makes the agreement effective. Answers with the agreement as it now stands."""
        return _write(request, self, lambda: self._sign(request, pk))

    def _sign(self, request: Request, pk: int) -> Response:
        case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
        _refuse_unless_may_work(request.user, case)
        body = _body(SignatureRequest, request)
        if body["agreement"] is not None:
            agreement = get_object_or_404(Agreement, pk=body["agreement"], case=case)
        else:
            draft = case.agreements.filter(status=Agreement.Status.DRAFT).first()
            if draft is None:
                raise ActionNotAllowed(_("本案没有待签署的调解协议草稿。"))
            agreement = draft
        signers = case.parties.exclude(role=PartyRole.AGENT).select_related("person", "employer")
        form = forms.SignatureForm(_form_data({k: v for k, v in body.items() if k != "agreement"}), parties=signers)
        if not form.is_valid():
            raise refused(form.errors)
        d = form.cleaned_data
        try:
            services.signature_record(agreement_id=agreement.pk, actor=request.user, kind=d["kind"],
                                      signed_on=d["signed_on"], document_code=d["document_code"],
                                      signer_name=d["signer_name"], party_id=d["party"])
        except ValidationError as exc:
            raise refused(exc) from None
        return _created(AgreementSerializer(_agreements(case).get(pk=agreement.pk)).data)


# --- payments -----------------------------------------------------------------------------------------

class InstalmentListView(ApiView):
    @extend_schema(responses={200: InstalmentSerializer(many=True), **problems(403, 404)},
                   operation_id="cases_instalments_list")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """The instalments of the case's agreements (newest version first) and what was paid on each."""
        case = case_get_for_user(user=request.user, case_id=pk, purpose="instalments")
        instalments = Instalment.objects.filter(agreement__case=case).order_by("-agreement__version", "number")
        return Response(InstalmentSerializer(instalments, many=True).data)


class PaymentView(ApiView):
    @extend_schema(request=PaymentRequest, parameters=[KEY_PARAMETER],
                   responses={200: InstalmentSerializer, **problems(400, 403, 404, 409, 415, 422)},
                   operation_id="cases_instalments_pay")
    def post(self, request: Request, pk: int, instalment_id: int, **kwargs: Any) -> Response:
        """Record a payment on an instalment of the effective agreement, as the case page does: a part
        payment leaves the rest owed, a further one adds up; more than owed needs ``payment_note``."""
        return _write(request, self, lambda: self._pay(request, pk, instalment_id))

    def _pay(self, request: Request, pk: int, instalment_id: int) -> Response:
        case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
        _refuse_unless_may_work(request.user, case)
        instalment = get_object_or_404(Instalment, pk=instalment_id, agreement__case=case)
        form = forms.PaymentForm(_form_data(_body(PaymentRequest, request)))
        if not form.is_valid():
            raise refused(form.errors)
        d = form.cleaned_data
        try:
            paid = services.instalment_record_payment(instalment_id=instalment.pk, actor=request.user,
                                                      paid_on=d["paid_on"], paid_amount=d["paid_amount"],
                                                      note=d["payment_note"])
        except ValidationError as exc:
            raise refused(exc) from None
        return Response(InstalmentSerializer(paid).data)


# --- follow-ups ---------------------------------------------------------------------------------------

class FollowUpListView(ApiView):
    @extend_schema(responses={200: FollowUpSerializer(many=True), **problems(403, 404)},
                   operation_id="cases_follow_ups_list")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """The case's follow-up visits (回访), oldest first."""
        case = case_get_for_user(user=request.user, case_id=pk, purpose="follow_ups")
        follow_ups = case.follow_ups.select_related("recorded_by").order_by("visited_on", "pk")
        return Response(FollowUpSerializer(follow_ups, many=True).data)

    @extend_schema(request=FollowUpRequest, parameters=[KEY_PARAMETER],
                   responses={201: FollowUpSerializer, **problems(400, 403, 404, 409, 415, 422)},
                   operation_id="cases_follow_ups_create")
    def post(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """Record a follow-up visit once the case is settled or performed (a performed case needs one to close)."""
        return _write(request, self, lambda: self._record(request, pk))

    def _record(self, request: Request, pk: int) -> Response:
        case = case_get_for_user(user=request.user, case_id=pk, purpose="work")
        _refuse_unless_may_work(request.user, case)
        form = forms.FollowUpForm(_form_data(_body(FollowUpRequest, request)))
        if not form.is_valid():
            raise refused(form.errors)
        try:
            follow_up = services.followup_record(case_id=case.pk, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            raise refused(exc) from None
        return _created(FollowUpSerializer(follow_up).data)
