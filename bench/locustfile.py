"""The users of the load test (bench/load.py): mediators and supervisors signed in through the real pages.

bench/load.py prepares a *plan* (which accounts, which cases each one can see, open instalments,
cases being worked, fresh parties for intake) from the database, starts gunicorn, and runs these
users through locust's library API. The file also works with locust's own command line against a
server you started yourself, given the plan bench/load.py wrote (``--keep-plan``)::

    LOAD_PLAN=/tmp/plan.json .venv/bin/locust -f bench/locustfile.py --host http://127.0.0.1:8000

The mix, per user (closed loop: the next request leaves when the previous answer is in, no think
time unless bench/load.py's ``--think``):

* a mediator (80 % of the users): case pages 35, case lists 35 (first page, a filter, a search, a
  later page), and writes 10 — a mediation session recorded 4, an instalment payment recorded 3,
  a new case taken in through the intake form 3 (the form fetched, then posted);
* a supervisor (20 %): the home page and the escalation queue, half each.

So about 70 % of the users' time goes to mediators reading, 20 % to supervisors and 10 % to
writes. Each user walks its weights in a fixed interleaved order (smooth weighted round robin,
started at a different point per user), so even a few seconds' run does every kind of request.

Every request is checked: a page must answer 200 (a redirect means the session was lost), a write
must answer with the redirect to its case page that only a successful write gives (a form with
errors answers 400); anything else counts as a failure.
"""
from __future__ import annotations

import hmac
import json
import os
import random
import re
import struct
import time
from collections.abc import Callable
from hashlib import sha1
from html.parser import HTMLParser
from itertools import count
from typing import Any
from urllib.parse import urlencode, urlsplit

import gevent  # type: ignore[import-untyped]
from gevent.lock import Semaphore  # type: ignore[import-untyped]
from locust import FastHttpUser, task
from locust.exception import StopUser

PLAN: dict[str, Any] = {}
#: Users that finished signing in (bench/load.py starts measuring when all have).
READY: list[str] = []
#: Users that could not sign in, and why.
SIGN_IN_FAILED: list[str] = []
#: Notes for the report (e.g. a pool that ran out).
NOTES: dict[str, int] = {}

PASSWORD_DEFAULT = "demo-2026"
_CASE_URL = re.compile(r"^/cases/(\d+)/$")
#: A form's body is sent encoded, as a browser sends it (a field may repeat: the intake's categories).
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def configure(plan: dict[str, Any]) -> None:
    PLAN.clear()
    PLAN.update(plan)
    READY.clear()
    SIGN_IN_FAILED.clear()
    NOTES.clear()
    MediatorUser.numbers = count()
    SupervisorUser.numbers = count()
    MediatorUser.fixed_count = plan["mix"]["mediator_users"]
    SupervisorUser.fixed_count = plan["mix"]["supervisor_users"]


if os.environ.get("LOAD_PLAN"):
    with open(os.environ["LOAD_PLAN"], encoding="utf-8") as _f:
        configure(json.load(_f))


# --------------------------------------------------------------------------- forms and codes

class _Forms(HTMLParser):
    """The fields of every <form> on a page, as a browser would send them untouched."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            if kind not in {"submit", "button", "image", "file"}:
                self._form["fields"].append((a["name"], a.get("value", "on" if kind in {"checkbox", "radio"} else "")))
        elif tag == "select" and a.get("name"):
            self._select, self._select_first = a["name"], None
        elif tag == "option" and self._select is not None:
            if self._select_first is None:
                self._select_first = a.get("value", "")
            if "selected" in a:
                self._form["fields"].append((self._select, a.get("value", "")))
                self._select = None
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"].append((self._textarea, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._form is not None:
            if self._select_first is not None:
                self._form["fields"].append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self._form is not None:
            name, value = self._form["fields"][-1]
            self._form["fields"][-1] = (name, value + data)


def _location(response: Any) -> str:
    """Where a response sends the client ("" for none, or for a request that got no answer)."""
    return str((response.headers or {}).get("Location") or "")


def page_forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_with(html: str, field: str) -> dict[str, str]:
    """The fields of the first form on the page that has ``field`` (single values; last one wins)."""
    for form in page_forms(html):
        names = [name for name, _ in form["fields"]]
        if field in names:
            return dict(form["fields"])
    raise LookupError(f"no form with {field!r} on the page")


def totp_code(key_hex: str, t: int, digits: int = 6) -> str:
    """RFC 6238 (HMAC-SHA1) code for time step ``t``: what an authenticator app shows."""
    mac = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", t), sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


_otp_locks: dict[str, Semaphore] = {}


def next_totp(account: dict[str, Any]) -> str:
    """A code for the account's device that it has not accepted yet: waits for the next step if needed."""
    otp = account["otp"]
    lock = _otp_locks.setdefault(account["username"], Semaphore())
    with lock:
        while True:
            t = int((time.time() - otp["t0"]) // otp["step"]) + otp["drift"]
            if t > otp["last_t"]:
                otp["last_t"] = t
                return totp_code(otp["key"], t, otp["digits"])
            gevent.sleep(otp["step"] - (time.time() - otp["t0"]) % otp["step"] + 0.2)


def weighted_order(weights: dict[str, int]) -> list[str]:
    """Smooth weighted round robin: each name as often as its weight, spread evenly over one cycle."""
    current = dict.fromkeys(weights, 0)
    total = sum(weights.values())
    order = []
    for _ in range(total):
        for name, weight in weights.items():
            current[name] += weight
        chosen = max(current, key=lambda n: current[n])
        current[chosen] -= total
        order.append(chosen)
    return order


# --------------------------------------------------------------------------- users

class SignedInUser(FastHttpUser):
    """Signed in through the real pages, then one request after another from the user's mix. The
    client is locust's lighter one (geventhttpclient): the driver shares the server's cores, and
    through python-requests it took about twice the CPU a request (2.4 ms against 1.2–1.5 ms,
    docs/performance.md, "Seventeenth pass")."""

    abstract = True
    # The server sits behind the TLS proxy in production: the proxy's header, as gunicorn trusts it.
    default_headers = {"X-Forwarded-Proto": "https", "Accept-Language": "zh-hans"}
    role = ""
    weights: dict[str, int] = {}
    numbers = count()

    def wait_time(self) -> float:
        """Closed loop by default; with a think time in the plan, a pause of 0 to twice it between requests."""
        think = PLAN.get("think", 0.0)
        return self.rng.uniform(0, 2 * think) if think else 0.0

    def on_start(self) -> None:
        self.index = next(type(self).numbers)
        accounts = PLAN[self.role + "s"]
        self.account = accounts[self.index % len(accounts)]
        self.rng = random.Random(PLAN.get("seed", 1) * 1000 + self.index * 2 + (self.role == "supervisor"))
        self.https_origin = "https://" + urlsplit(str(self.host)).netloc
        order = weighted_order(self.weights)
        start = (self.index * 7) % len(order)
        self.cycle = order[start:] + order[:start]
        self.step = 0
        self.signed_in = False
        try:
            home = self.sign_in()
            self.csrf_token = form_with(home, "csrfmiddlewaretoken")["csrfmiddlewaretoken"]
        except (StopUser, LookupError, KeyError) as exc:
            SIGN_IN_FAILED.append(f"{self.account['username']}: {exc}")  # bench/load.py reports it and stops
            return
        self.signed_in = True
        READY.append(self.account["username"])

    # -- requests

    def _check(self, response: Any, ok: Callable[[Any], str | None]) -> None:
        problem = ok(response)
        if problem:
            response.failure(problem)
        else:
            response.success()

    def page(self, name: str, path: str) -> Any:
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            self._check(response, lambda r: None if r.status_code == 200
                        else f"{r.status_code} {_location(r)}".strip())
            return response

    def post(self, name: str, path: str, data: Any, expect: Callable[[str], bool], referer: str) -> Any:
        headers = {"Referer": self.https_origin + referer, **FORM}
        with self.client.post(path, data=urlencode(data), name=name, headers=headers, allow_redirects=False,
                              catch_response=True) as response:
            location = urlsplit(_location(response)).path

            def ok(r: Any) -> str | None:
                if r.status_code == 302 and expect(location):
                    return None
                if r.status_code == 400:
                    said = re.findall(r'<ul class="(?:[^"]*errorlist[^"]*|messages)"[^>]*>(.*?)</ul>', r.text, re.S)
                    return "400: " + " ".join(" ".join(re.sub(r"<[^>]+>", " ", e).split()) for e in said)[:300]
                return f"{r.status_code} {location}".strip()

            self._check(response, ok)
            return response

    def csrf(self, path: str, name: str) -> tuple[str, str]:
        response = self.client.get(path, name=name, allow_redirects=False)
        if response.status_code != 200:
            raise StopUser(f"{path}: {response.status_code}")
        text = response.text or ""
        return form_with(text, "csrfmiddlewaretoken")["csrfmiddlewaretoken"], text

    # -- signing in through the real pages (not measured: bench/load.py resets the figures after)

    def sign_in(self) -> str:
        """Password, then the second factor when the account has a device; returns the home page."""
        username = self.account["username"]
        token, _ = self.csrf("/accounts/login/", "sign in: form")
        response = self.client.post("/accounts/login/", name="sign in", allow_redirects=False,
                                    headers={"Referer": self.https_origin + "/accounts/login/", **FORM},
                                    data=urlencode({"csrfmiddlewaretoken": token, "username": username,
                                                    "password": self.account.get("password", PASSWORD_DEFAULT),
                                                    "next": "/"}))
        for _hop in range(4):
            if response.status_code == 200 and urlsplit(response.url or "").path == "/":
                return response.text or ""
            if response.status_code != 302:
                raise StopUser(f"{username}: sign-in answered {response.status_code}")
            target = urlsplit(_location(response))
            if target.path == "/accounts/two-factor/verify/":
                if not self.account.get("otp"):
                    raise StopUser(f"{username}: asked for a second factor the plan has no device for")
                path = target.path + ("?" + target.query if target.query else "")
                token, _ = self.csrf(path, "sign in: second factor form")
                response = self.client.post(path, name="sign in: second factor", allow_redirects=False,
                                            headers={"Referer": self.https_origin + path, **FORM},
                                            data=urlencode({"csrfmiddlewaretoken": token,
                                                            "token": next_totp(self.account)}))
            elif target.path in {"/", ""}:
                response = self.client.get("/", name="sign in: home", allow_redirects=False)
            else:
                raise StopUser(f"{username}: sent to {target.path} after signing in")
        raise StopUser(f"{username}: sign-in did not reach the home page")

    @task
    def next_request(self) -> None:
        if not self.signed_in:
            raise StopUser()
        kind = self.cycle[self.step % len(self.cycle)]
        self.step += 1
        getattr(self, "do_" + kind.replace(" ", "_").replace(",", ""))()


class MediatorUser(SignedInUser):
    role = "mediator"
    weights = {"case page": 35, "case list": 12, "case list, filtered": 10, "case list, search": 6,
               "case list, later page": 7, "session": 4, "payment": 3, "intake": 3}

    def pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items)

    def do_case_page(self) -> None:
        self.page("case page", f"/cases/{self.pick(self.account['case_ids'])}/")

    def do_case_list(self) -> None:
        self.page("case list", "/cases/")

    def do_case_list_filtered(self) -> None:
        self.page("case list, filtered", "/cases/?" + self.pick(PLAN["filters"]))

    def do_case_list_search(self) -> None:
        self.page("case list, search", "/cases/?" + urlencode({"q": self.pick(self.account["search_terms"])}))

    def do_case_list_later_page(self) -> None:
        pages = max(1, min(self.account["pages"], 500))
        query: dict[str, Any] = {"page": self.rng.randint(2, pages)} if pages > 1 else {}
        if self.rng.random() < 0.3:
            query["per_page"] = 50
        self.page("case list, later page", "/cases/?" + urlencode(query))

    def now_local(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + PLAN["utc_offset_seconds"]))

    def do_session(self) -> None:
        pk = self.pick(self.account["working_case_ids"])
        path = f"/cases/{pk}/sessions/"
        self.post("session", path, {
            "csrfmiddlewaretoken": self.csrf_token, "held_at": self.now_local(), "place": "调解室（一）",
            "attendees": "申请人、被申请人委托代理人、调解员", "result": "双方同意继续协商",
            "record": "调解员告知双方权利义务；申请人陈述诉求，被申请人答辩；双方同意一周内再次协商。",
        }, expect=lambda loc: loc == f"/cases/{pk}/", referer=f"/cases/{pk}/")

    def do_payment(self) -> None:
        pool = self.account["instalments"]
        if not pool:
            NOTES["payment pool empty: a session recorded instead"] = NOTES.get(
                "payment pool empty: a session recorded instead", 0) + 1
            self.do_session()
            return
        case_id, instalment_id, amount = pool.pop()
        path = f"/cases/{case_id}/instalments/{instalment_id}/pay/"
        self.post("payment", path, {
            "csrfmiddlewaretoken": self.csrf_token, "paid_on": PLAN["today"], "paid_amount": amount,
            "payment_note": "",
        }, expect=lambda loc: loc == f"/cases/{case_id}/", referer=f"/cases/{case_id}/")

    def do_intake(self) -> None:
        response = self.page("intake form", "/cases/new/")
        if response.status_code != 200:
            return
        data = form_with(response.text or "", "intake_token")
        party = PLAN["parties"][(PLAN.setdefault("_party", 0)) % len(PLAN["parties"])]
        PLAN["_party"] += 1
        categories = [c for c in ("wages", "compensation") if c in PLAN["categories"]] or PLAN["categories"][:1]
        data.update({
            "application_form": "oral", "channel": "walk_in",
            "dispute_summary": f"{party['name']}称{party['employer_name']}拖欠两个月工资，多次催讨未果。",
            "reasons": "要求支付拖欠工资", "employer_name": party["employer_name"],
            "employer_credit_code": party["credit_code"],
            "employer_legal_representative": party["legal_representative"],
            "employer_address": party["address"], "employer_industry": "制造业",
            "applicants-TOTAL_FORMS": "1", "applicants-0-name": party["name"], "applicants-0-sex": party["sex"],
            "applicants-0-id_number": party["id_number"], "applicants-0-phone": party["phone"],
            "claims-TOTAL_FORMS": "1", "claims-0-description": "拖欠工资", "claims-0-category": categories[0],
            "claims-0-amount": party["amount"],
        })
        body = list(data.items()) + [("categories", c) for c in categories]
        self.post("intake", "/cases/new/", body, expect=lambda loc: bool(_CASE_URL.match(loc)), referer="/cases/new/")


class SupervisorUser(SignedInUser):
    role = "supervisor"
    weights = {"home": 1, "escalations": 1}

    def do_home(self) -> None:
        self.page("home", "/")

    def do_escalations(self) -> None:
        self.page("escalations", "/escalations/")
