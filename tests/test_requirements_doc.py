"""docs/requirements.md is the reference for the requirement numbers the code and tests cite.

Every number cited under driftwatch/, tests/ and bench/ has an entry there, every test an entry
names exists, and nothing points at rules kept outside the repository. Text only: nothing here
imports driftwatch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "requirements.md"
SCANNED = ("driftwatch", "tests", "bench")

#: A citation: a capital R and one or two digits, with no letter or digit on either side
#: (``R26``, ``(R31)``, ``R39-bad-url``, ``test_R16_R17``; not ``PAR1`` or ``R2D2``), optionally
#: a range to a second one (``R9–R12``, ``R1-R3``), which cites every number in between.
CITATION = re.compile(r"(?<![A-Za-z0-9])R(\d{1,2})(?![A-Za-z0-9])(?:\s*[–-]\s*R(\d{1,2})(?![A-Za-z0-9]))?")
#: Test names also cite in lower case (``test_r13_...``, ``..._an_r33_index``). Lower case is
#: only read inside test names: elsewhere ``_r2`` is the R² metric.
TEST_NAME = re.compile(r"\bdef (test_\w+)")
TEST_NAME_PART = re.compile(r"(?<![A-Za-z0-9])[rR](\d{1,2})(?![A-Za-z0-9])")

#: Text that looks like a citation and is not one, per file. Each must still match something,
#: so an exclusion that no longer applies is noticed and removed.
NOT_CITATIONS: dict[str, re.Pattern[str]] = {
    # the runners' owner names (R and a digit) in test_racing_runners_take_over_an_expired_claim_exactly_once
    "tests/test_scheduler.py": re.compile(r'"R\d"|f"R\{k\}"'),
}

#: Pointers to pages that live beside the project, not in it. Spelled in pieces so that this
#: file does not match itself.
OUTSIDE = ("../" + "shared/", "OPS-" + "REQUIREMENTS", "DESIGN" + ".md", "STYLE" + ".md")

#: A test named in the doc: ``tests/path/test_x.py::test_name``.
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
#: An entry of the doc.
HEADING = re.compile(r"^### R(\d+)\. \S", re.MULTILINE)


def scanned_files() -> Iterator[tuple[str, str]]:
    """(path relative to the repository, text) of every text file under driftwatch/, tests/, bench/."""
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # data files (Parquet, pickles) cite nothing
            yield path.relative_to(ROOT).as_posix(), text


def citations(text: str) -> set[int]:
    """The requirement numbers ``text`` cites."""
    found: set[int] = set()
    for match in CITATION.finditer(text):
        first = int(match[1])
        last = int(match[2]) if match[2] else first
        found.update(range(first, max(first, last) + 1))
    for name in TEST_NAME.findall(text):
        found.update(int(n) for n in TEST_NAME_PART.findall(name))
    return found


def cited() -> dict[int, list[str]]:
    """Each cited number and the files that cite it."""
    where: dict[int, list[str]] = {}
    for name, text in scanned_files():
        excluded = NOT_CITATIONS.get(name)
        if excluded is not None:
            text, count = excluded.subn("", text)
            assert count, f"{name}: the exclusion {excluded.pattern!r} matches nothing any more; remove it"
        for number in citations(text):
            where.setdefault(number, []).append(name)
    return where


def entries() -> list[int]:
    return [int(n) for n in HEADING.findall(DOC.read_text(encoding="utf-8"))]


def sections() -> dict[int, str]:
    """Each entry's number and its text up to the next heading."""
    text = DOC.read_text(encoding="utf-8")
    heads = list(HEADING.finditer(text))
    return {int(h[1]): text[h.start():(heads[i + 1].start() if i + 1 < len(heads) else len(text))]
            for i, h in enumerate(heads)}


@pytest.mark.parametrize(("text", "numbers"), [
    ("the claim (R26, R27)", {26, 27}),
    ("signing (R9–R12)", {9, 10, 11, 12}),
    ("One alert (R1-R3)", {1, 2, 3}),
    ("# -- R16/R17/R11: retries", {11, 16, 17}),
    ('("R39-unknown-route-channel", ...)', {39}),
    ("def test_R16_R17_R11_500_is_three_attempts(", {11, 16, 17}),
    ("def test_results_queries_search_an_r33_index(", {33}),
    ('b"PAR1 not parquet", R2D2, VAR10, def _r2(labels), r2 = 1', set()),
])
def test_the_citation_pattern(text: str, numbers: set[int]) -> None:
    assert citations(text) == numbers


def test_every_cited_requirement_has_an_entry() -> None:
    documented = set(entries())
    missing = {n: files for n, files in sorted(cited().items()) if n not in documented}
    assert not missing, "cited but not in docs/requirements.md: " + "; ".join(
        f"R{n} in {', '.join(files)}" for n, files in missing.items())


def test_entries_are_unique_in_number_order_and_each_names_a_test() -> None:
    malformed = [line for line in DOC.read_text(encoding="utf-8").splitlines()
                 if line.startswith("### ") and not HEADING.match(line)]
    assert not malformed, f"entry headings read '### R<n>. Title': {malformed}"
    numbers = entries()
    assert numbers and numbers == sorted(set(numbers)), numbers
    untested = [n for n, text in sections().items() if not TEST_REFERENCE.search(text)]
    assert not untested, f"entries naming no test: {untested}"


def test_every_test_named_in_the_doc_exists() -> None:
    references = TEST_REFERENCE.findall(DOC.read_text(encoding="utf-8"))
    assert references
    missing = []
    for path, name in references:
        file = ROOT / path
        if not file.is_file() or not re.search(rf"^(?:async )?def {name}\(", file.read_text(encoding="utf-8"),
                                                re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert not missing, "named in docs/requirements.md but not found: " + ", ".join(missing)


def test_nothing_points_at_rules_outside_the_repository() -> None:
    found = [f"{name}:{number}: {needle}"
             for name, text in scanned_files()
             for number, line in enumerate(text.splitlines(), 1)
             for needle in OUTSIDE if needle in line]
    assert not found, "point to docs/requirements.md or docs/architecture.md instead:\n" + "\n".join(found)
