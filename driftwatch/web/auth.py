"""Who may read and change what: the bearer token for the API, a login cookie for the pages.

With ``web.auth_token`` set, ``/api/v1`` needs ``Authorization: Bearer <token>`` (401 with
``WWW-Authenticate`` otherwise) and the pages a session cookie that ``POST /login`` sets;
without one, reading is open. Changing silences always needs the token: with none configured
those calls are refused (403), because an unauthenticated write on a page anyone on the network
can reach would let them mute every alert. ``/healthz`` and ``/readyz`` are always open (probes
carry no credentials); ``/metrics`` is open unless ``web.protect_metrics``.

The cookie value is ``HMAC-SHA256(key=token, msg=SESSION_LABEL)``, never the token itself: a
cookie that leaks (a proxy log, a browser profile) is not the API token, and changing the token
ends every session. Every comparison goes through ``hmac.compare_digest``, so response time
says nothing about how much of a guess was right.

>>> session_value("s3cret") == session_value("s3cret"), session_value("s3cret") == "s3cret"
(True, False)
>>> [safe_next(n) for n in ("/runs/7?x=1", "//evil.example", "https://evil.example/", "/\\\\evil", "")]
['/runs/7?x=1', '/', '/', '/', '/']
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment

if TYPE_CHECKING:
    from ..config.daemon import WebSettings

__all__ = ["COOKIE", "SESSION_LABEL", "Auth", "LoginRequired", "safe_next", "session_value"]

#: The session cookie's name.
COOKIE = "driftwatch_session"
#: The fixed message the session cookie is an HMAC of (versioned, so a format change ends sessions).
SESSION_LABEL = b"driftwatch web session v1"
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


def session_value(token: str) -> str:
    """The session cookie's value for ``token``: an HMAC of ``SESSION_LABEL`` keyed by it."""
    return hmac.new(token.encode("utf-8"), SESSION_LABEL, hashlib.sha256).hexdigest()


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


_bearer = HTTPBearer(auto_error=False, description="The value of web.auth_token.")
#: The ``Authorization: Bearer`` credentials of a request, if it has any (documented in OpenAPI).
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class Auth:
    """The checks, as FastAPI dependencies, for one ``[web]`` section (``None``: no auth)."""

    def __init__(self, web: WebSettings | None) -> None:
        secret = web.auth_token if web is not None else None
        self._token: bytes | None = secret.reveal().encode("utf-8") if secret is not None else None
        self._session: bytes | None = (session_value(secret.reveal()).encode("ascii")
                                       if secret is not None else None)
        self.protect_metrics = bool(web is not None and web.protect_metrics)

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def token_matches(self, offered: str) -> bool:
        """Whether ``offered`` is the token, in time independent of where it differs."""
        return self._token is not None and hmac.compare_digest(offered.encode("utf-8"), self._token)

    def session_matches(self, cookie: str | None) -> bool:
        return (self._session is not None and cookie is not None
                and hmac.compare_digest(cookie.encode("utf-8", "replace"), self._session))

    def _check_bearer(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        if credentials is None or credentials.scheme.lower() != "bearer" \
                or not self.token_matches(credentials.credentials):
            raise HTTPException(status_code=401, detail="a valid bearer token is required",
                                headers={"WWW-Authenticate": 'Bearer realm="driftwatch"'})

    def api(self, credentials: Bearer) -> None:
        """Reading the API: the bearer token when one is configured."""
        if self.enabled:
            self._check_bearer(credentials)

    def change(self, credentials: Bearer) -> None:
        """Changing anything: always the bearer token; 403 when none is configured."""
        if not self.enabled:
            raise HTTPException(status_code=403, detail=NO_TOKEN_FOR_CHANGES)
        self._check_bearer(credentials)

    def metrics(self, credentials: Bearer) -> None:
        """``/metrics``: the bearer token only with ``web.protect_metrics`` (and a token)."""
        if self.enabled and self.protect_metrics:
            self._check_bearer(credentials)

    def page(self, request: Request) -> None:
        """The pages: the session cookie when a token is configured, else a trip to ``/login``."""
        if self.enabled and not self.session_matches(request.cookies.get(COOKIE)):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(safe_next(target))

    def router(self) -> APIRouter:
        """``GET/POST /login`` and ``GET/POST /logout``, outside the OpenAPI schema."""
        routes = APIRouter(include_in_schema=False)

        @routes.get("/login")
        def login_form(next_path: str = Query("/", alias="next")) -> Response:
            if not self.enabled:
                return RedirectResponse(safe_next(next_path), status_code=303)
            return HTMLResponse(_LOGIN_PAGE.render(next=safe_next(next_path), error=None))

        @routes.post("/login")
        async def login(request: Request) -> Response:
            body = await request.body()
            form = parse_qs(body[:_MAX_FORM_BYTES].decode("utf-8", "replace"), max_num_fields=10)
            target = safe_next((form.get("next") or ["/"])[0])
            if not self.enabled:
                return RedirectResponse(target, status_code=303)
            token = (form.get("token") or [""])[0]
            if not self.token_matches(token):
                page = _LOGIN_PAGE.render(next=target, error="That token is not right.")
                return HTMLResponse(page, status_code=401)
            response = RedirectResponse(target, status_code=303)
            assert self._session is not None
            response.set_cookie(COOKIE, self._session.decode("ascii"), httponly=True, samesite="strict", path="/",
                                secure=request.url.scheme == "https")
            return response

        @routes.api_route("/logout", methods=["GET", "POST"])
        def logout() -> Response:
            response = RedirectResponse("/login", status_code=303)
            response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
            return response

        return routes
