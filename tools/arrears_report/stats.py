"""Interval estimates and tests for the per-arm comparisons of the report.

* `wilson`: the Wilson score interval of a proportion (E. B. Wilson, "Probable inference, the law of
  succession, and statistical inference", JASA 22 (1927) 209-212; recommended over the Wald interval by
  Brown, Cai & DasGupta, "Interval estimation for a binomial proportion", Statistical Science 16 (2001)).
* `wilson_bounds`: the same interval for a rate estimated with an effective sample size: a
  Kaplan-Meier estimate with n = F(1-F)/Var(F) (Dorey & Korn, "Effective sample sizes for confidence
  intervals for survival probabilities", Statistics in Medicine 6 (1987) 679-687).
* `two_proportion_z`: the pooled two-proportion z-test (two-sided), as in any statistics text
  (e.g. NIST/SEMATECH e-Handbook of Statistical Methods, 7.3.3).
* `minimum_detectable_effect`: the smallest absolute difference between two proportions a test at
  level `alpha` detects with probability `power`, for the group sizes and a baseline rate (the normal
  approximation of the sample-size formula for two proportions, e.g. Chow, Shao & Wang, "Sample Size
  Calculations in Clinical Research", 4.2).

All functions take counts (integers) and return plain floats; an empty group gives NaN-free results
(`Proportion` of 0/0 has rate 0 and the interval [0, 1]; a test with an empty group has p = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Proportion:
    """`successes` of `trials`, with its Wilson interval [low, high] at `confidence`."""

    successes: int
    trials: int
    low: float
    high: float
    confidence: float = 0.95

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


def wilson(successes: int, trials: int, confidence: float = 0.95) -> Proportion:
    """The Wilson score interval of `successes`/`trials` (0 <= successes <= trials).

    centre = (p + z²/2n) / (1 + z²/n); half-width = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n).
    Raises ValueError for counts out of range.
    """
    if trials < 0 or not 0 <= successes <= max(trials, 0):
        raise ValueError(f"{successes} successes of {trials} trials")
    if trials == 0:
        return Proportion(0, 0, 0.0, 1.0, confidence)
    low, high = wilson_bounds(successes / trials, trials, confidence)
    return Proportion(successes, trials, low, high, confidence)


def wilson_bounds(rate: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score bounds (low, high) of `rate` on `n` trials, `n` a count or an effective
    sample size (> 0; [0, 1] otherwise); a rate of 0 has low 0, a rate of 1 high 1."""
    if n <= 0:
        return 0.0, 1.0
    z = _NORMAL.inv_cdf(1 - (1 - confidence) / 2)
    denominator = 1 + z * z / n
    centre = (rate + z * z / (2 * n)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if rate <= 0 else max(0.0, centre - half)
    high = 1.0 if rate >= 1 else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True, slots=True)
class Comparison:
    """A two-sided test of rate(a) = rate(b): the difference b - a, the z statistic and its p-value."""

    difference: float
    z: float
    p_value: float
    alpha: float = 0.05

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha


def two_proportion_z(a: Proportion, b: Proportion, alpha: float = 0.05) -> Comparison:
    """Pooled two-proportion z-test: z = (p_b - p_a) / sqrt(p(1-p)(1/n_a + 1/n_b)), p pooled."""
    difference = b.rate - a.rate
    if not a.trials or not b.trials:
        return Comparison(difference, 0.0, 1.0, alpha)
    pooled = (a.successes + b.successes) / (a.trials + b.trials)
    variance = pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials)
    if variance == 0:
        return Comparison(difference, 0.0, 1.0, alpha)
    z = difference / math.sqrt(variance)
    return Comparison(difference, z, 2 * (1 - _NORMAL.cdf(abs(z))), alpha)


def minimum_detectable_effect(
    n_a: int, n_b: int, baseline: float, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """MDE = (z_{1-alpha/2} + z_power) * sqrt(p(1-p)(1/n_a + 1/n_b)) at baseline rate p; None when a
    group is empty. With p = 0 or 1 the variance is taken at p = 0.5 (the conservative bound)."""
    if n_a <= 0 or n_b <= 0:
        return None
    p = baseline if 0 < baseline < 1 else 0.5
    z = _NORMAL.inv_cdf(1 - alpha / 2) + _NORMAL.inv_cdf(power)
    return z * math.sqrt(p * (1 - p) * (1 / n_a + 1 / n_b))


__all__ = ["Comparison", "Proportion", "minimum_detectable_effect", "two_proportion_z", "wilson"]
