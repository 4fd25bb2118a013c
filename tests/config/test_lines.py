"""Best-effort line numbers: table headers, dotted and quoted keys, multi-line strings."""

from __future__ import annotations

from driftwatch.config.problems import KeyLines

TEXT = '''\
# comment = 1
[store]  # where results go
url = "sqlite:///x.db"
[[monitors]]
name = "a"
query = """
fake = 1
[not.a.table]
"""
[[monitors]]
name = "b"
current.type = "file"
"quoted.key" = 2
[[monitors.detectors]]
type = "drift"
[monitors.detectors.columns."my.col"]
method = "psi"
[[monitors.detectors]]
type = "quality"
'''


def test_key_lines() -> None:
    lines = KeyLines(TEXT)
    assert lines.find("store") == 2
    assert lines.find("store.url") == 3
    assert lines.find("monitors[0].query") == 6
    assert lines.find("monitors[0].fake") == 4          # inside a string: falls back to the table
    assert lines.find("not.a.table") is None
    assert lines.find("monitors[1].name") == 11
    assert lines.find("monitors[1].current.type") == 12
    assert lines.find("monitors[1].quoted.key") == 13
    assert lines.find("monitors[1].detectors[0].columns.my.col.method") == 17
    assert lines.find("monitors[1].detectors[1].type") == 19
    assert lines.find("monitors[1].detectors[1].alpha") == 18
    assert lines.find("comment") is None
