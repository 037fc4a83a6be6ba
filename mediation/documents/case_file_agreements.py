"""The case file's record of its agreements: which print the index names, and each version's own events.

Read by ``context.case_file_facts`` (the index) and ``context._timeline`` (办理经过); see docs/documents.md,
"Case files and the export".
"""
from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from mediation.documents.context import Subject, _local, _who
from mediation.documents.models import DocumentKind, DocumentStage, IssuedDocument
from mediation.models import Agreement, Case


def agreement_events(case: Case) -> list[dict[str, Any]]:
    """Each agreement version's own history: drafted, each signature or seal recorded (its kind, who signed
    — a party, the mediator or the organisation, all named in the case file already — and the date on the
    paper), taking effect, and being superseded by the correction that took effect after it."""
    items: list[dict[str, Any]] = []
    took_effect: dict[int, dict[str, Any]] = {}
    agreements = list(case.agreements.select_related("drafted_by", "supersedes")
                      .prefetch_related("signatures__recorded_by"))
    for a in agreements:
        version = {"version": a.version}
        items.append({"at": _local(a.drafted_at), "who": _who(a.drafted_by),
                      "what": _("起草调解协议（协议第%(version)d版）") % version,
                      "note": _("更正协议第%(version)d版") % {"version": a.supersedes.version} if a.supersedes else ""})
        signatures = sorted(a.signatures.all(), key=lambda s: (s.recorded_at, s.pk))
        for s in signatures:
            items.append({"at": _local(s.recorded_at), "who": _who(s.recorded_by),
                          "what": _("登记签章（协议第%(version)d版）") % version,
                          "note": f"{s.get_kind_display()}：{s.signer_name}（{s.signed_on:%Y-%m-%d}）"})
        if a.status != Agreement.Status.DRAFT and a.effective_on:
            # The moment the last signature was recorded; an agreement imported as effective has only its date.
            last = signatures[-1] if signatures else None
            took_effect[a.pk] = {
                "at": _local(last.recorded_at) if last else timezone.make_aware(
                    datetime.datetime.combine(a.effective_on, datetime.time())),
                "date_only": last is None, "who": _who(last.recorded_by) if last else ""}
            items.append({**took_effect[a.pk], "what": _("调解协议生效（协议第%(version)d版）") % version,
                          "note": _("生效日期 %(on)s") % {"on": f"{a.effective_on:%Y-%m-%d}"}})
    for a in agreements:
        if a.supersedes and a.pk in took_effect:
            items.append({**took_effect[a.pk], "what": _("协议第%(version)d版被更正版本取代") % {
                "version": a.supersedes.version}, "note": _("协议第%(version)d版生效") % {"version": a.version}})
    return items


def agreement_registration(agreement: Agreement, subject: Subject,
                            registered: list[IssuedDocument]) -> IssuedDocument | None:
    """The print the index names for an agreement: the signing version the parties sign, which is (or was)
    the agreement in force, or the frozen print of one effective without it; never a reading copy, never
    a void print, so nothing for a draft's reading-copy section."""
    if subject.stage == DocumentStage.DRAFT:
        return None
    if agreement.signing_document_id:
        return next((d for d in registered if d.pk == agreement.signing_document_id), None)
    return next((d for d in registered if d.kind == DocumentKind.AGREEMENT and d.subject_id == agreement.pk
                 and d.frozen), None)
