"""What a stranger can learn from the public pages by how they answer, not only by what they say:
the password hashing a request costs (the slow part of an answer), the phone a code goes to, and
which address a throttle counts (docs/portal.md, "Throttling"; DOMAIN.md: nothing tells whether an
ID number or a case number has a case)."""
from __future__ import annotations

from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from mediation.models import CaseParty, Person
from mediation.services.registration import case_register
from notifications.sms import LocmemSmsBackend
from portal import services
from tests.factories import registration, valid_id_number
from tests.portal.conftest import submitted

pytestmark = pytest.mark.django_db


class HashCount:
    """Counts the password-hasher work (make_password, check_password) the portal's services do."""

    def __enter__(self) -> HashCount:
        services._dummy_hash()  # built once per process, before any request is measured
        self.made = mock.patch.object(services, "make_password", wraps=services.make_password)
        self.checked = mock.patch.object(services, "check_password", wraps=services.check_password)
        self.make, self.check = self.made.start(), self.checked.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.made.stop()
        self.checked.stop()

    @property
    def calls(self) -> int:
        return self.make.call_count + self.check.call_count


def hashes_for(post: dict[str, str], url: str) -> int:
    with HashCount() as counted:
        Client().post(reverse(url), post)
    return counted.calls


def test_a_code_request_costs_the_same_hashing_whether_or_not_it_matches(world):
    """Hashing the new code is the slow part of a matching request (a Django password hash): a miss
    that skipped it would answer measurably faster, telling that this ID number is an applicant of
    this case."""
    id_number = valid_id_number()
    case, _code = submitted(Client(), township=str(world.town_a.pk), id_number=id_number)
    LocmemSmsBackend.outbox.clear()
    hit = hashes_for({"number": case.number, "id_number": id_number}, "portal:documents")
    assert len(LocmemSmsBackend.outbox) == 1
    misses = [hashes_for({"number": number, "id_number": given}, "portal:documents") for number, given in (
        (case.number, valid_id_number()), ("锦调〔2099〕9999号", id_number))]
    assert len(LocmemSmsBackend.outbox) == 1
    assert hit >= 1
    assert misses == [hit, hit]


def test_a_follow_costs_the_same_hashing_for_a_known_and_an_unknown_number_whatever_the_code(world):
    """A code that is only separators ("----") reads as empty: the known number must still cost a hash."""
    case, _code = submitted(Client(), township=str(world.town_a.pk))
    for code in ("----", "ABCD-EFGH-JKMN"):
        known = hashes_for({"number": case.number, "access_code": code}, "portal:follow")
        unknown = hashes_for({"number": "锦调〔2099〕9999号", "access_code": code}, "portal:follow")
        assert known == unknown == 1, code


def test_the_code_goes_only_to_the_phone_recorded_in_this_case(world):
    """Whoever first registered an ID number (online, with their own mobile) holds the person's record;
    a later case of that ID number at another office, with no phone taken, must not send its code
    to that earlier mobile — the record on file never speaks for this case (registration_check)."""
    id_number = valid_id_number()
    # A stranger applies online first with the worker's ID number and their own mobile.
    submitted(Client(), township=str(world.town_a.pk), id_number=id_number, name="冒用人", phone="13900001111")
    assert Person.objects.get(id_number=id_number).phone == "13900001111"
    # The worker registers at the other township's desk, no phone taken.
    data = registration(world.town_b)
    data.applicants[0].id_number, data.applicants[0].phone = id_number, ""
    case = case_register(actor=world.mediator_b, data=data)
    party = CaseParty.objects.get(case=case, role="applicant")
    assert party.person is not None and party.person.id_number == id_number and party.phone == ""
    LocmemSmsBackend.outbox.clear()
    Client().post(reverse("portal:documents"), {"number": case.number, "id_number": id_number})
    assert LocmemSmsBackend.outbox == []


def test_an_ipv6_client_counts_by_its_64_network(world, settings):
    """One IPv6 subscriber holds a whole /64: counting each address alone would give them 2**64 addresses."""
    settings.PORTAL_LOOKUP_RATE_PER_IP = "2/hour"
    settings.PORTAL_LOOKUP_RATE_PER_CASE = ""
    statuses = [Client(REMOTE_ADDR=f"2001:db8:1:2::{i + 1:x}").post(
        reverse("portal:follow"), {"number": f"锦调〔2099〕{i}号", "access_code": "ABCD"}).status_code
        for i in range(3)]
    assert statuses == [400, 400, 429]
    other_network = Client(REMOTE_ADDR="2001:db8:1:3::1").post(
        reverse("portal:follow"), {"number": "锦调〔2099〕7号", "access_code": "ABCD"})
    assert other_network.status_code == 400


def follow_from(remote: str, forwarded: str | None = None, n: int = 0) -> int:
    client = Client(REMOTE_ADDR=remote) if forwarded is None else \
        Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    return client.post(reverse("portal:follow"), {"number": f"锦调〔2099〕{n}号", "access_code": "ABCD"}).status_code


def test_a_forged_forwarded_for_header_does_not_buy_new_addresses(world, settings):
    """Without trusted proxies the header is never read: rotating it changes nothing."""
    settings.PORTAL_LOOKUP_RATE_PER_IP = "2/hour"
    settings.PORTAL_LOOKUP_RATE_PER_CASE = ""
    settings.PROXY_COUNT = 0
    statuses = [follow_from("203.0.113.5", f"198.51.100.{i}", i) for i in range(3)]
    assert statuses == [400, 400, 429]


def test_behind_the_reverse_proxy_each_client_counts_alone_and_a_forged_entry_is_ignored(world, settings):
    """Behind the proxy every request comes from its address: counting that would let one stranger's
    guesses shut the pages for every worker. With LOGIN_PROXY_COUNT=1 the entry the proxy wrote counts;
    what the client put to its left does not."""
    settings.PORTAL_LOOKUP_RATE_PER_IP = "2/hour"
    settings.PORTAL_LOOKUP_RATE_PER_CASE = ""
    settings.PROXY_COUNT = 1
    proxy = "127.0.0.1"
    # One stranger, forging a new leftmost entry each time: the proxy's own entry is the same.
    guesses = [follow_from(proxy, f"10.9.9.{i}, 198.51.100.7", i) for i in range(3)]
    assert guesses == [400, 400, 429]
    # A worker behind the same proxy is not shut out by the stranger's guesses.
    assert follow_from(proxy, "198.51.100.8", 5) == 400
    # A header with too few entries leaves the direct peer.
    settings.PROXY_COUNT = 2
    assert [follow_from("192.0.2.1", "198.51.100.9", 6 + i) for i in range(3)] == [400, 400, 429]


def test_the_access_code_is_written_nowhere_in_clear_not_even_in_the_session_table(world):
    """Between the application and the page that shows it (a dropped connection may never load that
    page) the code must not sit readable in the database's session rows."""
    from django.contrib.sessions.models import Session

    from tests.portal.conftest import apply

    client = Client()
    assert apply(client, township=str(world.town_a.pk)).status_code == 302
    stored = "\n".join(str(s.get_decoded()) + s.session_data for s in Session.objects.all())
    page = client.get(reverse("portal:apply_done")).content.decode()
    code = page.split('id="access-code" class="code">')[1].split("<")[0]
    assert len(code.replace("-", "")) >= 10
    assert code not in stored and code.replace("-", "") not in stored
    # Shown once: the cookie that carried it is deleted with the page, and a second look shows nothing.
    again = client.get(reverse("portal:apply_done"))
    assert again.status_code == 302 and code not in again.content.decode()


def test_a_receipt_cookie_from_another_application_shows_nothing(world):
    """The cookie is bound to the case number the session holds: another application's cookie
    (or one replayed into another browser) does not put a code on this page."""
    from tests.portal.conftest import apply

    first, second = Client(), Client()
    assert apply(first, township=str(world.town_a.pk)).status_code == 302
    assert apply(second, township=str(world.town_a.pk)).status_code == 302
    second.cookies["portal_receipt"] = first.cookies["portal_receipt"].value
    response = second.get(reverse("portal:apply_done"))
    assert response.status_code == 302


def test_an_id_number_or_mobile_typed_as_the_case_number_is_audited_masked(world, settings):
    """People type their ID number into 案号 (or swap the two fields): the audit trail keeps the number
    typed to show who knocked, but an ID number or a mobile number there is personal data and is masked,
    on every row that records it (follow, code request, code check, throttled)."""
    from mediation.audit.models import AuditEvent

    id_number, mobile = valid_id_number(), "13805749876"
    case, _code = submitted(Client(), township=str(world.town_a.pk), id_number=id_number)
    client = Client()
    client.post(reverse("portal:follow"), {"number": id_number, "access_code": "ABCD"})
    client.post(reverse("portal:follow"), {"number": mobile, "access_code": "ABCD"})
    client.post(reverse("portal:documents"), {"number": id_number, "id_number": case.number})
    client.post(reverse("portal:documents_code"), {"code": "123456"})
    settings.PORTAL_LOOKUP_RATE_PER_IP = "1/hour"
    client.post(reverse("portal:follow"), {"number": id_number, "access_code": "ABCD"})
    rows = list(AuditEvent.objects.filter(action__startswith="portal.").values_list("action", "new"))
    assert {action for action, _new in rows} >= {"portal.follow", "portal.code_request", "portal.code_check"}
    assert any((new or {}).get("result") == "throttled" for _action, new in rows)
    text = str(rows)
    assert id_number not in text and mobile not in text and id_number[-4:] in text
    # A real case number is kept whole: it is what the case's audit extract is searched by.
    client = Client()
    settings.PORTAL_LOOKUP_RATE_PER_IP = ""
    client.post(reverse("portal:follow"), {"number": case.number, "access_code": "ABCD"})
    assert AuditEvent.objects.filter(action="portal.follow", new__case_number=case.number).exists()
