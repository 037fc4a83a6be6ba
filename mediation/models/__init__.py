from .agreements import Agreement, AgreementTerm, Instalment, Signature
from .cases import (
    ApplicationForm,
    Attachment,
    Case,
    CaseGroupObjectPermission,
    CaseNumberSequence,
    CaseUserObjectPermission,
    Category,
    Channel,
    ClaimItem,
    Consent,
    ConsultationOutcome,
    ConsultationSide,
    FollowUp,
    MediationSession,
    Referral,
    WorkForm,
)
from .organisations import LineName, Membership, Organisation, OrganisationLevel, Role
from .parties import CaseParty, Employer, PartyRole, Person, RespondentCapacity, Sex
from .tallies import CaseTally, GrantTally, MediatorTally

__all__ = [
    "Agreement", "AgreementTerm", "Attachment", "ApplicationForm", "Case",
    "CaseGroupObjectPermission", "CaseNumberSequence", "CaseParty", "CaseTally", "CaseUserObjectPermission",
    "Category", "Channel", "ClaimItem", "Consent", "ConsultationOutcome", "ConsultationSide", "Employer",
    "FollowUp", "GrantTally", "Instalment", "LineName", "MediationSession", "MediatorTally", "Membership",
    "Organisation", "OrganisationLevel", "PartyRole", "Person", "Referral", "RespondentCapacity", "Role",
    "Sex", "Signature", "WorkForm",
]
