"""The admin is the administrators' back office and offers no way around the case lifecycle."""
from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from mediation.audit.models import AuditEvent
from mediation.models import Case, Membership, Organisation, Person, Role
from tests.factories import UserFactory, level, reads_logged, register, valid_id_number
from workflows.models import CalendarYear, HolidayOverride
from workflows.states import CaseState


def _case_url(view: str, case: Case) -> str:
    return reverse(f"admin:mediation_case_{view}", args=[case.pk])


def _snapshot(case: Case) -> tuple:
    row = Case.objects.values_list("state", "organisation_id", "number", "dispute_summary").get(pk=case.pk)
    return row


# --- cases ----------------------------------------------------------------------------


def test_case_changelist_and_change_page_render_for_a_superuser(admin_client, world):
    case = register(world.mediator_a, world.town_a)

    listing = admin_client.get(reverse("admin:mediation_case_changelist"))
    page = admin_client.get(_case_url("change", case))

    assert listing.status_code == 200
    assert case.number in listing.content.decode()
    assert page.status_code == 200
    content = page.content.decode()
    assert case.number in content
    assert "已登记" in content
    assert world.town_a.name in content


def test_reading_a_case_in_the_admin_is_logged(admin_client, world):
    case = register(world.mediator_a, world.town_a)

    admin_client.get(_case_url("change", case))

    read = AuditEvent.objects.get(action="case.read", case_id=case.pk)
    assert read.actor_name == "admin" and read.new == {"purpose": "admin_view"}


def test_case_changelist_queries_do_not_grow_with_rows(admin_client, world, django_assert_max_num_queries):
    for _ in range(2):
        register(world.mediator_a, world.town_a)
    admin_client.get(reverse("admin:mediation_case_changelist"))  # warm caches (content types, sessions)
    with django_assert_max_num_queries(12) as few:
        admin_client.get(reverse("admin:mediation_case_changelist"))
    for _ in range(8):
        register(world.mediator_b, world.town_b)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(reverse("admin:mediation_case_changelist"))


def test_posting_to_the_case_change_page_cannot_change_state_or_organisation(admin_client, world):
    case = register(world.mediator_a, world.town_a)
    before = _snapshot(case)

    response = admin_client.post(_case_url("change", case), {
        "number": case.number, "state": CaseState.CLOSED, "organisation": world.town_b.pk,
        "registered_organisation": world.town_b.pk, "dispute_summary": "改过的", "_save": "保存",
    })

    assert response.status_code == 403
    assert _snapshot(case) == before
    assert not case.transitions.exists()


def test_the_case_change_page_has_no_editable_field(admin_client, world):
    case = register(world.mediator_a, world.town_a)

    response = admin_client.get(_case_url("change", case))

    content = response.content.decode()
    assert 'name="state"' not in content
    assert 'name="organisation"' not in content
    assert 'name="_save"' not in content


def test_deleting_a_case_is_refused(admin_client, world):
    case = register(world.mediator_a, world.town_a)

    assert admin_client.get(_case_url("delete", case)).status_code == 403
    assert admin_client.post(_case_url("delete", case), {"post": "yes"}).status_code == 403
    admin_client.post(reverse("admin:mediation_case_changelist"),
                      {"action": "delete_selected", "_selected_action": [case.pk], "post": "yes"})

    assert Case.objects.filter(pk=case.pk).exists()


def test_adding_a_case_through_the_admin_is_refused(admin_client, world):
    assert admin_client.get(reverse("admin:mediation_case_add")).status_code == 403


def test_a_staff_mediator_cannot_read_cases_in_the_admin_but_a_staff_administrator_can(client, world):
    case = register(world.mediator_a, world.town_a)
    User = get_user_model()
    User.objects.filter(pk__in=[world.supervisor_a.pk, world.admin.pk]).update(is_staff=True)

    # Fresh rows: UserFactory sets the password in memory only, and a login with the
    # in-memory hash would not match the stored one.
    client.force_login(User.objects.get(pk=world.supervisor_a.pk))
    assert client.get(reverse("admin:mediation_case_changelist")).status_code == 403
    assert client.get(_case_url("change", case)).status_code == 403

    client.force_login(User.objects.get(pk=world.admin.pk))
    assert client.get(reverse("admin:mediation_case_changelist")).status_code == 200
    assert client.get(_case_url("change", case)).status_code == 200
    assert reads_logged(case, world.admin, "admin_view") == 1


@pytest.mark.parametrize("model", ["workflows_transitionlog", "workflows_escalationrequest"])
def test_lifecycle_records_are_read_only(admin_client, world, model):
    case = register(world.mediator_a, world.town_a)
    from workflows import services

    services.case_accept(case_id=case.pk, actor=world.mediator_a)
    services.escalation_request(case_id=case.pk, actor=world.mediator_a,
                                to_organisation_id=world.district.pk, reason="案情复杂")
    app, name = model.split("_", 1)

    assert admin_client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:{model}_add")).status_code == 403
    from django.apps import apps

    obj = apps.get_model(app, name).objects.first()
    assert admin_client.get(reverse(f"admin:{model}_change", args=[obj.pk])).status_code == 200
    assert admin_client.post(reverse(f"admin:{model}_change", args=[obj.pk]), {}).status_code == 403
    assert admin_client.post(reverse(f"admin:{model}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403


# --- organisations --------------------------------------------------------------------


def _organisation_form(**overrides) -> dict:
    data = {"name": "锦屏街道东片区劳动争议调解委员会", "short_name": "", "case_number_prefix": "锦东调",
            "address": "", "phone": "", "is_active": "on"}
    data.update(overrides)
    return data


def test_the_organisation_admin_saves_a_new_organisation_with_its_path(admin_client, world):
    response = admin_client.post(reverse("admin:mediation_organisation_add"),
                                 _organisation_form(level=level(2).pk, parent=world.town_a.pk))

    assert response.status_code == 302
    org = Organisation.objects.get(name="锦屏街道东片区劳动争议调解委员会")
    assert org.path == f"{world.town_a.path}{org.pk}/"
    assert org.path == f"/{world.district.pk}/{world.town_a.pk}/{org.pk}/"


def test_the_organisation_admin_ignores_a_posted_path(admin_client, world):
    admin_client.post(reverse("admin:mediation_organisation_add"),
                      _organisation_form(level=level(2).pk, parent=world.town_a.pk, path="/999/"))

    org = Organisation.objects.get(name="锦屏街道东片区劳动争议调解委员会")
    assert org.path == f"{world.town_a.path}{org.pk}/"


def test_the_organisation_admin_uses_the_model_clean_to_refuse_a_parent_below_the_level(admin_client, world):
    response = admin_client.post(reverse("admin:mediation_organisation_add"),
                                 _organisation_form(level=level(1).pk, parent=world.enterprise_a.pk))

    assert response.status_code == 200
    assert "上级组织的层级必须高于本组织" in response.content.decode()
    assert not Organisation.objects.filter(name="锦屏街道东片区劳动争议调解委员会").exists()


def test_the_organisation_admin_reports_a_missing_level_instead_of_crashing(admin_client, world):
    response = admin_client.post(reverse("admin:mediation_organisation_add"),
                                 _organisation_form(parent=world.town_a.pk))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["level"]


def test_moving_an_organisation_repaths_its_subtree(admin_client, world):
    url = reverse("admin:mediation_organisation_change", args=[world.town_a.pk])
    admin_client.post(reverse("admin:mediation_organisation_add"),
                      _organisation_form(name="奉化区第二服务中心", level=level(0).pk, parent=""))
    new_parent = Organisation.objects.get(name="奉化区第二服务中心")

    response = admin_client.post(url, _organisation_form(
        name=world.town_a.name, level=level(1).pk, parent=new_parent.pk,
        case_number_prefix=world.town_a.case_number_prefix))

    assert response.status_code == 302
    world.enterprise_a.refresh_from_db()
    assert world.enterprise_a.path == f"/{new_parent.pk}/{world.town_a.pk}/{world.enterprise_a.pk}/"


def test_an_organisation_with_working_cases_cannot_change_line(admin_client, world):
    from workflows import services

    case = register(world.mediator_a, world.town_a)
    services.case_accept(case_id=case.pk, actor=world.mediator_a)
    url = reverse("admin:mediation_organisation_change", args=[world.town_a.pk])

    response = admin_client.post(url, _organisation_form(
        name=world.town_a.name, level=level(2).pk, parent=world.district.pk,
        case_number_prefix=world.town_a.case_number_prefix))

    assert response.status_code == 200
    world.town_a.refresh_from_db()
    assert world.town_a.level == level(1)


# --- users and memberships ------------------------------------------------------------


def _user_form(user, memberships: list[dict], initial: int = 0) -> dict:
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": "", "email": "",
        "is_active": "on", "date_joined_0": "2026-01-05", "date_joined_1": "09:00:00",
        "last_login_0": "", "last_login_1": "",
        "memberships-TOTAL_FORMS": str(len(memberships)), "memberships-INITIAL_FORMS": str(initial),
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "_save": "保存",
    }
    for i, m in enumerate(memberships):
        for key, value in m.items():
            data[f"memberships-{i}-{key}"] = value
    return data


def test_a_membership_added_through_the_user_admin_puts_the_user_in_the_role_group(admin_client, world):
    user = UserFactory.create()
    assert not user.groups.exists()

    response = admin_client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        _user_form(user, [{"organisation": world.town_b.pk, "role": Role.SUPERVISOR, "phone": "",
                           "user": user.pk, "id": ""}]))

    assert response.status_code == 302, response.context and response.context["errors"]
    assert Membership.objects.filter(user=user, organisation=world.town_b, role=Role.SUPERVISOR).exists()
    assert set(user.groups.values_list("name", flat=True)) == {"supervisor"}


def test_the_user_admin_cannot_put_someone_in_a_role_group_without_a_membership(admin_client, world):
    user = UserFactory.create()
    data = _user_form(user, [])
    data["groups"] = [Group.objects.get(name="supervisor").pk]

    admin_client.post(reverse("admin:auth_user_change", args=[user.pk]), data)

    assert not user.groups.filter(name="supervisor").exists()


def test_removing_the_last_membership_through_the_user_admin_takes_the_group_away(admin_client, world):
    user = world.mediator_b
    membership = Membership.objects.get(user=user)
    assert user.groups.filter(name="mediator").exists()

    response = admin_client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        _user_form(user, [{"id": membership.pk, "user": user.pk, "organisation": world.town_b.pk,
                           "role": Role.MEDIATOR, "phone": "", "DELETE": "on"}], initial=1))

    assert response.status_code == 302
    assert not Membership.objects.filter(user=user).exists()
    assert not user.groups.exists()


def test_the_membership_admin_keeps_groups_in_line(admin_client, world):
    user = UserFactory.create()

    admin_client.post(reverse("admin:mediation_membership_add"),
                      {"user": user.pk, "organisation": world.town_a.pk, "role": Role.AUDITOR, "phone": ""})
    assert set(user.groups.values_list("name", flat=True)) == {"auditor"}

    membership = Membership.objects.get(user=user)
    admin_client.post(reverse("admin:mediation_membership_delete", args=[membership.pk]), {"post": "yes"})
    assert not user.groups.exists()


# --- people -------------------------------------------------------------------------


def test_the_person_list_shows_id_numbers_masked(admin_client, db):
    number = valid_id_number()
    Person.objects.create(name="王小明", id_number=number, phone="13805741234")

    content = admin_client.get(reverse("admin:mediation_person_changelist")).content.decode()

    assert "王小明" in content
    assert number not in content
    assert number[:3] + "*" * 11 + number[-4:] in content
    assert "13805741234" not in content


# --- the holiday calendar -------------------------------------------------------------


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_saving_a_holiday_override_recomputes_stored_deadlines(admin_client, world):
    case = register(world.mediator_a, world.town_a)
    due = Case.objects.get(pk=case.pk).acceptance_due

    response = admin_client.post(reverse("admin:workflows_holidayoverride_add"),
                                 {"date": due.isoformat(), "note": "临时放假"})

    assert response.status_code == 302
    assert HolidayOverride.objects.get(date=due).is_workday is False
    moved = Case.objects.get(pk=case.pk).acceptance_due
    assert moved > due
    assert any("已重新计算 1 件案件的期限" in m for m in _messages(response))

    override = HolidayOverride.objects.get(date=due)
    response = admin_client.post(reverse("admin:workflows_holidayoverride_delete", args=[override.pk]),
                                 {"post": "yes"})
    assert Case.objects.get(pk=case.pk).acceptance_due == due
    assert any("已重新计算 1 件案件的期限" in m for m in _messages(response))


def test_confirming_a_calendar_year_recomputes_and_reports_zero_when_nothing_moves(admin_client, world):
    register(world.mediator_a, world.town_a)
    far_year = datetime.date.today().year + 50

    response = admin_client.post(reverse("admin:workflows_calendaryear_add"), {"year": far_year, "note": ""})

    assert response.status_code == 302
    assert CalendarYear.objects.filter(year=far_year).exists()
    assert any("已重新计算 0 件案件的期限" in m for m in _messages(response))


# --- every page renders ---------------------------------------------------------------


def test_every_admin_changelist_and_add_page_renders_for_a_superuser(admin_client, world):
    from django.contrib import admin

    register(world.mediator_a, world.town_a)
    assert admin_client.get(reverse("admin:index")).status_code == 200
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        listing = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, opts.label
        add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403), opts.label


def test_the_organisation_list_shows_the_tree(admin_client, world):
    content = admin_client.get(reverse("admin:mediation_organisation_changelist")).content.decode()

    district, town, enterprise = (content.index(o.name) for o in (world.district, world.town_a, world.enterprise_a))
    assert district < town < enterprise
    assert "\u3000\u3000└ " + world.enterprise_a.name in content


def test_a_case_number_prefix_in_use_is_a_form_error_on_add(admin_client, world):
    """A case number identifies the case on every document (DOMAIN.md §6: the agreement states it) and
    is built from the registering organisation's prefix: a second organisation with 锦调 would make
    registrations there collide with 锦屏's numbers, so the form refuses it."""
    response = admin_client.post(reverse("admin:mediation_organisation_add"),
                                 _organisation_form(level=level(2).pk, parent=world.town_a.pk,
                                                    case_number_prefix="锦调"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["case_number_prefix"] == ["该案号前缀已被其他组织使用，请换一个。"]
    assert not Organisation.objects.filter(name="锦屏街道东片区劳动争议调解委员会").exists()
    assert Organisation.objects.filter(case_number_prefix="锦调").count() == 1


def test_a_case_number_prefix_in_use_is_a_form_error_on_change(admin_client, world):
    url = reverse("admin:mediation_organisation_change", args=[world.town_b.pk])

    response = admin_client.post(url, _organisation_form(
        name=world.town_b.name, level=level(1).pk, parent=world.district.pk, case_number_prefix="锦调"))

    assert response.status_code == 200
    assert "该案号前缀已被其他组织使用，请换一个。" in response.content.decode()
    world.town_b.refresh_from_db()
    assert world.town_b.case_number_prefix == "溪调"


def test_an_organisation_keeps_its_own_prefix_on_change(admin_client, world):
    """Its own prefix is not "in use by another organisation"."""
    url = reverse("admin:mediation_organisation_change", args=[world.town_b.pk])

    response = admin_client.post(url, _organisation_form(
        name="溪口镇劳动争议调解中心（新址）", level=level(1).pk, parent=world.district.pk, case_number_prefix="溪调"))

    assert response.status_code == 302
    world.town_b.refresh_from_db()
    assert world.town_b.name == "溪口镇劳动争议调解中心（新址）"


def test_factories_give_each_organisation_its_own_prefix(db):
    from tests.factories import OrganisationFactory

    prefixes = [OrganisationFactory.create(level=level(1)).case_number_prefix for _ in range(3)]
    assert len(set(prefixes)) == 3
