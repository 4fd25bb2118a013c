"""The email channel: one ``multipart/alternative`` mail per notification over SMTP (R21–R23).

Mail is the channel every team already has, so it has to be safe by default: the connection is
encrypted (``tls = "starttls"``, or ``"ssl"`` for implicit TLS on 465) with
``ssl.create_default_context()``, so the server's certificate and host name are verified, and the
password is only ever sent after TLS is up. ``tls = "none"`` exists for a relay on localhost and
then refuses a login outright rather than send a password in clear.

The mail has a plain-text part first (``Message.text()``, what terminals and filters read) and an
HTML part second (a small table, rendered by Jinja2 with autoescaping: feature names come from
data and must never become markup). ``Message-ID`` is derived from the message's ``key`` so that
retries of one notification are one thread, and duplicates, to the reader's mail client.

An SMTP ``5xx`` is not taken as final: a ``550`` for a mailbox that is being set up (or a relay
that is misconfigured for an hour) may well pass later, and the dispatcher's deadline turns a
lasting refusal into ``dead`` (R23). Only a refused login is permanent: retrying a wrong password
every few minutes just locks the account.

>>> from driftwatch.secrets import Secret
>>> EmailChannel(host="smtp.example.com", to=["ops@example.com"], sender="dw@example.com",
...              username="dw", password=Secret("hunter2"))  # doctest: +NORMALIZE_WHITESPACE
EmailChannel(host='smtp.example.com', to=('ops@example.com',), sender='dw@example.com', port=587,
             tls='starttls', tls_verify=True, ca_file=None, username='dw', password=***, timeout=15.0,
             subject_prefix='[driftwatch]')
>>> EmailChannel(host="localhost", to=["ops@example.com"], sender="dw@example.com", tls="none", username="dw")
Traceback (most recent call last):
...
ValueError: username: login needs tls = "starttls" or "ssl"
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from jinja2 import Environment, PackageLoader, StrictUndefined

from ...errors import DeliveryError
from ...secrets import Secret
from ..message import Item, Message
from . import Delivery

__all__ = ["DEFAULT_PORTS", "HTML_ROWS", "TLS_MODES", "EmailChannel"]

#: Values of ``tls`` and the port each one uses when ``port`` is not set.
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
TLS_MODES: tuple[str, ...] = tuple(DEFAULT_PORTS)
#: Rows of the HTML table; the rest is counted in "…and N more" (the plain part has its own cap).
HTML_ROWS = 50

# Deliberately loose (the server has the last word): one "@", no spaces, no brackets or commas,
# which would make one configured address into several headers' worth.
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
_SEVERITY_COLOURS = {"error": "#b42318", "alert": "#c4320a", "warn": "#b54708"}
_FIRING_COLOUR = "#b42318"
_RESOLVED_COLOUR = "#067647"


@cache
def _templates() -> Environment:
    """The Jinja2 environment, built on first use (importing this module reads no files)."""
    return Environment(loader=PackageLoader("driftwatch.alerts", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _address(key: str, value: object) -> str:
    """The bare address of ``value`` if it is exactly one (``ops@example.com`` or ``Ops <ops@example.com>``)."""
    parsed = getaddresses([value]) if isinstance(value, str) and "\n" not in value and "\r" not in value else []
    if len(parsed) != 1 or not _ADDRESS.match(parsed[0][1]):
        raise ValueError(f"{key}: must be one email address such as ops@example.com, got {value!r}")
    return parsed[0][1]


@dataclass(frozen=True)
class EmailChannel:
    """Sends each message to ``to`` from ``sender`` through the SMTP server at ``host``.

    ``port`` defaults by ``tls`` (587, 465, 25). ``ca_file`` adds a CA bundle to the system's
    (a company CA, or a test's self-signed certificate); ``tls_verify = false`` turns verification
    off and should stay a last resort. ``username``/``password`` log in, always after TLS.
    """

    name: ClassVar[str] = "email"

    host: str
    to: tuple[str, ...]
    sender: str
    port: int | None = None
    tls: str = "starttls"
    tls_verify: bool = True
    ca_file: str | None = None
    username: str | None = None
    password: Secret | None = None  # a Secret prints as *** in repr, logs and problems
    timeout: float = 15.0
    subject_prefix: str = "[driftwatch]"

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip() or any(c.isspace() for c in self.host):
            raise ValueError(f"host: must be a host name or address such as smtp.example.com, got {self.host!r}")
        to = [self.to] if isinstance(self.to, str) else self.to
        if not isinstance(to, (list, tuple)) or not to:
            raise ValueError("to: must be a list of at least one address, such as [\"ops@example.com\"]")
        for i, addr in enumerate(to):
            _address(f"to[{i}]", addr)
        object.__setattr__(self, "to", tuple(to))
        _address("sender", self.sender)
        if self.tls not in DEFAULT_PORTS:
            raise ValueError(f"tls: must be one of {', '.join(TLS_MODES)}, got {self.tls!r}")
        if self.port is None:
            object.__setattr__(self, "port", DEFAULT_PORTS[self.tls])
        elif isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"port: must be an integer in 1..65535, got {self.port!r}")
        if not isinstance(self.tls_verify, bool):
            raise ValueError(f"tls_verify: must be true or false, got {self.tls_verify!r}")
        if self.ca_file is not None:
            if not isinstance(self.ca_file, str) or not self.ca_file.strip():
                raise ValueError(f"ca_file: must be the path of a PEM file, got {self.ca_file!r}")
            if self.tls == "none":
                raise ValueError('ca_file: only used with tls = "starttls" or "ssl"')
        if self.username is not None:
            if not isinstance(self.username, str) or not self.username.strip():
                raise ValueError(f"username: must be a non-empty string, got {self.username!r}")
            if self.tls == "none":
                raise ValueError('username: login needs tls = "starttls" or "ssl"')
        if isinstance(self.password, str):
            object.__setattr__(self, "password", Secret(self.password))
        if self.password is not None:
            if not isinstance(self.password, Secret):  # never echo it, whatever it is
                raise ValueError(f"password: must be a string, got {type(self.password).__name__}")
            if self.username is None:
                raise ValueError("password: set username too (a password alone cannot log in)")
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) or not self.timeout > 0:
            raise ValueError(f"timeout: must be a number of seconds > 0, got {self.timeout!r}")
        if not isinstance(self.subject_prefix, str) or "\n" in self.subject_prefix or "\r" in self.subject_prefix:
            raise ValueError(f"subject_prefix: must be a one-line string, got {self.subject_prefix!r}")

    @property
    def where(self) -> str:
        """``host:port``, how errors name the server."""
        return f"{self.host}:{self.port}"

    def with_base_dir(self, base: str | Path) -> EmailChannel:
        """A copy whose relative ``ca_file`` is taken relative to ``base`` (a config file's folder)."""
        if self.ca_file is None:
            return self
        path = os.path.expanduser(self.ca_file)
        if not os.path.isabs(path):
            path = os.path.join(os.path.abspath(os.path.expanduser(str(base))), path)
        return self if path == self.ca_file else replace(self, ca_file=path)

    def build(self, message: Message) -> EmailMessage:
        """The mail for ``message``: headers, a text/plain part, then a text/html part (R22)."""
        mail = EmailMessage()
        title = message.title()
        if title.startswith("[driftwatch]"):
            title = f"{self.subject_prefix}{title.removeprefix('[driftwatch]')}".strip()
        mail["Subject"] = " ".join(title.split())  # no line breaks from a monitor name
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = format_datetime(_utc(message.created_at))
        mail["Message-ID"] = self._message_id(message)
        text = message.text()
        mail.set_content(text)
        mail.add_alternative(self._html(message), subtype="html")
        return mail

    def send(self, message: Message) -> Delivery:
        """One SMTP transaction for ``message``; raises ``DeliveryError`` if it was not accepted.

        ``timeout`` bounds the whole transaction, not each read: smtplib's own timeout restarts
        with every line, so a server that answers a byte at a time (a tarpit) would hold the
        worker for as long as it likes. At the deadline a timer shuts the socket down under
        whatever read or write is waiting.
        """
        mail = self.build(message)
        expired = threading.Event()
        try:
            refused = self._transact(mail, expired)
        except (smtplib.SMTPException, OSError) as exc:
            if expired.is_set():
                raise DeliveryError(f"email {self.where}: no complete answer within {self.timeout:g} s "
                                    "(timeout)") from None
            raise self._failure(exc) from None
        status = "250"
        if refused:
            status += " (refused: " + "; ".join(f"{a} {c}" for a, (c, _) in sorted(refused.items())) + ")"
        return Delivery(status=status, request=message.text())

    def _failure(self, exc: smtplib.SMTPException | OSError) -> DeliveryError:
        """What a failed transaction is called, and whether to try again."""
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            code = exc.smtp_code
            return DeliveryError(f"email {self.where}: login as {self.username!r} refused: {code} {_said(exc)}",
                                 status=str(code), permanent=code >= 500)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            said = "; ".join(f"{addr} {code} {_decode(text)}" for addr, (code, text) in exc.recipients.items())
            return DeliveryError(f"email {self.where}: every recipient refused: {said}",
                                 status=str(codes[0]) if codes else None)
        if isinstance(exc, smtplib.SMTPResponseException):
            return DeliveryError(f"email {self.where}: {type(exc).__name__}: {exc.smtp_code} {_said(exc)}",
                                 status=str(exc.smtp_code))
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout in this
                return DeliveryError(f"email {self.where}: no answer within {self.timeout:g} s (timeout)")
            return DeliveryError(f"email {self.where}: server disconnected: {exc}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(f"email {self.where}: certificate verify failed: {exc.verify_message}; "
                                 "add its CA with ca_file (or, last resort, tls_verify = false)")
        if isinstance(exc, ssl.SSLError):
            return DeliveryError(f"email {self.where}: TLS ({self.tls}) failed: {exc.reason or exc}")
        if isinstance(exc, TimeoutError):
            return DeliveryError(f"email {self.where}: no answer within {self.timeout:g} s (timeout)")
        if isinstance(exc, smtplib.SMTPException):  # e.g. STARTTLS or AUTH not offered by the server
            return DeliveryError(f"email {self.where}: {exc}")
        return DeliveryError(f"email {self.where}: cannot connect: {exc.strerror or exc}")

    def _transact(self, mail: EmailMessage, expired: threading.Event) -> dict[str, tuple[int, bytes]]:
        """Connect, TLS, log in, send, all before ``timeout`` (then ``expired`` is set and the
        socket shut); returns the recipients refused while others were accepted."""
        context = self._ssl_context() if self.tls != "none" else None
        port = self.port or DEFAULT_PORTS[self.tls]
        # Made unconnected, so the timer can run from before the connect: a greeting trickled in
        # counts too. ``_host`` is what SMTP(host) would set; TLS checks the certificate by it.
        smtp = smtplib.SMTP_SSL(context=context, timeout=self.timeout) if self.tls == "ssl" \
            else smtplib.SMTP(timeout=self.timeout)
        smtp._host = self.host  # type: ignore[attr-defined]

        def expire() -> None:
            expired.set()
            sock = smtp.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed

        timer = threading.Timer(self.timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            code, said = smtp.connect(self.host, port)
            if code != 220:  # what smtplib.SMTP(host) says of a refusing greeting
                raise smtplib.SMTPConnectError(code, said)
            if context is not None and self.tls == "starttls":
                # Raises SMTPNotSupportedError when the server does not offer STARTTLS: never fall
                # back to plain text (a man in the middle would just strip the offer).
                smtp.starttls(context=context)
            if self.username is not None:
                smtp.login(self.username, self.password.reveal() if self.password is not None else "")
            # The envelope is given, not parsed back out of the headers: display names stay display names.
            refused = smtp.send_message(mail, from_addr=_address("sender", self.sender),
                                        to_addrs=[_address("to", addr) for addr in self.to])
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass  # the mail was accepted; a rude goodbye changes nothing
            return refused
        finally:
            timer.cancel()
            smtp.close()

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_file is not None:
            try:
                context.load_verify_locations(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise DeliveryError(f"email {self.where}: ca_file: cannot load {self.ca_file}: "
                                    f"{getattr(exc, 'strerror', None) or exc}") from None
        if not self.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _message_id(self, message: Message) -> str:
        """Stable for a keyed message (every retry is the same mail), random otherwise."""
        domain = _address("sender", self.sender).rpartition("@")[2]
        if not message.key:
            return make_msgid(domain=domain)
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        return f"<driftwatch.{digest}@{domain}>"

    def _html(self, message: Message) -> str:
        ordered = message.ordered()
        rows = [_row(item) for item in ordered[:HTML_ROWS]]
        return _templates().get_template("email.html.j2").render(
            message=message, title=message.title(), rows=rows, more=max(0, len(ordered) - HTML_ROWS),
            colour=_FIRING_COLOUR if message.status == "firing" else _RESOLVED_COLOUR,
        )


def _row(item: Item) -> dict[str, Any]:
    """One table row as display strings (the template only lays them out)."""
    value = _num(item.value) if item.value is not None else (item.summary or "–")
    if item.p_value is not None:
        value = f"{value} (p = {_num(item.p_value)})" if item.value is not None else f"p = {_num(item.p_value)}"
    return {"change": item.change, "severity": item.severity, "detector": item.detector,
            "feature": item.feature or "–", "metric": item.metric, "value": value,
            "threshold": _num(item.threshold) if item.threshold is not None else "–",
            "colour": _RESOLVED_COLOUR if item.change == "resolved" else _SEVERITY_COLOURS[item.severity]}


def _num(value: float) -> str:
    return f"{value:.4g}"


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(timezone.utc)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def _said(exc: smtplib.SMTPResponseException) -> str:
    return _decode(exc.smtp_error)
