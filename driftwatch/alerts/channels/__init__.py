"""Channels deliver one ``Message`` each, or raise ``DeliveryError``.

A channel is a frozen dataclass whose fields are its config keys (``[channels.NAME]`` with
``type = "slack"|"email"|"webhook"|"log"``). It does one attempt and says how it went: success
returns a ``Delivery`` (for the attempt log, R17); failure raises ``DeliveryError`` with
``retry_after`` (a server asked us to wait) or ``permanent=True`` (no retry can help: bad token,
unknown channel, 410 Gone). Retries, backoff and deadlines live in the dispatcher, never here.
Third parties register more under the ``driftwatch.channels`` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from ..message import Message

__all__ = ["BUILTIN", "REGISTRY", "Channel", "Delivery", "EmailChannel", "LogChannel", "SlackChannel",
           "WebhookChannel"]

#: The attempt log keeps this much of what was sent.
EXCERPT_CHARS = 1024


@dataclass(frozen=True)
class Delivery:
    """How a successful attempt went: the peer's answer (``"200"``, ``"250 OK"``) and the first
    kilobyte of what was sent."""

    status: str
    request: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "request", self.request[:EXCERPT_CHARS])


@runtime_checkable
class Channel(Protocol):
    """Delivers one message per call. Knows nothing of alert state, the store or retries."""

    name: ClassVar[str]

    def send(self, message: Message) -> Delivery:
        """Deliver ``message`` once; raise ``DeliveryError`` on any failure."""
        ...


from ...registry import Registry  # noqa: E402
from .email import EmailChannel  # noqa: E402
from .log import LogChannel  # noqa: E402
from .slack import SlackChannel  # noqa: E402
from .webhook import WebhookChannel  # noqa: E402

#: The channels shipped here, by their ``type``; plugins add more under ``driftwatch.channels``.
BUILTIN: dict[str, type[Channel]] = {"email": EmailChannel, "log": LogChannel, "slack": SlackChannel,
                            "webhook": WebhookChannel}
REGISTRY: Registry[Channel] = Registry("driftwatch.channels", BUILTIN, Channel)
