"""Behavioural risk: points per feature with reasons, bands, and the score stored on the loan."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.domain.loans import Instalment, Loan
from arrears.domain.risk import band_for, rescore, score

ON = date(2026, 7, 1)


def _loan(instalments: tuple[Instalment, ...], dpd: int = 0, **changes: object) -> Loan:
    loan = Loan(
        "L",
        "B",
        "CN",
        "CNY",
        sum(i.principal_due for i in instalments),
        date(2026, 1, 1),
        instalments,
        0,
        0,
        dpd=dpd,
    )
    return loan.with_changes(**changes)


def _paid(seq: int, due: date, settled: date) -> Instalment:
    return Instalment(seq, due, 100, 10, principal_paid=100, interest_paid=10, settled_on=settled)


def _open(seq: int, due: date, paid: int = 0) -> Instalment:
    return Instalment(seq, due, 100, 10, principal_paid=paid)


GOOD = (
    _paid(1, date(2026, 2, 1), date(2026, 2, 1)),
    _paid(2, date(2026, 3, 1), date(2026, 2, 28)),
    _open(3, date(2026, 8, 1)),
)
LATE = (
    _paid(1, date(2026, 2, 1), date(2026, 3, 15)),
    _open(2, date(2026, 3, 1), paid=40),
    _open(3, date(2026, 4, 1)),
)


@pytest.mark.parametrize(
    ("instalments", "dpd", "changes", "feature", "value", "points"),
    [
        (GOOD, 0, {}, "max_dpd", 0, 0),
        (LATE, 122, {}, "max_dpd", 122, 35),
        (GOOD, 5, {}, "max_dpd", 5, 10),
        (GOOD, 10, {}, "max_dpd", 10, 20),
        (GOOD, 0, {}, "on_time_pct", 100, 0),
        (LATE, 122, {}, "on_time_pct", 0, 20),
        ((_open(1, date(2026, 8, 1)),), 0, {}, "on_time_pct", 100, 20),  # thin file: MEDIUM
        (GOOD, 0, {}, "days_since_payment", 123, 0),  # not overdue: no points
        (LATE, 122, {}, "days_since_payment", 108, 20),
        (LATE, 122, {}, "partial_payments", 1, 5),
        (GOOD, 0, {"broken_promises": 1}, "broken_promises", 1, 15),
        (GOOD, 0, {"broken_promises": 4}, "broken_promises", 4, 30),
        (GOOD, 0, {"unanswered_contacts": 1}, "unanswered_contacts", 1, 0),
        (GOOD, 0, {"unanswered_contacts": 3}, "unanswered_contacts", 3, 5),
        (GOOD, 0, {"unanswered_contacts": 9}, "unanswered_contacts", 9, 15),
    ],
)
def test_feature_points(
    instalments: tuple[Instalment, ...],
    dpd: int,
    changes: dict[str, object],
    feature: str,
    value: int,
    points: int,
) -> None:
    found = {f.name: f for f in score(_loan(instalments, dpd, **changes), ON).features}
    assert (found[feature].value, found[feature].points) == (value, points)
    assert found[feature].reason


@pytest.mark.parametrize(
    ("total", "band"), [(0, "LOW"), (19, "LOW"), (20, "MEDIUM"), (49, "MEDIUM"), (50, "HIGH")]
)
def test_bands(total: int, band: str) -> None:
    assert band_for(total) == band


def test_good_payers_are_low_and_late_ones_high_and_the_score_explains_itself() -> None:
    good, late = score(_loan(GOOD), ON), score(_loan(LATE, 122), ON)
    assert (good.band, late.band) == ("LOW", "HIGH")
    assert late.score == sum(f.points for f in late.features)
    features = late.as_dict()["features"]
    assert isinstance(features, list)
    assert features[0] == {
        "name": "max_dpd",
        "value": 122,
        "points": 35,
        "reason": "worst days past due",
    }
    assert score(_loan(LATE, 122), ON) == late  # pure
    assert score(_loan((_open(1, date(2026, 8, 1)),)), ON).band == "MEDIUM"  # unknown is not good


def test_rescore_stores_score_band_and_features() -> None:
    stored = rescore(_loan(LATE, 122), ON)
    assert stored.risk_band == "HIGH"
    assert stored.risk_score == score(_loan(LATE, 122), ON).score
    assert ("max_dpd", 122, 35) in stored.risk_features
