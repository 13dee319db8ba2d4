"""The sweep-deadline check on moto: SweepLate is 1 while the day's run is unfinished, 0 once it is."""

from __future__ import annotations

import io
import json
from datetime import date

import boto3
import pytest

from arrears.adapters.container import Container
from arrears.config.settings import load_settings
from localcloud.cloud import LocalCloud
from localcloud.stack import LocalStack
from tests.integration.conftest import CloudFactory, borrower_for, cn_cash_loan, register, utc

SWEEP = "SweepFunction"
CHECK = "SweepDeadlineFunction"


def sweep_late_values(cloud: LocalCloud) -> list[int]:
    """The SweepLate values the check printed as EMF, in order (dimension service=sweep-deadline)."""
    assert isinstance(cloud.log, io.StringIO)
    values: list[int] = []
    for line in cloud.log.getvalue().splitlines():
        if line.startswith("{") and '"SweepLate"' in line:
            document = json.loads(line)
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == "Arrears"
            assert directive["Dimensions"] == [["service"]]
            assert document["service"] == "sweep-deadline"
            values.extend(int(value) for value in document["SweepLate"])  # Powertools writes a list
    return values


@pytest.fixture
def cloud(stack: LocalStack, make_cloud: CloudFactory) -> LocalCloud:
    """A book of three loans due on 1 March, on a cloud at noon of 2 March (Shanghai evening)."""
    container = Container(load_settings(stack.functions[CHECK].environment), boto3.session.Session())
    cloud = make_cloud(utc(2026, 2, 20), log=io.StringIO())
    for n in range(3):
        loan = cn_cash_loan(f"L-DL-{n}", due=date(2026, 3, 1), principal=100_000)
        register(container, loan, borrower_for(loan), cloud.clock)
    cloud.settle()
    return cloud


def test_the_check_fires_from_the_deadline_to_midnight_every_quarter_hour_in_shanghai(
    cloud: LocalCloud,
) -> None:
    firings = list(cloud.schedule_of(CHECK).firings(utc(2026, 3, 2, 16), utc(2026, 3, 3, 16)))

    # 06:00 to 23:45 Shanghai on 3 March = 22:00 UTC on 2 March to 15:45 UTC on 3 March
    assert len(firings) == 18 * 4
    assert (firings[0], firings[-1]) == (utc(2026, 3, 2, 22), utc(2026, 3, 3, 15, 45))


def test_unfinished_at_the_deadline_is_late_until_the_run_completes(cloud: LocalCloud) -> None:
    # Given the 00:30 sweep of 3 March did not run (say its schedule was disabled)
    # When the check runs at 06:00 Shanghai
    cloud.advance_to(utc(2026, 3, 2, 22))
    first = cloud.schedule(CHECK)

    # Then the run of 3 March is late, and the log says how far it got
    assert first["business_date"] == "2026-03-03"
    assert (first["completed"], first["shards_done"], first["shard_count"]) == (False, 0, 16)
    assert sweep_late_values(cloud) == [1]
    assert isinstance(cloud.log, io.StringIO)
    warnings = [json.loads(line) for line in cloud.log.getvalue().splitlines() if '"level":"WARNING"' in line]
    assert [w["message"] for w in warnings] == ["sweep not finished by the deadline"]

    # When the operator re-runs it at 06:05 (the scheduled time of the re-run is its business time)
    cloud.advance_to(utc(2026, 3, 2, 22, 5))
    cloud.schedule(SWEEP)
    cloud.advance_to(utc(2026, 3, 2, 22, 15))
    second = cloud.schedule(CHECK)

    # Then the next check finds it completed and the alarm's metric returns to 0
    assert second["completed"] is True
    assert second["shards_done"] == second["shard_count"] == 16
    assert sweep_late_values(cloud) == [1, 0]


def test_a_sweep_finished_before_the_deadline_is_never_late(cloud: LocalCloud) -> None:
    cloud.advance_to(utc(2026, 3, 2, 16, 30))  # 00:30 Shanghai, 3 March
    cloud.schedule(SWEEP)
    cloud.advance_to(utc(2026, 3, 2, 22))
    assert cloud.schedule(CHECK)["completed"] is True
    # The next day's run (4 March) is judged on its own: not yet swept at 06:00 on 4 March
    cloud.advance_to(utc(2026, 3, 3, 22))
    assert cloud.schedule(CHECK)["business_date"] == "2026-03-04"
    assert sweep_late_values(cloud) == [0, 1]
