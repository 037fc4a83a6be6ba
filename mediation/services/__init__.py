"""Writes that are not lifecycle moves: registration, records, agreements, the work on a case.

Each service validates everything before it writes anything, then writes inside one
transaction: bad input raises ``ValidationError`` (messages in the user's language)
and leaves no trace. Permission checks go through ``mediation.permissions``.

One module per subject; every service is importable from here:

* ``amounts``: how typed amounts of money are read (``parse_amount``), for every form and the ledger;
* ``registration``: an application's input, every rule it must pass, case numbers, the write;
* ``records``: corrections of the people and employers on file;
* ``agreements``: drafts, signatures, corrections of the agreement, payments;
* ``work``: sessions, follow-ups, referral outcomes, assignment, extensions, consultation,
  stored deadlines, attachments;
* ``common``: the permission and state checks the others start with.
"""
from mediation.services.agreements import (
    InstalmentInput,
    agreement_correct,
    agreement_draft,
    agreement_missing_signatures,
    agreement_signers,
    instalment_correct_payment,
    instalment_record_payment,
    signature_record,
)
from mediation.services.amounts import AMOUNT_MAX, parse_amount
from mediation.services.records import IDENTITY_FIELDS, record_correct
from mediation.services.registration import (
    CheckedRegistration,
    ClaimInput,
    EmployerInput,
    Entered,
    OnFile,
    PersonInput,
    Registration,
    Respondent,
    RespondentInput,
    case_already_registered,
    case_numbers_take,
    case_register,
    employer_resolve,
    format_case_number,
    open_cases_between,
    people_seen_by,
    possible_duplicates,
    registration_check,
)
from mediation.services.work import (
    ATTACHMENT_TYPES,
    CONSULTATION_FIELDS,
    CONSULTATION_STATES,
    attachment_add,
    consultation_record,
    deadline_extend,
    deadlines_recompute,
    followup_record,
    mediators_assign,
    referral_record_outcome,
    session_record,
    sniff_content_type,
)

__all__ = [
    "AMOUNT_MAX",
    "ATTACHMENT_TYPES",
    "CONSULTATION_FIELDS",
    "CONSULTATION_STATES",
    "CheckedRegistration",
    "ClaimInput",
    "EmployerInput",
    "Entered",
    "IDENTITY_FIELDS",
    "InstalmentInput",
    "OnFile",
    "PersonInput",
    "Registration",
    "Respondent",
    "RespondentInput",
    "agreement_correct",
    "agreement_draft",
    "agreement_missing_signatures",
    "agreement_signers",
    "attachment_add",
    "case_already_registered",
    "case_numbers_take",
    "case_register",
    "consultation_record",
    "deadline_extend",
    "deadlines_recompute",
    "employer_resolve",
    "followup_record",
    "format_case_number",
    "instalment_correct_payment",
    "instalment_record_payment",
    "mediators_assign",
    "open_cases_between",
    "parse_amount",
    "people_seen_by",
    "possible_duplicates",
    "record_correct",
    "referral_record_outcome",
    "registration_check",
    "session_record",
    "signature_record",
    "sniff_content_type",
]
