"""Every request body is bounded before it is read (issue 12, defect 3): a declared length over the
limit is refused unread, a chunked body is cut off as it passes the limit, both with 413; and a
422 says where and why, never echoing the body back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from driftwatch.store import Store
from driftwatch.web import create_app
from driftwatch.web.limits import MAX_BODY_BYTES
from driftwatch.web.server import WebServer

from ..conftest import free_port
from .conftest import TOKEN

CHUNK = 16 * 1024


def call(app: object, path: str, *, chunks: int, declared: int | None) -> tuple[int, int]:
    """POST to ``app`` at the ASGI level with a body of ``chunks`` chunks of 16 KiB; the response
    status and how many chunks the app asked for."""
    asked = 0
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        nonlocal asked
        asked += 1
        more = asked < chunks
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": more}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/x-www-form-urlencoded"), (b"host", b"testserver")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))  # type: ignore[operator]
    start = next(m for m in sent if m["type"] == "http.response.start")
    return int(start["status"]), asked  # type: ignore[call-overload]


@pytest.fixture
def app(web_store: Store, settings: object) -> object:
    return create_app(web_store, settings=settings)  # type: ignore[arg-type]


def test_a_declared_length_over_the_limit_is_refused_unread(app: object) -> None:
    status, asked = call(app, "/login", chunks=40_000, declared=40_000 * CHUNK)  # a 640 MB login
    assert (status, asked) == (413, 0)


def test_a_long_chunked_body_is_cut_off_at_the_limit(app: object) -> None:
    status, asked = call(app, "/login", chunks=4_096, declared=None)  # 64 MiB, no length declared
    assert status == 413
    assert asked == MAX_BODY_BYTES // CHUNK + 1  # read up to the limit, and not one chunk more


def test_bodies_under_the_limit_still_work(client: TestClient) -> None:
    assert client.post("/login", data={"token": "wrong"}).status_code == 401
    assert client.post("/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303


def test_a_422_does_not_echo_the_body(client: TestClient) -> None:
    junk = "<script>" + "A" * 12_000  # four of them: 48 KB, under the limit
    response = client.post("/api/v1/silences", json={"matchers": {"monitor": junk}, "duration": junk,
                                                      "created_by": junk, "comment": junk})
    assert response.status_code == 422
    assert "AAAA" not in response.text and "<script>" not in response.text
    assert len(response.content) < 2_000
    assert all({"loc", "msg", "type"} <= set(e) and "input" not in e for e in response.json()["detail"])
    too_big = client.post("/api/v1/silences", content=b"{" + b" " * (MAX_BODY_BYTES + 1))
    assert too_big.status_code == 413 and len(too_big.content) < 200


@pytest.fixture
def served(web_store: Store, settings: object) -> Iterator[str]:
    port = free_port()
    server = WebServer(create_app(web_store, settings=settings), "127.0.0.1", port)  # type: ignore[arg-type]
    server.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield base
    server.stop()


def test_a_real_server_refuses_a_streamed_body_past_the_limit(served: str, tmp_path: Path) -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        while sent < 64 * 1024 * 1024:  # stop at 64 MiB if nobody cuts us off
            sent += CHUNK
            yield b"x" * CHUNK

    try:
        response = httpx.post(f"{served}/login", content=endless(), timeout=10,
                              headers={"content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 413
    except httpx.TransportError:
        pass  # the server answered 413 and closed while the client was still sending
    assert sent < 16 * 1024 * 1024  # cut off long before the 64 MiB the client would send
    assert httpx.get(f"{served}/healthz", timeout=5).status_code == 200
