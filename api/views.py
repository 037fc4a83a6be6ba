"""The API's case endpoints. Each reads and writes through the same selectors, services and
permission checks as the web pages (mediation/views/cases.py, mediation/views/actions.py)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import activate_request_language, bad_parameters, refused
from api.idempotency import KEY_PARAMETER, idempotent
from api.pagination import CasePagination
from api.serializers import (
    CaseDetailSerializer,
    CaseSummarySerializer,
    TransitionRequestSerializer,
    TransitionSerializer,
    problems,
)
from mediation import permissions
from mediation.audit import log as audit
from mediation.models import CaseParty, PartyRole
from mediation.selectors import SEARCH_LIMIT, case_get_for_user, case_list_visible_to, search_matches
from mediation.transitions import MOVES, refuse_unpermitted
from mediation.views.cases import filters_from_request
from workflows import services as lifecycle
from workflows.machine import TRANSITION_NAMES, conditions_met, transition_label


class ApiView(APIView):
    """Answers in the language the request asks for (Accept-Language; Chinese by default)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        activate_request_language(request._request)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response.headers["Content-Language"] = getattr(request._request, "LANGUAGE_CODE", "")
        response.headers["Vary"] = ", ".join(filter(None, [response.headers.get("Vary"), "Accept-Language"]))
        return response


_FILTERS = [
    OpenApiParameter("q", str, description="案号、当事人、单位或完整身份证号"),
    OpenApiParameter("state", str), OpenApiParameter("line", int), OpenApiParameter("organisation", int),
    OpenApiParameter("category", str), OpenApiParameter("channel", str), OpenApiParameter("mediator", int),
    OpenApiParameter("received_from", OpenApiTypes.DATE), OpenApiParameter("received_to", OpenApiTypes.DATE),
    OpenApiParameter("overdue", bool), OpenApiParameter("online", bool, description="true：仅看网上申请"),
]


#: A search answers at most ``SEARCH_LIMIT`` cases, as the web list; these headers say when it was cut.
_SEARCH_HEADERS = [
    OpenApiParameter("Search-Limit", int, OpenApiParameter.HEADER, response=[200],
                     description="仅搜索（q）时：搜索最多返回的案件数（与网页列表相同）"),
    OpenApiParameter("Search-More-Found", str, OpenApiParameter.HEADER, response=[200], enum=["true", "false"],
                     description="仅搜索（q）时：true 表示匹配的案件超过上限、未全部列出，请缩小搜索范围"),
]


class CaseListView(ApiView):
    pagination_class = CasePagination

    @extend_schema(parameters=[*_FILTERS, *_SEARCH_HEADERS],
                   responses={200: CaseSummarySerializer(many=True), **problems(400, 403, 404)},
                   operation_id="cases_list")
    def get(self, request: Request, **kwargs: Any) -> Response:
        """The cases the user may see, with the web list's filters and search, newest first."""
        form, filters = filters_from_request(request)
        if form.is_bound and not form.is_valid():
            raise bad_parameters(form.errors)
        more_found = None
        if filters.query:  # as the web list: the search's matches once, then the page reads only those
            found, more_found = search_matches(filters.query, user=request.user)
            filters = replace(filters, matched=tuple(found))
        qs = (case_list_visible_to(user=request.user, filters=filters)
              .select_related("organisation__level", "employer")
              .prefetch_related(Prefetch("parties", queryset=CaseParty.objects.filter(role=PartyRole.APPLICANT)
                                         .order_by("position"), to_attr="applicant_parties")))
        if filters.query:
            # A search reads personal data: on the trail as the web list puts it, the ID number masked.
            text, by_id_number = audit.mask_search(filters.query)
            audit.record(actor=request.user, action="case.search",
                         new={"query": text, "id_number": by_id_number, "results": qs.count()})
        paginator = CasePagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        response = paginator.get_paginated_response(CaseSummarySerializer(page, many=True).data)
        if more_found is not None:
            response["Search-Limit"] = str(SEARCH_LIMIT)
            response["Search-More-Found"] = "true" if more_found else "false"
        return response


class CaseDetailView(ApiView):
    @extend_schema(responses={200: CaseDetailSerializer, **problems(403, 404)}, operation_id="cases_retrieve")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """One case; ID numbers and phones masked unless the user may see personal data."""
        case = case_get_for_user(user=request.user, case_id=pk)
        prefetch_related_objects(
            [case], Prefetch("parties", queryset=CaseParty.objects.select_related("person", "employer")),
            "claims__category", "categories", "mediators")
        case.party_rows = list(case.parties.all())  # type: ignore[attr-defined]
        case.deadline_rows = case.deadlines()  # type: ignore[attr-defined]
        show_personal = permissions.may_see_personal_data(request.user, case)
        return Response(CaseDetailSerializer(case, context={"show_personal": show_personal}).data)


class TransitionListView(ApiView):
    @extend_schema(responses={200: TransitionSerializer(many=True), **problems(403, 404)},
                   operation_id="cases_transitions_list")
    def get(self, request: Request, pk: int, **kwargs: Any) -> Response:
        """The moves this user may make on the case now, each with the fields its form asks for."""
        case = case_get_for_user(user=request.user, case_id=pk)
        names = sorted(lifecycle.available_transitions(case, request.user), key=lambda name: MOVES[name].danger)
        return Response(TransitionSerializer([_describe(case, name, request.user) for name in names], many=True).data)


def _describe(case: Any, name: str, user: Any) -> dict[str, Any]:
    form = MOVES[name].bind(case, user=user)
    fields = []
    for field_name, field in (form.fields.items() if form is not None else []):
        choices = getattr(field, "choices", None)
        fields.append({
            "name": field_name, "label": str(field.label or field_name), "required": field.required,
            "choices": [{"value": str(value), "label": str(label)} for value, label in choices if value != ""]
            if choices is not None else None})
    return {"name": name, "label": transition_label(name),
            "blocked": None if conditions_met(case, name) else lifecycle.condition_message(name, case),
            "arguments": fields}


def _as_posted(values: dict[str, Any]) -> QueryDict:
    """The arguments as the case page's form posts them: each value as text (yes/no as "true"/"false",
    which a checkbox reads), a list as the same field repeated. A form field then reads what it would
    read from the page (a date field never gets a list or a yes/no it cannot parse: 422, not 500)."""
    data = QueryDict(mutable=True)
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        data.setlist(key, [("true" if item else "false") if isinstance(item, bool) else str(item) for item in items])
    return data


class TransitionView(ApiView):
    @extend_schema(request=TransitionRequestSerializer,
                   responses={200: CaseSummarySerializer, 204: None, **problems(400, 403, 404, 409, 415, 422)},
                   parameters=[KEY_PARAMETER],
                   operation_id="cases_transitions_create")
    def post(self, request: Request, pk: int, name: str, **kwargs: Any) -> Response:
        """Make one move, as the case page's form does: same checks, same history and audit rows."""
        return idempotent(request, lambda: self._move(request, pk, name), self.handle_exception)

    def _move(self, request: Request, pk: int, name: str) -> Response:
        if name not in TRANSITION_NAMES:
            raise Http404
        user = request.user
        case = case_get_for_user(user=user, case_id=pk, purpose=name)
        refuse_unpermitted(case, name, user)  # the case page's rule: refused before the input is read
        body = TransitionRequestSerializer(data=request.data)
        if not body.is_valid():
            raise refused(body.errors)
        move = MOVES[name]
        data = _as_posted({**body.validated_data["arguments"], "reason": body.validated_data["reason"]})
        form = move.bind(case, data, user=user)
        if form is not None and not form.is_valid():
            raise refused(form.errors)
        move.perform(case_id=pk, actor=user, data=form.cleaned_data if form is not None else {},
                     expected_state=body.validated_data["expected_state"] or None)
        moved = case_list_visible_to(user=user).select_related("organisation__level", "employer").filter(pk=pk).first()
        if moved is None:  # moved up to an organisation beyond the user's reach: nothing more to show
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(CaseSummarySerializer(moved).data)
