from .agreements import Agreement, AgreementTerm, Instalment, Signature
from .cases import (
    ApplicationForm,
    Attachment,
    Case,
    CaseAccessLog,
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

__all__ = [
    "Agreement", "AgreementTerm", "Attachment", "ApplicationForm", "Case", "CaseAccessLog", "CaseGroupObjectPermission",
    "CaseNumberSequence", "CaseParty", "CaseUserObjectPermission", "Category", "Channel", "ClaimItem",
    "Consent", "ConsultationOutcome", "ConsultationSide", "Employer", "FollowUp", "Instalment", "LineName",
    "MediationSession", "Membership", "Organisation", "OrganisationLevel", "PartyRole", "Person", "Referral",
    "RespondentCapacity", "Role", "Sex", "Signature", "WorkForm",
]
