"""Writing checked ledger rows: numbered by the one numbering function, in batches of bulk INSERTs.

A few dozen INSERTs per batch instead of ~18 per case. Called inside the import's
transaction, so all rows are written or none.
"""
from __future__ import annotations

import datetime
from typing import Any

from django.utils.translation import gettext as _

from mediation.models import (
    Agreement,
    AgreementTerm,
    Case,
    CaseParty,
    ClaimItem,
    Employer,
    FollowUp,
    Instalment,
    MediationSession,
    Person,
    Referral,
)
from mediation.reports.ledger.columns import IMPORT_REASON
from mediation.reports.ledger.forms import TIMES, LedgerRowForm
from mediation.services import case_numbers_take, format_case_number
from workflows.clocks import CHINA_TZ, WorkCalendar
from workflows.models import TransitionLog


def ledger_write(rows: list[LedgerRowForm], *, user: Any, calendar: WorkCalendar, batch_size: int = 500) -> int:
    _number(rows)
    for i in range(0, len(rows), batch_size):
        _write_batch(rows[i:i + batch_size], user=user, calendar=calendar)
    return len(rows)


def _number(rows: list[LedgerRowForm]) -> None:
    """Numbers the file gives are kept; a row without one is numbered after them all, and the
    sequence moves past the highest, so the next registration continues after them."""
    given: dict[tuple[int, int], int] = {}
    waiting: dict[tuple[int, int], list[dict[str, Any]]] = {}
    registered = {row.checked.data.organisation.pk: row.checked.data.organisation for row in rows}
    for row in rows:
        cd, org_id = row.cleaned_data, row.checked.data.organisation.pk
        if not cd["number"]:
            cd["year"] = row.checked.data.received_at.astimezone(CHINA_TZ).year
            waiting.setdefault((org_id, cd["year"]), []).append(cd)
        else:
            given[(org_id, cd["year"])] = max(given.get((org_id, cd["year"]), 0), cd["seq"])
    for org_id, year in sorted(given.keys() | waiting.keys()):  # one lock order for every writer
        unnumbered = waiting.get((org_id, year), [])
        numbers = case_numbers_take(organisation=registered[org_id], year=year, count=len(unnumbered),
                                    above=given.get((org_id, year), 0))
        for cd, seq in zip(unnumbered, numbers, strict=True):
            cd["seq"], cd["number"] = seq, format_case_number(registered[org_id], year, seq)


def _new_records(rows: list[LedgerRowForm]) -> None:
    """People and employers not yet on file, each once however many rows name them."""
    new: dict[int, Any] = {}
    for row in rows:
        r = row.checked
        for record in (*r.people, r.employer, r.platform):
            if record is not None and record.pk is None:
                new[id(record)] = record
    Person.objects.bulk_create([r for r in new.values() if isinstance(r, Person)])
    Employer.objects.bulk_create([r for r in new.values() if isinstance(r, Employer)])


def _case(row: LedgerRowForm, *, user: Any, calendar: WorkCalendar) -> Case:
    cd = row.cleaned_data
    return row.checked.new_case(
        year=cd["year"], seq=cd["seq"], actor=user, calendar=calendar, number=cd["number"],
        organisation=cd["organisation"], state=cd["state"], amount_agreed=cd["amount_agreed"],
        amount_recovered=cd["amount_recovered"], agreement_effective_on=cd["agreement_effective_on"],
        mediation_extra_days=cd["extra_days"], closed_from_state=cd["closed_from"], archive_number=cd["archive_number"],
        imported=True, import_key=cd["key"], **{key: cd[key] for key in TIMES})


def _write_batch(rows: list[LedgerRowForm], *, user: Any, calendar: WorkCalendar) -> None:
    _new_records(rows)
    cases = Case.objects.bulk_create([_case(row, user=user, calendar=calendar) for row in rows])
    category_links, mediator_links, claims, parties, sessions, agreements = [], [], [], [], [], []
    follow_ups, referrals, logs = [], [], []
    for row, case in zip(rows, cases, strict=True):
        cd, registration, organisation = row.cleaned_data, row.checked, row.cleaned_data["organisation"]
        category_links += [Case.categories.through(case_id=case.pk, category_id=c.pk) for c in registration.categories]
        mediator_links += [Case.mediators.through(case_id=case.pk, user_id=u.pk) for u in cd["mediators"]]
        for claim in registration.claims:
            claim.case = case
        claims += registration.claims
        parties += registration.parties(case)
        sessions += [(row, MediationSession(
            case=case, organisation=organisation,
            held_at=datetime.datetime.combine(day, datetime.time(9, 0), tzinfo=CHINA_TZ),
            place=organisation.address or organisation.name, attendees=_("见纸质卷宗"),
            record=_("历史台账导入：调解笔录见纸质卷宗。"), recorded_by=user)) for day in cd["sessions"]]
        if cd["agreement_effective_on"]:
            # An effective version without signatures: the paper original in the file holds them.
            agreements.append((row, Agreement(
                case=case, status=Agreement.Status.EFFECTIVE, dispute_summary=case.dispute_summary,
                effective_on=cd["agreement_effective_on"], drafted_by=user)))
        follow_ups += [FollowUp(case=case, contact=_("见纸质卷宗"), content=str(IMPORT_REASON), recorded_by=user, **f)
                       for f in cd["follow_ups"]]
        if cd["referral"]:
            referrals.append(_referral(cd["referral"], case, user))
        # Acceptance is where a case arrives at its handling organisation (the ledger
        # does not record the escalations between), so only it crosses organisations.
        logs += [TransitionLog.build(
            case=case, transition=step.name, from_state=step.source, to_state=step.target,
            from_organisation_id=(registration.data.organisation if step.name == "accept" else organisation).pk,
            to_organisation_id=organisation.pk, actor_id=user.pk, reason=IMPORT_REASON, at=step.at,
            imported=True) for step in cd["steps"]]
    Case.categories.through.objects.bulk_create(category_links)
    Case.mediators.through.objects.bulk_create(mediator_links)
    ClaimItem.objects.bulk_create(claims)
    CaseParty.objects.bulk_create(parties)
    MediationSession.objects.bulk_create([s for _r, s in sessions])
    MediationSession.mediators.through.objects.bulk_create([
        MediationSession.mediators.through(mediationsession_id=s.pk, user_id=u.pk)
        for row, s in sessions for u in row.cleaned_data["mediators"]])
    Agreement.objects.bulk_create([a for _r, a in agreements])
    AgreementTerm.objects.bulk_create([AgreementTerm(agreement=a, number=1,
                                                     text=_("历史台账导入：协议文本见纸质卷宗。"))
                                       for _r, a in agreements])
    Instalment.objects.bulk_create([Instalment(agreement=a, **i) for row, a in agreements
                                    for i in row.cleaned_data["instalments"]])
    FollowUp.objects.bulk_create(follow_ups)
    Referral.objects.bulk_create(referrals)
    _write_history(logs)


def _referral(r: dict[str, Any], case: Case, user: Any) -> Referral:
    done = r["outcome"] != Referral.Outcome.PENDING
    return Referral(
        case=case, destination=r["destination"], body=r["body"], referred_on=r["referred_on"], referred_by=user,
        note=str(IMPORT_REASON), outcome=r["outcome"], outcome_on=r["outcome_on"],
        outcome_summary=str(IMPORT_REASON) if done else "", outcome_recorded_by=user if done else None)


def _write_history(logs: list[TransitionLog]) -> None:
    moments = [log.at for log in logs]
    # ``at`` is auto_now_add: set the historical moments again in a second statement.
    created = TransitionLog.objects.bulk_create(logs)
    for log, moment in zip(created, moments, strict=True):
        log.at = moment
    TransitionLog.objects.bulk_update(created, ["at"], batch_size=1000)
