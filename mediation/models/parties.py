"""People and employers, and the parts they play in a case."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mediation import identity


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Person(models.Model):
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    id_number = models.CharField(_("公民身份号码"), max_length=18, unique=True, null=True, blank=True,
                                 validators=[identity.validate_id_number])
    phone = models.CharField(_("联系电话"), max_length=30, blank=True, validators=[identity.validate_phone])
    address = models.CharField(_("住址"), max_length=200, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("自然人")
        verbose_name_plural = _("自然人")

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return identity.mask_id_number(self.id_number or "")

    @property
    def masked_phone(self) -> str:
        return identity.mask_phone(self.phone)


class Employer(models.Model):
    name = models.CharField(_("单位名称"), max_length=200, db_index=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, null=True, blank=True,
                                   validators=[identity.validate_credit_code])
    legal_representative = models.CharField(_("法定代表人"), max_length=50, blank=True)
    address = models.CharField(_("住所地"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True, validators=[identity.validate_phone])
    industry = models.CharField(_("行业"), max_length=50, blank=True)
    has_union = models.BooleanField(_("已建工会"), default=False)
    has_mediation_committee = models.BooleanField(_("已建劳动争议调解委员会"), default=False)
    is_platform = models.BooleanField(_("平台企业或用工合作方"), default=False,
                                      help_text=_("外卖、快递、网约车、直播等新就业形态的平台或承包商"))

    class Meta:
        verbose_name = _("用人单位")
        verbose_name_plural = _("用人单位")

    def __str__(self) -> str:
        return self.name

    @property
    def masked_credit_code(self) -> str:
        return identity.mask_credit_code(self.credit_code or "")


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("申请人")
    RESPONDENT = "respondent", _("被申请人")
    AGENT = "agent", _("委托代理人")
    THIRD_PARTY = "third_party", _("第三人")


class RespondentCapacity(models.TextChoices):
    """Why a respondent answers for the claim: labour dispatch (劳动争议调解仲裁法 art. 22,
    劳务派遣单位 and 用工单位 are 共同当事人), platform work (the station operator and the platform
    or its cooperation company), contracting, or another jointly liable party."""

    EMPLOYER = "employer", _("用人单位")
    DISPATCH_AGENCY = "dispatch_agency", _("劳务派遣单位")
    HOST_EMPLOYER = "host_employer", _("用工单位")
    PLATFORM = "platform", _("平台企业或用工合作企业")
    CONTRACTOR = "contractor", _("发包或承包单位")
    JOINTLY_LIABLE = "jointly_liable", _("其他共同责任方")


class CaseParty(models.Model):
    """A person or an employer taking part in one case.

    The name, sex, phone, address (and an employer's legal representative) are the ones
    given for this case: they belong to the case (and to the office that took them down),
    not to the person or firm on file, whom other offices' cases share through the ID
    number or credit code. Nothing another office recorded is ever shown on this case.
    """

    # No index of its own: the (case, role) index below serves every lookup by case.
    case = models.ForeignKey("mediation.Case", on_delete=models.CASCADE, related_name="parties",
                             verbose_name=_("案件"), db_index=False)
    role = models.CharField(_("身份"), max_length=20, choices=PartyRole.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="case_parts", verbose_name=_("自然人"))
    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="case_parts", verbose_name=_("单位"))
    represents = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="agents", verbose_name=_("被代理人"))
    position = models.PositiveSmallIntegerField(_("顺序"), default=1)
    name = models.CharField(_("姓名或名称"), max_length=200)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True, validators=[identity.validate_phone])
    address = models.CharField(_("住址"), max_length=200, blank=True)
    #: An employer's legal representative as given for this case (a person has none).
    legal_representative = models.CharField(_("法定代表人"), max_length=50, blank=True)
    #: A respondent's capacity (blank for everyone else).
    capacity = models.CharField(_("责任身份"), max_length=20, choices=RespondentCapacity.choices, blank=True)
    #: An applicant elected by the workers to represent them (劳动争议调解仲裁法 art. 7).
    is_representative = models.BooleanField(_("推举的代表"), default=False)

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        ordering = ["case", "role", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False, employer__isnull=True)
                           | Q(person__isnull=True, employer__isnull=False)),
                name="party_is_person_or_employer"),
            models.CheckConstraint(condition=Q(role="respondent") | Q(capacity=""),
                                   name="capacity_only_for_respondents"),
            models.CheckConstraint(condition=Q(role="applicant") | Q(is_representative=False),
                                   name="representatives_are_applicants"),
            models.UniqueConstraint(fields=["case", "role", "person"], condition=Q(person__isnull=False),
                                    name="person_once_per_role"),
            models.UniqueConstraint(fields=["case", "role", "employer"], condition=Q(employer__isnull=False),
                                    name="employer_once_per_role"),
        ]
        indexes = [models.Index(fields=["case", "role"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()}：{self.name}"

    @property
    def masked_phone(self) -> str:
        return identity.mask_phone(self.phone)

    @property
    def title(self) -> str:
        """The part played, as documents and pages name it: 被申请人（劳务派遣单位）, 申请人（代表）.

        The plain employer is simply 被申请人, as on every form before joint respondents."""
        role = self.get_role_display()
        if self.role == PartyRole.RESPONDENT and self.capacity not in ("", RespondentCapacity.EMPLOYER):
            return f"{role}（{self.get_capacity_display()}）"
        if self.is_representative:
            return f"{role}（{_('代表')}）"
        return str(role)

    @classmethod
    def of_person(cls, person: Person, *, name: str, sex: str = "", phone: str = "", address: str = "",
                  **fields: object) -> CaseParty:
        """A person's part in a case, with the details given for this case."""
        return cls(person=person, name=name, sex=sex, phone=phone, address=address, **fields)

    @classmethod
    def of_employer(cls, employer: Employer, *, name: str | None = None, legal_representative: str | None = None,
                    address: str | None = None, phone: str | None = None, **fields: object) -> CaseParty:
        """An employer's part in a case, with the details given for this case (by default the record's own).

        As with a person, what one office typed about a firm stays with its case: another
        office that names the same firm by its credit code gives its own details.
        """
        return cls(employer=employer, name=employer.name if name is None else name,
                   legal_representative=employer.legal_representative if legal_representative is None
                   else legal_representative, address=employer.address if address is None else address,
                   phone=employer.phone if phone is None else phone, **fields)
