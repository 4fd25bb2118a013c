"""Login sessions end (after ``web.session_ttl``, at ``POST /logout`` on every replica, when the
token changes), ``/logout`` cannot be triggered by another site, and wrong tokens are limited per
client address (issue 12, defect 9).

Real pages, real store (a copy per test), the app's clock injected: no sleeps. Two apps over one
store stand for two replicas.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from driftwatch.config import Settings
from driftwatch.config.daemon import WebSettings
from driftwatch.store import Store
from driftwatch.store.sessions import web_sessions
from driftwatch.web import create_app
from driftwatch.web.auth import COOKIE, LOGOUT_FIELD
from driftwatch.web.cookies import cookie_value, new_session, read_cookie, signing_key
from driftwatch.web.throttle import FailureThrottle, Throttled

from .conftest import TOKEN

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
API = "/api/v1/monitors"
#: ``auth_failure_limit``'s default: wrong tokens a client may send before it waits.
LIMIT = WebSettings().auth_failure_limit
ATTACKER, USER = ("198.51.100.7", 40000), ("203.0.113.20", 40001)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


AppMaker = Callable[..., FastAPI]
ClientMaker = Callable[..., TestClient]


@pytest.fixture
def make_app(web_store: Store, settings: Settings, clock: Clock) -> AppMaker:
    """``make_app(token=..., **web)``: one replica over the test's store, on the test's clock."""
    def make(token: str = TOKEN, **web: object) -> FastAPI:
        changed = dataclasses.replace(settings, web=WebSettings(auth_token=token, **web))  # type: ignore[arg-type]
        return create_app(web_store, settings=changed, clock=clock)
    return make


@pytest.fixture
def connect() -> Iterator[ClientMaker]:
    """``connect(app, peer=USER)``: a browser at address ``peer`` talking to ``app``."""
    clients: list[TestClient] = []

    def make(app: FastAPI, peer: tuple[str, int] = USER) -> TestClient:
        client = TestClient(app, client=peer, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client
    yield make
    for client in clients:
        client.__exit__(None, None, None)


def log_in(client: TestClient, token: str = TOKEN) -> str:
    """Log in through the form; the session cookie's value."""
    client.cookies.clear()
    response = client.post("/login", data={"token": token, "next": "/"})
    assert response.status_code == 303, response.text
    return client.cookies[COOKIE]


def logout_token(client: TestClient) -> str:
    """The logout token in the page's log-out form."""
    page = client.get("/")
    assert page.status_code == 200
    found = re.search(rf'name="{LOGOUT_FIELD}" value="([0-9a-f]+)"', page.text)
    assert found, "no logout form on the page"
    return found.group(1)


def opens_pages(client: TestClient, cookie: str) -> bool:
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    response = client.get("/")
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- sessions end ------------------------------------------------------------------------------


def test_a_session_ends_at_its_expiry(make_app: AppMaker, connect: ClientMaker, clock: Clock) -> None:
    client = connect(make_app(session_ttl="2h"))
    response = client.post("/login", data={"token": TOKEN, "next": "/"})
    assert "max-age=7200" in response.headers["set-cookie"].lower()
    cookie = client.cookies[COOKIE]
    clock.now = T0 + timedelta(hours=2) - timedelta(seconds=1)
    assert opens_pages(client, cookie)
    clock.now = T0 + timedelta(hours=2)
    assert not opens_pages(client, cookie)
    assert client.get("/").headers["location"] == "/login?next=%2F"


def test_logout_ends_the_session_on_every_replica(make_app: AppMaker, connect: ClientMaker) -> None:
    """The cookie copied before ``/logout`` opens nothing afterwards, on this replica or another."""
    one, other = make_app(), make_app()
    browser = connect(one)
    cookie = log_in(browser)
    assert opens_pages(connect(other), cookie)
    out = browser.post("/logout", data={LOGOUT_FIELD: logout_token(browser)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert COOKIE not in browser.cookies
    assert not opens_pages(connect(one), cookie)
    assert not opens_pages(connect(other), cookie)


def test_logout_is_post_only_and_needs_the_pages_form(make_app: AppMaker, connect: ClientMaker) -> None:
    """Another site can neither link (GET) nor post a user out: a cross-site post carries no
    SameSite=Strict cookie and no logout token."""
    app = make_app()
    browser = connect(app)
    cookie = log_in(browser)
    assert browser.get("/logout").status_code == 405
    assert browser.post("/logout").status_code == 403
    assert browser.post("/logout", data={LOGOUT_FIELD: "0" * 64}).status_code == 403
    cross_site = connect(app)
    refused = cross_site.post("/logout", data={LOGOUT_FIELD: "0" * 64})
    assert refused.status_code == 303 and "set-cookie" not in refused.headers
    assert opens_pages(browser, cookie)


def test_logout_holds_across_replicas_on_postgresql(postgres_database: str, settings: Settings, clock: Clock,
                                                   connect: ClientMaker) -> None:
    with Store(postgres_database) as one, Store(postgres_database) as other:
        one.create_all()
        first, second = (connect(create_app(store, settings=settings, clock=clock)) for store in (one, other))
        cookie = log_in(first)
        assert opens_pages(second, cookie)
        assert first.post("/logout", data={LOGOUT_FIELD: logout_token(first)}).status_code == 303
        assert not opens_pages(second, cookie)
        clock.now = T0 + timedelta(days=1)  # the next login clears the expired rows
        log_in(second)
        with other.engine.connect() as conn:
            assert len(conn.execute(web_sessions.select()).all()) == 1


def test_changing_the_token_ends_every_session(make_app: AppMaker, connect: ClientMaker, web_store: Store) -> None:
    """Each login is its own session (two logins, two cookies, two rows); a new token ends them all."""
    app = make_app()
    first, second = log_in(connect(app)), log_in(connect(app))
    assert first != second and TOKEN not in first + second
    with web_store.engine.connect() as conn:
        assert conn.execute(web_sessions.select()).all() != []
    changed = make_app(token="a-new-token-after-rotation")
    assert not opens_pages(connect(changed), first)
    assert not opens_pages(connect(changed), second)
    assert opens_pages(connect(make_app()), first)  # the same token on a new replica: still open


def test_a_forged_or_stale_cookie_opens_nothing(make_app: AppMaker, connect: ClientMaker, clock: Clock) -> None:
    client = connect(make_app())
    real = log_in(client)
    unknown = cookie_value(signing_key(TOKEN), new_session(T0, timedelta(hours=1)))  # signed, never started
    session = read_cookie(signing_key(TOKEN), real)
    assert session is not None
    longer = real.split(".")[0] + f".{int(session.expires_at.timestamp()) + 86400}." + real.split(".")[2]
    for cookie in (unknown, longer, TOKEN, real[:-1] + ("0" if real[-1] != "0" else "1"), "x" * 5000):
        assert not opens_pages(client, cookie), cookie[:40]
    assert opens_pages(client, real)


def test_pages_have_a_logout_form_only_behind_a_login(make_app: AppMaker, connect: ClientMaker,
                                                      open_client: TestClient) -> None:
    browser = connect(make_app())
    log_in(browser)
    page = browser.get("/").text
    assert re.search(r'<form class="logout" method="post" action="/logout">', page)
    assert "logout" not in open_client.get("/").text


# -- wrong tokens are throttled per client -----------------------------------------------------


def test_wrong_logins_are_throttled_per_client(make_app: AppMaker, connect: ClientMaker) -> None:
    app = make_app()
    attacker, user = connect(app, ATTACKER), connect(app, USER)
    for _ in range(LIMIT):
        assert attacker.post("/login", data={"token": "guess-guess-guess"}).status_code == 401
    refused = attacker.post("/login", data={"token": TOKEN})  # even the right token: no guess is judged
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "try again in" in refused.text and "set-cookie" not in refused.headers
    assert user.post("/login", data={"token": TOKEN, "next": "/"}).status_code == 303


def test_wrong_bearer_tokens_are_throttled_per_client(make_app: AppMaker, connect: ClientMaker) -> None:
    app = make_app()
    attacker, user = connect(app, ATTACKER), connect(app, USER)
    for _ in range(LIMIT):
        assert attacker.get(API, headers=bearer("guess-guess-guess")).status_code == 401
    refused = attacker.get(API, headers=bearer(TOKEN))
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert attacker.get(API).status_code == 401  # no token offered: nothing guessed, nothing to refuse
    assert user.get(API, headers=bearer(TOKEN)).status_code == 200
    assert attacker.post("/login", data={"token": TOKEN}).status_code == 429  # one limit for both doors


def test_the_limit_and_window_are_configurable(make_app: AppMaker, connect: ClientMaker) -> None:
    attacker = connect(make_app(auth_failure_limit=2, auth_failure_window="10m"), ATTACKER)
    assert [attacker.get(API, headers=bearer("nope")).status_code for _ in range(3)] == [401, 401, 429]
    assert attacker.get(API, headers=bearer("nope")).headers["retry-after"] == "300"


def test_the_throttle_lets_a_client_go_on_after_waiting() -> None:
    now = [0.0]
    throttle = FailureThrottle(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.attempt("a", lambda: False) is False
    with pytest.raises(Throttled) as refused:
        throttle.attempt("a", lambda: True)
    assert refused.value.retry_after == 20
    now[0] = 19.0
    with pytest.raises(Throttled):
        throttle.attempt("a", lambda: True)
    now[0] = 20.0
    assert throttle.attempt("a", lambda: True) is True
    assert throttle.attempt("b", lambda: True) is True and len(throttle) == 1  # successes are not tracked


def test_the_throttle_tracks_a_bounded_number_of_clients() -> None:
    throttle = FailureThrottle(limit=1, window=60, max_clients=100, clock=lambda: 0.0)
    for i in range(1000):
        throttle.attempt(f"10.0.{i // 256}.{i % 256}", lambda: False)
    assert len(throttle) == 100
    with pytest.raises(Throttled):  # the most recent ones are the ones kept
        throttle.attempt("10.0.3.231", lambda: True)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("session_ttl", "0s", "session_ttl: invalid duration"),
    ("auth_failure_window", "soon", "auth_failure_window: invalid duration"),
    ("auth_failure_limit", 0, "auth_failure_limit: must be an integer >= 1"),
    ("auth_failure_limit", True, "auth_failure_limit: must be an integer >= 1"),
])
def test_bad_settings_name_their_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebSettings(**{key: value})  # type: ignore[arg-type]
