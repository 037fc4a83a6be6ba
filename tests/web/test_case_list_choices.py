"""The case list's filter form offers, in its three lists (organisations, dispute categories,
mediators), exactly what the user may filter by — read afresh on every page, though their statements
are written once per process (``mediation.views.cases._listed_choices``)."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from mediation.models import Category, Membership, Role
from mediation.views.cases import filters_from_data
from mediation.widgets import ListedModelChoiceField, field_row
from tests.factories import member

pytestmark = pytest.mark.django_db


def options(html: str, name: str) -> dict[str, str]:
    """The options (value: label) of the page's select called ``name``, the blank one left out."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return {value: label for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>',
                                                           select.group(1)) if value}


def selected(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return re.findall(r'<option value="([^"]*)"[^>]*selected', select.group(1))


def page(user, query: str = "") -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/cases/" + query)
    assert response.status_code == 200
    return response.content.decode()


def label(user) -> str:
    return user.get_full_name() or user.username


def test_a_township_supervisor_is_offered_the_township_its_committees_and_their_case_workers(world):
    html = page(world.supervisor_a)
    # DOMAIN.md §5: a supervisor reaches its organisation's subtree; every role but the auditor's
    # works cases, so the list names the people of those organisations who may be given a case.
    assert options(html, "organisation") == {str(world.town_a.pk): world.town_a.name,
                                             str(world.enterprise_a.pk): world.enterprise_a.name}
    expected = [world.supervisor_a, world.mediator_a, world.mediator_a2, world.enterprise_mediator,
                world.enterprise_supervisor]
    assert options(html, "mediator") == {str(u.pk): label(u) for u in expected}
    assert options(html, "category") == {c.code: c.name for c in Category.objects.all()}
    assert len(options(html, "category")) >= 5  # the categories the migrations create


def test_a_mediator_is_offered_only_their_own_township(world):
    html = page(world.mediator_b)
    assert options(html, "organisation") == {str(world.town_b.pk): world.town_b.name}
    assert options(html, "mediator") == {str(u.pk): label(u) for u in (world.supervisor_b, world.mediator_b)}
    # Another township's organisation, asked for by hand, is refused as a choice, not shown.
    refused = page(world.mediator_b, f"?organisation={world.town_a.pk}")
    assert selected(refused, "organisation") == []
    assert "errorlist" in refused


def test_a_list_page_builds_the_users_places_and_people_only_to_check_a_value_given(world, monkeypatch):
    """The querysets of the places and people a user may filter by are built to check a value given for
    them (or to write the lists' statements), never to show a page whose filter names neither."""
    built: list[str] = []
    real = ListedModelChoiceField.build_queryset_when_asked

    def counting(field, build):
        def counted():
            built.append(str(field.label))
            return build()

        real(field, counted)

    monkeypatch.setattr(ListedModelChoiceField, "build_queryset_when_asked", counting)
    client = Client()
    client.force_login(world.mediator_b)
    assert client.get("/cases/").status_code == 200  # the lists' statements are written here
    built.clear()
    for query in ("", "?state=joint_mediation", "?category=wages&sort=-amount", "?q=nobody-at-all"):
        html = client.get("/cases/" + query).content.decode()
        assert options(html, "organisation") == {str(world.town_b.pk): world.town_b.name}
    assert built == []
    # Another township's organisation or mediator, asked for by hand: built to check it, and refused.
    refused = client.get(f"/cases/?organisation={world.town_a.pk}").content.decode()
    assert built == ["承办组织"] and "errorlist" in refused and selected(refused, "organisation") == []
    refused = client.get(f"/cases/?mediator={world.mediator_a.pk}").content.decode()
    assert built == ["承办组织", "调解员"] and "errorlist" in refused and selected(refused, "mediator") == []
    # Their own: taken.
    taken = client.get(f"/cases/?mediator={world.mediator_b.pk}").content.decode()
    assert "errorlist" not in taken and selected(taken, "mediator") == [str(world.mediator_b.pk)]


def test_the_ledger_page_offers_the_same_places_and_people_as_the_case_list(world):
    """The ledger's page shows the case list's filter form (``filters_from_request``) without the list's
    choices written first: its lists are read from the user's reach when the page is written."""
    client = Client()
    client.force_login(world.supervisor_a)
    html = client.get(reverse("reports:ledger")).content.decode()
    assert options(html, "organisation") == {str(world.town_a.pk): world.town_a.name,
                                             str(world.enterprise_a.pk): world.enterprise_a.name}
    expected = [world.supervisor_a, world.mediator_a, world.mediator_a2, world.enterprise_mediator,
                world.enterprise_supervisor]
    assert options(html, "mediator") == {str(u.pk): label(u) for u in expected}
    # Another township's, asked for by hand: refused, and the lists still the user's own.
    client.force_login(world.supervisor_b)
    refused = client.get(reverse("reports:ledger"), {"organisation": world.town_a.pk}).content.decode()
    assert options(refused, "organisation") == {str(world.town_b.pk): world.town_b.name}
    assert selected(refused, "organisation") == [] and "errorlist" in refused


def test_the_lists_are_read_afresh_on_every_page(world):
    client = Client()
    client.force_login(world.supervisor_a)
    first = client.get("/cases/").content.decode()
    assert world.enterprise_a.name in options(first, "organisation").values()

    # The next pages see what changed since, with no more statements than the first.
    Category.objects.create(code="new_kind", name="新类别甲", position=999)
    world.enterprise_a.is_active = False
    world.enterprise_a.save(update_fields=["is_active"])
    newcomer = member(world.town_a, Role.MEDIATOR, first_name="新", last_name="调解员")
    Membership.objects.filter(user=world.mediator_a2).delete()
    with CaptureQueriesContext(connection) as ctx:
        second = client.get("/cases/").content.decode()
    assert options(second, "category")["new_kind"] == "新类别甲"
    assert options(second, "organisation") == {str(world.town_a.pk): world.town_a.name}
    mediators = options(second, "mediator")
    assert str(newcomer.pk) in mediators and str(world.mediator_a2.pk) not in mediators
    # The people offered are those of the organisations offered: the switched-off enterprise's go too.
    assert str(world.enterprise_mediator.pk) not in mediators
    assert str(world.mediator_a.pk) in mediators
    with CaptureQueriesContext(connection) as again:
        client.get("/cases/")
    assert len(again.captured_queries) == len(ctx.captured_queries)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_form_is_written_as_django_writes_it_from_the_same_querysets(world, language):
    """The page's filter form, field by field, against the same form whose lists Django's own
    iterator reads: the same options, labels, order and the chosen one selected."""
    chosen = Category.objects.order_by("position").last()
    assert chosen is not None
    query = f"?organisation={world.enterprise_a.pk}&mediator={world.mediator_a2.pk}&category={chosen.code}"
    for user in (world.supervisor_a, world.district_supervisor, world.mediator_b, world.auditor_a):
        client = Client()
        client.force_login(user)
        with translation.override(language):
            html = client.get("/cases/" + query, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            form, _ = filters_from_data(get_user_model().objects.get(pk=user.pk), QueryDict(query[1:]))
            for name in ("organisation", "category", "mediator"):
                written = field_row(form[name])
                assert written in html, (user.username, language, name)
        if user in (world.supervisor_a, world.district_supervisor):
            assert selected(html, "organisation") == [str(world.enterprise_a.pk)]
            assert selected(html, "mediator") == [str(world.mediator_a2.pk)]
        assert selected(html, "category") == [chosen.code]
