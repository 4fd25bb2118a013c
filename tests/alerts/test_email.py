"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS, implicit
TLS and AUTH, with a self-signed certificate made by the ``openssl`` CLI for this test run."""

from __future__ import annotations

import email
import email.policy
import itertools
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from driftwatch.alerts.channels.email import EmailChannel
from driftwatch.alerts.message import Item, Message
from driftwatch.config.plugins import build
from driftwatch.config.problems import Problems
from driftwatch.errors import DeliveryError
from driftwatch.model import Window
from driftwatch.secrets import Secret
from driftwatch.testing import check_channel

from ..conftest import free_port

EVIL = "<script>alert(1)</script>"
TO = ("ops@example.com", "ml@example.com")
SENDER = "driftwatch@example.com"
PASSWORD = "correct horse battery staple"


def make_message(*, items: tuple[Item, ...] | None = None, key: str = "churn/2026-11-01T09:00/email") -> Message:
    window = Window(datetime(2026, 11, 1, 9, tzinfo=timezone.utc), datetime(2026, 11, 1, 10, tzinfo=timezone.utc))
    if items is None:
        items = (Item("drift", "age", "psi", "warn", "still", value=0.25, threshold=0.2),
                 Item("drift", EVIL, "psi", "alert", "new", value=0.9, threshold=0.2))
    return Message(monitor="churn", run_id=7, window=window, status="firing", reason="new alerts added", items=items,
                   report_url="http://dw.local/runs/7", key=key, created_at=datetime(2026, 11, 1, 10, 5, tzinfo=timezone.utc))


@dataclass
class Received:
    """What one SMTP transaction delivered, as the server saw it."""

    mail_from: str
    rcpt_tos: list[str]
    mail: EmailMessage
    tls: bool


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every mail; ``refuse`` answers RCPT with that reply (for every
    address, or only ``refuse_only``), ``data_reply`` answers the end of DATA."""

    refuse: str | None = None
    refuse_only: str | None = None
    data_reply: str = "250 Message accepted for delivery"
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if self.refuse and self.refuse_only in (None, address):
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        # session.ssl is set by STARTTLS; an implicit-TLS connection shows on the transport instead
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), mail, tls))
        return self.data_reply

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login == b"dw" and auth_data.password == PASSWORD.encode()
        self.logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)   # handled=False: aiosmtpd sends the 535 itself


@dataclass
class Server:
    handler: Recorder
    port: int


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@contextmanager
def serve(handler: Recorder, **kwargs: Any) -> Iterator[Server]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield Server(handler, port)
    finally:
        controller.stop()


@pytest.fixture
def plain() -> Iterator[Server]:
    with serve(Recorder()) as server:
        yield server


@pytest.fixture
def refusing() -> Iterator[Server]:
    with serve(Recorder(refuse="550 no such user")) as server:
        yield server


@pytest.fixture
def starttls(certificate: tuple[Path, Path]) -> Iterator[Server]:
    with serve(Recorder(), tls_context=server_context(certificate), require_starttls=True) as server:
        yield server


@pytest.fixture
def implicit_tls(certificate: tuple[Path, Path]) -> Iterator[Server]:
    with serve(Recorder(), ssl_context=server_context(certificate)) as server:
        yield server


@pytest.fixture
def auth(certificate: tuple[Path, Path]) -> Iterator[Server]:
    handler = Recorder()
    with serve(handler, tls_context=server_context(certificate), require_starttls=True,
               authenticator=handler.authenticate, auth_require_tls=True, auth_required=True) as server:
        yield server


def channel(port: int, **kwargs: Any) -> EmailChannel:
    return EmailChannel(**{"host": "127.0.0.1", "to": list(TO), "sender": SENDER, "port": port, "timeout": 5.0,
                           **kwargs})


def test_plain_smtp_delivers_both_parts_to_every_recipient(plain: Server) -> None:
    delivery = channel(plain.port, tls="none").send(make_message())

    assert delivery.status == "250"
    assert delivery.request.startswith("[driftwatch] FIRING churn: 2 alerts (new alerts added)\n")
    [got] = plain.handler.received
    assert got.rcpt_tos == list(TO) and got.mail_from == SENDER and not got.tls
    mail = got.mail
    assert mail["Subject"].startswith("[driftwatch] FIRING churn")
    assert mail["From"] == SENDER and mail["To"] == ", ".join(TO)
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith("@example.com>")
    assert mail["Date"].datetime == datetime(2026, 11, 1, 10, 5, tzinfo=timezone.utc)
    assert mail.get_content_type() == "multipart/alternative"
    parts = list(mail.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    plain_text, html = (p.get_content() for p in parts)
    assert EVIL in plain_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    # worst first in both parts, and the report is linked
    assert plain_text.index(EVIL) < plain_text.index(" age ")
    assert html.index("&lt;script&gt;") < html.index(">age<")
    assert 'href="http://dw.local/runs/7"' in html


def test_display_names_stay_in_the_headers_and_out_of_the_envelope(plain: Server) -> None:
    named = channel(plain.port, tls="none", to=['"Ops, on call" <ops@example.com>'], sender="Driftwatch <dw@example.com>")
    named.send(make_message())
    [got] = plain.handler.received
    assert (got.mail_from, got.rcpt_tos) == ("dw@example.com", ["ops@example.com"])
    assert got.mail["To"].addresses[0].display_name == "Ops, on call"
    assert got.mail["From"].addresses[0].display_name == "Driftwatch"


def test_message_id_is_stable_for_a_keyed_message_and_unique_otherwise() -> None:
    email_channel = channel(2525, tls="none", subject_prefix="[ml-prod]")
    first, again = email_channel.build(make_message()), email_channel.build(make_message())
    assert first["Message-ID"] == again["Message-ID"]
    assert email_channel.build(make_message(key="other"))["Message-ID"] != first["Message-ID"]
    assert email_channel.build(make_message(key=""))["Message-ID"] != email_channel.build(make_message(key=""))[
        "Message-ID"]
    assert first["Subject"] == "[ml-prod] FIRING churn: 2 alerts (new alerts added)"


def test_html_table_is_capped_with_a_count_of_the_rest() -> None:
    items = tuple(Item("drift", f"f{i:03d}", "psi", "alert", "new", value=1 + i, threshold=0.2) for i in range(60))
    mail = channel(2525, tls="none").build(make_message(items=items))
    html = mail.get_body(("html",))
    assert html is not None
    text = html.get_content()
    assert text.count("<tr>") == 50 + 1   # 50 items and the "more" row
    assert "…and 10 more" in text
    assert "f059" in text and "f009" not in text   # the worst (largest value) are the ones shown


def test_starttls_with_the_ca_file_is_verified_and_encrypted(starttls: Server, certificate: tuple[Path, Path]) -> None:
    assert channel(starttls.port, ca_file=str(certificate[0])).send(make_message()).status == "250"
    [got] = starttls.handler.received
    assert got.tls and got.rcpt_tos == list(TO)


def test_starttls_against_an_unknown_certificate_fails_verification(starttls: Server) -> None:
    with pytest.raises(DeliveryError) as caught:
        channel(starttls.port).send(make_message())
    assert "certificate" in str(caught.value) and f"127.0.0.1:{starttls.port}" in str(caught.value)
    assert not caught.value.permanent
    assert starttls.handler.received == []


def test_tls_verify_false_accepts_the_self_signed_certificate(starttls: Server) -> None:
    assert channel(starttls.port, tls_verify=False).send(make_message()).status == "250"
    assert starttls.handler.received[0].tls


def test_starttls_never_falls_back_to_plain_text(plain: Server) -> None:
    with pytest.raises(DeliveryError, match="STARTTLS"):
        channel(plain.port, tls="starttls").send(make_message())
    assert plain.handler.received == []


def test_implicit_tls(implicit_tls: Server, certificate: tuple[Path, Path]) -> None:
    assert channel(implicit_tls.port, tls="ssl", ca_file=str(certificate[0])).send(make_message()).status == "250"
    assert implicit_tls.handler.received[0].tls


def test_login_after_starttls(auth: Server, certificate: tuple[Path, Path]) -> None:
    sent = channel(auth.port, ca_file=str(certificate[0]), username="dw", password=Secret(PASSWORD))
    assert sent.send(make_message()).status == "250"
    assert auth.handler.logins == [("dw", True)]
    assert len(auth.handler.received) == 1


def test_a_refused_login_is_permanent_and_does_not_echo_the_password(auth: Server, certificate: tuple[Path, Path]) -> None:
    wrong = channel(auth.port, ca_file=str(certificate[0]), username="dw", password=Secret("wrong password"))
    with pytest.raises(DeliveryError) as caught:
        wrong.send(make_message())
    assert caught.value.permanent and caught.value.status == "535"
    assert "wrong password" not in str(caught.value) and "dw" in str(caught.value)
    assert auth.handler.received == []


def test_550_from_rcpt_is_retried_not_dead(refusing: Server) -> None:
    with pytest.raises(DeliveryError) as caught:
        channel(refusing.port, tls="none").send(make_message())
    assert caught.value.status == "550" and not caught.value.permanent
    assert "no such user" in str(caught.value) and "ops@example.com" in str(caught.value)


def test_one_refused_recipient_of_two_is_a_delivery_that_says_so() -> None:
    # Retrying would send the accepted recipient a second copy; the attempt log shows the refusal.
    with serve(Recorder(refuse="550 no such user", refuse_only="ml@example.com")) as server:
        delivery = channel(server.port, tls="none").send(make_message())
        assert delivery.status == "250 (refused: ml@example.com 550)"
        assert server.handler.received[0].rcpt_tos == ["ops@example.com"]


def test_a_4xx_after_data_is_retried_with_its_code() -> None:
    with serve(Recorder(data_reply="451 4.3.0 try again later")) as server:
        with pytest.raises(DeliveryError) as caught:
            channel(server.port, tls="none").send(make_message())
        assert caught.value.status == "451" and not caught.value.permanent
        assert "try again later" in str(caught.value)


def test_a_server_that_is_down_is_a_retryable_error_naming_host_and_port() -> None:
    port = free_port()   # nothing listens there any more
    with pytest.raises(DeliveryError) as caught:
        channel(port, tls="none").send(make_message())
    assert f"127.0.0.1:{port}" in str(caught.value) and not caught.value.permanent


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:   # accepts connections (backlog) but never says hello
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(DeliveryError, match="timeout"):
            channel(port, tls="none", timeout=0.3).send(make_message())


def test_a_server_that_trickles_its_greeting_is_cut_at_the_timeout() -> None:
    """A tarpit sends a byte every 0.1 s, so smtplib's per-read timeout (0.5 s) never fires: the
    attempt must still end at its deadline, not when the tarpit tires (after 30 s)."""
    stop = threading.Event()

    def tarpit(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with conn:
            for byte in itertools.islice(itertools.cycle(b"220-slow\r\n"), 300):
                if stop.wait(0.1):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        worker = threading.Thread(target=tarpit, args=(listener,), daemon=True)
        worker.start()
        started = time.monotonic()
        try:
            with pytest.raises(DeliveryError, match=r"no complete answer within 0.5 s \(timeout\)"):
                channel(listener.getsockname()[1], tls="none", timeout=0.5).send(make_message())
            assert time.monotonic() - started < 15  # the deadline, not the tarpit's 30 s
        finally:
            stop.set()
            worker.join(5)


def test_a_missing_ca_file_is_named() -> None:
    with pytest.raises(DeliveryError, match="ca_file: cannot load /nonexistent/ca.pem"):
        channel(free_port(), ca_file="/nonexistent/ca.pem").send(make_message())


def test_repr_hides_the_password() -> None:
    configured = channel(587, username="dw", password=Secret(PASSWORD))
    assert PASSWORD not in repr(configured) and "password=***" in repr(configured)


def test_default_ports_follow_tls() -> None:
    base = {"host": "smtp.example.com", "to": ["a@example.com"], "sender": SENDER}
    assert [EmailChannel(**base, tls=tls).port for tls in ("starttls", "ssl", "none")] == [587, 465, 25]


def test_relative_ca_file_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    configured = channel(587, ca_file="certs/ca.pem").with_base_dir(tmp_path)
    assert configured.ca_file == str(tmp_path / "certs" / "ca.pem")


@pytest.mark.parametrize(("table", "problem"), [
    ({"to": []}, 'to: must be a list of at least one address, such as ["ops@example.com"]'),
    ({"to": ["ops@example.com", "nobody"]}, "to[1]: must be one email address such as ops@example.com, got 'nobody'"),
    ({"sender": "driftwatch"}, "sender: must be one email address such as ops@example.com, got 'driftwatch'"),
    ({"to": ["ops@example.com, cto@example.com"]},
     "to[0]: must be one email address such as ops@example.com, got 'ops@example.com, cto@example.com'"),
    ({"tls": "tls"}, "tls: must be one of starttls, ssl, none, got 'tls'"),
    ({"port": 0}, "port: must be an integer in 1..65535, got 0"),
    ({"tls": "none", "username": "dw"}, 'username: login needs tls = "starttls" or "ssl"'),
    ({"password": PASSWORD}, "password: set username too (a password alone cannot log in)"),
    ({"timeout": 0}, "timeout: must be a number of seconds > 0, got 0"),
    ({"host": ""}, "host: must be a host name or address such as smtp.example.com, got ''"),
    ({"tls": "none", "ca_file": "ca.pem"}, 'ca_file: only used with tls = "starttls" or "ssl"'),
])
def test_config_problems_name_the_key(table: dict[str, Any], problem: str) -> None:
    problems = Problems("dw.toml")
    full = {"host": "smtp.example.com", "to": ["ops@example.com"], "sender": SENDER, **table}
    assert build(EmailChannel, full, "channels.ops", problems) is None
    [line] = problems.format()
    key, _, message = problem.partition(": ")
    assert line == f"dw.toml: channels.ops.{key}: {message}"
    assert PASSWORD not in line


def test_config_table_builds_the_channel() -> None:
    problems = Problems("dw.toml")
    built = build(EmailChannel, {"host": "smtp.example.com", "to": ["ops@example.com"], "sender": SENDER,
                                 "username": "dw", "password": PASSWORD, "tls": "ssl"}, "channels.ops", problems)
    assert problems.format() == []
    assert built == EmailChannel(host="smtp.example.com", to=("ops@example.com",), sender=SENDER, port=465,
                                 tls="ssl", username="dw", password=Secret(PASSWORD))


def test_passes_the_plugin_contract_checks(plain: Server) -> None:
    """``driftwatch.testing.check_channel``, as a plugin's tests would call it, passes the built-in."""
    delivery = check_channel(channel(plain.port, tls="none"))
    assert delivery.status.startswith("250") and len(plain.handler.received) == 1
