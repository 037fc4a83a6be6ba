"""The worker's own pages, public (no staff login): apply, follow, my documents (docs/portal.md).

Every POST is counted per client address, and the lookups also per case number
(``portal.throttle``); a request over the limit gets the same 429 page, on the audit trail.
"""
from __future__ import annotations

import io
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal import services, throttle
from portal.forms import ApplyForm, CodeForm, DocumentsForm, FollowForm

#: Session keys: the receipt shown once after applying, the pending code, the opened documents.
RECEIPT = "portal.receipt"
CHALLENGE = "portal.challenge"
GRANT = "portal.grant"
#: The cookie that carries the access code from the application to the page that shows it, once.
RECEIPT_COOKIE = "portal_receipt"
RECEIPT_SECONDS = 600


def _ip(request: HttpRequest) -> str:
    """The client address the throttles count (``portal.throttle.client_key``)."""
    return throttle.client_key(request)


def _throttled(request: HttpRequest, action: str, *, number: str = "", id_number: str = "") -> HttpResponse:
    services.audit_throttled(action=action, number=number, id_number=id_number)
    return render(request, "portal/throttled.html", status=429)


def _lookup_allowed(request: HttpRequest, number: str) -> bool:
    """One lookup (follow, code request, code check) counted for the address and for the case number."""
    by_ip = throttle.allow("lookup-ip", _ip(request), "PORTAL_LOOKUP_RATE_PER_IP")
    by_case = throttle.allow("lookup-case", services.normalize_number(number), "PORTAL_LOOKUP_RATE_PER_CASE")
    return by_ip and by_case


@never_cache
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


@never_cache
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    form = ApplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not throttle.allow("apply-ip", _ip(request), "PORTAL_APPLY_RATE_PER_IP"):
            return _throttled(request, "portal.apply")
        if form.is_valid():
            application, where = form.application()
            try:
                submitted = services.application_submit(application=application)
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict, where)
            else:
                request.session.cycle_key()
                request.session[RECEIPT] = {"case": submitted.case.pk, "number": submitted.case.number,
                                            "organisation": submitted.case.organisation.name}
                response = redirect("portal:apply_done")
                # The access code is never stored in clear, the session table included: it travels to
                # the page that shows it in a signed cookie of this browser only, bound to the case.
                response.set_signed_cookie(
                    RECEIPT_COOKIE, f"{submitted.case.pk}:{submitted.access_code}", salt=RECEIPT_COOKIE,
                    max_age=RECEIPT_SECONDS, path=reverse("portal:apply_done"), secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True, samesite="Strict")
                return response
        status = 400
    else:
        status = 200
    return render(request, "portal/apply.html", {"form": form}, status=status)


@never_cache
def apply_done(request: HttpRequest) -> HttpResponse:
    """The case number and the access code, shown once: the session forgets them as they are shown."""
    receipt = request.session.pop(RECEIPT, None)
    carried = request.get_signed_cookie(RECEIPT_COOKIE, default="", salt=RECEIPT_COOKIE, max_age=RECEIPT_SECONDS)
    case_id, _colon, code = (carried or "").partition(":")
    response: HttpResponse
    if receipt is None or not code or case_id != str(receipt.get("case")):
        response = redirect("portal:follow")
    else:
        response = render(request, "portal/apply_done.html", {"receipt": {
            **receipt, "code": services.access_code_display(code)}})
    response.delete_cookie(RECEIPT_COOKIE, path=reverse("portal:apply_done"), samesite="Strict")
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def follow(request: HttpRequest) -> HttpResponse:
    form = FollowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["number"]
        if not _lookup_allowed(request, number):
            return _throttled(request, "portal.follow", number=number)
        progress = services.follow(number=number, access_code=form.cleaned_data["access_code"])
        if progress is not None:
            return render(request, "portal/progress.html", {"progress": progress})
        # The code typed is not written back into the page.
        return render(request, "portal/follow.html", {"form": FollowForm(initial={"number": number}), "refused": True},
                      status=400)
    return render(request, "portal/follow.html", {"form": form}, status=400 if form.is_bound else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest) -> HttpResponse:
    """Case number and ID number: the same answer whether or not they match a case."""
    form = DocumentsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        number, id_number = form.cleaned_data["number"], form.cleaned_data["id_number"]
        if not _lookup_allowed(request, number):
            return _throttled(request, "portal.code_request", number=number, id_number=id_number)
        if not throttle.allow("sms-case", services.normalize_number(number), "PORTAL_SMS_RATE_PER_CASE"):
            return _throttled(request, "portal.code_request", number=number, id_number=id_number)
        code_id = services.code_request(number=number, id_number=id_number)
        request.session.pop(GRANT, None)
        request.session[CHALLENGE] = {"number": services.normalize_number(number), "code_id": code_id}
        return redirect("portal:documents_code")
    return render(request, "portal/documents.html", {"form": form}, status=400 if form.is_bound else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def documents_code(request: HttpRequest) -> HttpResponse:
    challenge = request.session.get(CHALLENGE)
    if challenge is None:
        return redirect("portal:documents")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not _lookup_allowed(request, challenge["number"]):
            return _throttled(request, "portal.code_check", number=challenge["number"])
        grant = services.code_check(code_id=challenge.get("code_id"), number=challenge["number"],
                                    code=form.cleaned_data["code"])
        if grant is not None:
            request.session.cycle_key()
            request.session.pop(CHALLENGE, None)
            request.session[GRANT] = {"case_id": grant.case_id, "party_id": grant.party_id,
                                      "until": int(time.time()) + settings.PORTAL_GRANT_MINUTES * 60}
            return redirect("portal:documents_list")
        return render(request, "portal/documents_code.html", {"form": CodeForm(), "refused": True,
                                                              "code_minutes": settings.PORTAL_CODE_MINUTES}, status=400)
    return render(request, "portal/documents_code.html", {"form": form, "code_minutes": settings.PORTAL_CODE_MINUTES},
                  status=400 if form.is_bound else 200)


def _grant(request: HttpRequest) -> services.Grant | None:
    held: dict[str, Any] | None = request.session.get(GRANT)
    if not held or held.get("until", 0) < time.time():
        request.session.pop(GRANT, None)
        return None
    return services.Grant(case_id=held["case_id"], party_id=held["party_id"])


@never_cache
def documents_list(request: HttpRequest) -> HttpResponse:
    grant = _grant(request)
    if grant is None:
        return redirect("portal:documents")
    listed = services.documents_for(grant)
    return render(request, "portal/documents_list.html",
                  {"documents": listed, "others_named": services.names_other_people(grant)})


@never_cache
def document_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    grant = _grant(request)
    if grant is None:
        return redirect("portal:documents")
    if not throttle.allow("download-ip", _ip(request), "PORTAL_DOWNLOAD_RATE_PER_IP"):
        return _throttled(request, "portal.document_download")
    found = services.document_bytes(grant=grant, document_id=pk)
    if found is None:
        raise Http404
    document, data = found
    response = FileResponse(io.BytesIO(data), as_attachment=True, content_type="application/pdf",
                            filename=f"{document.title}-v{document.version}.pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def documents_end(request: HttpRequest) -> HttpResponse:
    request.session.pop(GRANT, None)
    request.session.pop(CHALLENGE, None)
    return redirect("portal:home")
