"""The lean local cloud (localcloud.lean) changes the demo's cost, never its outcome: the same book and
seed run with moto as it comes and lean give the same summary.json (but for wall-clock time and the
lean cloud's own bookkeeping) and archives of the same objects and records, binary attributes of the
archive chain included; the lean run drops the stream records every consumer has read."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType

from localcloud.lean import archive_layout, differences, regular_json, without_timings
from localcloud.simulation import run_demo

LOANS, DAYS, SEED, START = 8, 6, 7, date(2026, 3, 1)
WALL_CLOCK_DEPENDENT = ("outcomes.aws_requests.", "outcomes.cost.")


def test_lean_and_generic_runs_give_the_same_summary_and_archive(tmp_path: Path) -> None:
    runs: dict[bool, dict[str, Any]] = {}
    for lean in (False, True):
        runs[lean] = run_demo(
            out=tmp_path / str(lean), loans=LOANS, days=DAYS, seed=SEED, start=START, lean=lean
        )

    differ = differences(without_timings(runs[False]), without_timings(runs[True]))
    # Powertools' parameter cache expires by the wall clock: how often the handlers re-read SSM (and
    # what those reads cost) depends on how fast the run goes, lean or not, in any two runs.
    assert [path for path in differ if not path.startswith(WALL_CLOCK_DEPENDENT)] == []
    assert runs[True]["archive_objects"] > 0  # the chain's binary hashes went through both paths
    layout = archive_layout(tmp_path / "True" / "archive")
    assert layout == archive_layout(tmp_path / "False" / "archive")
    assert sum(records for _, records in layout) == runs[True]["records_archived"] > 0
    generic, lean_streams = (
        runs[False]["local_cloud"]["stream_records"],
        runs[True]["local_cloud"]["stream_records"],
    )
    assert generic["written"] == lean_streams["written"] > 0
    assert generic["dropped"] == 0
    assert generic["held"] == generic["written"]
    assert lean_streams["dropped"] > 0
    assert lean_streams["held"] + lean_streams["dropped"] == lean_streams["written"]


def test_regular_json_is_moto_to_regular_json_without_the_copy() -> None:
    wire = {
        "M": {
            "hash": {"B": "AP9jaGFpbg=="},
            "list": {"L": [{"S": "x"}, {"M": {"n": {"N": "1.5"}, "b": {"BOOL": True}}}, {"NULL": True}]},
            "sets": {"M": {"ss": {"SS": ["p", "q"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AQ=="]}}},
        }
    }
    attribute = DynamoType(wire)
    expected = attribute.to_regular_json()
    rebuilt = regular_json(attribute)
    assert rebuilt == expected
    rebuilt["M"]["list"]["L"][1]["M"]["n"]["N"] = "9"  # a copy: moto's item is untouched
    assert attribute.to_regular_json() == expected
