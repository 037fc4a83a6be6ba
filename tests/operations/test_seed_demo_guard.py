"""seed_demo writes to, and --reset wipes, only a database that seed_demo created itself."""
from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from mediation.demo import seed as demo
from mediation.demo.models import DemoInstallation
from mediation.models import Case, Organisation
from tests.factories import OrganisationFactory, register


def counts() -> tuple[int, int, int]:
    return Case.objects.count(), Organisation.objects.count(), get_user_model().objects.count()


@pytest.mark.django_db
def test_reset_refuses_a_real_district_that_has_the_demo_name(world):
    # The world's district is named and prefixed exactly like the demo's: a production database could be.
    assert demo.demo_district() == world.district
    register(world.mediator_a, world.town_a)
    before = counts()
    with pytest.raises(CommandError, match="不是 seed_demo 建立的演示库"):
        call_command("seed_demo", reset=True, interactive=False, stdout=io.StringIO())
    assert counts() == before
    with pytest.raises(demo.NotDemoDatabase):
        demo.wipe_demo()
    assert counts() == before


@pytest.mark.django_db
def test_seed_demo_refuses_to_add_the_demo_to_a_database_in_use(world):
    before = counts()
    with pytest.raises(CommandError, match="未做任何修改"):
        call_command("seed_demo", stdout=io.StringIO(), verbosity=0)
    assert counts() == before and not DemoInstallation.objects.exists()


@pytest.mark.django_db
def test_reset_refuses_a_database_with_other_organisations_and_no_demo():
    OrganisationFactory.create(name="宁海县职工服务中心")
    before = counts()
    with pytest.raises(CommandError, match="没有演示数据标记"):
        call_command("seed_demo", reset=True, interactive=False, stdout=io.StringIO())
    assert counts() == before


@pytest.mark.django_db
def test_the_marker_follows_the_demo_district_through_a_reset():
    call_command("seed_demo", stdout=io.StringIO(), verbosity=0)
    marker = DemoInstallation.objects.get()
    assert marker.district == demo.demo_district()
    call_command("seed_demo", reset=True, interactive=False, stdout=io.StringIO(), verbosity=0)
    marker = DemoInstallation.objects.get()
    assert marker.district == demo.demo_district() and marker.district is not None
