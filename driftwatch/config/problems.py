"""Collect every config problem as one line that says where it is: ``FILE[:LINE[:COL]]: key.path: message``.

Line numbers are best effort: ``KeyLines`` scans the TOML text for table headers and
``key = value`` lines, so a problem about ``monitors[1].window`` points at the line of that key,
and a missing key points at its table's header. Problems about values set from the environment
carry no line; they name the variable instead.

Secret values (``store.url``, a connector's ``password`` ...) never reach a problem line:
messages are scrubbed of every value found under a secret-looking key before they are shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from ..secrets import MASK

__all__ = ["KeyLines", "Problems", "is_secret_key", "join", "syntax_problem"]

#: Key names whose values are secrets: ``url``, ``webhook_url``, ``api_key``, ``slack_token`` ...
_SECRET_KEY = re.compile(r"token|passw(or)?d|secret|api_?key|url|dsn|credential", re.IGNORECASE)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")
_INDEX = re.compile(r"\[\d+\]$")


def is_secret_key(path: str) -> bool:
    """Whether the last named key of ``path`` holds a secret.

    >>> is_secret_key("store.url"), is_secret_key("alerts.slack.bot_token"), is_secret_key("monitors[0].name")
    (True, True, False)
    >>> is_secret_key("channels.webhook.urls[1]")
    True
    """
    last = _INDEX.sub("", path).rsplit(".", 1)[-1]
    while _INDEX.search(last):
        last = _INDEX.sub("", last)
    return bool(_SECRET_KEY.search(last))


def join(path: str, key: str | int) -> str:
    """``path`` extended by a table key or an array index.

    >>> join("", "monitors"), join("monitors", 0), join("monitors[0]", "name")
    ('monitors', 'monitors[0]', 'monitors[0].name')
    """
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _parent(path: str) -> str:
    if _INDEX.search(path):
        return _INDEX.sub("", path)
    return path.rsplit(".", 1)[0] if "." in path else ""


def syntax_problem(file: str, text: str, message: str) -> str:
    """A ``tomllib`` error as ``FILE:LINE:COL: invalid TOML: message``.

    >>> syntax_problem("c.toml", "a = 1\\nb = 2 3\\n", "Expected newline (at line 2, column 7)")
    'c.toml:2:7: invalid TOML: Expected newline'
    >>> syntax_problem("c.toml", "a = 1\\nb = ", "Invalid value (at end of document)")
    'c.toml:2:5: invalid TOML: Invalid value'
    """
    position = _TOML_POSITION.search(message)
    if position:
        line, col = int(position.group(1)), int(position.group(2))
        message = message[: position.start()]
    elif _TOML_END.search(message):
        message = _TOML_END.sub("", message)
        lines = text.split("\n")
        line, col = len(lines), len(lines[-1]) + 1
    else:
        return f"{file}: invalid TOML: {message}"
    return f"{file}:{line}:{col}: invalid TOML: {message}"


def _split_key(text: str) -> list[str] | None:
    """The parts of a (possibly dotted, possibly quoted) TOML key, or None if ``text`` is not one."""
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return None
        if text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end < 0:
                return None
            parts.append(text[i + 1:end])
            i = end + 1
        else:
            match = _BARE_KEY.match(text, i)
            if not match:
                return None
            parts.append(match.group())
            i = match.end()
        while i < n and text[i] in " \t":
            i += 1
        if i == n:
            return parts
        if text[i] != ".":
            return None
        i += 1


class KeyLines:
    """Where each table and key of a TOML text is, by key path (``monitors[1].window`` -> 12).

    >>> lines = KeyLines("[store]\\nurl = 'x'\\n[[monitors]]\\nname = 'a'\\n[[monitors]]\\nwindow = '1d'\\n")
    >>> lines.find("store.url"), lines.find("monitors[1].window"), lines.find("monitors[1].name")
    (2, 6, 5)
    """

    _HEADER = re.compile(r"^\s*(\[\[?)(.*?)(\]\]?)\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([^=#\[]+?)\s*=")

    def __init__(self, text: str = "") -> None:
        self.lines: dict[str, int] = {}
        arrays: dict[str, int] = {}
        table = ""
        in_multiline: str | None = None
        for number, line in enumerate(text.split("\n"), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = self._HEADER.match(line)
            if header and len(header.group(1)) == len(header.group(3)):
                parts = _split_key(header.group(2))
                if parts is None:
                    continue
                table = self._resolve(parts, arrays, is_array=header.group(1) == "[[")
                self.lines.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                parts = _split_key(key.group(1))
                if parts is not None:
                    path = table
                    for part in parts:
                        path = join(path, part)
                    self.lines.setdefault(path, number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
                    break

    @staticmethod
    def _resolve(parts: list[str], arrays: dict[str, int], *, is_array: bool) -> str:
        path = ""
        for i, part in enumerate(parts):
            path = join(path, part)
            if is_array and i == len(parts) - 1:
                arrays[path] = arrays.get(path, 0) + 1
                path = join(path, arrays[path] - 1)
            elif path in arrays:
                path = join(path, arrays[path] - 1)
        return path

    def find(self, path: str) -> int | None:
        """The line of ``path``, else of its closest enclosing table or array; None if unknown."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = _parent(path)
        return None


def secret_values(data: Any, path: str = "") -> Iterable[str]:
    """Every string under a secret-looking key of ``data``, and the password inside URLs."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from secret_values(value, join(path, str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from secret_values(value, join(path, i))
    elif isinstance(data, str) and path and is_secret_key(path):
        yield data
        yield from url_password(data)


def url_password(value: str) -> Iterable[str]:
    """The password part of ``scheme://user:password@host``, raw and percent-decoded."""
    try:
        parts = urlsplit(value)
        netloc = parts.netloc
    except ValueError:
        return
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        if ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            yield password
            yield unquote(password)


@dataclass
class Problems:
    """Every problem found in one config, in the order found.

    ``origins`` maps key paths set from the environment to the variable that set them;
    ``secrets`` holds the values to scrub from messages.
    """

    file: str
    lines: KeyLines = field(default_factory=KeyLines)
    origins: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    items: list[tuple[str, str]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    #: Keys that load but deserve a word (deprecated ones): reported, never fatal.
    cautions: list[tuple[str, str]] = field(default_factory=list)
    #: Paths whose value is already known to be wrong (a failed ``${VAR}``): later problems about
    #: them would only repeat the first one, so they are dropped.
    settled: set[str] = field(default_factory=set)

    def add(self, path: str, message: str, *, settle: bool = False) -> None:
        """Record ``message`` about the value at ``path`` (``""`` for the file as a whole).

        ``settle`` marks the value as reported: further problems at ``path`` or below it are
        consequences of this one and are not recorded.
        """
        probe = path
        while probe:
            if probe in self.settled:
                return
            probe = _parent(probe)
        self.items.append((path, message))
        if settle:
            self.settled.add(path)

    def warn(self, path: str, message: str) -> None:
        """Record a warning about the value at ``path``: shown by ``validate``, logged by the daemon."""
        self.cautions.append((path, message))

    def add_line(self, line: str) -> None:
        """Record a line that is already formatted (a TOML syntax error, an unreadable file)."""
        self.raw.append(line)

    def add_secrets(self, values: Iterable[str]) -> None:
        self.secrets.update(v for v in values if len(v) >= 3)

    def __bool__(self) -> bool:
        return bool(self.items or self.raw)

    def _origin(self, path: str) -> str | None:
        probe = path
        while probe:
            if probe in self.origins:
                return self.origins[probe]
            probe = _parent(probe)
        return None

    def scrub(self, message: str) -> str:
        """``message`` with every known secret value replaced by ``***`` (longest first)."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in (secret, repr(secret)[1:-1]):
                if form in message:
                    message = message.replace(form, MASK)
        return message

    def format(self) -> list[str]:
        """The problem lines, ``FILE[:LINE]: key.path: message``."""
        return list(self.raw) + self._lines(self.items)

    def format_warnings(self) -> list[str]:
        """The warning lines, ``FILE[:LINE]: key.path: warning: message``."""
        return self._lines([(path, f"warning: {message}") for path, message in self.cautions])

    def _lines(self, items: list[tuple[str, str]]) -> list[str]:
        out = []
        for path, message in items:
            message = self.scrub(message)
            origin = self._origin(path)
            if origin is not None:
                out.append(f"{self.file}: {path}: {message} (set by {origin})")
                continue
            line = self.lines.find(path)
            where = f"{self.file}:{line}" if line is not None else self.file
            out.append(f"{where}: {path}: {message}" if path else f"{where}: {message}")
        return out
