"""The demo's console lines agree with the report: no p-value rounded to zero, the cost's bound said."""

from __future__ import annotations

import pytest

from localcloud.demo import p_value, print_outcomes


@pytest.mark.parametrize(("p", "shown"), [(0.003228, "p = 0.003"), (0.0004, "p < 0.001"), (0.5, "p = 0.500")])
def test_a_p_value_is_never_shown_as_zero(p: float, shown: str) -> None:
    assert p_value(p) == shown


def test_the_cost_line_says_it_is_a_lower_bound_and_what_is_not_priced(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcomes = {
        "per_jurisdiction": {},
        "cost": {"total_usd": 0.821221, "usd_per_1000_loans": 3.8555, "not_priced": ["sms parts to +86"]},
    }
    print_outcomes(outcomes)
    assert capsys.readouterr().out == (
        "cost at list prices: $0.82, $3.86 per 1,000 loans (a lower bound: not priced: sms parts to +86)\n"
    )
