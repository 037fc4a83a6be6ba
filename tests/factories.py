"""Test data builders. IDs and credit codes are generated with valid check characters."""
from __future__ import annotations

import dataclasses
import datetime
import itertools
import random
from decimal import Decimal

import factory
from django.utils import timezone
from stdnum.cn import ric, uscc

from mediation import permissions
from mediation.models import Employer, Membership, Organisation, OrganisationLevel
from mediation.services import ClaimInput, EmployerInput, PersonInput, Registration, case_register
from mediation.typing import User

_serial = itertools.count(1)
TEST_PASSWORD = "pw-for-tests-2026"


def valid_id_number(birth: datetime.date | None = None, region: str = "330283") -> str:
    # stdnum checks the region code against the codes in force at birth: it accepts 330283 (奉化市) for 1989–2016.
    birth = birth or datetime.date(1989, 1, 1) + datetime.timedelta(days=next(_serial) % 9000)
    body = f"{region}{birth:%Y%m%d}{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character given


def valid_credit_code() -> str:
    body = f"91330283MA2{next(_serial):06d}"[:17]
    body = body.ljust(17, "0")
    return body + uscc.calc_check_digit(body)


def level(rank: int) -> OrganisationLevel:
    return OrganisationLevel.objects.get(rank=rank)


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试组织{n}")
    level = factory.LazyFunction(lambda: level(0))
    case_number_prefix = factory.Sequence(lambda n: f"测调{n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password(TEST_PASSWORD)


def member(organisation: Organisation, role: str, **kwargs) -> User:
    user = UserFactory.create(**kwargs)
    Membership.objects.create(user=user, organisation=organisation, role=role)
    permissions.sync_role_groups(user)
    return user


def registration(organisation: Organisation, *, applicants: int = 1, received_at=None, claims=None,
                 employer: EmployerInput | Employer | None = None, **overrides) -> Registration:
    """A registration; at an enterprise committee (line 1) against the first firm it serves (DOMAIN.md §4)."""
    if employer is None and organisation.line == 1:
        employer = organisation.served_employers.order_by("pk").first()
    data = Registration(
        organisation=organisation,
        received_at=received_at or timezone.now(),
        channel="walk_in",
        application_form="oral",
        dispute_summary="拖欠2026年8月至10月工资",
        reasons="公司以经营困难为由拖欠工资",
        employer=employer or EmployerInput(name=f"宁波测试制造有限公司{next(_serial)}",
                                           credit_code=valid_credit_code()),
        applicants=[PersonInput(name=f"张{random.choice('伟芳娜敏静丽强磊军洋')}{i}", id_number=valid_id_number(),
                                phone="13805740000") for i in range(applicants)],
        categories=["wages"],
        claims=claims if claims is not None else [ClaimInput("拖欠工资", Decimal("12000.00"), "wages")],
    )
    return dataclasses.replace(data, **overrides)


def register(actor, organisation: Organisation, **kwargs):
    return case_register(actor=actor, data=registration(organisation, **kwargs))


def reads_logged(case, user, purpose: str | None = None) -> int:
    """How many reads of ``case`` by ``user`` (for ``purpose``, if given) are on the audit trail."""
    from mediation.audit.models import AuditEvent

    found = AuditEvent.objects.filter(action="case.read", case_id=case.pk, actor_id=user.pk)
    return (found.filter(new__purpose=purpose) if purpose is not None else found).count()
