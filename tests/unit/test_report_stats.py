"""Wilson intervals, the two-proportion z-test and the minimum detectable effect, against known values."""

from __future__ import annotations

import pytest

from arrears_report.stats import minimum_detectable_effect, two_proportion_z, wilson


def test_wilson_interval_matches_the_published_values() -> None:
    # Brown, Cai & DasGupta (2001) / any table: 8 of 10 at 95 % -> [0.4902, 0.9433]
    interval = wilson(8, 10)
    assert interval.rate == 0.8
    assert interval.low == pytest.approx(0.4902, abs=1e-4)
    assert interval.high == pytest.approx(0.9433, abs=1e-4)
    # 0 of 20 -> [0, 0.1611]: never a negative bound
    nothing = wilson(0, 20)
    assert nothing.low == 0.0
    assert nothing.high == pytest.approx(0.1611, abs=1e-4)
    assert (wilson(0, 0).low, wilson(0, 0).high) == (0.0, 1.0)
    with pytest.raises(ValueError, match="3 successes of 2 trials"):
        wilson(3, 2)


def test_two_proportion_z_test_by_hand() -> None:
    # 30/100 vs 45/100: pooled 0.375, se = sqrt(.375*.625*.02) = 0.068465, z = 0.15/0.068465 = 2.1909
    result = two_proportion_z(wilson(30, 100), wilson(45, 100))
    assert result.difference == pytest.approx(0.15)
    assert result.z == pytest.approx(2.1909, abs=1e-4)
    assert result.p_value == pytest.approx(0.02846, abs=1e-4)
    assert result.significant
    same = two_proportion_z(wilson(30, 100), wilson(32, 100))
    assert not same.significant
    assert two_proportion_z(wilson(0, 0), wilson(3, 10)).p_value == 1.0


def test_minimum_detectable_effect() -> None:
    # (1.95996 + 0.84162) * sqrt(0.25 * 0.75 * (2/1000)) = 2.80158 * 0.0193649 = 0.054253
    assert minimum_detectable_effect(1000, 1000, 0.25) == pytest.approx(0.054253, abs=1e-5)
    assert minimum_detectable_effect(0, 10, 0.2) is None
    # 4 times the loans halve the effect one can detect
    assert minimum_detectable_effect(4000, 4000, 0.25) == pytest.approx(0.054253 / 2, abs=1e-5)


def test_sms_parts_follow_gsm_and_ucs2_lengths() -> None:
    from localcloud.requests import sms_parts

    assert sms_parts("a" * 160) == 1
    assert sms_parts("a" * 161) == 2  # 153 per part once concatenated
    assert sms_parts("a" * 306) == 2
    assert sms_parts("a" * 307) == 3
    assert sms_parts("{" * 80) == 1  # extension characters count two
    assert sms_parts("{" * 81) == 2
    assert sms_parts("还款提醒" * 17 + "还款") == 1  # 70 UCS-2 characters
    assert sms_parts("还" * 71) == 2  # 67 per part
