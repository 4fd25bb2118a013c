"""The file formats the file connector reads: telling a file's format, and one reader per format.

Which files make a window (globs, path templates, partition folders) is the connector's job;
how one file's wanted columns become a frame is this module's, one reader per ``format`` value:
Parquet projects the columns at read time, CSV skips the others while parsing, JSON lines keeps
the wanted keys of each object. ``.gz``, ``.bz2`` and ``.xz`` files are read through their codec.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import stat
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError
from .frames import present_columns

__all__ = ["FORMATS", "READERS", "READ_ERRORS", "detect_format"]

#: Values of ``format``; ``auto`` picks one by file suffix.
FORMATS: tuple[str, ...] = ("auto", "csv", "parquet", "jsonl")

_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
             ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_OPENERS: dict[str, Callable[..., IO[str]]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
#: What a reader raises for a file it cannot read (the connector makes it a ``ConnectorError``).
READ_ERRORS = (OSError, ValueError, EOFError, pa.ArrowException, zlib.error, lzma.LZMAError)


def detect_format(path: str | Path) -> str | None:
    """The format ``auto`` picks for ``path``, or None when its suffix says nothing.

    >>> detect_format("a/b.csv.gz"), detect_format("x.pq"), detect_format("e.ndjson"), detect_format("x.txt")
    ('csv', 'parquet', 'jsonl', None)
    """
    name = Path(path).name.lower()
    compressed = Path(name).suffix in _OPENERS
    if compressed:
        name = name[: -len(Path(name).suffix)]
    found = _SUFFIXES.get(Path(name).suffix)
    return None if found == "parquet" and compressed else found


def _read_parquet(path: str, wanted: list[str] | None, ts: str | None, head: bool) -> pd.DataFrame:
    """Only the wanted columns' chunks are read and decoded; the others are never touched."""
    with pq.ParquetFile(path) as parquet:
        keep = present_columns(wanted, parquet.schema_arrow.names)
        table = parquet.schema_arrow.empty_table().select(keep) if head else parquet.read(columns=keep)
    return table.to_pandas()


def _read_csv(path: str, wanted: list[str] | None, ts: str | None, head: bool) -> pd.DataFrame:
    wanted_set = set(wanted or ())
    options: dict[str, Any] = {"low_memory": False, "nrows": 0 if head else None}
    try:
        frame = pd.read_csv(path, usecols=None if wanted is None else (lambda c: c in wanted_set),
                            dtype={ts: "str"} if ts else None, **options)
    except pd.errors.EmptyDataError:  # a zero-byte file: no rows, no columns
        return pd.DataFrame()
    _check_header(path)
    if frame.shape[1] == 0 and not head:  # none of the columns exist: keep the row count
        rows = len(pd.read_csv(path, usecols=[0], **options))
        return pd.DataFrame(index=pd.RangeIndex(rows))
    return frame


def _check_header(path: str) -> None:
    """A header that repeats a column name is a ``DataError``: pandas would rename the second
    ``x`` to ``x.1`` and read on as if nothing happened. The first line is read again only from
    a regular file (a pipe gives its data once)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        return
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(f"file connector: {path}: the header repeats column name(s) {', '.join(map(repr, repeated))}")


def _read_jsonl(path: str, wanted: list[str] | None, ts: str | None, head: bool) -> pd.DataFrame:
    opener = _OPENERS.get(Path(path).suffix.lower(), open)
    rows: list[dict[str, Any]] = []
    present: dict[str, None] = {}
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number}: {exc.msg} (expected one JSON object per line)") from exc
            if not isinstance(record, dict):
                raise ValueError(f"line {number}: expected a JSON object, got {type(record).__name__}")
            row = record if wanted is None else {c: record[c] for c in wanted if c in record}
            present.update(dict.fromkeys(row))
            rows.append(row)
            if head:
                break
    keep = present_columns(wanted, present)
    if not keep:
        return pd.DataFrame(index=pd.RangeIndex(0 if head else len(rows)))
    frame = pd.DataFrame(rows, columns=keep)
    return frame.iloc[:0] if head else frame


READERS: dict[str, Callable[[str, list[str] | None, str | None, bool], pd.DataFrame]] = {
    "csv": _read_csv, "parquet": _read_parquet, "jsonl": _read_jsonl,
}
