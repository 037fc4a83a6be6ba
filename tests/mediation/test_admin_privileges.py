"""The administrator's chair: what the district administrator must not be able to do to the system
or to themselves (least privilege), and how records on file are corrected."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse

from mediation.models import CaseParty, Membership, Person, Role
from tests.factories import UserFactory, register, valid_id_number
from tests.mediation.test_admin import _user_form

User = get_user_model()


def test_an_administrator_cannot_make_anyone_a_superuser_or_staff(world, administrator):
    other = UserFactory.create()
    data = _user_form(other, [])
    data.update(is_superuser="on", is_staff="on")
    page = administrator.get(reverse("admin:auth_user_change", args=[other.pk])).content.decode()
    assert 'name="is_superuser"' not in page and 'name="is_staff"' not in page and 'name="groups"' not in page
    administrator.post(reverse("admin:auth_user_change", args=[other.pk]), data)
    other.refresh_from_db()
    assert (other.is_superuser, other.is_staff) == (False, False)


def test_an_administrator_cannot_change_their_own_account(world, administrator):
    me = world.admin
    data = _user_form(me, [{"organisation": world.town_a.pk, "role": Role.SUPERVISOR, "phone": "",
                            "user": me.pk, "id": ""}])
    data.update(is_superuser="on")
    response = administrator.post(reverse("admin:auth_user_change", args=[me.pk]), data)
    assert response.status_code == 403
    me.refresh_from_db()
    assert not me.is_superuser
    assert list(Membership.objects.filter(user=me).values_list("role", flat=True)) == [Role.ADMINISTRATOR]


def test_an_administrator_cannot_give_themselves_a_membership(world, administrator):
    response = administrator.post(reverse("admin:mediation_membership_add"), {
        "user": world.admin.pk, "organisation": world.town_a.pk, "role": Role.SUPERVISOR, "phone": ""})
    assert response.status_code == 200
    assert "您不能修改自己或超级管理员的岗位" in response.content.decode()
    assert not Membership.objects.filter(user=world.admin, role=Role.SUPERVISOR).exists()
    own = Membership.objects.get(user=world.admin)
    assert administrator.post(reverse("admin:mediation_membership_delete", args=[own.pk]),
                              {"post": "yes"}).status_code == 403
    assert Membership.objects.filter(pk=own.pk).exists()


def test_an_administrator_still_manages_other_peoples_memberships(world, administrator):
    newcomer = UserFactory.create()
    response = administrator.post(reverse("admin:mediation_membership_add"), {
        "user": newcomer.pk, "organisation": world.town_a.pk, "role": Role.MEDIATOR, "phone": ""})
    assert response.status_code == 302
    assert set(newcomer.groups.values_list("name", flat=True)) == {"mediator"}


def test_a_superusers_account_is_out_of_an_administrators_reach(world, administrator):
    root = User.objects.create_superuser("root", password="x" * 16)
    response = administrator.post(reverse("admin:auth_user_change", args=[root.pk]),
                                  dict(_user_form(root, []), is_active=""))
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.is_active


def test_the_person_page_shows_the_id_number_masked_and_no_phone(world, administrator):
    number = valid_id_number()
    person = Person.objects.create(name="王小明", id_number=number, phone="13805741234", address="锦屏街道南山路1号")
    page = administrator.get(reverse("admin:mediation_person_change", args=[person.pk])).content.decode()
    assert number not in page
    assert number[:3] + "*" * 11 + number[-4:] in page
    assert "13805741234" not in page and "南山路1号" not in page


def test_correcting_a_person_needs_a_reason_and_leaves_the_cases_own_record(world, administrator):
    case = register(world.mediator_a, world.town_a)
    party = CaseParty.objects.get(case=case, person__isnull=False)
    person, given = party.person, party.name
    assert person is not None
    url = reverse("admin:mediation_person_change", args=[person.pk])
    form = {"name": "王大明", "sex": "", "ethnicity": "", "id_number": "", "reason": ""}
    refused = administrator.post(url, form)
    assert refused.status_code == 200 and "须写明理由" in refused.content.decode()
    person.refresh_from_db()
    assert person.name != "王大明"
    corrected = administrator.post(url, dict(form, reason="申请人提交户口本，原登记姓名有误"))
    assert corrected.status_code == 302
    person.refresh_from_db()
    party.refresh_from_db()
    assert person.name == "王大明"
    assert party.name == given  # what the case recorded stays the case's


def test_a_corrected_id_number_is_checked_as_at_registration(world, administrator):
    person = Person.objects.create(name="李四", id_number=valid_id_number())
    url = reverse("admin:mediation_person_change", args=[person.pk])
    # The check digit of this number is wrong (GB 11643): refused as the intake form refuses it.
    response = administrator.post(url, {"name": "李四", "sex": "", "ethnicity": "", "id_number": "330283199001011230",
                                        "reason": "号码录入错误"})
    assert response.status_code == 200
    assert Person.objects.get(pk=person.pk).id_number == person.id_number
