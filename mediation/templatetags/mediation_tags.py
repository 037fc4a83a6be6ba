from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from html import escape as _escape_text
from typing import Any

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_noop

from mediation.templatetags.dates import formatted as _date

register = template.Library()


def _escaped(value: Any) -> str:
    """``conditional_escape(value)``, plain text escaped straight: the rows written here escape some
    thousands of names, numbers and words a page, and Django's function first asks of each whether it
    is a lazy translation (``keep_lazy``), then whether it is safe."""
    return _escape_text(value) if type(value) is str else conditional_escape(value)


def _html(format_string: str, *args: Any) -> SafeString:
    """Django's ``format_html``: ``format_string`` with each value escaped unless it is safe (:func:`_escaped`)."""
    return mark_safe(format_string.format(*map(_escaped, args)))


def _html_join(sep: str, format_string: str, args_generator: Iterable[tuple[Any, ...]]) -> SafeString:
    """Django's ``format_html_join`` of :func:`_html`."""
    return mark_safe(_escaped(sep).join(_html(format_string, *args) for args in args_generator))


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
    from django.utils.translation import gettext

    badge = _html('<span class="badge state-{}">{}</span>', case.state, case.get_state_display())
    if case.is_overdue:
        badge += _html(' <span class="badge overdue">{}</span>', gettext("超期"))
    if getattr(case, "applied_online", False):  # made by the worker on the public pages (docs/portal.md)
        badge += _html(' <span class="badge online">{}</span>', gettext("网上申请"))
    return badge


@register.simple_tag(takes_context=True)
def due_badge(context: Any, due: Any, confirmed: bool | None = None, label: str = "", fmt: str = "Y-m-d") -> str:
    """A deadline: its date (after ``label``), 待确认 while the year's holidays are not published
    (``confirmed`` False), and the days it is overdue as of the page's ``today``; "—" for none."""
    from django.utils.translation import gettext

    if not due:
        return "—"
    shown = _html('<span class="nowrap">{}{}</span>', f"{label} " if label else "", _date(due, fmt))
    if confirmed is not None and not confirmed:
        shown += _html(' <span class="badge unconfirmed" title="{}">{}</span>',
                             gettext("该年度节假日安排尚未公布，暂按周末推算"), gettext("待确认"))
    late = days_overdue(due, context.get("today"))
    if late:
        shown += _html(' <span class="badge overdue">{}</span>', gettext("超期 %(n)s 天") % {"n": late})
    return shown




@register.simple_tag(takes_context=True)
def case_list_row(context: Any, case: Any) -> str:
    """One row of the case list (``mediation/case_list.html``), written in Python: the list shows up
    to 100 rows on the page people open most, and the template language costs some 0.3 ms a row
    where this costs a fraction of it (docs/performance.md, "Third pass"). Its cells are those of
    the table's head: number (with 集体 / 新业态), the first two applicants, employer and
    organisation, state, date received, the running deadline, the amount claimed. What is the same
    on every row (the words of the headings, where a case's page is) is worked out once a page."""
    from django.utils.timezone import localtime
    from django.utils.translation import gettext

    words = _row_words(context)
    badges = _html_join("", ' <span class="badge">{}</span>', (
        (label,) for flag, label in ((case.is_collective, words["collective"]),
                                     (case.is_new_employment_form, words["new_form"])) if flag))
    names = _html_join("、", "{}", ((name,) for name in case.applicant_names))  # the first two
    if case.applicant_count > 2:
        names += _html(" {}", gettext("等%(n)s人") % {"n": case.applicant_count})
    received = localtime(case.received_at)
    if case.state == "registered":
        due = due_badge(context, due=case.acceptance_due, confirmed=case.deadlines_confirmed, label=words["accept"])
    elif case.running_due:
        due = due_badge(context, due=case.running_due, confirmed=case.deadlines_confirmed)
    else:
        due = "—"
    return _html(
        '<tr><td class="c-number"><a class="nowrap" href="{}">{}</a>{}</td>'
        '<td class="c-opt">{}</td>'
        '<td>{}<br><span class="small muted">{}</span></td>'
        '<td class="c-state">{}</td>'
        '<td data-label="{}"><span class="nowrap">{}</span> <span class="nowrap">{}</span></td>'
        '<td class="nowrap c-due" data-label="{}">{}</td>'
        '<td class="num" data-label="{}">{}</td></tr>',
        words["url"].replace(_URL_SENTINEL, str(case.pk)), case.number, badges, names,
        case.employer.name if case.employer_id else "", case.organisation.display_name, state_badge(case),
        words["received"], _date(received, "Y-m-d"), _date(received, "H:i"),
        words["due"], due, words["amount"], yuan(case.amount_claimed))


@register.simple_tag(takes_context=True)
def case_card_row(context: Any, case: Any) -> str:
    """One row of a short list of cases (``mediation/_case_table.html``: the home page's lists and the
    deadlines page's), written in Python as :func:`case_list_row` is: a supervisor's home page shows
    up to seventy such rows. Its cells: number, employer and organisation, state, the running deadline
    (acceptance while registered, else the mediation period's)."""

    words = _row_words(context)
    if case.state == "registered":
        due = due_badge(context, due=case.acceptance_due, confirmed=case.deadlines_confirmed,
                        label=words["accept"], fmt="m-d")
    elif case.running_due:
        due = due_badge(context, due=case.running_due, confirmed=case.deadlines_confirmed,
                        label=words["mediate"], fmt="m-d")
    else:
        due = "—"
    return _html(
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
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext

    words = _row_words(context)
    rows = []
    for kind, (anchor, task, label) in _TASKS.items():
        for case in tasks.get(kind) or ():
            if label is None:
                due: str = _html("{} {}", words["referred"], _date(case.task_since, "m-d")) \
                    if case.task_since else "—"
            else:
                due = due_badge(context, due=case.task_due, confirmed=getattr(case, "task_confirmed", None),
                                label=gettext(label), fmt="m-d")
            rows.append(_html(
                '<tr><td class="nowrap c-number"><a href="{}{}">{}</a></td>'
                '<td>{}<br><span class="small muted">{}</span></td>'
                '<td class="c-task">{}</td>'
                '<td class="nowrap c-due" data-label="{}">{}</td></tr>',
                words["url"].replace(_URL_SENTINEL, str(case.pk)), anchor, case.number,
                case.employer.name if case.employer_id else "", case.organisation.display_name, gettext(task),
                words["due"], due))
    return mark_safe("".join(rows))  # each row escaped by _html


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
    from django.template.defaultfilters import linebreaksbr
    from django.urls import reverse
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
    csrf = _csrf_input(context)
    fields: list[str] = []  # mediation/_form_fields.html
    if form.non_field_errors():
        fields.append(_html('<div class="messages"><li class="error">{}</li></div>',
                                  " ".join(str(error) for error in form.non_field_errors())))
    fields += [str(field) for field in form.hidden_fields()]
    fields += [write_field(field) for field in form.visible_fields()]
    label = e.requested_by.get_full_name() or e.requested_by.username
    return _html(
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
        words["by"], label, _date(localtime(e.requested_at), "Y-m-d H:i"),
        words["due"], due_badge(context, due=e.case.mediation_due, confirmed=e.case.deadlines_confirmed, fmt="Y-m-d"),
        words["dispute"], e.case.dispute_summary, words["reason"], linebreaksbr(e.reason, autoescape=True),
        words["deciders"], _html_join("、", "{}", ((u.get_full_name() or u.username,) for u in item["deciders"])),
        reverse("case_transition", args=[e.case_id, "approve_escalation"]), csrf, mark_safe("".join(fields)),
        words["approve"], reverse("case_transition", args=[e.case_id, "deny_escalation"]), csrf,
        e.pk, words["why_not"], e.pk, words["deny"])


@register.simple_tag
def field_row(field) -> str:
    """``{% field_row form.name %}``: a form's field with its label, help and errors
    (``mediation.widgets.field_row``)."""
    from mediation.widgets import field_row as write

    return write(field)


# --------------------------------------------------------------------------- the page's frame

#: The frame's fixed parts per (language, script prefix, URL configuration), built on first use: the
#: product's name, the navigation's links and words, escaped once. Every page for a signed-in user
#: shows them, and written by the template language (about forty ``url`` and ``translate`` tags)
#: they cost some 2.5 ms a page (docs/performance.md, "Fourteenth pass").
_FRAME_PARTS: dict[tuple[str, str, str], dict[str, str]] = {}
_FRAME_PARTS_KEPT = 16

#: name in the parts → view reversed for it.
_FRAME_URLS = {
    "home": "home", "set_language": "set_language", "notification_list": "notification_list",
    "jobs": "jobs:list", "password_change": "password_change", "otp_setup": "otp_setup",
    "api_tokens": "api_tokens", "logout": "logout", "case_list": "case_list", "case_intake": "case_intake",
    "deadlines": "deadlines", "escalation_queue": "escalation_queue", "admin": "admin:index",
    "notification_preferences": "notification_preferences",
}
#: name in the parts → the words shown.
_FRAME_WORDS = {
    "product": gettext_noop("劳动争议调解案件管理"), "language": gettext_noop("语言"), "switch": gettext_noop("切换"),
    "menu": gettext_noop("菜单"), "bell": gettext_noop("通知"), "unread": gettext_noop("条未读"),
    "jobs_label": gettext_noop("我的导出"), "password_label": gettext_noop("修改密码"),
    "otp_label": gettext_noop("双因素认证"), "tokens_label": gettext_noop("访问令牌"),
    "logout_label": gettext_noop("退出"),
    "main_nav": gettext_noop("主导航"), "home_label": gettext_noop("工作台"), "cases_label": gettext_noop("案件"),
    "intake_label": gettext_noop("登记申请"), "deadlines_label": gettext_noop("期限提醒"),
    "overdue_title": gettext_noop("已超期"), "escalations_label": gettext_noop("提级审批"),
    "admin_label": gettext_noop("系统管理"), "preferences_label": gettext_noop("提醒设置"),
}


def _frame_parts() -> dict[str, str]:
    from django.conf import settings
    from django.urls import get_script_prefix, get_urlconf, reverse
    from django.utils.html import escape
    from django.utils.translation import get_language, gettext

    key = (get_language() or "", get_script_prefix(), str(get_urlconf() or settings.ROOT_URLCONF))
    parts = _FRAME_PARTS.get(key)
    if parts is None:
        if len(_FRAME_PARTS) >= _FRAME_PARTS_KEPT:  # a prefix is the proxy's to set: never more than a few
            _FRAME_PARTS.clear()
        parts = {name: escape(reverse(view)) for name, view in _FRAME_URLS.items()}
        parts.update({name: escape(gettext(words)) for name, words in _FRAME_WORDS.items()})
        _FRAME_PARTS[key] = parts
    return parts


def _csrf_input(context: Any) -> str:
    """What ``{% csrf_token %}`` writes."""

    token = context.get("csrf_token")
    return (_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
            if token and token != "NOTPROVIDED" else "")


def _shown(value: Any, context: Any) -> str:
    """A value as ``{{ value }}`` writes it (localized, escaped)."""
    from django.template.base import render_value_in_context

    return render_value_in_context(value, context)


def _who(context: Any, user: Any, workspace: Any) -> str:
    """``<span class="who">``: the user's name (or username) and roles."""
    roles = workspace.get("roles") if workspace is not None else ""
    return (f'<span class="who">{_shown(user.get_full_name() or user.get_username(), context)}'
            f'{f" · {_shown(roles, context)}" if roles else ""}</span>')


@register.simple_tag(takes_context=True)
def top_bar(context: Any) -> str:
    """The top bar's contents (``base.html``): the product's name, the language switch and, for a
    signed-in user, the menu button, who they are, the bell with the unread count and the account's
    links. Written in Python with its fixed parts built once (:func:`_frame_parts`); what it writes is
    what the template wrote (``tests/web/test_frame.py``)."""
    from django.utils.safestring import mark_safe
    from django.utils.translation import get_language

    p = _frame_parts()
    request = context.get("request")
    language = get_language()
    csrf = _csrf_input(context)
    path = _shown(request.get_full_path(), context) if request is not None else ""
    zh, en = ("selected" if language == "zh-hans" else ""), ("selected" if language == "en" else "")
    html = (f'<a class="product" href="{p["home"]}">{p["product"]}</a>\n  <span class="spacer"></span>\n'
            f'  <form class="lang-form" action="{p["set_language"]}" method="post">{csrf}\n'
            f'    <input name="next" type="hidden" value="{path}">\n'
            f'    <label class="visually-hidden" for="lang-select" hidden>{p["language"]}</label>\n'
            f'    <select id="lang-select" name="language" data-autosubmit aria-label="{p["language"]}">\n'
            f'      <option value="zh-hans" {zh}>简体中文</option>\n      <option value="en" {en}>English</option>\n'
            f'    </select>\n    <noscript><button type="submit">{p["switch"]}</button></noscript>\n  </form>\n')
    user = context.get("user")
    if user is not None and user.is_authenticated:
        unread = context.get("unread_notifications")
        count = (f' <span class="count">{_shown(unread, context)}</span><span class="visually-hidden">'
                 f'{p["unread"]}</span>') if unread else ""
        html += (
            f'    <button type="button" class="menu-button" popovertarget="site-nav" aria-controls="site-nav">'
            f'<span aria-hidden="true">☰</span> {p["menu"]}</button>\n'
            f'    {_who(context, user, context.get("workspace"))}\n'
            f'    <a class="bell" href="{p["notification_list"]}" title="{p["bell"]}">'
            f'<span aria-hidden="true">🔔</span>'
            f'<span class="visually-hidden">{p["bell"]}</span>{count}</a>\n'
            f'    <a class="account-link" href="{p["jobs"]}">{p["jobs_label"]}</a>\n'
            f'    <a class="account-link" href="{p["password_change"]}">{p["password_label"]}</a>\n'
            f'    <a class="account-link" href="{p["otp_setup"]}">{p["otp_label"]}</a>\n'
            f'    <a class="account-link" href="{p["api_tokens"]}">{p["tokens_label"]}</a>\n'
            f'    <form class="logout" action="{p["logout"]}" method="post">{csrf}<button type="submit">'
            f'{p["logout_label"]}</button></form>\n')
    return mark_safe(html)  # every value above escaped: the parts once, the rest by _shown / _html


@register.simple_tag(takes_context=True)
def side_nav(context: Any) -> str:
    """The navigation (``base.html``, for a signed-in user): the pages the user may open, the page
    they are on marked, the counts of cases overdue and of escalations awaiting them, and the
    account's links again for narrow screens. Written in Python as :func:`top_bar` is."""
    from django.utils.safestring import mark_safe

    p = _frame_parts()
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    section, view_name = (match.url_name, match.view_name) if match is not None else (None, None)
    workspace = context.get("workspace")
    ws = workspace if workspace is not None else {}
    here = 'aria-current="page"'

    def current(*names: str) -> str:
        return here if section is not None and section in names else ""

    html = (f'<nav class="side" id="site-nav" popover aria-label="{p["main_nav"]}">\n'
            f'    <a href="{p["home"]}" {current("home")}>{p["home_label"]}</a>\n'
            f'    <a href="{p["case_list"]}" {current("case_list", "case_detail")}>{p["cases_label"]}</a>\n')
    if ws.get("may_register"):
        html += f'    <a href="{p["case_intake"]}" {current("case_intake")}>{p["intake_label"]}</a>\n'
    overdue = ws.get("overdue")
    overdue_count = (f'<span class="count" title="{p["overdue_title"]}">{_shown(overdue, context)}</span>'
                     if overdue else "")
    html += f'    <a href="{p["deadlines"]}" {current("deadlines")}>{p["deadlines_label"]}{overdue_count}</a>\n'
    if ws.get("decides_escalations"):
        waiting = ws.get("escalations")
        waiting_count = f'<span class="count">{_shown(capped(waiting), context)}</span>' if waiting else ""
        html += (f'    <a href="{p["escalation_queue"]}" {current("escalation_queue")}>{p["escalations_label"]}'
                 f'{waiting_count}</a>\n')
    extra = "".join(  # the template wrote these side by side
        f'<a href="{_shown(item["url"], context)}" '
        f'{here if view_name is not None and view_name == item["name"] else ""}>'
        f'{_shown(item["label"], context)}</a>' for item in ws.get("extra_nav") or ())
    html += f"    {extra}\n"
    if ws.get("is_admin"):
        html += f'    <a href="{p["admin"]}">{p["admin_label"]}</a>\n'
    html += (f'    <div class="nav-account">\n      {_who(context, context.get("user"), workspace)}\n'
             f'      <a href="{p["notification_preferences"]}">{p["preferences_label"]}</a>\n'
             f'      <a href="{p["jobs"]}">{p["jobs_label"]}</a>\n'
             f'      <a href="{p["password_change"]}">{p["password_label"]}</a>\n'
             f'      <a href="{p["otp_setup"]}">{p["otp_label"]}</a>\n'
             f'      <a href="{p["api_tokens"]}">{p["tokens_label"]}</a>\n'
             f'      <form action="{p["logout"]}" method="post">{_csrf_input(context)}'
             f'<button class="button secondary small" type="submit">{p["logout_label"]}</button></form>\n'
             f'    </div>\n  </nav>')
    return mark_safe(html)  # every value above escaped: the parts once, the rest by _shown


#: The words of the case page's history, by what they name (:func:`case_timeline`).
_TIMELINE_WORDS = {
    "online": gettext_noop("申请人（网上申请）"), "system": gettext_noop("系统"), "registered": gettext_noop("登记"),
    "imported": gettext_noop("历史导入"), "session": gettext_noop("调解"),
    "escalation": gettext_noop("申请提级到 %(org)s"), "follow_up": gettext_noop("回访"),
    "signed_copy": gettext_noop("上传签署原件扫描件"), "attachment": gettext_noop("上传附件"),
    "agreement": gettext_noop("起草调解协议第 %(v)s 版"), "corrected": gettext_noop("更正"),
    "signature": gettext_noop("登记签章"), "document": gettext_noop("生成文书"), "none": gettext_noop("尚无记录"),
}


@register.simple_tag(takes_context=True)
def case_timeline(context: Any) -> str:
    """The case page's history (``mediation/case_detail.html``), newest first: each step's moment, who took
    it and what it was. Written in Python as :func:`escalation_card` is: through the template language a
    case's history of some tens of steps took about a millisecond, a twentieth of the page's server time
    (docs/performance.md, "Twenty-second pass"); ``tests/web/test_case_timeline.py`` holds it to what the
    template wrote. From the page's context: ``timeline`` (the view's steps: ``at``, ``kind``, ``obj``,
    ``who``), ``case``, and ``documents`` (whether the user may download a document)."""
    from django.urls import reverse
    from django.utils.safestring import mark_safe
    from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # Django's, not in its stubs
    from django.utils.translation import gettext

    case, steps = context.get("case"), context.get("timeline") or ()
    if not steps:
        return _html("<li>{}</li>", gettext(_TIMELINE_WORDS["none"]))
    words = {key: _escaped(gettext(text)) for key, text in _TIMELINE_WORDS.items()}
    documents = context.get("documents")
    if (documents.get("may_download") if isinstance(documents, dict) else getattr(documents, "may_download", False)):
        words["download"] = _escaped(reverse("documents:download", args=[int(_URL_SENTINEL)]))
    written = []
    for step in steps:
        kind, who = step["kind"], step["who"]
        if who:
            by = _person(who)
        elif case.applied_online and kind in ("registered", "attachment"):
            by = words["online"]
        else:
            by = words["system"]
        write = _STEP_WRITERS.get(kind)
        what = "" if write is None else write(step["obj"], case, words, context) + "\n      "
        written.append(f'\n      <li><div class="when">{_date(template_localtime(step["at"]), "Y-m-d H:i")} · {by}'
                       f"</div>\n      {what}</li>\n    ")
    return mark_safe("".join(written))  # every value escaped by the writers


def _person(user: Any) -> str:
    return _escaped(user.get_full_name() or user.username)


def _imported(words: dict[str, str], imported: bool) -> str:
    return f' <span class="badge">{words["imported"]}</span>' if imported else ""


def _registered(_step: Any, case: Any, words: dict[str, str], context: Any) -> str:
    return (f'<strong>{words["registered"]}</strong>：{_escaped(case.get_application_form_display())} · '
            f'{_escaped(case.get_channel_display())}{_imported(words, case.imported)}')


def _transition(log: Any, case: Any, words: dict[str, str], context: Any) -> str:
    what = f"<strong>{_escaped(log.get_from_state_display())} → {_escaped(log.get_to_state_display())}</strong>"
    if log.from_organisation_id != log.to_organisation_id:
        what += f"（{_escaped(log.from_organisation.display_name)} → {_escaped(log.to_organisation.display_name)}）"
    return what + (f"<br>{_escaped(log.reason)}" if log.reason else "") + _imported(words, log.imported)


def _escalation(e: Any, case: Any, words: dict[str, str], context: Any) -> str:
    from django.utils.translation import gettext

    # As {% blocktranslate %} writes it: the value escaped, the words as translated.
    what = gettext(_TIMELINE_WORDS["escalation"]) % {"org": _shown(e.to_organisation.display_name, context)}
    what += f"：{_escaped(e.reason)}"
    if e.decided_at:
        what += f"<br>{_escaped(e.get_decision_display())}"
        what += f"（{_person(e.decided_by)}）" if e.decided_by else ""
        what += f"：{_escaped(e.decision_reason)}" if e.decision_reason else ""
    return what


def _agreement(a: Any, case: Any, words: dict[str, str], context: Any) -> str:
    from django.utils.translation import gettext

    return (gettext(_TIMELINE_WORDS["agreement"]) % {"v": _shown(a.version, context)}
            + (f'（{words["corrected"]}）' if a.supersedes_id else ""))


def _document(d: Any, case: Any, words: dict[str, str], context: Any) -> str:
    title = _escaped(d)
    download = words.get("download")
    return f'{words["document"]}：' + (
        f'<a href="{download.replace(_URL_SENTINEL, str(d.pk))}">{title}</a>' if download else title)


def _follow_up(f: Any, case: Any, words: dict[str, str], context: Any) -> str:
    from django.template.defaultfilters import truncatechars

    return f'{words["follow_up"]}：{_escaped(truncatechars(f.content, 60))}'


#: What each kind of step of the case page's history says (:func:`case_timeline`).
_STEP_WRITERS: dict[str, Any] = {
    "registered": _registered,
    "transition": _transition,
    "session": lambda s, case, words, context: (
        f'{words["session"]}：{_escaped(s.place)}' + (f" · {_escaped(s.result)}" if s.result else "")),
    "escalation": _escalation,
    "follow_up": _follow_up,
    "attachment": lambda a, case, words, context: (
        f'{words["signed_copy"]}：{_escaped(a.description)}' if a.kind == "signed_copy"
        else f'{words["attachment"]}：{_escaped(a.original_name)}'),
    "agreement": _agreement,
    "signature": lambda s, case, words, context: (
        f'{words["signature"]}：{_escaped(s.get_kind_display())}（{_escaped(s.signer_name)}，'
        f'{_date(s.signed_on, "Y-m-d")}）'),
    "document": _document,
}
