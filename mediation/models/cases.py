"""The case and what hangs off it: claims, sessions, follow-ups, referrals."""
from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import TypedDict

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMFieldMixin
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from workflows.machine import CaseStateMachine
from workflows.states import CLOSABLE_STATES, OPEN_STATES, CaseState

from .parties import PartyRole


class _Digits(TypedDict):
    max_digits: int
    decimal_places: int


AMOUNT: _Digits = {"max_digits": 14, "decimal_places": 2}


class Channel(models.TextChoices):
    WALK_IN = "walk_in", _("来访")
    HOTLINE = "hotline", _("电话/12351热线")
    WECHAT = "wechat", _("微信")
    ONLINE = "online", _("网上平台")
    ARBITRATION = "arbitration", _("仲裁委转来")
    COURT = "court", _("法院转来")
    INSPECTION = "inspection", _("劳动监察转来")
    PROACTIVE = "proactive", _("主动排查发现")


class ApplicationForm(models.TextChoices):
    WRITTEN = "written", _("书面申请")
    ORAL = "oral", _("口头申请")


class WorkForm(models.TextChoices):
    DELIVERY = "delivery", _("外卖骑手")
    COURIER = "courier", _("快递员")
    RIDE_HAILING = "ride_hailing", _("网约车司机")
    LIVE_STREAMING = "live_streaming", _("网络主播")
    OTHER = "other", _("其他新就业形态")


class ConsultationSide(models.TextChoices):
    WORKER = "worker", _("劳动者一方")
    EMPLOYER = "employer", _("用人单位一方")


class ConsultationOutcome(models.TextChoices):
    PENDING = "pending", _("等待答复")
    AGREED = "agreed", _("同意协商")
    REFUSED = "refused", _("拒绝协商")
    NO_REPLY = "no_reply", _("逾期未答复，视为不愿协商")
    SETTLED = "settled", _("协商一致，达成和解协议")
    FAILED = "failed", _("协商不成")


class Consent(models.TextChoices):
    CONSENTED = "consented", _("同意调解")
    REFUSED = "refused", _("不同意调解")


class Category(models.Model):
    """A dispute category (劳动报酬, 社会保险 …); an administrator may add more."""

    code = models.SlugField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=30)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("争议类别")
        verbose_name_plural = _("争议类别")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class CaseNumberSequence(models.Model):
    """The last number issued per registering organisation and year.

    Taken under a row lock in the same transaction as the case it numbers, so a
    rolled-back registration gives its number back: numbers stay gapless.
    """

    organisation = models.ForeignKey("mediation.Organisation", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "year"], name="one_sequence_per_org_year")]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.year}: {self.last_value}"



class Case(ConcurrentTransitionMixin, CaseStateMachine, models.Model):
    number = models.CharField(_("案号"), max_length=60, unique=True)
    registered_organisation = models.ForeignKey(
        "mediation.Organisation", on_delete=models.PROTECT, related_name="registered_cases",
        verbose_name=_("登记组织"))
    sequence_year = models.PositiveSmallIntegerField(_("案号年度"))
    sequence_number = models.PositiveIntegerField(_("案号序号"))
    organisation = models.ForeignKey("mediation.Organisation", on_delete=models.PROTECT, related_name="cases",
                                     verbose_name=_("承办组织"))
    state = FSMField(_("状态"), max_length=30, choices=CaseState.choices, default=CaseState.REGISTERED,
                     protected=True, db_index=True)

    #: Indexed with the case's id and organisation as the list's order (``case_list_newest``, below).
    received_at = models.DateTimeField(_("收到申请时间"))
    channel = models.CharField(_("来源渠道"), max_length=20, choices=Channel.choices)
    #: Made by the worker on the public pages (portal/, docs/portal.md), not at a desk: the intake
    #: queue marks it 网上申请. Its channel is ``Channel.ONLINE`` as well.
    applied_online = models.BooleanField(_("网上申请"), default=False, db_default=False)
    application_form = models.CharField(_("申请方式"), max_length=10, choices=ApplicationForm.choices)
    dispute_summary = models.TextField(_("争议事项"))
    reasons = models.TextField(_("申请理由"), blank=True)
    categories = models.ManyToManyField(Category, related_name="cases", verbose_name=_("争议类别"))
    # Indexed with the case's id (Meta's "case_employer_cases"), not alone.
    employer = models.ForeignKey("mediation.Employer", on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("被申请单位"), db_index=False)
    applicant_count = models.PositiveIntegerField(_("申请人数"), default=0)
    #: The first applicants' names, on the rows of a list page (``selectors.with_first_applicants``).
    applicant_names: list[str]
    #: Workers with the common claim, listed or not (劳动争议调解仲裁法 art. 7): 30 workers may
    #: be represented by 3 applicants. Never fewer than the listed applicants.
    workers_involved = models.PositiveIntegerField(_("涉及劳动者人数"), default=0)
    is_collective = models.BooleanField(_("集体争议"), default=False, db_index=True,
                                        help_text=_("涉及劳动者10人以上时自动标记（劳动争议调解仲裁法第七条）"))
    is_new_employment_form = models.BooleanField(_("新就业形态"), default=False, db_index=True)
    work_form = models.CharField(_("新就业形态类型"), max_length=20, choices=WorkForm.choices, blank=True)
    platform = models.ForeignKey("mediation.Employer", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="platform_cases", verbose_name=_("平台或用工合作方"))
    mediators = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="assigned_cases", blank=True,
                                       verbose_name=_("承办调解员"))

    amount_claimed = models.DecimalField(_("请求金额"), default=Decimal("0"), **AMOUNT)
    amount_agreed = models.DecimalField(_("协议金额"), default=Decimal("0"), **AMOUNT)
    amount_recovered = models.DecimalField(_("已履行金额"), default=Decimal("0"), **AMOUNT)

    dispute_known_on = models.DateField(_("知道或应当知道权利被侵害之日"), null=True, blank=True,
                                        help_text=_("用于计算仲裁时效（劳动争议调解仲裁法第二十七条）"))
    # Consultation (协商) before mediation, 人社部令第17号: the request, the other side's reply
    # within 5 days (none is taken as refusing), and how it ended.
    consultation_requested_on = models.DateField(_("提出协商日期"), null=True, blank=True)
    consultation_requested_by = models.CharField(_("提出协商的一方"), max_length=12,
                                                 choices=ConsultationSide.choices, blank=True)
    consultation_replied_on = models.DateField(_("对方答复日期"), null=True, blank=True)
    consultation_outcome = models.CharField(_("协商结果"), max_length=12, choices=ConsultationOutcome.choices,
                                            blank=True)
    consultation_note = models.TextField(_("协商情况"), blank=True)
    # Mediation is voluntary (人社部令第17号): the respondents' consent, recorded at acceptance.
    respondent_consent = models.CharField(_("被申请人是否同意调解"), max_length=10, choices=Consent.choices,
                                          blank=True)
    consent_recorded_on = models.DateField(_("征询意见日期"), null=True, blank=True)
    consent_note = models.CharField(_("征询情况"), max_length=200, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("不予受理时间"), null=True, blank=True)
    concluded_at = models.DateTimeField(_("调解终结时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    agreement_effective_on = models.DateField(_("协议生效日期"), null=True, blank=True)
    mediation_extra_days = models.PositiveSmallIntegerField(_("调解期限延长天数"), default=0)
    # Stored so that lists can find overdue cases in SQL; recomputed whenever an
    # input changes (services) or the calendar changes (recompute_deadlines).
    acceptance_due = models.DateField(_("受理期限"), null=True, blank=True, db_index=True)
    mediation_due = models.DateField(_("调解期限"), null=True, blank=True, db_index=True)
    deadlines_confirmed = models.BooleanField(_("期限已按确认的节假日计算"), default=True)
    # Settled cases only: the due date of the earliest instalment still unpaid. Kept by the
    # database whoever writes (mediation/tallies.py); whatever a save sends is recomputed.
    next_instalment_due = models.DateField(_("最早未履行分期的期限"), null=True, blank=True, editable=False)
    # While being mediated: how many mediators are assigned (0 otherwise), kept by the database likewise.
    mediator_count = models.PositiveSmallIntegerField(_("承办调解员人数"), default=0, db_default=0, editable=False)
    # Performed and not yet visited since; referred and no outcome known since (kept likewise).
    awaiting_visit_since = models.DateTimeField(_("待回访起始时间"), null=True, blank=True, editable=False)
    awaiting_outcome_since = models.DateField(_("待登记结果起始日期"), null=True, blank=True, editable=False)
    closed_from_state = models.CharField(_("结案前状态"), max_length=30, choices=CaseState.choices, blank=True,
                                         editable=False)
    archive_number = models.CharField(_("档案号"), max_length=60, blank=True)

    imported = models.BooleanField(_("历史导入"), default=False)
    import_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    intake_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   related_name="+", verbose_name=_("登记人"))
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["registered_organisation", "sequence_year", "sequence_number"],
                                    name="gapless_number_per_org_year"),
            models.CheckConstraint(condition=models.Q(amount_claimed__gte=0, amount_agreed__gte=0,
                                                      amount_recovered__gte=0),
                                   name="case_amounts_not_negative"),
        ]
        indexes = [
            models.Index(fields=["organisation", "state"]),
            models.Index(fields=["state", "received_at"]),
            # The two halves of "overdue" (selectors.overdue_q) as index-only reads on PostgreSQL. Each
            # list by deadline is in the index's order, the case's id breaking ties (selectors.soonest_due):
            # its first rows are the index's first, not a sort of every case due on the same day.
            models.Index(fields=["acceptance_due", "id"], include=["organisation", "channel"],
                         condition=models.Q(state="registered"), name="case_registered_due"),
            models.Index(fields=["mediation_due", "id"], include=["organisation", "channel"],
                         condition=models.Q(state__in=["self_resolution", "joint_mediation", "linked_mediation",
                                                       "escalation_pending"]),
                         name="case_working_due"),
            # Open cases by their deadlines (the home page's "my cases", views.home): the list is in the
            # index's order, so its walk stops at its fifteenth row of the user's, not at the end of
            # every case due on the same day as the fifteenth (a sort of each day's cases, closed ones
            # too: hundreds a day at a million cases).
            models.Index(fields=["acceptance_due", "mediation_due", "id"], include=["organisation"],
                         condition=models.Q(state__in=list(OPEN_STATES)), name="case_open_by_deadlines"),
            # The follow-through lists (selectors.follow_through), oldest first, each with the very
            # state its list asks for: the list and its capped count are one range of the index,
            # not an intersection with every case of that state. Settled cases with an instalment
            # unpaid, by its date; performed cases awaiting their follow-up visit; referred cases
            # awaiting their outcome. With the organisation and the case's id, whether the user
            # may read the case is answered from the index alone (the capped counts read no row); the id
            # breaks ties in the index's own order, as in the lists' (selectors._first).
            models.Index(fields=["next_instalment_due", "id"], include=["organisation"],
                         condition=models.Q(state="settled", next_instalment_due__isnull=False),
                         name="case_next_instalment_due"),
            models.Index(fields=["awaiting_visit_since", "id"], include=["organisation"],
                         condition=models.Q(state="performed", awaiting_visit_since__isnull=False),
                         name="case_awaiting_visit"),
            models.Index(fields=["awaiting_outcome_since", "id"], include=["organisation"],
                         condition=models.Q(state="referred", awaiting_outcome_since__isnull=False),
                         name="case_awaiting_outcome"),
            # Cases being mediated with no mediator assigned, oldest first (the home page's "to assign").
            models.Index(fields=["received_at"], condition=models.Q(
                mediator_count=0, state__in=["self_resolution", "joint_mediation", "linked_mediation"]),
                name="case_unassigned"),
            # The case list in its usual order, newest first (views.cases.case_list), with the organisation
            # the user's reach is checked against: a later page's ids are read from the index alone,
            # not by fetching every case its offset passes over (common.BoundedPaginator.ids_first).
            models.Index(fields=["received_at", "id"], include=["organisation"], name="case_list_newest"),
            # The cases whose statutory clock runs, newest first, with what "overdue" is decided by: the
            # overdue list's first page reads its ids from this index alone, passing over the newer cases
            # not yet due in the index rather than in the table, whose number grows with the cases received
            # a day (views.cases.case_list; docs/performance.md, "Twentieth pass").
            models.Index(fields=["received_at", "id"],
                         include=["organisation", "state", "acceptance_due", "mediation_due"],
                         condition=models.Q(state__in=["registered", "self_resolution", "joint_mediation",
                                                       "linked_mediation", "escalation_pending"]),
                         name="case_running_newest"),
            # The case list by amount claimed: its first page is the index's first rows of the user's
            # reach, not a sort of every case they may read (the list breaks ties by the newest case,
            # so cases of one amount are still sorted among themselves).
            models.Index(fields=["amount_claimed", "id"], include=["organisation"], name="case_list_by_amount"),
            # Whether the user may read cases given by their ids (a search's matches, checked a chunk
            # at a time: selectors._own_among) from the index alone, without reading each case: the
            # organisation is what the user's reach is checked against.
            models.Index(fields=["id"], include=["organisation"], name="case_id_organisation"),
            # An employer's cases (the foreign key's index) with their ids, and the organisation: a search
            # by an employer's name gathers those cases' ids from the index alone, as far as it needs,
            # instead of fetching each case (selectors._search_sources; docs/performance.md, "Sixteenth pass").
            models.Index(fields=["employer", "id"], include=["organisation"], name="case_employer_cases"),
            # Closable cases by last change (the home page's "ready to close"): those that wait for no
            # follow-up visit and no outcome any more (the derived columns above), so that the walk
            # reads the cases that may be closed, not every performed or referred case.
            models.Index(fields=["updated_at", "id"], condition=models.Q(
                state__in=["performed", "referred", "rejected", "withdrawn"], awaiting_visit_since__isnull=True,
                awaiting_outcome_since__isnull=True), name="case_closable_updated"),
            # Consultations waiting for the other side's reply, oldest first (selectors.follow_through);
            # like the three above, with what the user's reach is checked against.
            models.Index(fields=["consultation_requested_on", "id"], include=["organisation"], condition=models.Q(
                consultation_requested_on__isnull=False, consultation_replied_on__isnull=True,
                state__in=["registered", "self_resolution"], consultation_outcome__in=["", "pending"]),
                name="case_consultation_waiting"),
        ]
        permissions = [
            ("register_case", _("登记案件")),
            ("accept_case", _("受理或不予受理")),
            ("work_case", _("办理案件：调解笔录、协议、回访、转交")),
            ("request_escalation", _("申请提级")),
            ("decide_escalation", _("审批提级")),
            ("conclude_case", _("达成协议、终止调解、确认履行")),
            ("withdraw_case", _("登记撤回")),
            ("close_case", _("结案")),
            ("reopen_case", _("重新开启已结案件")),
            ("assign_mediator", _("指派调解员")),
            ("extend_deadline", _("延长调解期限")),
            ("view_personal_data", _("查看完整身份证号码和电话")),
            ("view_all_cases", _("查看全区案件")),
            # Actions over a scope rather than one case (mediation/permissions.py ``scope_q``).
            ("export_case_files", _("导出卷宗")),
            ("read_statistics", _("查看统计和案件台账")),
            ("import_ledger", _("导入历史台账")),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def state_fields(self) -> tuple[FSMFieldMixin, ...]:
        """The state field, as django-fsm's mixin finds it, found once per process rather than by testing
        each of the case's fields again every time a case is built (lists build hundreds a page)."""
        return _state_fields(type(self))

    # --- facts the lifecycle's conditions read ---------------------------------
    @property
    def line(self) -> int:
        return self.organisation.line

    def _read(self, relation: str) -> list | None:
        """The case's rows of ``relation`` if they were read with it (``prefetch_related``: the case page
        reads them all once), else None. The conditions below answer from those rather than ask again;
        a move re-reads its case under a lock, so it always asks the database."""
        cache = getattr(self, "_prefetched_objects_cache", {})
        return list(cache[relation]) if relation in cache else None

    def effective_agreement(self):
        from .agreements import Agreement

        read = self._read("agreements")
        if read is not None:
            return max((a for a in read if a.status == Agreement.Status.EFFECTIVE), key=lambda a: a.version,
                       default=None)
        return self.agreements.filter(status=Agreement.Status.EFFECTIVE).order_by("-version").first()

    def has_higher_organisation(self) -> bool:
        """Escalation moves a case up the tree: is there an active organisation above the handling one?"""
        return self.organisation.ancestors().filter(is_active=True).exists()

    def has_effective_agreement(self) -> bool:
        from .agreements import Agreement

        read = self._read("agreements")
        if read is not None:
            return any(a.status == Agreement.Status.EFFECTIVE for a in read)
        return self.agreements.filter(status=Agreement.Status.EFFECTIVE).exists()

    def agreement_fully_paid(self) -> bool:
        agreement = self.effective_agreement()
        return agreement is not None and agreement.is_fully_paid()

    def ready_to_close(self) -> bool:
        """A performed case needs its follow-up visit; a referred one its outcome (the closed loop);
        a failed one its termination notice, which tells the parties they may go to arbitration."""
        source = self.state
        if source == CaseState.PERFORMED:
            read = self._read("follow_ups")
            return bool(read) if read is not None else self.follow_ups.exists()
        if source == CaseState.MEDIATION_FAILED:
            read = self._read("issued_documents")
            if read is not None:
                return any(d.kind == "termination_notice" for d in read)
            return self.issued_documents.filter(kind="termination_notice").exists()
        if source == CaseState.REFERRED:
            read = self._read("referrals")
            if read is not None:
                return any(r.outcome != Referral.Outcome.PENDING for r in read)
            return self.referrals.exclude(outcome=Referral.Outcome.PENDING).exists()
        return source in CLOSABLE_STATES

    def pending_escalation(self):
        """The open escalation request, if any (at most one: a unique constraint)."""
        if not hasattr(self, "_pending_escalation"):
            from workflows.models import EscalationRequest

            read = self._read("escalations")
            if read is not None:
                return next((e for e in read if e.decision == EscalationRequest.Decision.PENDING), None)
            self._pending_escalation = (
                self.escalations.filter(decision=EscalationRequest.Decision.PENDING)
                .select_related("to_organisation", "from_organisation").first())
        return self._pending_escalation

    def refresh_from_db(self, *args, **kwargs) -> None:
        self.__dict__.pop("_pending_escalation", None)
        self.__dict__.pop("_current_invitation", None)  # portal.acknowledgement.current_invitation
        super().refresh_from_db(*args, **kwargs)

    # --- statutory clocks (DOMAIN.md §4) -----------------------------------------------
    def deadlines(self, calendar=None) -> list:
        """Every clock of the case with its due date, whether it runs now and is confirmed."""
        from workflows.clocks import case_deadlines

        return case_deadlines(self, calendar=calendar)

    @property
    def running_due(self):
        """The stored deadline that runs in the current state (acceptance or mediation), if any."""
        from workflows.states import WORKING_STATES

        if self.state == CaseState.REGISTERED:
            return self.acceptance_due
        if self.state in (*WORKING_STATES, CaseState.ESCALATION_PENDING):
            return self.mediation_due
        return None

    @property
    def is_overdue(self) -> bool:
        """Past a running acceptance or mediation deadline (the stored ones lists filter on)."""
        from workflows.clocks import local_today
        from workflows.states import WORKING_STATES

        today = local_today()
        if self.state == CaseState.REGISTERED:
            return bool(self.acceptance_due and self.acceptance_due < today)
        if self.state in (*WORKING_STATES, CaseState.ESCALATION_PENDING):
            return bool(self.mediation_due and self.mediation_due < today)
        return False

    def applicants(self):
        return self.parties.filter(role=PartyRole.APPLICANT)


@cache
def _state_fields(model: type[models.Model]) -> tuple[FSMFieldMixin, ...]:
    return tuple(f for f in model._meta.fields if isinstance(f, FSMFieldMixin))


class ClaimItem(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="claims", verbose_name=_("案件"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True,
                                 verbose_name=_("类别"))
    description = models.CharField(_("请求事项"), max_length=200)
    amount = models.DecimalField(_("金额（元）"), validators=[MinValueValidator(Decimal("0"))], **AMOUNT)

    class Meta:
        verbose_name = _("请求事项")
        verbose_name_plural = _("请求事项")
        ordering = ["pk"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="claim_amount_not_negative")]

    def __str__(self) -> str:
        return f"{self.description} {self.amount}元"


class MediationSession(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("案件"))
    organisation = models.ForeignKey("mediation.Organisation", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("主持组织"))
    held_at = models.DateTimeField(_("调解时间"))
    place = models.CharField(_("调解地点"), max_length=200)
    mediators = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("调解员"))
    attendees = models.TextField(_("参加人员"))
    record = models.TextField(_("调解笔录"))
    result = models.CharField(_("本次结果"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("记录人"))
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调解笔录")
        verbose_name_plural = _("调解笔录")
        ordering = ["held_at", "pk"]

    def __str__(self) -> str:
        return f"{self.held_at:%Y-%m-%d %H:%M} {self.place}"



class FollowUp(models.Model):
    class Method(models.TextChoices):
        PHONE = "phone", _("电话回访")
        VISIT = "visit", _("上门回访")
        WECHAT = "wechat", _("微信回访")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("案件"))
    visited_on = models.DateField(_("回访日期"))
    method = models.CharField(_("回访方式"), max_length=10, choices=Method.choices)
    contact = models.CharField(_("回访对象"), max_length=100)
    content = models.TextField(_("回访情况"))
    satisfied = models.BooleanField(_("当事人满意"), default=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("记录人"))
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        ordering = ["visited_on", "pk"]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.contact}"



class Referral(models.Model):
    """The hand-off to arbitration or court, and the outcome that closes the loop."""

    class Destination(models.TextChoices):
        ARBITRATION = "arbitration", _("劳动人事争议仲裁委员会")
        COURT = "court", _("人民法院")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("等待结果")
        ARBITRATION_MEDIATED = "arbitration_mediated", _("仲裁调解结案")
        AWARD = "award", _("仲裁裁决")
        COURT_MEDIATED = "court_mediated", _("法院调解结案")
        JUDGMENT = "judgment", _("法院判决")
        PAYMENT_ORDER = "payment_order", _("支付令")
        WITHDRAWN = "withdrawn", _("当事人撤回")
        NOT_ACCEPTED = "not_accepted", _("不予受理")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("案件"))
    destination = models.CharField(_("移交去向"), max_length=20, choices=Destination.choices)
    body = models.CharField(_("接收机构"), max_length=100)
    referred_on = models.DateField(_("移交日期"))
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("经办人"))
    note = models.TextField(_("移交说明"), blank=True)
    external_reference = models.CharField(_("对方案号"), max_length=60, blank=True)
    outcome = models.CharField(_("处理结果"), max_length=30, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_on = models.DateField(_("结果日期"), null=True, blank=True)
    outcome_summary = models.TextField(_("结果摘要"), blank=True)
    outcome_amount = models.DecimalField(_("裁判或调解金额"), null=True, blank=True,
                                         validators=[MinValueValidator(Decimal("0"))], **AMOUNT)
    outcome_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="+", verbose_name=_("结果登记人"))

    class Meta:
        verbose_name = _("移交仲裁/诉讼")
        verbose_name_plural = _("移交仲裁/诉讼")
        ordering = ["referred_on", "pk"]

    def __str__(self) -> str:
        return f"{self.body} {self.referred_on}"



class CaseUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK object permissions (fast, cascade-deleted): e.g. a former mediator's read access."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)
    #: Whether the case is closed, kept by the database with the case (``mediation/tallies.py``:
    #: whoever writes the case or the grant, it is recomputed): the home page's lists never show a
    #: closed case, so they read only the grants on cases not closed (a mediator of long standing
    #: holds thousands of grants, most on cases long closed).
    case_closed = models.BooleanField(default=False, db_default=False, editable=False)
    #: The case's state, kept the same way: a list of cases in some states only (overdue, waiting for
    #: a follow-up visit…) reads only the grants on cases in those states, through its own index.
    case_state = models.CharField(max_length=30, default="", db_default="", editable=False)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "permission", "content_object"], condition=models.Q(case_closed=False),
                                name="grant_on_case_not_closed"),
                   models.Index(fields=["user", "permission", "case_state", "content_object"],
                                name="grant_by_case_state")]


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


def _attachment_path(instance: "Attachment", filename: str) -> str:
    # The stored name is the content hash: no user-chosen name ever reaches the disk.
    return f"attachments/{instance.case_id}/{instance.sha256}"


class Attachment(models.Model):
    """Evidence and other files on a case; the type comes from the content, not the name."""

    class Kind(models.TextChoices):
        EVIDENCE = "evidence", _("证据材料")
        APPLICATION = "application", _("申请材料")
        IDENTITY = "identity", _("身份证明")
        #: The scan of a signed paper original, kept with the issued document it is a copy of.
        SIGNED_COPY = "signed_copy", _("签署文本扫描件")
        OTHER = "other", _("其他")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("案件"))
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices, default=Kind.EVIDENCE)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    file = models.FileField(_("文件"), upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    #: Empty for evidence the worker sent with an online application (no staff user uploaded it).
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True, verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["uploaded_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "sha256"], name="attachment_once_per_case")]

    def __str__(self) -> str:
        return self.original_name

