from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.translation import gettext_noop

register = template.Library()


@register.filter
def days_left(deadline, today) -> int:
    return deadline.days_left(today)


@register.filter
def absolute(value: int) -> int:
    return abs(value)


@register.filter
def days_overdue(due, today) -> int:
    """Calendar days from ``due`` (the last day in time) to ``today``: 0 until the day after ``due``."""
    if not due or not today:
        return 0
    return max((today - due).days, 0)


@register.filter
def yuan(value: Any) -> str:
    """12345.6 → "12,345.60": the one way a page shows an amount of yuan, with thousands
    separators and two decimals whatever the language; "—" for none. (Documents print
    ``mediation.documents.amounts.amount_in_figures``, the same figure with ¥.)"""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.2f}" if amount.is_finite() else str(value)


@register.filter
def capped(value: Any) -> str:
    """A count from ``selectors.capped_counts``: "99+" once it passed the cap, else the number."""
    from mediation.selectors import TASK_COUNT_CAP

    try:
        number = int(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{TASK_COUNT_CAP}+" if number > TASK_COUNT_CAP else str(number)


# The state badge and the deadline of a case, as tags rather than included templates: list pages
# show them on every row, and an include costs a template render each time (docs/performance.md).

@register.simple_tag
def state_badge(case: Any) -> str:
    """The case's state, with 超期 once a running statutory deadline has passed."""
    from django.utils.html import format_html
    from django.utils.translation import gettext

    badge = format_html('<span class="badge state-{}">{}</span>', case.state, case.get_state_display())
    if case.is_overdue:
        badge += format_html(' <span class="badge overdue">{}</span>', gettext("超期"))
    if getattr(case, "applied_online", False):  # made by the worker on the public pages (docs/portal.md)
        badge += format_html(' <span class="badge online">{}</span>', gettext("网上申请"))
    return badge


@register.simple_tag(takes_context=True)
def due_badge(context: Any, due: Any, confirmed: bool | None = None, label: str = "", fmt: str = "Y-m-d") -> str:
    """A deadline: its date (after ``label``), 待确认 while the year's holidays are not published
    (``confirmed`` False), and the days it is overdue as of the page's ``today``; "—" for none."""
    from django.template.defaultfilters import date as date_filter
    from django.utils.html import format_html
    from django.utils.translation import gettext

    if not due:
        return "—"
    shown = format_html('<span class="nowrap">{}{}</span>', f"{label} " if label else "", _date(due, fmt, date_filter))
    if confirmed is not None and not confirmed:
        shown += format_html(' <span class="badge unconfirmed" title="{}">{}</span>',
                             gettext("该年度节假日安排尚未公布，暂按周末推算"), gettext("待确认"))
    late = days_overdue(due, context.get("today"))
    if late:
        shown += format_html(' <span class="badge overdue">{}</span>', gettext("超期 %(n)s 天") % {"n": late})
    return shown


#: Date formats the rows use, as ``strftime`` writes them (digits only, the same in every language):
#: Django's ``date`` filter costs ten times as much, and a list of 100 rows asks it 300 times.
_STRFTIME = {"Y-m-d": "%Y-%m-%d", "m-d": "%m-%d", "H:i": "%H:%M", "Y-m-d H:i": "%Y-%m-%d %H:%M"}


def _date(value: Any, fmt: str, date_filter: Any) -> str:
    pattern = _STRFTIME.get(fmt)
    return value.strftime(pattern) if pattern and value.year >= 1000 else date_filter(value, fmt)


@register.simple_tag(takes_context=True)
def case_list_row(context: Any, case: Any) -> str:
    """One row of the case list (``mediation/case_list.html``), written in Python: the list shows up
    to 100 rows on the page people open most, and the template language costs some 0.3 ms a row
    where this costs a fraction of it (docs/performance.md, "Third pass"). Its cells are those of
    the table's head: number (with 集体 / 新业态), the first two applicants, employer and
    organisation, state, date received, the running deadline, the amount claimed. What is the same
    on every row (the words of the headings, where a case's page is) is worked out once a page."""
    from django.template.defaultfilters import date as date_filter
    from django.utils.html import format_html, format_html_join
    from django.utils.timezone import localtime
    from django.utils.translation import gettext

    words = _row_words(context)
    badges = format_html_join("", ' <span class="badge">{}</span>', (
        (label,) for flag, label in ((case.is_collective, words["collective"]),
                                     (case.is_new_employment_form, words["new_form"])) if flag))
    names = format_html_join("、", "{}", ((p.name,) for p in case.applicant_parties[:2]))
    if case.applicant_count > 2:
        names += format_html(" {}", gettext("等%(n)s人") % {"n": case.applicant_count})
    received = localtime(case.received_at)
    if case.state == "registered":
        due = due_badge(context, due=case.acceptance_due, confirmed=case.deadlines_confirmed, label=words["accept"])
    elif case.running_due:
        due = due_badge(context, due=case.running_due, confirmed=case.deadlines_confirmed)
    else:
        due = "—"
    return format_html(
        '<tr><td class="c-number"><a class="nowrap" href="{}">{}</a>{}</td>'
        '<td class="c-opt">{}</td>'
        '<td>{}<br><span class="small muted">{}</span></td>'
        '<td class="c-state">{}</td>'
        '<td data-label="{}"><span class="nowrap">{}</span> <span class="nowrap">{}</span></td>'
        '<td class="nowrap c-due" data-label="{}">{}</td>'
        '<td class="num" data-label="{}">{}</td></tr>',
        words["url"].replace(_URL_SENTINEL, str(case.pk)), case.number, badges, names,
        case.employer.name if case.employer_id else "", case.organisation.display_name, state_badge(case),
        words["received"], _date(received, "Y-m-d", date_filter), _date(received, "H:i", date_filter),
        words["due"], due, words["amount"], yuan(case.amount_claimed))


@register.simple_tag(takes_context=True)
def case_card_row(context: Any, case: Any) -> str:
    """One row of a short list of cases (``mediation/_case_table.html``: the home page's lists and the
    deadlines page's), written in Python as :func:`case_list_row` is: a supervisor's home page shows
    up to seventy such rows. Its cells: number, employer and organisation, state, the running deadline
    (acceptance while registered, else the mediation period's)."""
    from django.utils.html import format_html

    words = _row_words(context)
    if case.state == "registered":
        due = due_badge(context, due=case.acceptance_due, confirmed=case.deadlines_confirmed,
                        label=words["accept"], fmt="m-d")
    elif case.running_due:
        due = due_badge(context, due=case.running_due, confirmed=case.deadlines_confirmed,
                        label=words["mediate"], fmt="m-d")
    else:
        due = "—"
    return format_html(
        '<tr><td class="nowrap c-number"><a href="{}">{}</a></td>'
        '<td class="c-party">{}<br><span class="small muted">{}</span></td>'
        '<td class="c-state">{}</td>'
        '<td class="nowrap c-due" data-label="{}">{}</td></tr>',
        words["url"].replace(_URL_SENTINEL, str(case.pk)), case.number,
        case.employer.name if case.employer_id else "", case.organisation.display_name, state_badge(case),
        words["due"], due)


#: The follow-through lists (``selectors.follow_through``): where a row links on the case's page, what
#: it waits for, and the label of its date (None: the referral's date, not a deadline).
_TASKS = {
    "follow_up": ("#h-followups", gettext_noop("待回访"), gettext_noop("回访")),
    "instalment_overdue": ("", gettext_noop("协议未按期履行"), gettext_noop("应付")),
    "referral_outcome": ("", gettext_noop("待登记仲裁或诉讼结果"), None),
    "consultation_reply": ("", gettext_noop("协商待答复"), gettext_noop("答复")),
}


@register.simple_tag(takes_context=True)
def task_rows(context: Any, tasks: dict[str, Any]) -> str:
    """The rows of ``mediation/_tasks.html``: every case of the four follow-through lists, list by list,
    each with what it waits for and its date, written in Python as :func:`case_card_row` is."""
    from django.template.defaultfilters import date as date_filter
    from django.utils.html import format_html
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext

    words = _row_words(context)
    rows = []
    for kind, (anchor, task, label) in _TASKS.items():
        for case in tasks.get(kind) or ():
            if label is None:
                due: str = format_html("{} {}", words["referred"], _date(case.task_since, "m-d", date_filter)) \
                    if case.task_since else "—"
            else:
                due = due_badge(context, due=case.task_due, confirmed=getattr(case, "task_confirmed", None),
                                label=gettext(label), fmt="m-d")
            rows.append(format_html(
                '<tr><td class="nowrap c-number"><a href="{}{}">{}</a></td>'
                '<td>{}<br><span class="small muted">{}</span></td>'
                '<td class="c-task">{}</td>'
                '<td class="nowrap c-due" data-label="{}">{}</td></tr>',
                words["url"].replace(_URL_SENTINEL, str(case.pk)), anchor, case.number,
                case.employer.name if case.employer_id else "", case.organisation.display_name, gettext(task),
                words["due"], due))
    return mark_safe("".join(rows))  # each row escaped by format_html


#: A case id no case has, reversed once a page into the address of a case's page.
_URL_SENTINEL = "2147483647"


def _row_words(context: Any) -> dict[str, str]:
    """What every row of one page writes alike, in the page's language, worked out on its first row."""
    from django.urls import reverse
    from django.utils.translation import get_language, gettext

    memo = context.render_context.get("mediation_row_words")
    if memo is None or memo[0] != get_language():
        memo = (get_language(), {
            "collective": gettext("集体"), "new_form": gettext("新业态"), "accept": gettext("受理"),
            "mediate": gettext("调解"), "referred": gettext("移交"),
            "received": gettext("收案时间"), "due": gettext("期限"), "amount": gettext("请求金额（元）"),
            "url": reverse("case_detail", args=[int(_URL_SENTINEL)])})
        context.render_context["mediation_row_words"] = memo
    return memo[1]


@register.simple_tag(takes_context=True)
def escalation_card(context: Any, item: dict[str, Any]) -> str:
    """One request of the escalation queue (``mediation/escalation_queue.html``) with its two decision
    forms, written in Python as :func:`case_card_row` is: the queue shows twenty a page, and written by
    the template language they were about a third of the page's time (docs/performance.md,
    "Thirteenth pass"). ``item``: the request ``e``, its approval ``form`` and who else may decide it
    (``deciders``)."""
    from django.template.defaultfilters import date as date_filter
    from django.template.defaultfilters import linebreaksbr
    from django.urls import reverse
    from django.utils.html import format_html, format_html_join
    from django.utils.safestring import mark_safe
    from django.utils.timezone import localtime
    from django.utils.translation import get_language, gettext

    from mediation.widgets import field_row as write_field

    memo = context.render_context.get("mediation_card_words")
    if memo is None or memo[0] != get_language():
        memo = (get_language(), {key: gettext(text) for key, text in (
            ("from", gettext_noop("呈报组织")), ("to", gettext_noop("上报至")), ("by", gettext_noop("申请人")),
            ("due", gettext_noop("调解期限")), ("dispute", gettext_noop("争议事项")),
            ("reason", gettext_noop("提级理由")), ("deciders", gettext_noop("可以审批")),
            ("approve", gettext_noop("批准提级")), ("why_not", gettext_noop("不予提级的理由")),
            ("deny", gettext_noop("不予提级")))})
        context.render_context["mediation_card_words"] = memo
    words = memo[1]
    e, form = item["e"], item["form"]
    token = context.get("csrf_token")
    csrf = (format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
            if token and token != "NOTPROVIDED" else "")
    fields: list[str] = []  # mediation/_form_fields.html
    if form.non_field_errors():
        fields.append(format_html('<div class="messages"><li class="error">{}</li></div>',
                                  " ".join(str(error) for error in form.non_field_errors())))
    fields += [str(field) for field in form.hidden_fields()]
    fields += [write_field(field) for field in form.visible_fields()]
    label = e.requested_by.get_full_name() or e.requested_by.username
    return format_html(
        '<section class="card">\n  <h2><a href="{}">{}</a></h2>\n  <dl class="facts">\n'
        "    <dt>{}</dt><dd>{}</dd>\n    <dt>{}</dt><dd>{}</dd>\n    <dt>{}</dt><dd>{} · {}</dd>\n"
        "    <dt>{}</dt><dd>{}</dd>\n    <dt>{}</dt><dd>{}</dd>\n    <dt>{}</dt><dd>{}</dd>\n"
        "    <dt>{}</dt><dd>{}</dd>\n  </dl>\n"
        '  <div class="grid two mt-3q">\n'
        '    <form method="post" action="{}" class="stack">{}\n{}'
        '      <button class="button" type="submit">{}</button></form>\n'
        '    <form method="post" action="{}" class="stack">{}\n'
        '      <div class="field"><label for="deny-{}" class="required">{}</label>'
        '<textarea id="deny-{}" name="reason" rows="2" required></textarea></div>\n'
        '      <button class="button danger" type="submit">{}</button></form>\n  </div>\n</section>\n',
        reverse("case_detail", args=[e.case_id]), e.case.number,
        words["from"], e.from_organisation.name, words["to"], e.to_organisation.name,
        words["by"], label, _date(localtime(e.requested_at), "Y-m-d H:i", date_filter),
        words["due"], due_badge(context, due=e.case.mediation_due, confirmed=e.case.deadlines_confirmed, fmt="Y-m-d"),
        words["dispute"], e.case.dispute_summary, words["reason"], linebreaksbr(e.reason, autoescape=True),
        words["deciders"], format_html_join("、", "{}", ((u.get_full_name() or u.username,) for u in item["deciders"])),
        reverse("case_transition", args=[e.case_id, "approve_escalation"]), csrf, mark_safe("".join(fields)),
        words["approve"], reverse("case_transition", args=[e.case_id, "deny_escalation"]), csrf,
        e.pk, words["why_not"], e.pk, words["deny"])


@register.simple_tag
def field_row(field) -> str:
    """``{% field_row form.name %}``: a form's field with its label, help and errors
    (``mediation.widgets.field_row``)."""
    from mediation.widgets import field_row as write

    return write(field)
