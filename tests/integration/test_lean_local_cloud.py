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
    # every TransactWriteItems (the archive chain's) ran without moto's table copies
    assert runs[False]["local_cloud"]["transactions"] == {}
    transactions = runs[True]["local_cloud"]["transactions"]
    assert transactions.get("without_copies", 0) >= runs[True]["archive_objects"] > 0
    assert "copied_by_moto" not in transactions


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


SIZED: list[dict[str, Any]] = [
    {"N": "-12.500"},
    {"S": "état 催收"},
    {"B": b"\x00\xffchain"},
    {"B": "AP9jaGFpbg=="},
    {"BOOL": False},
    {"NULL": True},
    {"SS": ["p", "qé"]},
    {"NS": ["1", "2.25"]},
    {"BS": [b"\x01", "AQ=="]},
    {"L": [{"S": "x"}, {"N": "7"}, {"M": {"deep": {"L": [{"BOOL": True}, {"SS": ["a"]}]}}}]},
    {"M": {"name": {"S": "n"}, "ns": {"NS": ["3"]}, "nested": {"M": {"k": {"N": "10"}}}}},
    {"M": {}},
    {"L": []},
]


def test_attribute_size_is_moto_size_for_every_type() -> None:
    from localcloud.lean import attribute_size

    for wire in SIZED:
        attribute = DynamoType(wire)
        assert attribute_size(attribute) == attribute.size(), wire
    # a map whose values moto left as wire dicts (an update's executor can) is measured the same way
    raw = DynamoType({"M": {}})
    raw.value = {"k": {"S": "abc"}, "n": {"N": "12"}}
    assert attribute_size(raw) == raw.size() == 1 + 3 + 1 + 2


def test_item_init_builds_moto_item_and_refuses_what_moto_refuses() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    from localcloud.lean import ITEM_SIZE_LIMIT, item_init

    attrs = {f"a{i}": wire for i, wire in enumerate(SIZED)}
    key = DynamoType({"S": "k"})
    expected = Item(key, None, attrs)
    built: Any = Item.__new__(Item)
    item_init(built, key, None, attrs)
    assert type(built.attrs) is LimitedSizeDict
    assert built == expected
    assert built.to_json() == expected.to_json()
    assert built.size() == expected.size()
    # The limit: one byte over (name "big" = 3 bytes) is refused by both, at the limit accepted by both.
    for size, refused in ((ITEM_SIZE_LIMIT - 3, False), (ITEM_SIZE_LIMIT - 2, True)):
        big = {"big": {"S": "x" * size}}
        outcomes = []
        for build in (Item, lambda *args: item_init(Item.__new__(Item), *args)):
            try:
                build(key, None, big)
                outcomes.append(False)
            except ItemSizeTooLarge:
                outcomes.append(True)
        assert outcomes == [refused, refused], size


def test_method_names_and_random_strings_match_moto() -> None:
    import string

    from moto.core.utils import method_names_from_class as moto_method_names
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_api._internal import mock_random

    from localcloud.lean import method_names_from_class, random_string

    names = method_names_from_class(DynamoHandler)
    assert names == frozenset(moto_method_names(DynamoHandler))
    assert {"query", "scan", "transact_write_items"} <= names
    assert method_names_from_class(DynamoHandler) is names  # computed once per class
    for length, digits, lower in ((52, True, False), (185, False, True), (0, True, False)):
        drawn = random_string(mock_random, length, digits, lower)
        allowed = (string.ascii_lowercase if lower else string.ascii_letters) + (
            string.digits if digits else ""
        )
        assert len(drawn) == length
        assert set(drawn) <= set(allowed)
