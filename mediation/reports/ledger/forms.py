"""One ledger row as a form: its cells read into the ``Registration`` that ``case_register`` checks.

The registration rules (ID check digits, credit codes, amounts, applicants …) are not
repeated here: ``check`` runs ``registration_check``, the checker ``case_register``
uses, and files its messages under the row's columns. What the form adds is what only
a ledger has: cells to read, the organisations and mediators named in words, the case
number the file gives, and the history that led to the state the row records.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Callable

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mediation import permissions, services
from mediation.models import (
    ApplicationForm,
    Category,
    Channel,
    FollowUp,
    Organisation,
    Referral,
    RespondentCapacity,
    WorkForm,
)
from mediation.reports.ledger import cells
from mediation.reports.ledger.access import import_organisations
from mediation.reports.ledger.cells import Cell, ChoiceCell
from mediation.reports.ledger.columns import COLUMN_BY_KEY, FORMER_STATE_LABELS, SEP, Outcome
from mediation.reports.ledger.history import history_of
from workflows.clocks import CHINA_TZ, WorkCalendar, local_date
from workflows.states import CaseState as S

#: Where ``registration_check`` files a problem (its field, or the last part of ``applicants-0-id_number``)
#: in the ledger's columns.
_COLUMN_OF = {
    "received_at": "received_at", "channel": "channel", "application_form": "application_form",
    "work_form": "work_form", "dispute_summary": "dispute_summary", "applicants": "applicants",
    "categories": "categories", "employer_name": "employer", "employer_credit_code": "credit_code",
    "platform_name": "platform", "platform_credit_code": "platform", "name": "applicants",
    "id_number": "applicant_ids", "phone": "applicant_phones", "amount": "claims", "description": "claims",
    "category": "claims", "employer_capacity": "employer_capacity", "respondents": "other_respondents",
    "workers_involved": "workers_involved", "is_representative": "representatives",
    "organisation": "registered_organisation",
}
TIMES = ("accepted_at", "rejected_at", "concluded_at", "closed_at")
ZERO = Decimal("0")


class LedgerContext:
    """What every row of one import is read against: the importer's organisations, categories and people."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.orgs = list(import_organisations(user))
        self.org_by_name: dict[str, list[Organisation]] = {}
        for o in self.orgs:
            for name in {o.name, o.short_name} - {""}:
                self.org_by_name.setdefault(name, []).append(o)
        self.may_see = services.people_seen_by(user)
        self.categories = list(Category.objects.all())
        self.calendar = WorkCalendar.from_db()
        self.people: dict[int, dict[str, Any]] = {}
        for m in (permissions.memberships_holding("work_case", self.orgs, active_only=False)
                  .select_related("user")):
            names = self.people.setdefault(m.organisation_id, {})
            names[m.user.get_full_name() or m.user.get_username()] = m.user
            names[m.user.get_username()] = m.user
        self.anyone = {name: user for names in self.people.values() for name, user in names.items()}

    def organisation(self, name: str) -> Organisation:
        """The organisation in the importer's scope with this name or short name."""
        if not name:
            raise ValidationError(_("请填写承办组织。"))
        found = self.org_by_name.get(name, [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValidationError(_("组织名称“%(v)s”不唯一，请填写全称。") % {"v": name})
        if Organisation.objects.filter(Q(name=name) | Q(short_name=name)).exists():
            raise ValidationError(_("您不能向“%(v)s”导入案件：该组织不在您的管辖范围内。") % {"v": name})
        raise ValidationError(_("找不到组织“%(v)s”。") % {"v": name})


class LedgerRowForm(forms.Form):
    """One row; after ``check`` a valid form holds the checked registration and the history to write."""

    number = Cell()
    received_at = Cell(cells.to_datetime, cells.MOMENT)
    channel = ChoiceCell(Channel.choices, gettext_lazy("来源渠道“%(v)s”无效；可选：%(all)s。"))
    application_form = ChoiceCell(ApplicationForm.choices, gettext_lazy("申请方式应为“书面申请”或“口头申请”。"))
    applicants = representatives = employer = credit_code = legal_representative = employer_address = Cell()
    industry = Cell()
    workers_involved = Cell(cells.to_count, gettext_lazy("涉及人数应为正整数。"))
    employer_capacity = ChoiceCell(RespondentCapacity.choices,
                                   gettext_lazy("被申请单位身份“%(v)s”无效；可选：%(all)s。"))
    other_respondents = Cell()
    applicant_ids = applicant_phones = Cell(cells.raw)
    has_union = new_form = Cell(cells.to_bool, cells.YES_NO)
    work_form = ChoiceCell(WorkForm.choices, gettext_lazy("新就业形态类型无效；可选：%(all)s。"))
    platform = categories = dispute_summary = claims = organisation = registered_organisation = mediators = Cell()
    amount_claimed = amount_agreed = amount_recovered = Cell(cells.to_amount)
    state = ChoiceCell(S.choices, gettext_lazy("状态“%(v)s”无效；可选：%(all)s。"), must=True,
                       former=FORMER_STATE_LABELS)
    outcome = ChoiceCell(list(Outcome.LABELS.items()), gettext_lazy("处理结果“%(v)s”无效；可选：%(all)s。"))
    accepted_at = rejected_at = concluded_at = closed_at = Cell(cells.to_datetime, cells.MOMENT)
    extra_days = sessions = instalments = follow_ups = referral_body = archive_number = Cell()
    agreement_effective_on = referred_on = referral_outcome_on = Cell(cells.to_date, cells.DAY)
    referral_destination = ChoiceCell(Referral.Destination.choices, gettext_lazy("移交去向应为“%(all)s”之一。"),
                                      joiner="”“")
    referral_outcome = ChoiceCell(Referral.Outcome.choices, gettext_lazy("仲裁/诉讼结果无效；可选：%(all)s。"))

    registration: services.Registration  # what the cells say, made in ``clean``
    checked: services.CheckedRegistration  # the same, as registration checked it, made in ``check``

    def __init__(self, data: dict[str, Any], *, line: int, context: LedgerContext) -> None:
        super().__init__(data)
        self.line, self.context = line, context
        self.warnings: list[tuple[str, str]] = []

    # --- cells that hold more than one value ---------------------------------------------
    def clean_organisation(self) -> Organisation:
        return self.context.organisation(self.cleaned_data["organisation"])

    def clean_registered_organisation(self) -> Organisation | None:
        name = self.cleaned_data["registered_organisation"]
        return self.context.organisation(name) if name else None

    def clean_credit_code(self) -> str:
        if "*" in self.cleaned_data["credit_code"]:
            raise ValidationError(_("统一社会信用代码已打码，无法导入；请使用有权查看完整号码的账号导出的台账。"))
        return self.cleaned_data["credit_code"]

    def _each(self, key: str, read: Callable[[str], Any], items: Callable[[str], list[str]] = cells.split_items,
              ) -> list:
        """Every item of a cell read by ``read``; an item it cannot read is named in the error."""
        values, problems = [], []
        for item in items(self.cleaned_data[key]):
            try:
                values.append(read(item))
            except (ValueError, ValidationError) as exc:
                problems.append(exc.messages[0] if isinstance(exc, ValidationError) else str(exc.args[0]))
        if problems:
            raise ValidationError(problems)
        return values

    def clean_categories(self) -> list[str]:
        def code(name: str) -> str:
            match = next((c for c in self.context.categories if name in (c.name, c.code)), None)
            if match is None:
                raise ValueError(_("争议类别“%(v)s”无效；可选：%(all)s。")
                                 % {"v": name, "all": "、".join(c.name for c in self.context.categories)})
            return match.code

        return list(dict.fromkeys(self._each("categories", code, cells.split)))

    def clean_other_respondents(self) -> list[services.RespondentInput]:
        """One respondent a line, “名称（身份，统一社会信用代码）” or “名称（身份）”; their records are
        registration's to check (credit codes, the dispatch pair of art. 22, a firm listed twice)."""
        capacities = self.fields["employer_capacity"]
        assert isinstance(capacities, ChoiceCell)
        labels = "、".join(str(label) for label in RespondentCapacity.labels)

        def respondent(item: str) -> services.RespondentInput:
            m = cells.RESPONDENT.match(item)
            if not m:
                raise ValueError(_("其他被申请人“%(v)s”格式不正确，应为“名称（身份，统一社会信用代码）”。")
                                 % {"v": item})
            try:
                capacity = capacities.to_python(m.group("capacity"))
            except ValidationError:
                raise ValueError(_("其他被申请人“%(v)s”的身份“%(c)s”无效；可选：%(all)s。")
                                 % {"v": m.group("name"), "c": m.group("capacity"), "all": labels}) from None
            code = (m.group("code") or "").strip()
            if "*" in code:
                raise ValueError(_("其他被申请人“%(v)s”的统一社会信用代码已打码，无法导入；"
                                   "请使用有权查看完整号码的账号导出的台账。") % {"v": m.group("name")})
            return services.RespondentInput(employer=services.EmployerInput(name=m.group("name").strip(),
                                                                            credit_code=code), capacity=capacity)

        return self._each("other_respondents", respondent)

    def clean_claims(self) -> list[services.ClaimInput]:
        """“事项：金额元” items; the amounts are checked by the registration's rule."""
        def claim(item: str) -> services.ClaimInput:
            m = cells.CLAIM.match(item)
            if not m:
                raise ValueError(_("请求事项“%(v)s”格式不正确，应为“事项：金额元”。") % {"v": item})
            return services.ClaimInput(description=m.group("desc").strip(), amount=m.group("amount"))

        return self._each("claims", claim)

    def clean_extra_days(self) -> int:
        value = self.cleaned_data["extra_days"] or "0"
        if not value.isdigit() or int(value) > 365:
            raise ValidationError(_("延长调解天数应为0至365之间的整数。"))
        return int(value)

    def clean_sessions(self) -> list:
        def day(value: str) -> Any:
            try:
                return cells.to_date(value)
            except ValueError:
                raise ValueError(_("调解日期“%(v)s”格式不正确，应为“2025-03-01”。") % {"v": value}) from None

        return self._each("sessions", day, cells.split)

    def clean_instalments(self) -> list[dict[str, Any]]:
        def instalment(item: str) -> dict[str, Any]:
            m = cells.INSTALMENT.match(item)
            if not m:
                raise ValueError(_("分期履行“%(v)s”格式不正确。") % {"v": item})
            try:
                return {"number": int(m.group("n")), "amount": services.parse_amount(m.group("amount")),
                        "due_on": cells.to_date(m.group("due")), "paid_on": cells.to_date(m.group("paid_on")),
                        "paid_amount": services.parse_amount(m.group("paid")) if m.group("paid") else None}
            except (ValueError, ValidationError):
                raise ValueError(_("分期履行“%(v)s”中的日期或金额无效。") % {"v": item}) from None

        return self._each("instalments", instalment)

    def clean_follow_ups(self) -> list[dict[str, Any]]:
        def visit(item: str) -> dict[str, Any]:
            m = cells.FOLLOW_UP.match(item)
            method = cells.choice(m.group("method"), FollowUp.Method.choices) if m else None
            if not m or method is None:
                raise ValueError(_("回访“%(v)s”格式不正确，应为“2025-03-20 电话回访 满意”。") % {"v": item})
            return {"visited_on": cells.to_date(m.group("on")), "method": method,
                    "satisfied": m.group("satisfied") != "不满意"}

        return self._each("follow_ups", visit)

    def clean(self) -> dict[str, Any]:
        cd = self.cleaned_data
        applicants = self._applicants()
        cd["referral"] = self._referral()
        cd["mediators"] = self._mediators()
        cd["year"], cd["seq"] = self._number()
        claims = cd.get("claims", [])
        if not claims and cd.get("amount_claimed"):
            # A ledger may give only the total: it becomes the one claim.
            claims = [services.ClaimInput(description=_("请求金额（历史台账）"), amount=cd["amount_claimed"])]
        platform = cd.get("platform", "")
        self.registration = services.Registration(
            # A refused organisation or time is None here: the rules report the time, the form the organisation.
            organisation=self._registered(), received_at=cd.get("received_at"),  # type: ignore[arg-type]
            channel=cd.get("channel", ""),
            application_form=cd.get("application_form") or ApplicationForm.WRITTEN,
            dispute_summary=cd.get("dispute_summary", ""), applicants=applicants, claims=claims,
            employer=services.EmployerInput(
                name=cd.get("employer", ""), credit_code=cd.get("credit_code", ""),
                legal_representative=cd.get("legal_representative", ""), address=cd.get("employer_address", ""),
                industry=cd.get("industry", ""), has_union=cd.get("has_union", False)),
            platform=services.EmployerInput(name=platform, is_platform=True) if platform else None,
            categories=cd.get("categories", []), work_form=cd.get("work_form", ""),
            is_new_employment_form=cd.get("new_form", False),
            employer_capacity=cd.get("employer_capacity") or RespondentCapacity.EMPLOYER,
            other_respondents=cd.get("other_respondents", []), workers_involved=cd.get("workers_involved"))
        return cd

    def _registered(self) -> Organisation | None:
        """The registering organisation: the one named, else the handling one (None when refused)."""
        if "registered_organisation" not in self.cleaned_data:
            return None
        return self.cleaned_data["registered_organisation"] or self.cleaned_data.get("organisation")

    def _applicants(self) -> list[services.PersonInput]:
        names = cells.split(self.cleaned_data.get("applicants", ""))
        ids, phones = self._per_applicant("applicant_ids", names), self._per_applicant("applicant_phones", names)
        chosen = cells.split(self.cleaned_data.get("representatives", ""))  # elected among them (art. 7)
        people = []
        for name, id_number, phone in zip(names, ids, phones, strict=True):
            if "*" in id_number or "*" in phone:
                self.add_error("applicant_ids" if "*" in id_number else "applicant_phones", _(
                    "%(name)s 的身份证号码或电话已打码，无法导入；"
                    "请使用有权查看完整信息的账号导出的台账。") % {"name": name})
                id_number = phone = ""
            people.append(services.PersonInput(name=name, id_number=id_number, phone=phone,
                                               is_representative=name in chosen))
        if unknown := [name for name in chosen if name not in names]:
            self.add_error("representatives", _("推举代表“%(v)s”不是本行的申请人；代表须从申请人中推举。")
                           % {"v": "、".join(unknown)})
        return people

    def _per_applicant(self, key: str, names: list[str]) -> list[str]:
        """One value per applicant, in their order (none given: blanks)."""
        value = self.cleaned_data.get(key)
        if key == "applicant_ids" and isinstance(value, (int, float)):
            self.add_error(key, _("身份证号码被 Excel 存成了数字（会丢失末几位），请把该列设为文本格式后重新填写。"))
            return [""] * len(names)
        values = [v.strip() for v in cells.text(value).split(SEP)] if cells.text(value) else [""] * len(names)
        if len(values) != len(names):
            self.add_error(key, _("%(col)s的个数（%(n)d）与申请人人数（%(m)d）不一致，请用“、”一一对应分隔。")
                           % {"col": COLUMN_BY_KEY[key].header, "n": len(values), "m": len(names)})
            return [""] * len(names)
        return values

    def _referral(self) -> dict[str, Any] | None:
        cd = self.cleaned_data
        given = {k: cells.text(self.data.get(k)) for k in ("referral_destination", "referred_on")}
        if not any(given.values()):
            return None
        if not given["referral_destination"]:
            destinations = self.fields["referral_destination"]
            assert isinstance(destinations, ChoiceCell)
            self.add_error("referral_destination", destinations.refusal(""))
        if not given["referred_on"]:
            self.add_error("referred_on", _("请填写移交日期。"))
        destination = cd.get("referral_destination")
        default_body = _("劳动人事争议仲裁委员会") if destination == Referral.Destination.ARBITRATION else _("人民法院")
        return {"destination": destination, "body": cd.get("referral_body") or default_body,
                "referred_on": cd.get("referred_on"), "outcome": cd.get("referral_outcome") or Referral.Outcome.PENDING,
                "outcome_on": cd.get("referral_outcome_on")}

    def _mediators(self) -> list[Any]:
        """Mediators named in words: someone of the handling organisation, else anyone the importer oversees."""
        organisation, found = self.cleaned_data.get("organisation"), []
        for name in cells.split(self.cleaned_data.get("mediators", "")):
            user = None
            if organisation is not None:
                user = self.context.people.get(organisation.pk, {}).get(name) or self.context.anyone.get(name)
            if user is None:
                self.warnings.append(("mediators", _("找不到承办组织的调解员“%(v)s”，导入后未指派。") % {"v": name}))
            elif user not in found:
                found.append(user)
        return found

    def _number(self) -> tuple[int | None, int | None]:
        number, registered = self.cleaned_data.get("number", ""), self._registered()
        if not number or registered is None:
            return None, None
        m = cells.number_pattern(registered.case_number_prefix).match(number)
        if not m:
            self.add_error("number", _("案号“%(v)s”与登记组织的案号格式“%(f)s”不符。")
                           % {"v": number, "f": services.format_case_number(registered, 2025, 1)})
            return None, None
        received = self.cleaned_data.get("received_at")
        if received and int(m.group("year")) != received.astimezone(CHINA_TZ).year:
            self.warnings.append(("number", _("案号年度与收案年度不同。")))
        return int(m.group("year")), int(m.group("seq"))

    # --- the registration's rules, then the ledger's own -------------------------------------
    def check(self, on_file: services.OnFile) -> bool:
        """True when the row may be written; every problem is in ``errors`` (by column key)."""
        refused = set(self.errors)  # a cell that could not be read is reported once, for what it is
        try:
            self.checked = services.registration_check(self.registration, on_file=on_file,
                                                       may_see=self.context.may_see)
        except ValidationError as exc:
            self._file(exc, refused)
            return False
        on_file.remember(self.checked)
        if self.errors:
            return False
        cd = self.cleaned_data
        try:
            cd["closed_from"], cd["steps"] = history_of(
                state=cd["state"], outcome=cd["outcome"], organisation=cd["organisation"],
                registered_organisation=self.registration.organisation, received_at=self.registration.received_at,
                times={key: cd[key] for key in TIMES}, referral=cd["referral"], instalments=cd["instalments"])
        except ValidationError as exc:
            self.add_error(None, exc)
            return False
        self._agreement()
        self._check_facts()
        cd["key"] = self._key()
        return not self.errors

    def _file(self, exc: ValidationError, refused: set[str]) -> None:
        """The registration's problems under the ledger's columns; an applicant's, with their name."""
        for key, messages in exc.message_dict.items():
            column: str | None
            if key.startswith("respondents-"):  # a further respondent's: with its name
                column = "other_respondents"
                given = self.registration.other_respondents[int(key.split("-")[1])].employer
                messages = [f"{given.name}：{m}" for m in messages]
            else:
                column = _COLUMN_OF.get(key) or _COLUMN_OF.get(key.rsplit("-", 1)[-1])
            if column in refused:
                continue
            if key.startswith("applicants-") and column != "applicants":
                name = self.registration.applicants[int(key.split("-")[1])].name
                messages = [f"{name}：{m}" for m in messages]
            for message in messages:
                self.add_error(column, message)

    def _agreement(self) -> None:
        """A settled row's agreement: effective when mediation concluded, for the instalments' sum, unless given."""
        cd = self.cleaned_data
        if any(step.name == "record_agreement" for step in cd["steps"]):
            cd["agreement_effective_on"] = cd["agreement_effective_on"] or local_date(cd["concluded_at"])
            if cd["amount_agreed"] is None:
                cd["amount_agreed"] = sum((i["amount"] for i in cd["instalments"]), ZERO)
        else:
            cd["agreement_effective_on"], cd["amount_agreed"], cd["amount_recovered"] = None, None, None
        cd["amount_agreed"], cd["amount_recovered"] = cd["amount_agreed"] or ZERO, cd["amount_recovered"] or ZERO

    def _check_facts(self) -> None:
        """What the lifecycle needed on the way, and the claims adding up to the amount claimed."""
        cd = self.cleaned_data
        total, claimed = cd["amount_claimed"], sum((c.amount for c in self.checked.claims), ZERO)
        if cd["claims"] and total is not None and total != claimed:
            self.add_error("amount_claimed", _("请求金额 %(total)s 元与请求事项合计 %(sum)s 元不符。")
                           % {"total": f"{total:.2f}", "sum": f"{claimed:.2f}"})
        if S.PERFORMED in (cd["state"], cd["closed_from"]) and any(
                not i["paid_on"] or (i["paid_amount"] or 0) < i["amount"] for i in cd["instalments"]):
            self.add_error("instalments", _("已履行的案件，各期款项均应已履行。"))
        if cd["state"] == S.CLOSED and cd["closed_from"] == S.PERFORMED and not cd["follow_ups"]:
            self.add_error("follow_ups", _("已履行的案件须有回访记录才能结案。"))
        if cd["state"] == S.CLOSED and cd["closed_from"] == S.REFERRED and cd["referral"] and \
                cd["referral"]["outcome"] == Referral.Outcome.PENDING:
            self.add_error("referral_outcome", _("已转仲裁/诉讼的案件须有仲裁或诉讼结果才能结案。"))

    def _key(self) -> str:
        """The row's identity across imports: its case number, or its content when it has none."""
        number = self.cleaned_data["number"]
        source = ("ledger:" + number) if number else "ledger-row:" + "|".join(
            f"{k}={cells.text(self.data.get(k))}" for k in sorted(self.data))
        return hashlib.sha256(source.encode()).hexdigest()
