"""Hostile book file contents, parsed: 10,000 bad rows (spoiled rows of every kind, junk lines, unclosed
quotes, text that is not a row) in CSV and JSON Lines files. Every row read is rejected with its line
in the problems (the import's error report), none is loaded, and no problem quotes a value.

The import function's own fuzz (test_fuzz_handlers.test_book_import) sends a hundred such files through
S3 and EventBridge; this one puts the parser under the full count at a fraction of the cost.
"""

from __future__ import annotations

import pytest

from arrears.events.book_file import parse_book
from tests.fuzz import events
from tests.fuzz.corpus import CANARY, Fuzz

pytestmark = pytest.mark.unit

ROWS = 10_000


def test_every_hostile_row_is_rejected_with_its_line_and_none_is_loaded() -> None:
    fz, rows, files = Fuzz(16), 0, 0
    while rows < ROWS:
        key, body = events.book_file(fz, files)
        files += 1
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            continue  # refused whole by the import function (test_fuzz_handlers.test_book_import)
        records = parse_book(text, key)
        rows += records.rows_read
        assert (records.borrowers, records.loans, records.payments) == ([], [], []), key
        assert len({problem.line for problem in records.problems}) == records.rows_read, key
        for problem in records.problems:
            assert CANARY not in str(problem.as_json())
    assert files >= 100
