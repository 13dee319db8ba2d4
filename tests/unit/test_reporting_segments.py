"""The reporting export split by Scan segment: sizing, the plan, the tasks' wire form, a segment's parts,
its continuation and the completion (arrears.usecases.reporting_export), over in-memory ports."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from arrears.adapters.items import MalformedItem
from arrears.usecases.reporting_export import (
    MAX_SEGMENTS,
    ExportPlan,
    SegmentMarker,
    SegmentTask,
    completion_counts,
    export_segment,
    parse_segment_task,
    plan_export,
    segments_for,
)

SNAPSHOT = date(2026, 3, 20)
AT = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)
RUN = "2026-03-20T04:00:00Z"


class Source:
    """`segments` Scan segments over `histories` (one per loan id), pages of `limit` items in key order;
    a segment holds the items whose number modulo `segments` is the segment."""

    def __init__(self, histories: list[dict[str, Any]]) -> None:
        self.histories = histories
        self.pages = 0

    def history_page(
        self, segment: int, segments: int, start_key: Mapping[str, Any] | None, limit: int
    ) -> tuple[Sequence[Mapping[str, Any]], dict[str, Any] | None]:
        self.pages += 1
        mine = [h for n, h in enumerate(self.histories) if n % segments == segment]
        after = [h for h in mine if start_key is None or h["loan_id"] > start_key["loan_id"]]
        page = after[:limit]
        more = len(after) > limit
        return page, {"loan_id": page[-1]["loan_id"]} if more else None

    def loan_page(self, *args: Any) -> Any:
        raise AssertionError("these tests export transitions only")


class Sink:
    """The bucket as dicts: plan, parts by (table, segment, number), markers, completion writes."""

    def __init__(self) -> None:
        self.plan: dict[str, Any] | None = None
        self.parts: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
        self.markers: dict[tuple[str, int], dict[str, Any]] = {}
        self.completions: list[dict[str, Any]] = []
        self.progress: dict[tuple[str, int], dict[str, Any]] = {}
        self.began = 0

    def read_plan(self, snapshot: date) -> Mapping[str, Any] | None:
        return self.plan

    def begin_run(self, snapshot: date, plan: Mapping[str, Any], segments: int) -> int:
        self.began += 1
        self.completions.clear()
        self.plan = dict(plan)
        self.markers.clear()
        self.progress.clear()
        outside = [key for key in self.parts if key[1] >= segments]
        for key in outside:
            del self.parts[key]
        return len(outside)

    def write_part(self, table: str, snapshot: date, segment: int, number: int, rows: list[Any]) -> None:
        self.parts[(table, segment, number)] = list(rows)

    def drop_parts_from(self, table: str, snapshot: date, segment: int, number: int) -> int:
        stale = [k for k in self.parts if k[0] == table and k[1] == segment and k[2] >= number]
        for key in stale:
            del self.parts[key]
        return len(stale)

    def mark_segment(self, snapshot: date, table: str, segment: int, marker: Mapping[str, Any]) -> None:
        self.markers[(table, segment)] = dict(marker)

    def segment_markers(self, snapshot: date) -> list[Mapping[str, Any]]:
        return list(self.markers.values())

    def read_progress(self, snapshot: date, table: str, segment: int) -> Mapping[str, Any] | None:
        return self.progress.get((table, segment))

    def write_progress(self, snapshot: date, table: str, segment: int, progress: Mapping[str, Any]) -> None:
        self.progress[(table, segment)] = dict(progress)

    def complete_once(self, snapshot: date, counts: Mapping[str, Any], writer: str) -> bool:
        if self.completions:
            return False
        self.completions.append(dict(counts))
        return True


class Queue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, bodies: Sequence[Mapping[str, Any]]) -> int:
        self.sent.extend(json.loads(json.dumps(dict(b))) for b in bodies)  # as the wire carries them
        return len(bodies)


def history(n: int, transitions: int = 2) -> dict[str, Any]:
    return {
        "loan_id": f"L-{n:03d}",
        "jurisdiction": "CN",
        "strategy_arm": "champion",
        "disbursed_on": "2026-01-01",
        "transitions": [
            {
                "on": f"2026-02-0{v + 1}",
                "from_state": None if v == 0 else "M0",
                "to_state": f"M{v}",
                "dpd": v,
                "version": v + 1,
            }
            for v in range(transitions)
        ],
    }


def planned(segments: int, tables: tuple[str, ...] = ("transitions",)) -> Sink:
    sink = Sink()
    sink.plan = ExportPlan(SNAPSHOT, RUN, segments, tables).to_body()
    return sink


def run_all(sink: Sink, source: Source, queue: Queue, tasks: list[SegmentTask], **options: Any) -> int:
    """Run the tasks and every continuation they re-queue; how many invocations it took."""
    pending, invocations = list(tasks), 0
    while pending:
        task = pending.pop(0)
        before = len(queue.sent)
        export_segment(task, source, sink, queue, **options)
        invocations += 1
        pending.extend(parse_segment_task(json.dumps(body)) for body in queue.sent[before:])
    return invocations


def rows_of(sink: Sink) -> list[tuple[str, int]]:
    return sorted((row["loan_id"], row["version"]) for rows in sink.parts.values() for row in rows)


# -- sizing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loans", "per_segment", "segments"),
    [
        (0, 250_000, 1),
        (1, 250_000, 1),
        (250_000, 250_000, 1),
        (250_001, 250_000, 2),
        (10_000_000, 250_000, 40),
        (200, 64, 4),
        (10**12, 1, MAX_SEGMENTS),
    ],
)
def test_segments_are_the_book_over_the_loans_per_segment_rounded_up_within_1_and_the_maximum(
    loans: int, per_segment: int, segments: int
) -> None:
    assert segments_for(loans, per_segment) == segments


def test_a_segment_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        segments_for(10, 0)


# -- the wire ----------------------------------------------------------------------------------------


def test_a_task_and_its_continuation_cross_the_queue_unchanged() -> None:
    task = SegmentTask(SNAPSHOT, RUN, "loans", 2, 4)
    assert task.to_body() == {
        "snapshot": "2026-03-20",
        "run": RUN,
        "table": "loans",
        "segment": 2,
        "segments": 4,
    }
    rest = task.continued({"loan_id": "L-9"}, part=3, rows=120)
    assert parse_segment_task(json.dumps(rest.to_body())) == rest
    assert (rest.part, rest.rows, rest.invocation) == (3, 120, 2)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "not JSON"),
        ("[1]", "not an object"),
        ({"run": RUN, "table": "loans", "segment": 0, "segments": 1}, "'snapshot'"),
        (
            {"snapshot": "20 March", "run": RUN, "table": "loans", "segment": 0, "segments": 1},
            "snapshot must",
        ),
        (
            {"snapshot": "2026-03-20", "run": "soon", "table": "loans", "segment": 0, "segments": 1},
            "run must",
        ),
        (
            {"snapshot": "2026-03-20", "run": RUN, "table": "borrowers", "segment": 0, "segments": 1},
            "table must",
        ),
        (
            {"snapshot": "2026-03-20", "run": RUN, "table": "loans", "segment": 4, "segments": 4},
            "segment must",
        ),
        (
            {"snapshot": "2026-03-20", "run": RUN, "table": "loans", "segment": 0, "segments": 0},
            "segments must",
        ),
        (
            {"snapshot": "2026-03-20", "run": RUN, "table": "loans", "segment": True, "segments": 2},
            "segment must",
        ),
        (
            {
                "snapshot": "2026-03-20",
                "run": RUN,
                "table": "loans",
                "segment": 0,
                "segments": 1,
                "start_key": [1],
            },
            "start_key must",
        ),
        (
            {"snapshot": "2026-03-20", "run": RUN, "table": "loans", "segment": 0, "segments": 1, "part": -1},
            "part must",
        ),
    ],
)
def test_a_malformed_task_is_refused_naming_its_field_never_its_value(body: Any, problem: str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(MalformedItem, match=problem) as refused:
        parse_segment_task(text)
    assert "borrowers" not in str(refused.value)
    assert "20 March" not in str(refused.value)


# -- the plan ----------------------------------------------------------------------------------------


def test_a_new_run_begins_afresh_and_a_retried_schedule_resends_its_own_plan() -> None:
    sink, queue = Sink(), Queue()
    first = plan_export(SNAPSHOT, AT, 600, sink, queue, loans_per_segment=200)
    assert (first.new_run, first.plan.segments, first.tasks_sent, sink.began) == (True, 3, 6, 1)
    assert [(b["table"], b["segment"]) for b in queue.sent] == [
        ("loans", 0),
        ("loans", 1),
        ("loans", 2),
        ("transitions", 0),
        ("transitions", 1),
        ("transitions", 2),
    ]
    # The same schedule retried: its plan is found (even if the book grew meanwhile), nothing reset.
    again = plan_export(SNAPSHOT, AT, 5_000, sink, queue, loans_per_segment=200)
    assert (again.new_run, again.plan, sink.began, len(queue.sent)) == (False, first.plan, 1, 12)
    # An operator's re-run at another time: a new run, sized from the book as it is now.
    later = plan_export(SNAPSHOT, AT.replace(hour=9), 5_000, sink, queue, loans_per_segment=200)
    assert (later.new_run, later.plan.segments, later.plan.run, sink.began) == (
        True,
        25,
        "2026-03-20T09:00:00Z",
        2,
    )


# -- a segment ---------------------------------------------------------------------------------------


def test_four_segments_write_exactly_the_rows_of_one_and_the_last_completes_the_snapshot_once() -> None:
    source = Source([history(n) for n in range(11)])
    one, queue = planned(1), Queue()
    run_all(one, source, queue, ExportPlan(SNAPSHOT, RUN, 1, ("transitions",)).tasks(), part_items=3)
    four = planned(4)
    tasks = ExportPlan(SNAPSHOT, RUN, 4, ("transitions",)).tasks()
    for task in tasks[:3]:
        export_segment(task, source, four, queue, part_items=3)
        assert four.completions == []  # not before the last segment
    outcome = export_segment(tasks[3], source, four, queue, part_items=3)
    assert rows_of(four) == rows_of(one) == sorted((f"L-{n:03d}", v) for n in range(11) for v in (1, 2))
    assert outcome.completed
    assert four.completions == [
        {
            "run": RUN,
            "segments": 4,
            "rows": {"transitions": 22},
            "parts": {"transitions": 4},  # segments of 3, 3, 3 and 2 histories: one part of 3 items each
            "invocations": 4,
            "stale_parts_removed": 0,
        }
    ]
    # A segment redelivered once it is done is dropped: the same parts, no second completion.
    parts = dict(four.parts)
    again = export_segment(tasks[1], source, four, queue, part_items=3)
    assert four.parts == parts
    assert not again.completed
    assert len(four.completions) == 1


def test_a_segment_short_of_time_requeues_its_rest_and_writes_the_parts_it_would_have_written_at_once() -> (
    None
):
    source = Source([history(n, transitions=1) for n in range(10)])
    at_once, queue = planned(1), Queue()
    assert (
        run_all(at_once, source, queue, ExportPlan(SNAPSHOT, RUN, 1, ("transitions",)).tasks(), part_items=4)
        == 1
    )
    short = planned(1)
    invocations = run_all(
        short,
        source,
        queue,
        ExportPlan(SNAPSHOT, RUN, 1, ("transitions",)).tasks(),
        part_items=4,
        has_time_left=lambda: False,
    )
    assert invocations == 3  # parts of 4, 4 and 2 items: one part an invocation
    assert short.parts == at_once.parts
    continuation = queue.sent[-1]
    assert continuation["start_key"] == {"loan_id": "L-007"}
    assert (continuation["part"], continuation["rows"], continuation["invocation"]) == (2, 8, 3)
    assert short.markers[("transitions", 0)]["invocations"] == 3
    assert short.completions[0]["rows"] == {"transitions": 10}


class LosingQueue(Queue):
    """A queue whose every `lose`-th send is applied and its answer lost (a read timeout): the
    sender's retry queues a second copy."""

    def __init__(self, lose: int) -> None:
        super().__init__()
        self.lose, self.calls = lose, 0

    def send(self, bodies: Sequence[Mapping[str, Any]]) -> int:
        self.calls += 1
        sent = super().send(bodies)
        if self.calls % self.lose == 0:
            raise ReadTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com")
        return sent


def test_a_continuation_sent_twice_or_a_task_redelivered_after_continuing_is_followed_once() -> None:
    source = Source([history(n, transitions=1) for n in range(10)])
    tasks = ExportPlan(SNAPSHOT, RUN, 1, ("transitions",)).tasks()
    reference, queue = planned(1), Queue()
    run_all(reference, source, queue, tasks, part_items=2, has_time_left=lambda: False)

    # Every second send's answer is lost: its retry queues a second copy of the continuation.
    sink, lossy = planned(1), LosingQueue(lose=2)
    options: dict[str, Any] = {"part_items": 2, "has_time_left": lambda: False}
    pending, outcomes = list(tasks), []
    while pending:
        task = pending.pop(0)
        before = len(lossy.sent)
        outcomes.append(export_segment(task, source, sink, lossy, **options))
        pending.extend(parse_segment_task(json.dumps(body)) for body in lossy.sent[before:])
    # And the first task redelivered once its continuation was sent (its invocation died after).
    outcomes.append(export_segment(tasks[0], source, sink, lossy, **options))

    assert len(lossy.sent) > len(queue.sent)  # copies were queued...
    followed = [o for o in outcomes if not o.duplicate]
    assert len(followed) == 5  # ...but one chain ran: parts of 2, 2, 2, 2 and 2 items
    assert sum(o.duplicate for o in outcomes) == len(lossy.sent) - len(queue.sent) + 1
    assert all(o.items_read == 0 and o.parts_written == 0 for o in outcomes if o.duplicate)
    assert sink.parts == reference.parts
    assert sink.markers == reference.markers
    assert sink.completions == reference.completions


def test_a_task_behind_the_progress_of_another_run_is_not_dropped() -> None:
    sink, queue = planned(1), Queue()
    sink.progress[("transitions", 0)] = {"run": "2026-03-19T04:00:00Z", "part": 5}  # a previous run's
    outcome = export_segment(
        SegmentTask(SNAPSHOT, RUN, "transitions", 0, 1), Source([history(1)]), sink, queue
    )
    assert not outcome.duplicate
    assert outcome.marker is not None


def test_a_rerun_over_a_smaller_segment_removes_the_parts_beyond_its_count() -> None:
    sink, queue = planned(1), Queue()
    sink.parts[("transitions", 0, 7)] = [{"loan_id": "L-GONE", "version": 1}]  # a previous, larger run's
    outcome = export_segment(
        SegmentTask(SNAPSHOT, RUN, "transitions", 0, 1), Source([history(1)]), sink, queue
    )
    assert outcome.marker is not None
    assert outcome.marker.stale_parts_removed == 1
    assert rows_of(sink) == [("L-001", 1), ("L-001", 2)]


def test_a_task_of_a_superseded_run_reads_and_writes_nothing_and_one_without_a_plan_fails() -> None:
    sink, queue, source = planned(2), Queue(), Source([history(1)])
    old = SegmentTask(SNAPSHOT, "2026-03-19T04:00:00Z", "transitions", 0, 2)
    outcome = export_segment(old, source, sink, queue)
    assert outcome.superseded
    assert (source.pages, sink.parts, sink.markers) == (0, {}, {})
    resized = SegmentTask(SNAPSHOT, RUN, "transitions", 0, 3)  # the same run, another plan's count
    assert export_segment(resized, source, sink, queue).superseded
    with pytest.raises(LookupError, match="no plan"):
        export_segment(SegmentTask(SNAPSHOT, RUN, "transitions", 0, 2), source, Sink(), queue)


def test_the_completion_counts_only_the_markers_of_the_plans_run_and_needs_every_segment() -> None:
    plan = ExportPlan(SNAPSHOT, RUN, 2, ("loans", "transitions"))
    mine = [
        SegmentMarker(RUN, t, s, rows=10 * s + 1, parts=1) for t in ("loans", "transitions") for s in (0, 1)
    ]
    assert completion_counts(plan, mine[:3]) is None
    stale = SegmentMarker("2026-03-13T04:00:00Z", "transitions", 1, rows=99, parts=9)
    assert completion_counts(plan, [*mine[:3], stale]) is None
    counts = completion_counts(plan, [*mine, stale])
    assert counts is not None
    assert (counts["rows"], counts["parts"]) == (
        {"loans": 12, "transitions": 12},
        {"loans": 2, "transitions": 2},
    )
