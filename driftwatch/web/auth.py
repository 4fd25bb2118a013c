"""Who may read and change what: the bearer token for the API, a login session for the pages.

With ``web.auth_token`` set, ``/api/v1`` needs ``Authorization: Bearer <token>`` (401 with
``WWW-Authenticate`` otherwise) and the pages a session cookie that ``POST /login`` sets;
without one, reading is open. Changing silences always needs the token: with none configured
those calls are refused (403), because an unauthenticated write on a page anyone on the network
can reach would let them mute every alert. ``/healthz`` and ``/readyz`` are always open (probes
carry no credentials); ``/metrics`` is open unless ``web.protect_metrics``.

A session (``cookies``) is a random id with an expiry, signed with a key made from the token, and
a row in the store: it ends after ``web.session_ttl``, at ``POST /logout`` (on every replica,
since the row is shared) and when the token changes (the key changes). ``/logout`` takes POST
only, with the session's logout token from the pages' form, so another site can neither link
nor post a user out. Wrong tokens, at the login form and as bearer tokens, are limited per
client address (``throttle``): past ``web.auth_failure_limit`` per ``web.auth_failure_window``
the answer is ``429`` with ``Retry-After``. Every comparison goes through
``hmac.compare_digest``, so response time says nothing about how much of a guess was right.

>>> [safe_next(n) for n in ("/runs/7?x=1", "//evil.example", "https://evil.example/", "/\\\\evil", "")]
['/runs/7?x=1', '/', '/', '/', '/']
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment

from ..config.daemon import WebSettings
from ..store import sessions
from .cookies import Session, cookie_value, logout_matches, logout_token, new_session, read_cookie, signing_key
from .throttle import FailureThrottle, Throttled, client_key

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["COOKIE", "LOGOUT_FIELD", "Auth", "LoginRequired", "safe_next"]

#: The session cookie's name.
COOKIE = "driftwatch_session"
#: The ``/logout`` form field that carries the session's logout token.
LOGOUT_FIELD = "logout_token"
#: What a refused change says when no token is configured.
NO_TOKEN_FOR_CHANGES = "set web.auth_token to allow changes over the API"
#: A login form is no place for a megabyte of body.
_MAX_FORM_BYTES = 8192

_LOGIN_PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>driftwatch · log in</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;
background:#f6f7f9;color:#1d2330}
form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;width:min(22rem,90vw)}
h1{font-size:1.25rem;margin:0 0 1rem}label{display:block;margin-bottom:.25rem}
input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;margin-bottom:1rem}
button{padding:.5rem 1rem;font:inherit}.error{color:#b42318;margin:0 0 1rem}
@media (prefers-color-scheme: dark){body{background:#15181e;color:#e6e8ec}form{background:#1f232b}}
</style></head>
<body><form method="post" action="/login">
<h1>driftwatch</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<label for="token">Access token</label>
<input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{{ next }}">
<button type="submit">Log in</button>
</form></body></html>
""")


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: no open redirect through ``next``.

    Only ``/...`` passes; ``//host`` and ``/\\host`` (which browsers read as another host), any
    scheme and any control character fall back to ``/``.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return "/"
    return target


class LoginRequired(Exception):
    """A page was asked for without a session; the app answers 303 to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def login_redirect(request: Request, exc: Exception) -> Response:
    """The exception handler for ``LoginRequired``."""
    target = exc.next_path if isinstance(exc, LoginRequired) else "/"
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """The first value of each field of a small urlencoded form (the body is cut at 8 KiB)."""
    body = await request.body()
    form = parse_qs(body[:_MAX_FORM_BYTES].decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in form.items()}


def _client(request: Request) -> str:
    """Whose failures a request counts toward: its peer address (see ``throttle.client_key``)."""
    return client_key(request.client.host if request.client is not None else None)


_bearer = HTTPBearer(auto_error=False, description="The value of web.auth_token.")
#: The ``Authorization: Bearer`` credentials of a request, if it has any (documented in OpenAPI).
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _seconds(value: timedelta | str) -> float:
    assert isinstance(value, timedelta)  # WebSettings made it one
    return value.total_seconds()


class Auth:
    """The checks, as FastAPI dependencies, for one ``[web]`` section (``None``: no auth).

    ``store`` keeps the open sessions; ``clock`` is "now" for their expiry (the app's clock) and
    ``monotonic`` the failure throttle's seconds.
    """

    def __init__(self, web: WebSettings | None, store: Store, *, clock: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        web = web if web is not None else WebSettings()
        secret = web.auth_token
        self._token: bytes | None = secret.reveal().encode("utf-8") if secret is not None else None
        self._key: bytes | None = signing_key(secret.reveal()) if secret is not None else None
        self._store = store
        self._clock = clock
        self._ttl = timedelta(seconds=_seconds(web.session_ttl))
        self.throttle = FailureThrottle(web.auth_failure_limit, _seconds(web.auth_failure_window), clock=monotonic)
        self.protect_metrics = web.protect_metrics

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def token_matches(self, offered: str) -> bool:
        """Whether ``offered`` is the token, in time independent of where it differs."""
        return self._token is not None and hmac.compare_digest(offered.encode("utf-8"), self._token)

    def _try_token(self, request: Request, offered: str) -> bool:
        """``token_matches``, counted against the client; raises ``Throttled`` past its limit."""
        return self.throttle.attempt(_client(request), lambda: self.token_matches(offered))

    def session(self, request: Request) -> Session | None:
        """The request's session if it is open: signed by this token, not expired, not ended."""
        if self._key is None:
            return None
        found = read_cookie(self._key, request.cookies.get(COOKIE))
        now = self._clock()
        if found is None or found.expires_at <= now or not sessions.alive(self._store.engine, found.key, now=now):
            return None
        return found

    def _check_bearer(self, request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
        offered = credentials.credentials if credentials is not None and credentials.scheme.lower() == "bearer" \
            else None
        try:
            right = offered is not None and self._try_token(request, offered)
        except Throttled as exc:
            raise HTTPException(status_code=429, detail=str(exc),
                                headers={"Retry-After": str(exc.retry_after)}) from None
        if not right:
            raise HTTPException(status_code=401, detail="a valid bearer token is required",
                                headers={"WWW-Authenticate": 'Bearer realm="driftwatch"'})

    def api(self, request: Request, credentials: Bearer) -> None:
        """Reading the API: the bearer token when one is configured."""
        if self.enabled:
            self._check_bearer(request, credentials)

    def change(self, request: Request, credentials: Bearer) -> None:
        """Changing anything: always the bearer token; 403 when none is configured."""
        if not self.enabled:
            raise HTTPException(status_code=403, detail=NO_TOKEN_FOR_CHANGES)
        self._check_bearer(request, credentials)

    def metrics(self, request: Request, credentials: Bearer) -> None:
        """``/metrics``: the bearer token only with ``web.protect_metrics`` (and a token)."""
        if self.enabled and self.protect_metrics:
            self._check_bearer(request, credentials)

    def page(self, request: Request) -> None:
        """The pages: an open session when a token is configured, else a trip to ``/login``.

        The session's logout token is left in ``request.state.logout_token`` for the pages' form.
        """
        if not self.enabled:
            return
        found = self.session(request)
        if found is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(safe_next(target))
        assert self._key is not None
        request.state.logout_token = logout_token(self._key, found)

    def _open_session(self, request: Request, response: Response) -> None:
        """Start a session in the store and give its cookie (gone from the browser when it ends)."""
        assert self._key is not None
        now = self._clock()
        opened = new_session(now, self._ttl)
        sessions.start(self._store.engine, opened.key, now=now, expires_at=opened.expires_at)
        response.set_cookie(COOKIE, cookie_value(self._key, opened), max_age=int(self._ttl.total_seconds()),
                            httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https")

    def router(self) -> APIRouter:
        """``GET/POST /login`` and ``POST /logout``, outside the OpenAPI schema."""
        routes = APIRouter(include_in_schema=False)

        @routes.get("/login")
        def login_form(next_path: str = Query("/", alias="next")) -> Response:
            if not self.enabled:
                return RedirectResponse(safe_next(next_path), status_code=303)
            return HTMLResponse(_LOGIN_PAGE.render(next=safe_next(next_path), error=None))

        @routes.post("/login")
        async def login(request: Request) -> Response:
            form = await _form(request)
            target = safe_next(form.get("next", "/"))
            if not self.enabled:
                return RedirectResponse(target, status_code=303)
            try:
                right = self._try_token(request, form.get("token", ""))
            except Throttled as exc:
                page = _LOGIN_PAGE.render(next=target, error=f"Too many wrong tokens from your address: "
                                                             f"try again in {exc.retry_after} s.")
                return HTMLResponse(page, status_code=429, headers={"Retry-After": str(exc.retry_after)})
            if not right:
                page = _LOGIN_PAGE.render(next=target, error="That token is not right.")
                return HTMLResponse(page, status_code=401)
            response = RedirectResponse(target, status_code=303)
            self._open_session(request, response)
            return response

        @routes.post("/logout")
        async def logout(request: Request) -> Response:
            return self._logout(request, (await _form(request)).get(LOGOUT_FIELD, ""))

        return routes

    def _logout(self, request: Request, offered: str) -> Response:
        """End the request's session if ``offered`` is its logout token.

        A request without the cookie (as another site's post is, the cookie being SameSite=Strict)
        changes nothing; a cookie this token never signed is just cleared; a signed one with the
        wrong logout token is refused (403) and stays.
        """
        response = RedirectResponse("/login", status_code=303)
        cookie = request.cookies.get(COOKIE)
        if self._key is None or cookie is None:
            return response
        found = read_cookie(self._key, cookie)
        if found is not None:
            if not logout_matches(self._key, found, offered):
                return HTMLResponse("<p>Log out with the button on a driftwatch page.</p>", status_code=403)
            sessions.end(self._store.engine, found.key)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
        return response
