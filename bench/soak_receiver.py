"""The webhook endpoint the replicas deliver to, in threads of the bench's own process.

It is the soak's one witness of what was delivered: every request's signature is checked twice
(an HMAC-SHA256 written here from the Standard Webhooks spec, never driftwatch's own ``verify``,
and the ``standardwebhooks`` package when it is installed), every accepted delivery is recorded
by ``webhook-id``, each is held a seeded time (so a kill can find a replica mid-send) and a few
first attempts are refused with 500 (so retries are exercised).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from soak_settings import Soak


def hmac_verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> str | None:
    """``None`` if a ``v1`` signature of ``headers`` is HMAC-SHA256(key, "id.timestamp.body") in
    base64, with the timestamp within ``tolerance`` seconds; else why not. Written from the
    Standard Webhooks spec, not with driftwatch's ``verify``."""
    msg_id, stamp, signatures = (headers.get(k, "") for k in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signatures):
        return "missing header"
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return f"bad timestamp {stamp!r}"
    raw = secret.removeprefix("whsec_")
    key = base64.b64decode(raw + "=" * (-len(raw) % 4))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return None
    return "no matching v1 signature"


def library_verify(secret: str, headers: dict[str, str], body: bytes) -> str | None:
    """The ``standardwebhooks`` package's verdict (``None``: accepted, or not installed)."""
    try:
        from standardwebhooks import Webhook
    except ImportError:
        return None
    try:
        Webhook(secret).verify(body, headers)
    except Exception as exc:  # its WebhookVerificationError, or anything it raises on bad input
        return f"standardwebhooks: {exc}"
    return None


@dataclass(frozen=True)
class Delivery:
    """One request the receiver accepted (verified, answered or not)."""

    id: str
    type: str
    body: dict[str, Any]
    at: float


class Receiver:
    """A webhook endpoint on 127.0.0.1 in threads of this process."""

    def __init__(self, secret: str, soak: Soak) -> None:
        self.secret, self.soak = secret, soak
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.signature_failures: list[str] = []
        self.refused = 0  # 500s given on purpose
        self.inflight: dict[str, float] = {}
        self._attempts: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="soak-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _roll(self, msg_id: str, attempt: int, salt: str) -> float:
        digest = hashlib.sha256(f"{self.soak.seed}:{msg_id}:{attempt}:{salt}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in request.headers.items()}
        problem = hmac_verify(self.secret, headers, body) or library_verify(self.secret, headers, body)
        event: dict[str, Any] = {}
        if problem is None:
            try:
                event = json.loads(body)
            except ValueError:
                problem = "body is not JSON"
        msg_id = headers.get("webhook-id", "")
        if problem is None and event.get("id") != msg_id:
            problem = f"body id {event.get('id')!r} is not the webhook-id {msg_id!r}"
        status = 200
        with self.lock:
            if problem is not None:
                self.signature_failures.append(f"{msg_id or '?'}: {problem}")
                status = 401
            else:
                self._attempts[msg_id] += 1
                attempt = self._attempts[msg_id]
                if attempt == 1 and self._roll(msg_id, attempt, "error") < self.soak.receiver_errors:
                    self.refused += 1
                    status = 500
                else:
                    self.deliveries.append(Delivery(msg_id, str(event.get("type")), event, time.monotonic()))
                    self.inflight[msg_id] = time.monotonic()
        if status == 200:
            low, high = self.soak.receiver_delay
            time.sleep(low + (high - low) * self._roll(msg_id, self._attempts[msg_id], "delay"))
            with self.lock:
                self.inflight.pop(msg_id, None)
        try:
            request.send_response(status)
            request.send_header("content-length", "0")
            request.end_headers()
        except OSError:  # the sender was killed while its request was held
            pass

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
