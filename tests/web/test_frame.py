"""The page's frame, written by the ``top_bar`` and ``side_nav`` tags, shows what ``base.html``'s template
wrote before them (kept as ``frame_reference.html``): the same links, words, marks and counts, for a
visitor and for signed-in users of every kind, on every kind of page, in Chinese and in English."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import Context, RequestContext, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import translation

from mediation.models import Role
from tests.factories import member
from tests.lifecycle import case_in_state
from workflows.states import CaseState

pytestmark = pytest.mark.django_db

REFERENCE = Template((Path(__file__).parent / "frame_reference.html").read_text())
#: The frame as base.html now writes it.
TAGS = Template('{% load mediation_tags %}<header class="topbar">\n  {% top_bar %}\n</header>\n'
                "{% if user.is_authenticated %}\n  {% side_nav %}\n{% endif %}")
LANGUAGES = ("zh-hans", "en")


def shown(html: str) -> str:
    """The page as a browser lays it out: a run of white space is one space (no <pre> or <textarea>
    in the frame)."""
    return re.sub(r"\s+", " ", html).strip()


def request_for(path: str, user, *, resolved: bool = True):
    request = RequestFactory().get(path)
    request.user = user
    request.resolver_match = resolve(path.split("?")[0]) if resolved else None  # None: a page not found
    return request


def afresh(user):
    return type(user).objects.get(pk=user.pk)


def workspace(**given) -> dict:
    """What ``context_processors.workspace`` gives a template, with nothing shown unless given."""
    return {"roles": "", "may_register": False, "decides_escalations": False, "escalations": 0, "overdue": 0,
            "is_admin": False, "extra_nav": [], **given}


# Django's own {% csrf_token %} in the reference template warns when it writes nothing for NOTPROVIDED.
@pytest.mark.filterwarnings(r"ignore:Calling format_html\(\) without passing args")
def test_the_frame_is_written_as_the_template_wrote_it(world):
    person = world.supervisor_a
    person.first_name, person.last_name = '"李"', "<王> &"  # a name that must be escaped
    person.save()
    nameless = world.mediator_b
    nameless.first_name = nameless.last_name = ""  # shown by username
    nameless.save()
    statistics = reverse("reports:statistics")
    extra = [{"name": "reports:statistics", "url": statistics, "label": "统计<分析>"},
             {"name": "audit:log", "url": reverse("audit:log") + "?a=1&b=2", "label": "审计日志"}]
    # (user, path, resolved, workspace, unread, csrf token)
    scenarios = [
        (AnonymousUser(), "/accounts/login/?next=/cases/%3Fq%3D%3Cx%3E", True, None, None, "TOKEN123"),
        (AnonymousUser(), "/nowhere/", False, None, None, None),
        (world.mediator_a, "/", True, workspace(roles="调解员", may_register=True), 0, "TOKEN123"),
        (person, '/cases/?q=<b>"x"&state=mediating', True,
         workspace(roles="负责人、调解员", may_register=True, decides_escalations=True, escalations=3,
                   overdue=1234, extra_nav=extra), 12, "TOKEN123"),
        (person, "/cases/7/", True, workspace(decides_escalations=True, escalations=150, overdue=2), 1, "NOTPROVIDED"),
        (person, reverse("escalation_queue"), True, workspace(decides_escalations=True), 0, "TOKEN123"),
        (nameless, reverse("case_intake"), True, workspace(may_register=True), 0, None),
        (nameless, reverse("deadlines"), True, workspace(overdue=5), 0, "TOKEN123"),
        (world.admin, statistics, True, workspace(roles="管理员", is_admin=True, extra_nav=extra), 3, "TOKEN123"),
        (world.admin, reverse("audit:log"), True, workspace(is_admin=True, extra_nav=extra), 0, "TOKEN123"),
        (world.mediator_a, "/nowhere/?x=<y>", False, workspace(may_register=True, extra_nav=extra), 0, "TOKEN123"),
    ]
    for language in LANGUAGES:
        with translation.override(language):
            for n, (user, path, resolved, ws, unread, token) in enumerate(scenarios):
                values = {"request": request_for(path, user, resolved=resolved), "user": user, "csrf_token": token}
                if ws is not None:
                    values.update(workspace=ws, unread_notifications=unread)
                context = Context(values)
                with CaptureQueriesContext(connection) as queries:  # the tags read nothing themselves
                    written = TAGS.render(context)
                assert queries.captured_queries == []
                assert shown(written) == shown(REFERENCE.render(context)), (language, n)
    # What the scenarios above must have shown, by hand, so that the comparison compared something.
    with translation.override("zh-hans"):
        context = Context({"request": request_for('/cases/?q=<b>"x"&state=1', person), "user": person,
                           "csrf_token": "T0K",
                           "workspace": workspace(roles="负责人", decides_escalations=True, escalations=150,
                                                  overdue=7, extra_nav=extra), "unread_notifications": 4})
        frame = shown(TAGS.render(context))
    assert '<a href="/cases/" aria-current="page">案件</a>' in frame
    assert '<a href="/" >工作台</a>' in frame
    assert '<span class="count">99+</span>' in frame and '<span class="count" title="已超期">7</span>' in frame
    assert '<span class="who">&quot;李&quot; &lt;王&gt; &amp; · 负责人</span>' in frame
    assert '<input name="next" type="hidden" value="/cases/?q=%3Cb%3E%22x%22&amp;state=1">' in frame
    assert "<b>" not in frame and "统计&lt;分析&gt;" in frame
    assert frame.count('name="csrfmiddlewaretoken" value="T0K"') == 3
    assert '<span class="count">4</span>' in frame
    assert "登记申请" not in frame and "系统管理" not in frame


def test_the_frame_of_real_users_is_written_as_the_template_wrote_it(world):
    """Through the context processors, as every page renders it: the roles, counts and links each user's
    grants give."""
    case_in_state(world, CaseState.ESCALATION_PENDING)  # a request awaiting the supervisors' decision
    world.admin.is_staff = True
    world.admin.save(update_fields=["is_staff"])
    auditor = member(world.town_a, Role.AUDITOR)
    users = (world.mediator_a, world.supervisor_a, world.district_supervisor, world.auditor_a, auditor, world.admin,
             world.enterprise_mediator)
    paths = ("/", reverse("case_list"), reverse("escalation_queue"), reverse("deadlines"), reverse("audit:log"))
    token = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+"')  # masked afresh on every page
    for language in LANGUAGES:
        with translation.override(language):
            for user in users:
                for path in paths:
                    # Each for a user read afresh (a user's grants are remembered on the instance), after
                    # a first reading (on PostgreSQL, a statement's first reading also prepares it).
                    REFERENCE.render(RequestContext(request_for(path, afresh(user))))
                    for_tags, for_template = request_for(path, afresh(user)), request_for(path, afresh(user))
                    with CaptureQueriesContext(connection) as by_tags:
                        written = TAGS.render(RequestContext(for_tags))
                    with CaptureQueriesContext(connection) as by_template:
                        expected = REFERENCE.render(RequestContext(for_template))
                    assert len(by_tags.captured_queries) == len(by_template.captured_queries)
                    assert token.sub(r"\1…", shown(written)) == token.sub(r"\1…", shown(expected)), (
                        language, user.username, path)
                    assert written.count("csrfmiddlewaretoken") == 3


def test_a_page_marks_where_the_user_is_and_what_waits_for_them(world):
    case_in_state(world, CaseState.ESCALATION_PENDING)
    client = Client()
    client.force_login(world.district_supervisor)
    page = shown(client.get(reverse("escalation_queue")).content.decode())
    queue = reverse("escalation_queue")
    assert f'<a href="{queue}" aria-current="page">提级审批<span class="count">1</span></a>' in page
    assert f'<a href="{reverse("case_list")}" >案件</a>' in page
    client.force_login(world.mediator_b)  # another township: nothing to decide, no queue in the menu
    page = shown(client.get(reverse("case_list")).content.decode())
    assert f'<a href="{reverse("case_list")}" aria-current="page">案件</a>' in page
    assert reverse("escalation_queue") not in page
    page = shown(Client().get(reverse("login")).content.decode())
    assert 'class="side"' not in page and 'class="lang-form"' in page


def test_the_frames_fixed_parts_follow_the_language_and_the_address_prefix(world):
    """The parts built once (links, words) are each language's and each address prefix's own, in every
    thread; a page rendered without a request or a workspace still has its frame."""
    import threading

    from django.urls import get_script_prefix, set_script_prefix

    from mediation.templatetags import mediation_tags

    def render(language: str, prefix: str) -> str:
        before = get_script_prefix()
        set_script_prefix(prefix)
        try:
            with translation.override(language):
                return shown(TAGS.render(Context({"request": request_for("/", world.mediator_a),
                                                  "user": world.mediator_a, "workspace": workspace(),
                                                  "csrf_token": "T"})))
        finally:
            set_script_prefix(before)

    written: dict[tuple[str, str], str] = {}

    def each(language: str, prefix: str) -> None:
        written[(language, prefix)] = render(language, prefix)

    threads = [threading.Thread(target=each, args=(language, prefix))
               for language in LANGUAGES for prefix in ("/", "/union/")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert '<a class="product" href="/">劳动争议调解案件管理</a>' in written[("zh-hans", "/")]
    english = written[("en", "/union/")]
    assert '<a class="product" href="/union/">Labour Dispute Mediation Case Management</a>' in english
    assert '<a href="/union/cases/" >Cases</a>' in english
    assert "/union/" not in written[("zh-hans", "/")] and "/union/" not in written[("en", "/")]
    assert "工作台" not in written[("en", "/")] and "Dashboard" in written[("en", "/")]
    # Never more than a few kept, whatever prefixes a proxy sends.
    for n in range(40):
        render("en", f"/p{n}/")
    assert len(mediation_tags._FRAME_PARTS) <= mediation_tags._FRAME_PARTS_KEPT
    assert '<a class="product" href="/p39/">' in render("en", "/p39/")
    # No request, no workspace: the frame as the template wrote it then.
    for values in ({"user": world.mediator_a}, {"user": AnonymousUser()}):
        context = Context(values)
        assert shown(TAGS.render(context)) == shown(REFERENCE.render(context))
