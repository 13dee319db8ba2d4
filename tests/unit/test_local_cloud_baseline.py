"""`benchmarks.local_cloud --baseline`: the baseline run is taken from an earlier results file only
when it is the same book (loans, days, seed, start) and holds the summary and archive to compare."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from benchmarks.local_cloud import compare, earlier_baseline

BOOK = {"loans": 200, "days": 60, "seed": 7, "start": "2026-03-01"}


def _args(**book: object) -> argparse.Namespace:
    return argparse.Namespace(**{**BOOK, **book})


def _run(cpu: float) -> dict[str, object]:
    return {
        "checkpoints": [{"day": 10, "cpu_seconds": cpu / 6, "rss_mib": 1.0, "peak_rss_mib": 1.0}],
        "total": {"cpu_seconds": cpu, "rss_mib": 1.0, "peak_rss_mib": 1.0},
        "summary": {"loans_by_bucket": {"CURRENT": 200}},
        "archive_layout": [["contacts/a.manifest.json", 3]],
    }


def test_the_same_book_gives_its_baseline_run_and_the_ratio(tmp_path: Path) -> None:
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps({"book": BOOK, "runs": {"baseline": _run(400.0), "lean": _run(240.0)}}))
    baseline = earlier_baseline(path, _args())
    figures = compare({"baseline": baseline, "lean": _run(220.0)})
    assert figures["cpu_ratio_lean_to_baseline_total"] == 0.55
    assert figures["identical"] == {"summary": True, "archive": True}


def test_another_book_or_a_file_without_the_summary_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps({"book": BOOK, "runs": {"baseline": _run(400.0)}}))
    with pytest.raises(SystemExit, match="is not this run's"):
        earlier_baseline(path, _args(days=40))
    old = _run(400.0)
    del old["summary"]
    path.write_text(json.dumps({"book": BOOK, "runs": {"baseline": old}}))
    with pytest.raises(SystemExit, match="no baseline summary"):
        earlier_baseline(path, _args())
