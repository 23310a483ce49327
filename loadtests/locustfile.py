"""Locust scenarios for Portalis (and the bare baseline, which answers the same URLs).

Run it as a subprocess only (Locust monkey-patches the process with gevent)::

    locust -f loadtests/locustfile.py --headless -u 20 -r 20 -t 15s \\
        --host http://127.0.0.1:8000 ListHtmlUser

Environment:

* ``PORTALIS_BENCH_USERS``: JSON file of ``{"email", "contact_id", "account_id"}``
  (written by the runner); each simulated user takes the next one, so every user is
  a different contact and the bound permission predicate differs per request.
* ``PORTALIS_BENCH_DEPTH``: pages a paging user follows before starting over (10).
* ``PORTALIS_BENCH_CURSOR``: the cursor of the page :class:`DepthUser` requests, and
  ``PORTALIS_BENCH_DEPTH_USERS``: its own users file (default: the shared one).
* ``PORTALIS_BENCH_RATE``: total requests/s to hold (with ``PORTALIS_BENCH_NUSERS``);
  unset: as fast as possible.
* ``PORTALIS_BENCH_LOGIN``: ``header`` (default, the load-test sign-in) or ``real``
  (``POST /_auth/login`` with email and ``PORTALIS_BENCH_PASSWORD``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
import uuid
from html import unescape
from typing import Any

from locust import FastHttpUser, between, constant_throughput, task

__all__ = ["AnonymousBrowser", "ApiJsonUser", "DepthUser", "ListHtmlUser", "ListJsonUser",
           "MixedUser", "sign_in"]

HEADER = "x-bench-contact"  # portalis.loadtests.principal.HEADER (not imported: no Portalis here)
JSON = {"accept": "application/json"}
_NEXT = re.compile(r'rel="next" href="([^"]+)"')
DEPTH = int(os.environ.get("PORTALIS_BENCH_DEPTH", "10"))
LOGIN = os.environ.get("PORTALIS_BENCH_LOGIN", "header")
PASSWORD = os.environ.get("PORTALIS_BENCH_PASSWORD", "Bench-pass-1")


def _contacts(variable: str = "PORTALIS_BENCH_USERS") -> list[dict[str, Any]]:
    path = os.environ.get(variable)
    if not path:
        return [{"email": "c0@bench.example", "contact_id": 1, "account_id": 1}]
    with open(path) as f:
        return list(json.load(f))


_POOL = itertools.cycle(_contacts())
_DEEP_POOL = (itertools.cycle(_contacts("PORTALIS_BENCH_DEPTH_USERS"))
              if os.environ.get("PORTALIS_BENCH_DEPTH_USERS") else _POOL)


def _wait() -> Any:
    rate = os.environ.get("PORTALIS_BENCH_RATE")
    if not rate:
        return None
    per_user = float(rate) / max(1, int(os.environ.get("PORTALIS_BENCH_NUSERS", "1")))
    return constant_throughput(per_user)


def _csrf(user: FastHttpUser) -> str:
    if getattr(user, "csrf", None):
        return str(user.csrf)
    for cookie in user.client.cookiejar:
        if cookie.name == "csrftoken":
            return str(cookie.value)
    user.client.get("/_health", name="/_health [csrf]")
    for cookie in user.client.cookiejar:
        if cookie.name == "csrftoken":
            return str(cookie.value)
    raise RuntimeError("the server set no csrftoken cookie")


def sign_in(user: BenchUser, contact: dict[str, Any]) -> None:
    """Sign ``user`` in as ``contact``: the one place that knows how.

    ``header``: the load-test sign-in (``X-Bench-Contact``) — and, for the baseline,
    the contact and account ids it binds directly. ``real``: the identity plugin's
    ``POST /_auth/login`` (JSON email + password, CSRF header); its session cookie
    then rides along in the client's cookie jar. When the users file already carries a
    session (``cookie``, ``csrf``: the runner signed in through the same endpoint
    before the measurement, so Argon2 does not eat the measured seconds), it is used.
    """
    user.contact = contact
    user.headers = {"x-bench-contact-id": str(contact["contact_id"]),
                    "x-bench-account-id": str(contact["account_id"])}
    if LOGIN == "header":
        user.headers[HEADER] = contact["email"]
        return
    if contact.get("cookie"):  # signed in by the runner through POST /_auth/login already
        user.headers["cookie"] = contact["cookie"]
        user.csrf = contact["csrf"]
        return
    token = _csrf(user)
    with user.client.post("/_auth/login", json={"email": contact["email"], "password": PASSWORD},
                          headers={"x-csrftoken": token}, name="/_auth/login",
                          catch_response=True) as resp:
        if resp.status_code not in (200, 204, 303):
            resp.failure(f"sign-in failed: {resp.status_code} {resp.text[:200]}")


class BenchUser(FastHttpUser):
    abstract = True
    wait_time = _wait() or between(0, 0)
    contact: dict[str, Any]
    headers: dict[str, str]
    csrf: str | None = None
    _next: str | None = None
    _depth: int = 0

    def on_start(self) -> None:
        sign_in(self, next(_POOL))

    def page(self, url: str, name: str, *, as_json: bool) -> str | None:
        """GET one list page; returns the next-page link (JSON ``next`` /
        ``@odata.nextLink`` or the HTML ``rel="next"`` anchor)."""
        headers = {**self.headers, **(JSON if as_json else {})}
        with self.client.get(url, headers=headers, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
                return None
            if "json" in resp.headers.get("content-type", ""):
                body = resp.json()
                if not body.get("value"):
                    resp.failure("empty page")
                return body.get("next") or body.get("@odata.nextLink")
            text = resp.text or ""
            if "<tr data-id=" not in text:
                resp.failure("no rows in the HTML list")
            match = _NEXT.search(text)
            return unescape(match.group(1)) if match else None

    def walk(self, first: str, name: str, *, as_json: bool) -> None:
        """One page per call: page 1, then the next link, ``DEPTH`` pages deep, again.

        One request per task run, so ``constant_throughput`` holds a request rate."""
        url, depth = getattr(self, "_next", None), getattr(self, "_depth", 0)
        if url is None or depth >= DEPTH:
            url, depth = first, 0
        self._next = self.page(url, f"{name} [page {'1' if depth == 0 else 'n'}]",
                               as_json=as_json)
        self._depth = depth + 1


class ListHtmlUser(BenchUser):
    """A signed-in contact pages its account's cases as HTML, following Next links."""

    @task
    def cases(self) -> None:
        self.walk("/_lists/cases", "/_lists/cases html", as_json=False)


class ListJsonUser(BenchUser):
    """The same list as JSON (``Accept: application/json``), following ``next``."""

    @task
    def cases(self) -> None:
        self.walk("/_lists/cases", "/_lists/cases json", as_json=True)


class ApiJsonUser(BenchUser):
    """The Web API: ``/_api/case?$top=20`` following ``@odata.nextLink``."""

    @task
    def cases(self) -> None:
        self.walk("/_api/case?$top=20", "/_api/case", as_json=True)


class DepthUser(BenchUser):
    """One deep page (``PORTALIS_BENCH_CURSOR``) of the big account, again and again.

    Signs in from ``PORTALIS_BENCH_DEPTH_USERS`` when set (bigco's administrators)."""

    def on_start(self) -> None:
        sign_in(self, next(_DEEP_POOL))

    @task
    def deep(self) -> None:
        cursor = os.environ.get("PORTALIS_BENCH_CURSOR", "")
        url = f"/_lists/cases?cursor={cursor}" if cursor else "/_lists/cases"
        self.page(url, "/_lists/cases json [deep]", as_json=True)


class MixedUser(BenchUser):
    """Reads with some writes: file a case, then it must show on my list (read-your-writes)."""

    @task(4)
    def browse(self) -> None:
        self.walk("/_lists/cases", "/_lists/cases json mixed", as_json=True)

    @task(1)
    def create_then_read(self) -> None:
        title = f"Load test {uuid.uuid4().hex[:12]}"
        headers = {**self.headers, "x-csrftoken": _csrf(self), **JSON}
        with self.client.post("/_api/case", json={"title": title, "status": "open",
                                                  "priority": "normal"},
                              headers=headers, name="/_api/case [create]",
                              catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")
                return
            new_id = resp.json()["id"]
        with self.client.get("/_lists/cases?filter=mine", headers={**self.headers, **JSON},
                             name="/_lists/cases?filter=mine [read-your-write]",
                             catch_response=True) as resp:
            rows = resp.json().get("value", []) if resp.status_code == 200 else []
            if not any(r.get("id") == new_id for r in rows):
                resp.failure(f"case {new_id} is not on the creator's list right after the write")
        self.client.get(f"/_api/case({new_id})", headers=self.headers,
                        name="/_api/case(id) [read-your-write]")


class AnonymousBrowser(FastHttpUser):
    """A visitor reads the knowledge base: home, article list pages, search, Web API."""

    wait_time = _wait() or between(0, 0)
    _next: str | None = None
    _depth = 0
    words = ("printer", "invoice", "login", "network", "password", "VPN")

    @task(3)
    def articles(self) -> None:
        url = self._next if self._next and self._depth < 3 else "/_lists/articles"
        self._depth = 0 if url == "/_lists/articles" else self._depth
        self._next = None
        with self.client.get(url, name=f"/_lists/articles [page {self._depth + 1}]",
                             catch_response=True) as resp:
            if resp.status_code != 200 or "<tr data-id=" not in (resp.text or ""):
                resp.failure(f"{resp.status_code}: no articles")
                return
            match = _NEXT.search(resp.text or "")
            self._next = unescape(match.group(1)) if match else None
        self._depth += 1

    @task(1)
    def search(self) -> None:
        word = self.words[int(time.monotonic() * 1000) % len(self.words)]
        self.client.get(f"/_lists/articles?search={word}", name="/_lists/articles?search")

    @task(1)
    def api(self) -> None:
        with self.client.get("/_api/article?$top=20&$filter=published eq true",
                             name="/_api/article", catch_response=True) as resp:
            if resp.status_code != 200 or not resp.json().get("value"):
                resp.failure(f"{resp.status_code}: {resp.text[:200]}")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="/")
