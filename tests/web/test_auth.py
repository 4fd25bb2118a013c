"""Who may do what, with ``web.auth_token`` set and unset: the bearer token on the API, the login
cookie on the pages, changes always behind the token, probes always open, ``/metrics`` open
unless protected, and every comparison through ``hmac.compare_digest``.

The pages router is replaced by a one-route stand-in, so these tests check the gate, not pages
(``test_sessions`` has the sessions' ends and the failure limit).
"""

from __future__ import annotations

import dataclasses
import hmac
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from driftwatch.config import Settings
from driftwatch.config.daemon import WebSettings
from driftwatch.web import auth as auth_module
from driftwatch.web import pages
from driftwatch.web.auth import COOKIE, LOGOUT_FIELD
from driftwatch.web.cookies import cookie_value, logout_token, new_session, read_cookie, signing_key

from .conftest import TOKEN, AppFactory

API = "/api/v1"
SILENCE = {"matchers": {"monitor": "churn"}, "duration": "1h", "created_by": "ana", "comment": "test"}


@pytest.fixture(autouse=True)
def stand_in_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = APIRouter()

    @routes.get("/")
    def home() -> HTMLResponse:
        return HTMLResponse("<h1>home</h1>")

    @routes.get("/runs/{run_id}")
    def run(run_id: int) -> HTMLResponse:
        return HTMLResponse(f"<h1>run {run_id}</h1>")
    monkeypatch.setattr(pages, "router", routes)


@pytest.fixture
def secured(make_client: AppFactory, settings: Settings) -> TestClient:
    """Auth on, sending no credentials."""
    return make_client(settings=settings)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(client: TestClient) -> str:
    """Log in through the form; the session cookie's value."""
    assert client.post("/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
    return client.cookies[COOKIE]


def signed_by(token: str) -> str:
    """A well-formed session cookie signed with ``token``'s key (never started in the store)."""
    return cookie_value(signing_key(token), new_session(datetime.now(timezone.utc), timedelta(hours=1)))


# -- the API ------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, bearer("wrong"), bearer(TOKEN + "x"), bearer(TOKEN[:-1]),
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}])
def test_api_without_the_right_bearer_token_is_401_with_www_authenticate(secured: TestClient,
                                                                          headers: dict[str, str]) -> None:
    for method, url in (("GET", f"{API}/monitors"), ("GET", f"{API}/results?monitor=churn"),
                        ("POST", f"{API}/silences"), ("DELETE", f"{API}/silences/1")):
        response = secured.request(method, url, headers=headers, json=SILENCE if method == "POST" else None)
        assert response.status_code == 401, (url, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_api_with_the_token_reads_and_changes(secured: TestClient) -> None:
    assert secured.get(f"{API}/monitors", headers=bearer(TOKEN)).status_code == 200
    made = secured.post(f"{API}/silences", json=SILENCE, headers=bearer(TOKEN))
    assert made.status_code == 201
    assert secured.delete(f"{API}/silences/{made.json()['id']}", headers=bearer(TOKEN)).status_code == 200


def test_the_login_cookie_does_not_open_the_api(secured: TestClient) -> None:
    log_in(secured)
    assert secured.get(f"{API}/monitors").status_code == 401
    assert secured.post(f"{API}/silences", json=SILENCE).status_code == 401  # no changes by cookie (CSRF)


def test_without_a_token_reading_is_open_and_changes_are_refused(open_client: TestClient) -> None:
    assert open_client.get(f"{API}/monitors").status_code == 200
    assert open_client.get("/").status_code == 200
    for headers in ({}, bearer("anything")):
        made = open_client.post(f"{API}/silences", json=SILENCE, headers=headers)
        assert made.status_code == 403
        assert made.json() == {"detail": "set web.auth_token to allow changes over the API"}
        assert open_client.delete(f"{API}/silences/1", headers=headers).status_code == 403
    assert open_client.get(f"{API}/silences").json() == []


# -- probes and /metrics ------------------------------------------------------------------------


def test_probes_are_always_open(secured: TestClient, open_client: TestClient) -> None:
    for client in (secured, open_client):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_metrics_open_unless_protected(make_client: AppFactory, settings: Settings,
                                       open_settings: Settings) -> None:
    assert make_client(settings=settings).get("/metrics").status_code == 200
    protected = make_client(settings=dataclasses.replace(
        settings, web=dataclasses.replace(settings.web, protect_metrics=True)))
    response = protected.get("/metrics")
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    assert protected.get("/metrics", headers=bearer("wrong")).status_code == 401
    assert protected.get("/metrics", headers=bearer(TOKEN)).status_code == 200
    # protect_metrics without a token has nothing to check against: open.
    unchecked = make_client(settings=dataclasses.replace(open_settings, web=WebSettings(protect_metrics=True)))
    assert unchecked.get("/metrics").status_code == 200


# -- the pages and the login --------------------------------------------------------------------


def test_pages_redirect_to_login_with_next(secured: TestClient) -> None:
    response = secured.get("/runs/7?sort=value", follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login" and parse_qs(location.query) == {"next": ["/runs/7?sort=value"]}
    secured.cookies.set(COOKIE, TOKEN)  # the raw token is not a session
    assert secured.get("/", follow_redirects=False).status_code == 303
    secured.cookies.set(COOKIE, signed_by("another token, not ours"))
    assert secured.get("/", follow_redirects=False).status_code == 303


def test_login_flow_sets_a_strict_httponly_cookie_that_is_not_the_token(secured: TestClient) -> None:
    form = secured.get("/login?next=/runs/7")
    assert form.status_code == 200 and 'name="token"' in form.text and 'value="/runs/7"' in form.text
    wrong = secured.post("/login", data={"token": "nope", "next": "/runs/7"}, follow_redirects=False)
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers and 'name="token"' in wrong.text
    right = secured.post("/login", data={"token": TOKEN, "next": "/runs/7"}, follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "/runs/7"
    cookie = right.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()
    value = cookie.split(";")[0].split("=", 1)[1]
    session = read_cookie(signing_key(TOKEN), value)
    assert session is not None and TOKEN not in cookie
    page = secured.get("/runs/7", follow_redirects=False)
    assert page.status_code == 200 and page.text == "<h1>run 7</h1>"
    out = secured.post("/logout", data={LOGOUT_FIELD: logout_token(signing_key(TOKEN), session)},
                       follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert COOKIE not in secured.cookies
    assert secured.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "evil",
                                    "javascript:alert(1)", "/ok\r\nSet-Cookie: x=1"])
def test_login_never_redirects_off_site(secured: TestClient, target: str) -> None:
    response = secured.post("/login", data={"token": TOKEN, "next": target}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_login_page_escapes_next(secured: TestClient) -> None:
    page = secured.get("/login", params={"next": '/x"><script>alert(1)</script>'}).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_login_without_a_token_configured_just_goes_on(open_client: TestClient) -> None:
    assert open_client.get("/login?next=/runs/3", follow_redirects=False).headers["location"] == "/runs/3"
    response = open_client.post("/login", data={"token": "x", "next": "/"}, follow_redirects=False)
    assert response.status_code == 303 and "set-cookie" not in response.headers


def test_every_comparison_is_constant_time(secured: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)
    monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
    secured.get(f"{API}/monitors", headers=bearer("guess"))
    assert calls == [(b"guess", TOKEN.encode())]
    calls.clear()
    secured.post("/login", data={"token": "guess2"})
    assert calls == [(b"guess2", TOKEN.encode())]
    calls.clear()
    secured.cookies.set(COOKIE, "cookie-guess")  # not even a cookie's shape: nothing to compare
    secured.get("/", follow_redirects=False)
    assert calls == []
    forged = signed_by("a token that is not ours")
    secured.cookies.set(COOKIE, forged)
    secured.get("/", follow_redirects=False)
    payload, mac = forged.rsplit(".", 1)
    assert calls == [(mac.encode(), hmac.new(signing_key(TOKEN), payload.encode(), "sha256").hexdigest().encode())]
