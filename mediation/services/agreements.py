"""The mediation agreement (劳动争议调解仲裁法 art. 14): drafts, signatures, corrections, payments.
"""
from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from mediation.audit import log as audit
from mediation.documents.codes import normalize_code
from mediation.models import (
    Agreement,
    AgreementTerm,
    Case,
    CaseParty,
    Instalment,
    PartyRole,
    Signature,
)
from mediation.services.amounts import parse_amount
from mediation.services.common import collect_errors, require_may, require_state
from workflows import clocks
from workflows.errors import ActionNotAllowed
from workflows.services import lock_case
from workflows.states import WORKING_STATES, CaseState

logger = logging.getLogger(__name__)


@dataclass
class InstalmentInput:
    amount: Any
    due_on: datetime.date
    method: str = Instalment.Method.BANK


#: A correction of an effective agreement may be drafted and signed while the case is worked or settled.
CORRECTION_STATES = (*WORKING_STATES, CaseState.SETTLED, CaseState.PERFORMED)


def draft_states(draft: Agreement | None) -> tuple[str, ...]:
    """The case states in which ``draft`` may be written, printed for signing and signed: a first agreement
    only while the case is being mediated (DOMAIN.md §3: working → settled once it is effective), a
    correction also once the case is settled. A terminated or withdrawn case has no agreement to sign."""
    return CORRECTION_STATES if draft is not None and draft.supersedes_id is not None else tuple(WORKING_STATES)


def _parse_instalments(instalments: Sequence[InstalmentInput], errors: dict[str, list[str]]) -> list[Instalment]:
    """The instalments as unsaved rows, numbered from 1; what is wrong goes into ``errors`` by form field."""
    parsed: list[Instalment] = []
    for i, inst in enumerate(instalments):
        try:
            amount = parse_amount(inst.amount, field_name=f"instalments-{i}-amount")
            if amount == 0:
                raise ValidationError({f"instalments-{i}-amount": _("每期金额必须大于零。")})
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        if inst.due_on is None:
            errors[f"instalments-{i}-due_on"] = [_("请填写履行期限。")]
            continue
        parsed.append(Instalment(number=i + 1, amount=amount, due_on=inst.due_on, method=inst.method))
    return parsed


def agreement_draft(*, case_id: int, actor: Any, dispute_summary: str, terms: Sequence[str],
                    instalments: Sequence[InstalmentInput] = (), claims_summary: str = "", waived: str = "",
                    copies: int | None = None) -> Agreement:
    """Write (or rewrite) the draft. An effective agreement is never edited: see ``agreement_correct``."""
    terms = [t.strip() for t in terms if t and t.strip()]
    errors: dict[str, list[str]] = {}
    if not (dispute_summary or "").strip():
        errors["dispute_summary"] = [_("请填写争议事项。")]
    if not terms:
        errors["terms"] = [_("协议至少需要一条条款。")]
    parsed = _parse_instalments(instalments, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = lock_case(case_id)
        require_may(actor, "work", case)
        agreement = case.agreements.filter(status=Agreement.Status.DRAFT).first()
        correcting = agreement is not None and agreement.supersedes_id is not None
        require_state(case, draft_states(agreement), _("更正调解协议") if correcting else _("起草调解协议"))
        if not correcting:
            if case.has_effective_agreement():
                raise ActionNotAllowed(_("本案已有生效的调解协议，不能再起草；如需更正，请建立更正版本。"))
        # One original for each party who signs (art. 14; representatives for all applicants, art. 7),
        # one for the mediation organisation (DOMAIN.md §6).
        n_parties = len(agreement_signers(case.parties.all()))
        if copies is not None and copies < n_parties + 1:
            raise ValidationError({"copies": [_(
                "份数不能少于 %(n)d 份：签字盖章的当事人各执一份，调解组织留存一份。") % {"n": n_parties + 1}]})
        was = _agreement_values(agreement) if agreement is not None else None
        if agreement is None:
            last = case.agreements.order_by("-version").first()
            agreement = Agreement(case=case, version=(last.version + 1) if last else 1, drafted_by=actor)
        else:
            agreement.terms.all().delete()
            agreement.instalments.all().delete()
            agreement.signatures.all().delete()  # signatures were for the old text
            # A version printed for signing no longer says what the draft says: that paper is void
            # (its verification page says so) and a new one must be printed.
            agreement.signing_document = None
        agreement.dispute_summary = dispute_summary.strip()
        agreement.claims_summary = claims_summary.strip()
        agreement.waived = waived.strip()
        agreement.copies = copies or n_parties + 1
        agreement.save()
        AgreementTerm.objects.bulk_create(
            [AgreementTerm(agreement=agreement, number=i + 1, text=t) for i, t in enumerate(terms)])
        for instalment in parsed:
            instalment.agreement = agreement
        Instalment.objects.bulk_create(parsed)
        now = _agreement_values(agreement)
        old, new = audit.changes(was, now) if was is not None else (None, now)
        audit.record(actor=actor, action="agreement.draft", obj=agreement, case=case, old=old, new=new)
    return agreement


def _agreement_values(agreement: Agreement) -> dict[str, Any]:
    """An agreement with its terms and instalments, as the audit trail records it."""
    return {
        **audit.field_values(agreement, ("version", "status", "dispute_summary", "claims_summary", "waived",
                                         "copies", "supersedes", "effective_on", "signing_document")),
        "terms": list(agreement.terms.order_by("number").values_list("text", flat=True)),
        "instalments": [audit.snapshot(i, ("number", "amount", "due_on", "method", "paid_on", "paid_amount"))
                        for i in agreement.instalments.order_by("number")],
        # A rewrite clears the signatures recorded on the old text: the trail shows which.
        "signatures": [audit.snapshot(sig, ("kind", "party", "signer_name", "signed_on"))
                       for sig in agreement.signatures.order_by("pk")],
    }


def agreement_signers(parties: Iterable[CaseParty]) -> list[CaseParty]:
    """The parties whose signature or seal the agreement needs (劳动争议调解仲裁法 art. 14): every respondent,
    and every applicant — or, where the workers elected representatives (art. 7), the representatives,
    who sign on behalf of all applicants."""
    parties = [p for p in parties if p.role != PartyRole.AGENT]
    if any(p.is_representative for p in parties):
        return [p for p in parties if p.role != PartyRole.APPLICANT or p.is_representative]
    return parties


def agreement_missing_signatures(agreement: Agreement) -> list[str]:
    """What the agreement still lacks to take effect (劳动争议调解仲裁法 art. 14), in words.

    Every respondent signs or seals; the applicants' representatives sign for all applicants
    where there are any (art. 7); an agent may sign for the party they represent."""
    sigs = list(agreement.signatures.all())
    signed_parties = {s.party_id for s in sigs if s.kind == Signature.Kind.PARTY}
    missing = []
    parties = agreement.case.parties.all()
    agents: dict[int | None, set[int]] = {}
    for agent in parties:
        if agent.role == PartyRole.AGENT:
            agents.setdefault(agent.represents_id, set()).add(agent.pk)
    for party in agreement_signers(parties):
        if party.pk not in signed_parties and not agents.get(party.pk, set()) & signed_parties:
            missing.append(_("%(role)s %(name)s 签字或盖章") % {"role": party.title, "name": party.name})
    if not any(s.kind == Signature.Kind.MEDIATOR for s in sigs):
        missing.append(_("调解员签字"))
    if not any(s.kind == Signature.Kind.SEAL for s in sigs):
        missing.append(_("调解组织盖章"))
    return missing


def signature_record(*, agreement_id: int, actor: Any, kind: str, signed_on: datetime.date, document_code: str,
                     signer_name: str = "", party_id: int | None = None) -> Agreement:
    """Record a signature or seal from the paper original; the last one makes the agreement effective.

    ``document_code`` is the verification code printed on the signed paper: it must be the agreement's
    current signing version, so that signatures written on a print that was voided by a rewrite of the
    draft are never counted on the new print (nobody signed that one)."""
    if kind not in Signature.Kind.values:
        raise ValidationError({"kind": _("请选择签章类型。")})
    with transaction.atomic():
        agreement = Agreement.objects.select_related("case").get(pk=agreement_id)
        case = lock_case(agreement.case_id)
        agreement.refresh_from_db()
        require_may(actor, "work", case)
        if agreement.status != Agreement.Status.DRAFT:
            raise ActionNotAllowed(_("协议已生效，不能再修改签章。"))
        require_state(case, draft_states(agreement), _("登记协议签章"))
        signing_document = agreement.signing_document
        if signing_document is None:
            # The parties sign the registered 签署版, so that its code answers for the signed paper.
            raise ActionNotAllowed(_("请先生成并打印本协议的签署版，各方在签署版上签字盖章后，再依原件登记签章。"))
        if normalize_code(document_code or "") != signing_document.verification_code:
            raise ValidationError({"document_code": _(
                "验证码与本协议当前签署版不符。请依签字盖章的纸质件页脚所印验证码填写；在已作废的签署版上的签字不能计入。")})
        party = None
        if kind == Signature.Kind.PARTY:
            party = (case.parties.filter(pk=party_id).select_related("person", "employer").first()
                     if party_id is not None else None)
            if party is None:
                raise ValidationError({"party": _("请选择签字或盖章的当事人。")})
            if agreement.signatures.filter(kind=kind, party=party).exists():
                raise ValidationError({"party": _("该当事人已签字或盖章。")})
            signer_name = signer_name.strip() or party.name
        elif kind == Signature.Kind.SEAL:
            signer_name = signer_name.strip() or case.organisation.name
        else:
            signer_name = signer_name.strip() or actor.get_full_name() or actor.get_username()
        signature = Signature.objects.create(agreement=agreement, kind=kind, party=party, signer_name=signer_name,
                                             signed_on=signed_on, recorded_by=actor)
        status = agreement.status
        if not agreement_missing_signatures(agreement):
            if agreement.supersedes_id:
                # First retire the version it corrects: only one version is ever effective.
                Agreement.objects.filter(pk=agreement.supersedes_id).update(status=Agreement.Status.SUPERSEDED)
                audit.record(actor=actor, action="agreement.supersede", obj=agreement.supersedes, case=case,
                             old={"status": Agreement.Status.EFFECTIVE},
                             new={"status": Agreement.Status.SUPERSEDED, "superseded_by": agreement.pk})
            agreement.status = Agreement.Status.EFFECTIVE
            agreement.effective_on = max(s.signed_on for s in agreement.signatures.all())
            agreement.save(update_fields=["status", "effective_on"])
            if case.state in (CaseState.SETTLED, CaseState.PERFORMED):
                case.amount_agreed = agreement.total_amount
                case.agreement_effective_on = agreement.effective_on
                case.save(update_fields=["amount_agreed", "agreement_effective_on", "updated_at"])
        audit.record(actor=actor, action="signature.record", obj=signature, case=case, old={"status": status},
                     new={**audit.snapshot(signature, ("agreement", "kind", "party", "signer_name", "signed_on")),
                          "status": agreement.status, "effective_on": agreement.effective_on})
    return agreement


def agreement_correct(*, case_id: int, actor: Any) -> Agreement:
    """Start a correction: a new draft version copying the effective one, which stays as it is."""
    with transaction.atomic():
        case = lock_case(case_id)
        require_may(actor, "work", case)
        require_state(case, (*WORKING_STATES, CaseState.SETTLED, CaseState.PERFORMED), _("更正调解协议"))
        current = case.effective_agreement()
        if current is None:
            raise ActionNotAllowed(_("本案没有生效的调解协议。"))
        if case.agreements.filter(status=Agreement.Status.DRAFT).exists():
            raise ActionNotAllowed(_("已有一份更正草稿。"))
        new = Agreement.objects.create(
            case=case, version=current.version + 1, supersedes=current, dispute_summary=current.dispute_summary,
            claims_summary=current.claims_summary, waived=current.waived, copies=current.copies,
            drafted_by=actor)
        AgreementTerm.objects.bulk_create([AgreementTerm(agreement=new, number=t.number, text=t.text)
                                           for t in current.terms.all()])
        Instalment.objects.bulk_create([Instalment(agreement=new, number=i.number, amount=i.amount,
                                                   due_on=i.due_on, method=i.method)
                                        for i in current.instalments.all()])
        audit.record(actor=actor, action="agreement.correct", obj=new, case=case,
                     old={"effective_version": current.version}, new=_agreement_values(new))
    return new


#: A payment as the instalment records it (and the audit trail shows it, with the case's recovered amount).
_PAYMENT_FIELDS = ("paid_on", "paid_amount", "payment_note")


def _check_payment(inst: Instalment, *, paid_on: datetime.date | None, amount: Decimal, note: str,
                   errors: dict[str, list[str]], owed: Decimal | None = None) -> None:
    """A payment under an effective agreement (劳动争议调解仲裁法 art. 14: it binds once signed and
    sealed; art. 15: performed within the agreed time). Not in the future, not before the agreement
    took effect (no obligation existed to perform), and not above the instalment unless a note says
    why (interest for late payment, the remaining instalments paid at once …). ``owed`` is what a
    further payment on a part-paid instalment may come to (the rest), else the whole instalment."""
    effective_on = inst.agreement.effective_on
    today = clocks.local_today()
    if paid_on is None:
        errors["paid_on"] = [_("请填写实际履行日期。")]
    elif paid_on > today:
        errors["paid_on"] = [_("实际履行日期不能晚于今天（%(today)s）。") % {"today": f"{today:%Y-%m-%d}"}]
    elif effective_on is not None and paid_on < effective_on:
        errors["paid_on"] = [_("实际履行日期不能早于调解协议生效日期（%(date)s）：协议生效后才有履行义务。")
                             % {"date": f"{effective_on:%Y-%m-%d}"}]
    if amount <= 0:
        errors["paid_amount"] = [_("实际履行金额必须大于零；尚未付款的不必登记。")]
    elif owed is not None and amount > owed and not note:
        errors["paid_amount"] = [
            _("本次履行金额 %(paid)s 元高于第 %(n)s 期尚欠的 %(due)s 元：如含迟延履行的利息或一次性付清其余各期，"
              "请在“履行说明”中写明。") % {"paid": f"{amount:,.2f}", "n": inst.number, "due": f"{owed:,.2f}"}]
    elif owed is None and amount > inst.amount and not note:
        errors["paid_amount"] = [
            _("实际履行金额 %(paid)s 元高于第 %(n)s 期应付的 %(due)s 元：如含迟延履行的利息或一次性付清其余各期，"
              "请在“履行说明”中写明。") % {"paid": f"{amount:,.2f}", "n": inst.number, "due": f"{inst.amount:,.2f}"}]
    if len(note) > 200:  # Instalment.payment_note
        errors["payment_note"] = [_("履行说明不能超过200个字。")]


def _payment_values(inst: Instalment, case: Case) -> dict[str, Any]:
    return {**audit.field_values(inst, _PAYMENT_FIELDS), **audit.field_values(case, ("amount_recovered",))}


def _recount_recovered(inst: Instalment, case: Case) -> None:
    """The case's recovered amount: what the effective agreement's instalments record as paid."""
    case.amount_recovered = inst.agreement.instalments.aggregate(s=Sum("paid_amount"))["s"] or Decimal("0")
    case.save(update_fields=["amount_recovered", "updated_at"])


def _locked_instalment(instalment_id: int) -> tuple[Instalment, Case]:
    """The instalment as it is once its case is locked (a payment recorded meanwhile is seen)."""
    case_id = Instalment.objects.values_list("agreement__case_id", flat=True).get(pk=instalment_id)
    case = lock_case(case_id)
    return Instalment.objects.select_related("agreement").get(pk=instalment_id), case


def instalment_record_payment(*, instalment_id: int, actor: Any, paid_on: datetime.date,
                              paid_amount: Any, note: str = "") -> Instalment:
    """Record what was paid on an instalment of the effective agreement (see ``_check_payment``);
    an amount above the instalment needs ``note``, which is kept. A part payment leaves the rest
    owed, and a further payment on it adds up: the instalment then shows the latest date, the
    total, and each payment in its note (the audit trail keeps every one). A slip is put right
    with ``instalment_correct_payment``, which asks for the reason."""
    amount = parse_amount(paid_amount, field_name="paid_amount")
    note = (note or "").strip()
    with transaction.atomic():
        inst, case = _locked_instalment(instalment_id)
        require_may(actor, "work", case)
        if inst.agreement.status != Agreement.Status.EFFECTIVE:
            raise ActionNotAllowed(_("协议尚未生效，不能登记履行。"))
        require_state(case, [CaseState.SETTLED], _("登记履行情况"))
        further = inst.paid_on is not None
        if further and inst.outstanding <= 0:
            raise ActionNotAllowed(_("第 %(n)s 期已登记履行；如有误，请使用“更正”并说明理由。") % {"n": inst.number})
        errors: dict[str, list[str]] = {}
        _check_payment(inst, paid_on=paid_on, amount=amount, note=note, errors=errors,
                       owed=inst.outstanding if further else None)
        if further and "paid_on" not in errors and inst.paid_on is not None and paid_on < inst.paid_on:
            errors["paid_on"] = [_("续付日期不能早于本期上次履行的日期（%(date)s）。")
                                 % {"date": f"{inst.paid_on:%Y-%m-%d}"}]
        if errors:
            raise ValidationError(errors)
        was = _payment_values(inst, case)
        if further:
            # Each payment stays readable on the instalment: "2026-11-01 付 5,800.00 元；2026-11-20 付 200.00 元".
            earlier = inst.payment_note or _("%(date)s 付 %(amount)s 元") % {
                "date": f"{inst.paid_on:%Y-%m-%d}", "amount": f"{inst.paid_amount or 0:,.2f}"}
            this = _("%(date)s 付 %(amount)s 元") % {"date": f"{paid_on:%Y-%m-%d}", "amount": f"{amount:,.2f}"}
            note = f"{earlier}；{this}" + (f"（{note}）" if note else "")
            amount = (inst.paid_amount or Decimal("0")) + amount
            if len(note) > 200:
                note = note[:199] + "…"
        inst.paid_on, inst.paid_amount, inst.payment_note = paid_on, amount, note
        inst.save(update_fields=list(_PAYMENT_FIELDS))
        _recount_recovered(inst, case)
        old, new = audit.changes(was, _payment_values(inst, case))
        audit.record(actor=actor, action="instalment.payment", obj=inst, case=case, old=old,
                     new={**new, "number": inst.number})
    return inst


def instalment_correct_payment(*, instalment_id: int, actor: Any, paid_on: datetime.date | None,
                               paid_amount: Any, reason: str, note: str = "") -> Instalment:
    """Correct a recorded payment, with the reason, on the audit trail with the values before and after.

    The new values are checked as a payment is (``_check_payment``). Neither a date nor an amount
    clears the record: a payment entered on the wrong instalment, or one that bounced. While the
    case is settled anything may be corrected. Once performance is confirmed (performed) the
    record stays a full payment: a wrong date or note may be put right, but nothing that would
    leave an instalment short, which would contradict the confirmed performance.
    """
    reason = (reason or "").strip()
    note = (note or "").strip()
    clearing = paid_on is None and paid_amount in (None, "")
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("请说明更正的理由。")]
    amount = None
    if not clearing:
        amount = collect_errors(errors, parse_amount, paid_amount, field_name="paid_amount")
    with transaction.atomic():
        inst, case = _locked_instalment(instalment_id)
        require_may(actor, "work", case)
        if inst.agreement.status != Agreement.Status.EFFECTIVE:
            raise ActionNotAllowed(_("只能更正现行有效协议的履行记录。"))
        require_state(case, [CaseState.SETTLED, CaseState.PERFORMED], _("更正履行记录"))
        if inst.paid_on is None:
            raise ActionNotAllowed(_("第 %(n)s 期尚未登记履行，无需更正。") % {"n": inst.number})
        if amount is not None:
            _check_payment(inst, paid_on=paid_on, amount=amount, note=note, errors=errors)
        if case.state == CaseState.PERFORMED and "paid_amount" not in errors and (clearing or (
                amount is not None and amount < inst.amount)):
            errors["paid_amount"] = [_("案件已确认履行完毕：更正后本期不能少于应付的 %(due)s 元，也不能撤销登记。")
                                     % {"due": f"{inst.amount:,.2f}"}]
        was = _payment_values(inst, case)
        if not errors and (paid_on, amount, note if not clearing else "") == (
                inst.paid_on, inst.paid_amount, inst.payment_note):
            errors["__all__"] = [_("更正后的内容与原登记相同。")]
        if errors:
            raise ValidationError(errors)
        inst.paid_on, inst.paid_amount, inst.payment_note = (None, None, "") if clearing else (paid_on, amount, note)
        inst.save(update_fields=list(_PAYMENT_FIELDS))
        _recount_recovered(inst, case)
        old, new = audit.changes(was, _payment_values(inst, case))
        audit.record(actor=actor, action="instalment.payment_correct", obj=inst, case=case,
                     old={**old, "number": inst.number}, new={**new, "number": inst.number, "cleared": clearing},
                     reason=reason)
    return inst
