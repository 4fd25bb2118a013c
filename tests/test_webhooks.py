"""R9–R12: Standard Webhooks signing, checked against the spec's vector and its own library.

``standardwebhooks`` is the reference implementation: it must accept what we sign, and our
``verify`` must accept what it signs. Its ``verify`` reads the real clock, so those tests sign
with the current time.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
import standardwebhooks

from driftwatch.errors import DriftwatchError
from driftwatch.webhooks import WebhookVerificationError, headers, message_id, sign, signature_header, verify

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret of 24 byte").decode()
BODY = json.dumps({"type": "alert.firing", "id": "msg_1", "data": {"monitor": "churn"}}).encode()


def test_sign_reproduces_the_standard_webhooks_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY.encode()) == VECTOR_SIG


def test_sign_agrees_with_the_reference_sign() -> None:
    reference = standardwebhooks.Webhook(OTHER_SECRET)
    when = datetime.fromtimestamp(VECTOR_TS, tz=timezone.utc)
    assert sign(OTHER_SECRET, "msg_x", VECTOR_TS, BODY) == reference.sign("msg_x", when, BODY.decode())


def test_the_reference_library_accepts_what_we_sign() -> None:
    signed = headers([VECTOR_SECRET], "msg_abc", BODY)
    assert standardwebhooks.Webhook(VECTOR_SECRET).verify(BODY, signed) == json.loads(BODY)
    assert signed["content-type"] == "application/json"
    assert signed["webhook-id"] == "msg_abc"
    assert abs(int(signed["webhook-timestamp"]) - time.time()) < 5


def test_verify_accepts_what_the_reference_library_signs() -> None:
    now = datetime.now(timezone.utc)
    signature = standardwebhooks.Webhook(VECTOR_SECRET).sign("msg_ref", now, BODY.decode())
    received = {"Webhook-Id": "msg_ref", "Webhook-Timestamp": str(int(now.timestamp())),
                "WEBHOOK-SIGNATURE": signature}  # header names in any case
    assert verify(VECTOR_SECRET, received, BODY) == json.loads(BODY)


def test_verify_the_vector_with_an_injected_clock() -> None:
    received = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS), "webhook-signature": VECTOR_SIG}
    assert verify(VECTOR_SECRET, received, VECTOR_BODY, now=VECTOR_TS + 299) == {"test": 2432232314}


def signed(now: int = VECTOR_TS) -> dict[str, str]:
    return headers([VECTOR_SECRET], "msg_abc", BODY, now=now)


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_verify_rejects_a_missing_header(name: str) -> None:
    received = {k: v for k, v in signed().items() if k != name}
    with pytest.raises(WebhookVerificationError, match=f"missing header: {name}"):
        verify(VECTOR_SECRET, received, BODY, now=VECTOR_TS)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(VECTOR_SECRET).verify(BODY, received)


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_verify_rejects_timestamps_outside_the_tolerance(offset: int) -> None:
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp"):
        verify(VECTOR_SECRET, signed(), BODY, now=VECTOR_TS - offset)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_verify_accepts_timestamps_at_the_tolerance(offset: int) -> None:
    assert verify(VECTOR_SECRET, signed(), BODY, now=VECTOR_TS - offset) == json.loads(BODY)


def test_tolerance_is_a_parameter() -> None:
    with pytest.raises(WebhookVerificationError):
        verify(VECTOR_SECRET, signed(), BODY, tolerance=10, now=VECTOR_TS + 11)
    assert verify(VECTOR_SECRET, signed(), BODY, tolerance=3600, now=VECTOR_TS + 3000)


@pytest.mark.parametrize("stamp", ["1614265330.5", "soon", "0x60375bf2", ""])
def test_verify_rejects_a_timestamp_that_is_not_an_integer(stamp: str) -> None:
    received = {**signed(), "webhook-timestamp": stamp}
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp"):
        verify(VECTOR_SECRET, received, BODY, now=VECTOR_TS)


def test_verify_rejects_a_wrong_secret_and_a_tampered_body() -> None:
    with pytest.raises(WebhookVerificationError, match="no matching v1 signature"):
        verify(OTHER_SECRET, signed(), BODY, now=VECTOR_TS)
    with pytest.raises(WebhookVerificationError, match="no matching v1 signature"):
        verify(VECTOR_SECRET, signed(), BODY.replace(b"churn", b"chum"), now=VECTOR_TS)
    resigned = {**signed(), "webhook-id": "msg_other"}  # the id is signed too
    with pytest.raises(WebhookVerificationError, match="no matching v1 signature"):
        verify(VECTOR_SECRET, resigned, BODY, now=VECTOR_TS)


def test_verify_ignores_other_signature_versions() -> None:
    good = signed()["webhook-signature"]
    v1a_only = {**signed(), "webhook-signature": good.replace("v1,", "v1a,")}
    with pytest.raises(WebhookVerificationError, match="no matching v1 signature"):
        verify(VECTOR_SECRET, v1a_only, BODY, now=VECTOR_TS)
    mixed = {**signed(), "webhook-signature": f"v1a,{good[3:]} garbage v1,!!! {good}"}
    assert verify(VECTOR_SECRET, mixed, BODY, now=VECTOR_TS) == json.loads(BODY)


def test_rotation_signs_with_every_active_secret() -> None:
    both = headers([OTHER_SECRET, VECTOR_SECRET], "msg_rot", BODY, now=VECTOR_TS)
    parts = both["webhook-signature"].split(" ")
    assert parts == [sign(OTHER_SECRET, "msg_rot", VECTOR_TS, BODY), sign(VECTOR_SECRET, "msg_rot", VECTOR_TS, BODY)]
    for secret in (OTHER_SECRET, VECTOR_SECRET):
        assert verify(secret, both, BODY, now=VECTOR_TS) == json.loads(BODY)
    live = headers([OTHER_SECRET, VECTOR_SECRET], "msg_rot", BODY)
    for secret in (OTHER_SECRET, VECTOR_SECRET):
        assert standardwebhooks.Webhook(secret).verify(BODY, live) == json.loads(BODY)
    third = "whsec_" + base64.b64encode(b"a third one").decode()
    with pytest.raises(WebhookVerificationError):
        verify(third, both, BODY, now=VECTOR_TS)


def test_signature_header_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secrets"):
        signature_header([], "msg_1", VECTOR_TS, BODY)


@pytest.mark.parametrize("bad", ["whsec_not base64!", "whsec_", "whsec_@@@@", "whsec_c2VjcmV0$"])
def test_a_bad_secret_is_a_value_error_naming_secret_not_its_value(bad: str) -> None:
    for call in (lambda: sign(bad, "msg_1", 1, BODY), lambda: verify(bad, signed(), BODY)):
        with pytest.raises(ValueError, match="^secret: ") as caught:
            call()
        assert bad[6:] == "" or bad[6:] not in str(caught.value)


def test_a_secret_without_prefix_or_padding_is_accepted() -> None:
    assert sign(VECTOR_SECRET[6:], VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIG
    unpadded = "whsec_" + base64.b64encode(b"12345").decode().rstrip("=")
    assert sign(unpadded, "m", 1, b"") == sign("whsec_MTIzNDU=", "m", 1, b"")


def test_verification_errors_are_driftwatch_errors_and_body_must_be_json() -> None:
    assert issubclass(WebhookVerificationError, DriftwatchError)
    raw = b"not json"
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        verify(VECTOR_SECRET, headers([VECTOR_SECRET], "m", raw, now=VECTOR_TS), raw, now=VECTOR_TS)


def test_message_id_is_deterministic_distinct_and_dot_free() -> None:
    start = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    first = message_id("churn", start, "retrain.requested")
    assert first == message_id("churn", start, "retrain.requested")
    assert first.startswith("msg_") and "." not in first
    assert first == message_id("churn", start.astimezone(timezone(timedelta(hours=2))), "retrain.requested")
    others = {message_id("churn", start + timedelta(hours=1), "retrain.requested"),
              message_id("churn2", start, "retrain.requested"),
              message_id("churn", start, "alert.firing"),
              message_id("churn", start, "retrain.requested", extra="ops")}
    assert first not in others and len(others) == 4
    assert "." not in message_id("a.b", start, "alert.firing", extra="x.y")


def test_message_id_is_the_same_in_another_process() -> None:
    code = ("from datetime import datetime, timezone; from driftwatch.webhooks import message_id; "
            "print(message_id('churn', datetime(2026, 11, 1, 9, tzinfo=timezone.utc), 'alert.firing'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123"})
    assert out.stdout.strip() == message_id("churn", datetime(2026, 11, 1, 9, tzinfo=timezone.utc), "alert.firing")
