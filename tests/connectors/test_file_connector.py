from __future__ import annotations

import gzip
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftwatch.connectors import BUILTIN, Connector, FileConnector
from driftwatch.errors import ConnectorError, DataError
from driftwatch.model import Window

NOV3 = Window(datetime(2026, 11, 3), datetime(2026, 11, 4))


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in records)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def sample() -> pd.DataFrame:
    return pd.DataFrame({"age": [31, 45, 27], "region": ["north", "south", "east"], "score": [0.1, 0.9, 0.4]})


# -- contract --------------------------------------------------------------------------------

def test_is_a_registered_connector(tmp_path: Path) -> None:
    connector = FileConnector(str(tmp_path / "x.csv"))
    assert isinstance(connector, Connector)
    assert BUILTIN["file"] is FileConnector
    assert FileConnector.name == "file"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"path": "x.csv", "format": "xls"}, "format: must be one of auto, csv, parquet, jsonl, got 'xls'"),
    ({"path": ""}, "path: must be a non-empty file path or glob"),
    ({"path": "data/{day}.csv"}, "path: unknown field {day}"),
    ({"path": "data/{start:%Y.csv"}, "path: "),
    ({"path": "x.csv", "timestamp_column": ""}, "timestamp_column: must be a column name"),
])
def test_bad_settings_are_rejected_naming_the_key(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        FileConnector(**kwargs)
    assert str(info.value).startswith(message)


def test_literal_braces_can_be_escaped(tmp_path: Path) -> None:
    write_csv(tmp_path / "{raw}.csv", sample())
    connector = FileConnector(str(tmp_path / "{{raw}}.csv"))
    assert len(connector.fetch(None, ["age"])) == 3


def test_columns_must_be_a_list_not_a_string(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", sample())
    with pytest.raises(TypeError, match="columns: expected a list"):
        FileConnector(str(tmp_path / "a.csv")).fetch(None, "age")


# -- formats and projection --------------------------------------------------------------

@pytest.mark.parametrize("name", ["ref.csv", "ref.csv.gz", "ref.parquet", "ref.pq", "ref.jsonl",
                                  "ref.ndjson", "ref.json", "ref.jsonl.gz"])
def test_reads_every_format_by_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    frame = sample()
    if ".csv" in name:
        frame.to_csv(path, index=False)  # pandas compresses by suffix
    elif name.endswith((".parquet", ".pq")):
        write_parquet(path, frame)
    else:
        write_jsonl(path, frame.to_dict("records"))
    out = FileConnector(str(path)).fetch(None, ["region", "age", "missing"])
    assert list(out.columns) == ["region", "age"]  # requested order; absent columns left out
    assert out["age"].tolist() == [31, 45, 27]
    assert out["region"].tolist() == ["north", "south", "east"]


def test_explicit_format_wins_over_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    sample().to_csv(path, index=False)
    with pytest.raises(ConnectorError, match=r"cannot tell the format of .*export\.txt"):
        FileConnector(str(path)).fetch(None, ["age"])
    assert FileConnector(str(path), format="csv").fetch(None, ["age"])["age"].sum() == 103


def test_parquet_reads_only_the_requested_column_chunks(tmp_path: Path) -> None:
    """The unrequested column's bytes are overwritten with garbage: reading it would fail."""
    path = tmp_path / "wide.parquet"
    table = pa.table({"age": list(range(1000)), "blob": ["x" * 200] * 1000})
    pq.write_table(table, path, compression="none", use_dictionary=False)
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(1)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[start:start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
    path.write_bytes(bytes(data))
    with pytest.raises((OSError, pa.ArrowException)):  # the file really is unreadable as a whole
        pq.read_table(path)

    out = FileConnector(str(path)).fetch(None, ["age", "not_there"])
    assert list(out.columns) == ["age"]
    assert out["age"].tolist() == list(range(1000))
    with pytest.raises(ConnectorError, match=r"cannot read .*wide\.parquet as parquet"):
        FileConnector(str(path)).fetch(None, ["age", "blob"])


def test_csv_skips_unrequested_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", sample())
    out = FileConnector(str(path)).fetch(None, ["score"])
    assert list(out.columns) == ["score"]
    assert out["score"].tolist() == [0.1, 0.9, 0.4]


def test_no_requested_column_present_keeps_the_row_count(tmp_path: Path) -> None:
    for name in ("a.csv", "a.parquet", "a.jsonl"):
        path = tmp_path / name
        if name.endswith(".csv"):
            write_csv(path, sample())
        elif name.endswith(".parquet"):
            write_parquet(path, sample())
        else:
            write_jsonl(path, sample().to_dict("records"))
        out = FileConnector(str(path)).fetch(None, ["nope"])
        assert out.shape == (3, 0), name


def test_empty_csv_file_is_an_empty_frame(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert FileConnector(str(path)).fetch(None, ["age"]).empty
    # an exporter that wrote nothing for a quiet day: no rows, not a missing timestamp column
    assert FileConnector(str(path), timestamp_column="ts").fetch(NOV3, ["age"]).empty


# -- files: glob, folders, templates, base dir --------------------------------------------

def test_glob_concatenates_files_in_sorted_order(tmp_path: Path) -> None:
    write_csv(tmp_path / "b.csv", pd.DataFrame({"x": [3, 4]}))
    write_csv(tmp_path / "a.csv", pd.DataFrame({"x": [1, 2]}))
    write_csv(tmp_path / "c.csv", pd.DataFrame({"x": [5], "extra": ["only here"]}))
    out = FileConnector(str(tmp_path / "*.csv")).fetch(None, ["x", "extra"])
    assert out["x"].tolist() == [1, 2, 3, 4, 5]
    assert out["extra"].isna().sum() == 4
    assert list(out.index) == [0, 1, 2, 3, 4]


def test_recursive_glob_and_mixed_formats(tmp_path: Path) -> None:
    write_csv(tmp_path / "2026" / "a.csv", pd.DataFrame({"x": [1]}))
    write_parquet(tmp_path / "2026" / "deep" / "b.parquet", pd.DataFrame({"x": [2]}))
    out = FileConnector(str(tmp_path / "**" / "*.*")).fetch(None, ["x"])
    assert out["x"].tolist() == [1, 2]


def test_a_folder_stands_for_the_files_below_it(tmp_path: Path) -> None:
    write_parquet(tmp_path / "events" / "dt=2026-11-03" / "part-0.parquet", pd.DataFrame({"x": [1]}))
    write_parquet(tmp_path / "events" / "dt=2026-11-04" / "part-0.parquet", pd.DataFrame({"x": [2]}))
    (tmp_path / "events" / "_SUCCESS").write_text("")
    (tmp_path / "events" / "dt=2026-11-03" / ".part-0.parquet.crc").write_text("junk")
    out = FileConnector(str(tmp_path / "events")).fetch(None, ["x"])
    assert out["x"].tolist() == [1, 2]


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.csv")
    with pytest.raises(ConnectorError) as info:
        FileConnector(path).fetch(None, ["x"])
    assert str(info.value) == f"file connector: no file matches {path!r}"


def test_glob_without_match_names_the_pattern(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.txt", sample())
    pattern = str(tmp_path / "*.csv")
    with pytest.raises(ConnectorError, match="no file matches") as info:
        FileConnector(pattern).fetch(None, ["x"])
    assert pattern in str(info.value)
    with pytest.raises(ConnectorError, match="no file matches"):
        FileConnector(pattern).version(None)


def test_start_template_reads_the_daily_file_of_the_window(tmp_path: Path) -> None:
    for day, value in (("2026-11-02", 2), ("2026-11-03", 3), ("2026-11-04", 4)):
        write_csv(tmp_path / "current" / f"{day}.csv", pd.DataFrame({"x": [value]}))
    connector = FileConnector(str(tmp_path / "current" / "{start:%Y-%m-%d}.csv"))
    assert connector.fetch(NOV3, ["x"])["x"].tolist() == [3]
    assert connector.fetch(Window(datetime(2026, 11, 4), datetime(2026, 11, 5)), ["x"])["x"].tolist() == [4]
    # without a window the template matches every file
    assert connector.fetch(None, ["x"])["x"].tolist() == [2, 3, 4]


def test_template_error_names_the_expanded_path_and_the_template(tmp_path: Path) -> None:
    template = str(tmp_path / "{start:%Y-%m-%d}_{end:%Y-%m-%d}.csv")
    with pytest.raises(ConnectorError) as info:
        FileConnector(template).fetch(NOV3, ["x"])
    message = str(info.value)
    assert str(tmp_path / "2026-11-03_2026-11-04.csv") in message
    assert template in message


def test_with_base_dir_resolves_relative_paths(tmp_path: Path) -> None:
    base = tmp_path / "conf [prod] {x}"  # glob and template characters in the folder name
    write_csv(base / "data" / "ref.csv", sample())
    connector = FileConnector("data/*.csv").with_base_dir(base)
    assert os.path.isabs(connector.path)
    assert connector.fetch(None, ["age"])["age"].tolist() == [31, 45, 27]
    absolute = FileConnector(str(tmp_path / "x.csv"))
    assert absolute.with_base_dir("/elsewhere") is absolute


def test_with_base_dir_keeps_templates_working(tmp_path: Path) -> None:
    write_csv(tmp_path / "cur" / "2026-11-03.csv", pd.DataFrame({"x": [7]}))
    connector = FileConnector("cur/{start:%Y-%m-%d}.csv", timestamp_column=None).with_base_dir(tmp_path)
    assert connector.fetch(NOV3, ["x"])["x"].tolist() == [7]


# -- windows and timestamps -----------------------------------------------------------------

def boundary_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "ts": ["2026-11-02 23:59:59.999999", "2026-11-03 00:00:00", "2026-11-03 12:00",
               "2026-11-03T23:59:59.999999", "2026-11-04 00:00:00", ""],
        "x": [1, 2, 3, 4, 5, 6],
    })


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_window_keeps_start_and_drops_end(tmp_path: Path, suffix: str) -> None:
    frame = boundary_rows()
    path = tmp_path / f"data.{suffix}"
    if suffix == "csv":
        write_csv(path, frame)
    elif suffix == "parquet":
        write_parquet(path, frame)
    else:
        write_jsonl(path, frame.to_dict("records"))
    connector = FileConnector(str(path), timestamp_column="ts")
    out = connector.fetch(NOV3, ["x"])
    assert out["x"].tolist() == [2, 3, 4]
    assert list(out.columns) == ["x", "ts"]
    assert str(out["ts"].dtype) == "datetime64[us, UTC]"
    assert out["ts"].iloc[0] == pd.Timestamp("2026-11-03", tz="UTC")
    # without a window every row comes back, the timestamp still as UTC (empty -> NaT)
    everything = connector.fetch(None, ["x"])
    assert everything["x"].tolist() == [1, 2, 3, 4, 5, 6]
    assert isinstance(everything["ts"].dtype, pd.DatetimeTZDtype)
    assert everything["ts"].isna().tolist() == [False] * 5 + [True]


def test_naive_is_utc_and_offsets_are_converted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", pd.DataFrame({
        "ts": ["2026-11-03T01:00:00+02:00",   # 2026-11-02 23:00 UTC: before the window
               "2026-11-04T00:30:00+02:00",   # 2026-11-03 22:30 UTC: inside
               "2026-11-03T20:00:00-05:00",   # 2026-11-04 01:00 UTC: after
               "2026-11-03 05:00",            # naive: UTC, inside
               "2026-11-03T06:00:00Z"],       # inside
        "x": [1, 2, 3, 4, 5],
    }))
    out = FileConnector(str(path), timestamp_column="ts").fetch(NOV3, ["x"])
    assert out["x"].tolist() == [2, 4, 5]
    assert out["ts"].tolist() == [pd.Timestamp("2026-11-03 22:30", tz="UTC"),
                                  pd.Timestamp("2026-11-03 05:00", tz="UTC"),
                                  pd.Timestamp("2026-11-03 06:00", tz="UTC")]


def test_parquet_timestamps_naive_and_in_other_zones(tmp_path: Path) -> None:
    berlin = pd.to_datetime(["2026-11-03 00:30", "2026-11-03 12:00"]).tz_localize("Europe/Berlin")
    write_parquet(tmp_path / "a.parquet", pd.DataFrame({"ts": berlin, "x": [1, 2]}))  # 1: 11-02 23:30 UTC
    naive = pd.to_datetime(["2026-11-03 00:00", "2026-11-04 00:00"])
    write_parquet(tmp_path / "b.parquet", pd.DataFrame({"ts": naive, "x": [3, 4]}))
    out = FileConnector(str(tmp_path / "*.parquet"), timestamp_column="ts").fetch(NOV3, ["x"])
    assert out["x"].tolist() == [2, 3]
    assert str(out["ts"].dtype) == "datetime64[us, UTC]"
    assert out["ts"].iloc[0] == pd.Timestamp("2026-11-03 11:00", tz="UTC")


def test_unparseable_timestamp_names_file_column_and_value(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", pd.DataFrame({"ts": ["2026-11-03", "03/11/2026"], "x": [1, 2]}))
    with pytest.raises(DataError) as info:
        FileConnector(str(path), timestamp_column="ts").fetch(NOV3, ["x"])
    assert str(info.value) == f"file connector: {path}: column 'ts': cannot read '03/11/2026' as an ISO 8601 timestamp"


def test_numeric_timestamps_are_refused(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "n.parquet", pd.DataFrame({"ts": [1_730_000_000, 1_730_000_100], "x": [1, 2]}))
    with pytest.raises(DataError, match=r"n\.parquet: column 'ts': holds numbers"):
        FileConnector(str(path), timestamp_column="ts").fetch(NOV3, ["x"])


def test_missing_timestamp_column_with_a_window_is_a_data_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", sample())
    connector = FileConnector(str(path), timestamp_column="ts")
    with pytest.raises(DataError, match=r"a\.csv: timestamp column 'ts' not found"):
        connector.fetch(NOV3, ["age"])
    assert list(connector.fetch(None, ["age"]).columns) == ["age"]


def test_without_timestamp_column_a_window_returns_whole_files(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", boundary_rows())
    out = FileConnector(str(path)).fetch(NOV3, ["x", "ts"])
    assert out["x"].tolist() == [1, 2, 3, 4, 5, 6]


# -- partition pruning ----------------------------------------------------------------------

def test_partitions_far_from_the_window_are_not_read(tmp_path: Path) -> None:
    root = tmp_path / "events"
    for day in ("2026-11-02", "2026-11-03", "2026-11-04"):
        rows = pd.DataFrame({"ts": pd.to_datetime([f"{day} 12:00"]), "x": [int(day[-2:])]})
        write_parquet(root / f"dt={day}" / "part-0.parquet", rows)
    # a late row: stored under yesterday's (local-date) partition but inside the window in UTC
    late = pd.DataFrame({"ts": pd.to_datetime(["2026-11-03 02:00"]), "x": [99]})
    write_parquet(root / "dt=2026-11-02" / "part-1.parquet", late)
    # partitions well outside the window are corrupt: reading one would raise
    for day in ("2026-10-30", "2026-11-06"):
        (root / f"date={day}").mkdir()
        (root / f"date={day}" / "part-0.parquet").write_bytes(b"not parquet at all")

    connector = FileConnector(str(root / "*" / "*.parquet"), timestamp_column="ts")
    out = connector.fetch(NOV3, ["x"])
    assert sorted(out["x"].tolist()) == [3, 99]
    # the pruning is an optimisation only: without it the corrupt files are read and fail
    with pytest.raises(ConnectorError, match=r"date=2026-10-30.*part-0\.parquet"):
        FileConnector(str(root / "*" / "*.parquet")).fetch(NOV3, ["x"])


def test_every_partition_pruned_gives_an_empty_frame_with_columns(tmp_path: Path) -> None:
    rows = pd.DataFrame({"ts": pd.to_datetime(["2026-01-01 12:00"]), "x": [1]})
    write_parquet(tmp_path / "dt=2026-01-01" / "p.parquet", rows)
    out = FileConnector(str(tmp_path / "dt=*" / "*.parquet"), timestamp_column="ts").fetch(NOV3, ["x"])
    assert out.empty
    assert list(out.columns) == ["x", "ts"]
    assert str(out["ts"].dtype) == "datetime64[us, UTC]"


# -- unreadable files -----------------------------------------------------------------------

def test_corrupt_parquet_names_the_file_in_one_line(tmp_path: Path) -> None:
    write_parquet(tmp_path / "good.parquet", sample())
    bad = tmp_path / "zz-bad.parquet"
    bad.write_bytes(b"PAR1 truncated garbage")
    with pytest.raises(ConnectorError) as info:
        FileConnector(str(tmp_path / "*.parquet")).fetch(None, ["age"])
    message = str(info.value)
    assert message.startswith(f"file connector: cannot read {bad} as parquet: ")
    assert "\n" not in message


def test_malformed_csv_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('a,b\n1,"2\n3,4\n')  # a quote that never closes
    with pytest.raises(ConnectorError, match=r"cannot read .*bad\.csv as csv: .*EOF inside string") as info:
        FileConnector(str(path)).fetch(None, ["a"])
    assert "\n" not in str(info.value)
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ConnectorError, match=r"cannot read .*image\.csv as csv: 'utf-8' codec"):
        FileConnector(str(binary)).fetch(None, ["a"])


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2,}\n')
    with pytest.raises(ConnectorError, match=r"bad\.jsonl as jsonl: line 3: .*one JSON object per line"):
        FileConnector(str(path)).fetch(None, ["a"])
    array = tmp_path / "array.json"
    array.write_text('[{"a": 1}, {"a": 2}]')
    with pytest.raises(ConnectorError, match=r"array\.json as jsonl: line 1: expected a JSON object, got list"):
        FileConnector(str(array)).fetch(None, ["a"])


# -- version --------------------------------------------------------------------------------

def test_version_is_stable_and_changes_with_files_and_settings(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ref.csv", sample())
    connector = FileConnector(str(tmp_path / "*.csv"), timestamp_column="ts")
    first = connector.version(None)
    assert len(first) == 64 and int(first, 16) >= 0
    assert connector.version(None) == first

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touched
    touched = connector.version(None)
    assert touched != first

    write_csv(path, sample().head(2))  # rewritten
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same mtime as "touched"
    assert connector.version(None) != touched  # the size still tells them apart

    write_csv(tmp_path / "new.csv", sample())  # a new file matched by the glob
    grown = connector.version(None)
    assert grown != touched

    assert connector.version(NOV3) != grown
    assert connector.version(NOV3) != connector.version(Window(datetime(2026, 11, 4), datetime(2026, 11, 5)))
    assert FileConnector(str(tmp_path / "*.csv"), timestamp_column="other").version(None) != grown
    assert FileConnector(str(tmp_path / "*.csv"), format="csv", timestamp_column="ts").version(None) != grown


def test_version_follows_the_template(tmp_path: Path) -> None:
    write_csv(tmp_path / "2026-11-03.csv", pd.DataFrame({"x": [1]}))
    other = write_csv(tmp_path / "2026-11-04.csv", pd.DataFrame({"x": [2]}))
    connector = FileConnector(str(tmp_path / "{start:%Y-%m-%d}.csv"))
    before = connector.version(NOV3)
    later = datetime.now(timezone.utc) + timedelta(days=1)
    os.utime(other, (later.timestamp(), later.timestamp()))  # another day's file changes
    assert connector.version(NOV3) == before
    assert connector.version(None) != connector.version(NOV3)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_columns_none_reads_every_column(tmp_path: Path, suffix: str) -> None:
    first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
    extra = sample().assign(extra=[1, 2, 3])
    for path, frame in ((first, sample()), (second, extra)):
        if suffix == "csv":
            write_csv(path, frame)
        elif suffix == "parquet":
            write_parquet(path, frame)
        else:
            write_jsonl(path, frame.to_dict("records"))
    out = FileConnector(str(tmp_path / f"*.{suffix}")).fetch(None, None)
    assert list(out.columns) == ["age", "region", "score", "extra"]
    assert len(out) == 6
    assert out["extra"].isna().sum() == 3
