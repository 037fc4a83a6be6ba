from __future__ import annotations

from dataclasses import dataclass

import pytest

from mediation.models import Employer, Organisation, OrganisationLevel, Role
from mediation.typing import User
from tests.factories import OrganisationFactory, level, member, valid_credit_code


@dataclass
class World:
    """A small district: two townships, an enterprise under the first, one user per role and place."""

    district: Organisation
    town_a: Organisation
    town_b: Organisation
    enterprise_a: Organisation
    court_desk: Organisation
    admin: User
    auditor_a: User
    district_supervisor: User
    district_mediator: User
    supervisor_a: User
    mediator_a: User
    mediator_a2: User
    supervisor_b: User
    mediator_b: User
    enterprise_mediator: User
    enterprise_supervisor: User
    court_desk_mediator: User


@pytest.fixture(autouse=True)
def _statements_written_afresh():
    """Each test starts with no statement written (``mediation/prepared.py``): one test's mocks can
    never shape a statement another test reads."""
    from mediation import prepared

    prepared._QUERYSETS.clear()
    prepared._STATEMENTS.clear()
    prepared._DECISIONS.clear()


@pytest.fixture
def world(db) -> World:
    district = OrganisationFactory.create(name="奉化区职工服务中心", level=level(0), case_number_prefix="奉工调")
    town_a = OrganisationFactory.create(name="锦屏街道劳动争议调解中心", level=level(1), parent=district,
                                        case_number_prefix="锦调")
    town_b = OrganisationFactory.create(name="溪口镇劳动争议调解中心", level=level(1), parent=district,
                                        case_number_prefix="溪调")
    enterprise_a = OrganisationFactory.create(name="宁波甬达机械有限公司劳动争议调解委员会", level=level(3),
                                              parent=town_a, case_number_prefix="甬达调")
    # An enterprise committee takes its own enterprise's disputes only (DOMAIN.md §4).
    enterprise_a.served_employers.add(Employer.objects.create(name="宁波甬达机械有限公司",
                                                              credit_code=valid_credit_code()))
    # Levels are data: here a line-3 desk inside the district centre, so that even a
    # line-3 case has somewhere higher to go.
    desk_level = OrganisationLevel.objects.create(name="区级工作站", rank=9, line=3)
    court_desk = OrganisationFactory.create(name="巡回法庭工作站", level=desk_level, parent=district,
                                            case_number_prefix="巡调")
    return World(
        district=district, town_a=town_a, town_b=town_b, enterprise_a=enterprise_a, court_desk=court_desk,
        admin=member(district, Role.ADMINISTRATOR),
        auditor_a=member(town_a, Role.AUDITOR),
        district_supervisor=member(district, Role.SUPERVISOR),
        district_mediator=member(district, Role.MEDIATOR),
        supervisor_a=member(town_a, Role.SUPERVISOR),
        mediator_a=member(town_a, Role.MEDIATOR),
        mediator_a2=member(town_a, Role.MEDIATOR),
        supervisor_b=member(town_b, Role.SUPERVISOR),
        mediator_b=member(town_b, Role.MEDIATOR),
        enterprise_mediator=member(enterprise_a, Role.MEDIATOR),
        enterprise_supervisor=member(enterprise_a, Role.SUPERVISOR),
        court_desk_mediator=member(court_desk, Role.MEDIATOR),
    )


@pytest.fixture
def administrator(world):
    """A client signed in as the district administrator as demo and production set them up:
    staff, in the administrator role."""
    from django.test import Client

    world.admin.is_staff = True
    world.admin.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(world.admin)
    return client
