"""Read CSV, Parquet or JSON-lines files, or the rows of them that fall in a window.

Files are the laptop case (a reference CSV next to the config) and the lake case (daily Parquet
files under ``dt=YYYY-MM-DD/`` folders). Either way only the columns a monitor asks for are read:
Parquet projects them at read time, CSV skips the others while parsing.

Timestamps are made UTC and rows cut to the window as by every connector (``connectors.frames``).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import ClassVar

import pandas as pd

from ..errors import ConnectorError, DataError
from ..model import Schema, Window
from ..profiling import Profile, ProfileOptions
from ..pushdown.types import WindowProfiles
from .formats import FORMATS, READ_ERRORS, READERS, detect_format
from .frames import cut_window, present_columns, requested_columns, utc_timestamps

__all__ = ["FileConnector"]

#: Who profiles a window (``engine``): pandas after reading the rows, DuckDB scanning the
#: Parquet files in place, or ``auto`` (see ``connectors.file_duckdb``).
ENGINES: tuple[str, ...] = ("auto", "pandas", "duckdb")

_PARTITION = re.compile(r"^(?:dt|date)=(\d{4}-\d{2}-\d{2})$")
# A partition's date may be local to any time zone (UTC-12 .. UTC+14), so a folder is only skipped
# when it is more than a day away from the window: pruning must never change the result.
_PARTITION_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class FileConnector:
    """One data set stored as files: a path, a glob, or a per-window path template.

    ``path`` may hold ``{start:%Y-%m-%d}`` / ``{end:...}`` fields, filled in with the window's
    UTC bounds (``data/current/{start:%Y-%m-%d}.csv`` reads one daily file per window); without
    a window each field becomes ``*``, so the template matches every file. Globs (``*``, ``**``)
    are expanded and sorted; a matched folder stands for every file below it (names starting
    with ``.`` or ``_``, such as ``_SUCCESS``, are skipped).

    ``format = "auto"`` picks the format per file by suffix: ``.csv[.gz|.bz2|.xz]``,
    ``.parquet``/``.pq``, ``.jsonl``/``.ndjson``/``.json`` (JSON *lines*, one object a line).

    With ``timestamp_column``, a window keeps the rows with ``start <= ts < end`` and skips
    files under a ``dt=YYYY-MM-DD`` / ``date=YYYY-MM-DD`` folder more than a day away from it.
    Without it, windows only fill in the template and every row of the matched files is returned.

    >>> FileConnector("data/{start:%Y-%m-%d}.csv").with_base_dir("/etc/dw").path
    '/etc/dw/data/{start:%Y-%m-%d}.csv'
    >>> FileConnector("x.csv", format="xls")
    Traceback (most recent call last):
    ...
    ValueError: format: must be one of auto, csv, parquet, jsonl, got 'xls'
    """

    name: ClassVar[str] = "file"

    path: str
    format: str = "auto"
    timestamp_column: str | None = None
    engine: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.path, Path):
            object.__setattr__(self, "path", str(self.path))
        if not isinstance(self.path, str) or not self.path.strip():
            raise ValueError(f"path: must be a non-empty file path or glob, got {self.path!r}")
        _check_template(self.path)
        if self.format not in FORMATS:
            raise ValueError(f"format: must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.timestamp_column is not None and (
                not isinstance(self.timestamp_column, str) or not self.timestamp_column):
            raise ValueError(f"timestamp_column: must be a column name, got {self.timestamp_column!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine: must be one of {', '.join(ENGINES)}, got {self.engine!r}")

    @property
    def pushdown(self) -> str:
        """How a run treats ``engine`` (see ``driftwatch.pushdown.run``): ``duckdb`` must profile
        in DuckDB, ``auto`` does when it can and the files are big, ``pandas`` never does."""
        return {"pandas": "off", "duckdb": "require", "auto": "prefer"}[self.engine]

    def profile_window(self, window: Window, reference: Profile, columns: Sequence[str], *,
                       max_sorted: int) -> WindowProfiles:
        """The window's profiles computed by DuckDB scanning its Parquet files
        (``connectors.file_duckdb``); ``PushdownUnavailable`` when that is not the way."""
        from .file_duckdb import profile_files

        _, kept = self._files(window)
        return profile_files(self, kept, window, reference, columns, max_sorted=max_sorted)

    def profile_reference(self, windows: Sequence[Window | None], schema: Schema,
                          options: ProfileOptions) -> Profile:
        """The reference profile computed by DuckDB over the Parquet files of ``windows``."""
        from .file_duckdb import profile_files_reference

        files = sorted({path for w in windows for path in self._files(w)[1]})
        return profile_files_reference(self, files, windows, schema, options)

    def with_base_dir(self, base: str | Path) -> FileConnector:
        """A copy whose relative ``path`` is taken relative to ``base`` (a config file's folder).

        The base is escaped, so brackets or braces in a folder name are not read as glob or
        template syntax.
        """
        path = os.path.expanduser(self.path)
        if os.path.isabs(path):
            return self if path == self.path else replace(self, path=path)
        prefix = glob.escape(os.path.abspath(os.path.expanduser(str(base))))
        prefix = prefix.replace("{", "{{").replace("}", "}}")
        return replace(self, path=os.path.join(prefix, path))

    def fetch(self, window: Window | None, columns: Sequence[str] | None) -> pd.DataFrame:
        """The requested columns that exist (plus ``timestamp_column``), rows cut to ``window``.

        Columns asked for but absent from every file are simply missing from the frame;
        ``columns=None`` reads every column.
        """
        wanted = requested_columns(columns, self.timestamp_column)
        matched, kept = self._files(window)
        if kept:
            frames = [self._read(path, wanted, window) for path in kept]
        else:  # every file lies outside the window: an empty frame that still has the columns
            frames = [self._read(matched[0], wanted, window, head=True)]
        present = list(dict.fromkeys(c for frame in frames for c in frame.columns))
        nonempty = [frame for frame in frames if len(frame)] or frames[:1]
        result = nonempty[0] if len(nonempty) == 1 else pd.concat(nonempty, ignore_index=True)
        return result.reindex(columns=present_columns(wanted, present))

    def version(self, window: Window | None) -> str:
        """SHA-256 over the files ``fetch(window)`` reads (path, mtime, size) and the settings."""
        _, kept = self._files(window)
        stats = []
        for path in kept:
            try:
                st = os.stat(path)
            except OSError as exc:
                raise ConnectorError(f"file connector: cannot stat {path}: {_one_line(exc)}") from exc
            stats.append([path, st.st_mtime_ns, st.st_size])
        key = {
            "connector": self.name,
            "files": stats,
            "format": self.format,
            "timestamp_column": self.timestamp_column,
            "window": [window.start.isoformat(), window.end.isoformat()] if window else None,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    def _pattern(self, window: Window | None) -> str:
        if window is not None:
            return os.path.expanduser(self.path.format(start=window.start, end=window.end))
        parts: list[str] = []
        for literal, field_name, _, _ in string.Formatter().parse(self.path):
            if literal:
                parts.append(literal)
            if field_name is not None and (not parts or parts[-1] != "*"):
                parts.append("*")
        return os.path.expanduser("".join(parts))

    def _files(self, window: Window | None) -> tuple[list[str], list[str]]:
        """(every matched file, those not pruned by their partition folder), both sorted."""
        pattern = self._pattern(window)
        files: list[str] = []
        for match in glob.glob(pattern, recursive=True):
            files.extend(_walk(match) if os.path.isdir(match) else [match])
        files = sorted(set(files))
        if not files:
            shown = f"{pattern!r}" if pattern == self.path else f"{pattern!r} (path {self.path!r})"
            raise ConnectorError(f"file connector: no file matches {shown}")
        if window is None or self.timestamp_column is None:
            return files, files
        return files, [path for path in files if not _outside(path, window)]

    def _read(self, path: str, wanted: list[str] | None, window: Window | None, *,
              head: bool = False) -> pd.DataFrame:
        fmt = self.format if self.format != "auto" else detect_format(path)
        if fmt is None:
            raise ConnectorError(
                f"file connector: cannot tell the format of {path} from its suffix; "
                f"set format to one of {', '.join(FORMATS[1:])}")
        try:
            frame = READERS[fmt](path, wanted, self.timestamp_column, head)
        except READ_ERRORS as exc:
            raise ConnectorError(f"file connector: cannot read {path} as {fmt}: {_one_line(exc)}") from exc
        ts = self.timestamp_column
        if ts is None or frame.shape == (0, 0):  # no timestamp to cut by, or a zero-byte file
            return frame
        if ts not in frame.columns:
            if window is not None:
                raise DataError(f"file connector: {path}: timestamp column {ts!r} not found")
            return frame
        frame[ts] = utc_timestamps(frame[ts], where=f"file connector: {path}: column {ts!r}")
        return cut_window(frame, ts, window) if window is not None else frame


def _walk(folder: str) -> list[str]:
    found: list[str] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        found.extend(os.path.join(root, n) for n in names if not n.startswith((".", "_")))
    return found


def _partition_day(path: str) -> date | None:
    """The day of the innermost ``dt=``/``date=`` folder in ``path``, if any."""
    for part in reversed(Path(path).parts[:-1]):
        match = _PARTITION.match(part)
        if match:
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:
                return None
    return None


def _outside(path: str, window: Window) -> bool:
    day = _partition_day(path)
    if day is None:
        return False
    first = datetime.combine(day, time(), tzinfo=timezone.utc) - _PARTITION_SLACK
    last = first + timedelta(days=1) + 2 * _PARTITION_SLACK
    return last <= window.start or first >= window.end


def _check_template(path: str) -> None:
    hint = "only {start:...} and {end:...} are filled in; write {{ and }} for literal braces"
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(path) if f is not None]
    except ValueError as exc:
        raise ValueError(f"path: {exc} in {path!r} ({hint})") from None
    for field_name in fields:
        if re.split(r"[.\[]", field_name, maxsplit=1)[0] not in ("start", "end"):
            raise ValueError(f"path: unknown field {{{field_name}}} in {path!r} ({hint})")
    sample = datetime(2026, 1, 1, tzinfo=timezone.utc)
    try:
        path.format(start=sample, end=sample)
    except (ValueError, AttributeError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(f"path: cannot fill in {path!r}: {exc}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
