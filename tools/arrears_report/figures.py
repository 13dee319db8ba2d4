"""The report's figures, computed from the rows of the SQL queries (`arrears_report.tables`).

Terms (the industry's): a loan's *state* is its bucket (M0 current, M1 1-30 DPD, M2 31-60, M3 61-90,
M4+ 91+) or CLOSED / CHARGED_OFF; the *roll rate* from one state to another is the share of the stays
in the first that moved to the second next; a *cure* ends a delinquency episode in M0 or CLOSED; a
*self-cure* is a cure with no contact made during the episode; *contacts per cure* is the contacts
made during the episodes of an arm over its cures (a contact made: a text, e-mail or letter sent, a
call attempt, a field visit made; `contacts.sql`); the *recovery rate* is the money recovered after
charge-off over the exposure at charge-off (recovered + still owed). Rates come with their Wilson 95 %
interval; per-arm cure and roll rates with a two-proportion z-test of each arm against the champion
and the minimum detectable effect (alpha 0.05, power 0.8) at the champion's rate.

Right-party contact, promise-kept, complaint and opt-out rates need call outcomes, promises,
complaints and opt-outs; `outcome_rates` computes them from counts and says "not measured" when the
data holds none of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from arrears_report.stats import (
    Proportion,
    minimum_detectable_effect,
    two_proportion_z,
    wilson,
    wilson_bounds,
)

OPEN_STATES = ("M0", "M1", "M2", "M3", "M4+")
END_STATES = ("CLOSED", "CHARGED_OFF")
CHAMPION = "champion"
ALL = "all"


def interval(p: Proportion) -> dict[str, Any]:
    return {
        "successes": p.successes,
        "trials": p.trials,
        "rate": round(p.rate, 6),
        "low": round(p.low, 6),
        "high": round(p.high, 6),
    }


def state_order(states: Iterable[str]) -> list[str]:
    """Buckets in DPD order (M0, M1, ... then any other bucket by name), then CLOSED, CHARGED_OFF."""
    given = set(states)
    extra = sorted(given - set(OPEN_STATES) - set(END_STATES))
    return [s for s in OPEN_STATES if s in given] + extra + [s for s in END_STATES if s in given]


def roll_matrix(
    rows: Iterable[Mapping[str, Any]], jurisdiction: str | None = None, arm: str | None = None
) -> dict[str, Any]:
    """The roll-rate matrix: `counts[from][to]`, `rates[from][to]` (share of the row), `states` order.

    `rows` are roll_rates.sql rows; `jurisdiction` / `arm` None take all of them."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if jurisdiction is not None and row["jurisdiction"] != jurisdiction:
            continue
        if arm is not None and row["strategy_arm"] != arm:
            continue
        counts[row["from_state"]][row["to_state"]] += int(row["loans"])
    states = state_order({*counts, *(t for targets in counts.values() for t in targets)})
    rates = {
        source: {target: n / sum(targets.values()) for target, n in targets.items()}
        for source, targets in counts.items()
    }
    return {
        "states": states,
        "counts": {s: dict(t) for s, t in counts.items()},
        "rates": {s: {t: round(r, 6) for t, r in targets.items()} for s, targets in rates.items()},
    }


def roll_rate(matrix: Mapping[str, Any], source: str, target: str) -> Proportion:
    """The roll rate `source` -> `target` of a `roll_matrix`, with its interval."""
    row = matrix["counts"].get(source, {})
    return wilson(int(row.get(target, 0)), int(sum(row.values())))


def cure_figures(episodes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Episodes, cures, self-cures and contacts per cure of a set of episodes.sql rows."""
    rows = list(episodes)
    cured = [r for r in rows if int(r["cured"])]
    self_cured = [r for r in cured if int(r["contacts_made"]) == 0]
    contacts_in_cures = sum(int(r["contacts_made"]) for r in cured)
    contacts = sum(int(r["contacts_made"]) for r in rows)
    return {
        "episodes": len(rows),
        "cure_rate": interval(wilson(len(cured), len(rows))),
        "self_cure_rate": interval(wilson(len(self_cured), len(rows))),
        "cured_with_contact": len(cured) - len(self_cured),
        "charged_off": sum(1 for r in rows if r["end_state"] == "CHARGED_OFF"),
        "contacts_in_episodes": contacts,
        "contacts_per_cure": round(contacts / len(cured), 3) if cured else None,
        "contacts_in_cured_episodes": contacts_in_cures,
    }


def cure_curve(episodes: Iterable[Mapping[str, Any]], as_of: date, max_days: int) -> list[dict[str, Any]]:
    """The share of episodes cured within k days of their start, k = 0..max_days: a cumulative
    curve that never falls, with its 95 % interval. Each point: `rate`, `low`, `high`, `successes`
    (cures seen by day k), `trials` (episodes), `at_risk` (episodes still at risk on day k).

    Kaplan-Meier with the end of the data (`as_of`) as the only censoring: on day t an episode is at
    risk when it is not cured before t and was observed at least t days (it started at least t days
    before `as_of`); rate(k) = 1 - prod over t <= k of (1 - cures on day t / at risk on day t). A
    charged-off episode is known never to cure within the data, so it stays at risk while observed
    (the cumulative incidence of cure with charge-off as a competing event, under censoring by the
    calendar alone: Fine & Gray, JASA 94 (1999) 496-509). Interval: Wilson on the effective sample
    size rate(1 - rate) / Var, Var by Greenwood's formula (`stats.wilson_bounds`, Dorey & Korn 1987).
    With every episode observed k days this is the plain share cured and its Wilson interval.

    (Until 2026-12-02 each day's point was the share among episodes observed that long, so the
    curve fell wherever older episodes cured less: a mix of cohorts, not a cure curve.)"""
    # One pass over the episodes, then one over the days: an episode is at risk up to its last day
    # (its cure, or the end of the data), and each cure is counted on its day.
    last_day: Counter[int] = Counter()  # episodes whose last day at risk is d
    cures_on: Counter[int] = Counter()  # cures on day d (observed: within the data)
    episodes_seen = 0
    for r in episodes:
        episodes_seen += 1
        horizon = (as_of - date.fromisoformat(str(r["started_on"])[:10])).days  # days observed
        cure = int(r["days_to_end"]) if int(r["cured"]) and r["days_to_end"] is not None else None
        last_day[horizon if cure is None else min(horizon, cure)] += 1
        if cure is not None and cure <= horizon:
            cures_on[cure] += 1
    at_risk = episodes_seen - sum(n for d, n in last_day.items() if d < 0)
    survival, greenwood, seen = 1.0, 0.0, 0
    curve = []
    for k in range(max_days + 1):
        if k:
            at_risk -= last_day[k - 1]  # those whose last day at risk was yesterday
        cures = cures_on[k]
        if cures:
            survival *= 1 - cures / at_risk
            if at_risk > cures:
                greenwood += cures / (at_risk * (at_risk - cures))
        seen += cures
        rate = 1 - survival
        variance = survival * survival * greenwood
        n = rate * (1 - rate) / variance if variance > 0 and 0 < rate < 1 else at_risk or episodes_seen
        low, high = wilson_bounds(rate, n)
        curve.append(
            {
                "day": k,
                "rate": round(rate, 6),
                "low": round(low, 6),
                "high": round(high, 6),
                "successes": seen,
                "trials": episodes_seen,
                "at_risk": at_risk,
            }
        )
    return curve


def compare_arms(by_arm: Mapping[str, Proportion], baseline: str = CHAMPION) -> dict[str, Any]:
    """Each arm against `baseline`: difference, z, p-value, significant, and the MDE at the baseline rate."""
    if baseline not in by_arm:
        return {}
    base = by_arm[baseline]
    result = {}
    for arm, p in sorted(by_arm.items()):
        if arm == baseline:
            continue
        test = two_proportion_z(base, p)
        mde = minimum_detectable_effect(base.trials, p.trials, base.rate)
        result[arm] = {
            "against": baseline,
            "difference": round(test.difference, 6),
            "z": round(test.z, 4),
            "p_value": round(test.p_value, 6),
            "significant": test.significant,
            "minimum_detectable_effect": None if mde is None else round(mde, 6),
        }
    return result


def delinquency_rates(stock: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per day and jurisdiction: open loans and the share of them in each delinquent bucket."""
    totals: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in stock:
        totals[(str(row["day"]), str(row["jurisdiction"]))][str(row["state"])] += int(row["loans"])
    out = []
    for (day, jurisdiction), states in sorted(totals.items()):
        open_loans = sum(n for s, n in states.items() if s not in END_STATES)
        out.append(
            {
                "day": day,
                "jurisdiction": jurisdiction,
                "open_loans": open_loans,
                "rates": {
                    s: round(n / open_loans, 6) if open_loans else 0.0
                    for s, n in states.items()
                    if s not in END_STATES and s != "M0"
                },
            }
        )
    return out


def recovery_figures(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """recoveries.sql rows with the recovery rate (recovered / exposure; None without exposure)."""
    return [
        {
            **{k: row[k] for k in ("jurisdiction", "strategy_arm", "currency")},
            "charged_off_loans": int(row["charged_off_loans"]),
            "loans_with_recovery": int(row["loans_with_recovery"]),
            "recovered_minor": int(row["recovered_minor"]),
            "exposure_minor": int(row["exposure_minor"]),
            "recovery_rate": round(int(row["recovered_minor"]) / int(row["exposure_minor"]), 6)
            if int(row["exposure_minor"])
            else None,
        }
        for row in rows
    ]


def _counted(rows: Iterable[Mapping[str, Any]], labels: frozenset[str]) -> list[dict[str, Any]]:
    """Rows with their `labels` as text and every other column an integer count (Athena and DuckDB
    may answer decimals for sums)."""
    return [{k: (str(v) if k in labels else int(v)) for k, v in row.items()} for row in rows]


def plan_figures(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """plans.sql rows (per jurisdiction: asked, referred, agreed by approval, instalments kept and
    missed, broken, completed) with integer counts."""
    return _counted(rows, frozenset({"jurisdiction"}))


def reason_figures(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """reasons.sql rows (per jurisdiction, arm, kind of request and the reason given: requests, loans,
    loans current or repaid at the end) with integer counts."""
    return _counted(rows, frozenset({"jurisdiction", "strategy_arm", "kind", "reason"}))


def outcome_rates(
    *,
    contacts: int,
    call_attempts: int = 0,
    right_party_contacts: int = 0,
    promises: int = 0,
    promises_kept: int = 0,
    complaints: int = 0,
    opt_outs: int = 0,
) -> dict[str, Any]:
    """Right-party-contact rate (of call attempts), promise-kept rate (of promises judged, kept or
    broken), complaints and opt-outs per 1,000 contacts made; each None ("not measured") when its
    denominator is 0, never a rate of nothing shown as 0."""

    def per_thousand(n: int) -> float | None:
        return round(1000 * n / contacts, 3) if contacts else None

    return {
        "right_party_contact_rate": interval(wilson(right_party_contacts, call_attempts))
        if call_attempts
        else None,
        "promise_kept_rate": interval(wilson(promises_kept, promises)) if promises else None,
        "complaints_per_1000_contacts": per_thousand(complaints),
        "opt_outs_per_1000_contacts": per_thousand(opt_outs),
    }


__all__ = [
    "compare_arms",
    "cure_curve",
    "cure_figures",
    "delinquency_rates",
    "interval",
    "outcome_rates",
    "plan_figures",
    "recovery_figures",
    "roll_matrix",
    "roll_rate",
    "state_order",
]


def held_figures(
    rows: Iterable[Mapping[str, Any]], cite: Callable[[str, str], str], own_checks: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The rows of `held.sql` (per jurisdiction, deciding layer, rule and outcome: `records`,
    `loans`) with `source`: what the layer cites for the rule (`cite(layer, rule)`:
    `RulePackHistory.citation`), or for Arrears' own checks and the borrower's preferred hours (no
    layer) what the check requires (`own_checks`, `arrears.domain.compliance.OWN_CHECKS`), marked so.
    """
    figures = []
    for row in rows:
        layer, rule = str(row["decided_by"]), str(row["rule"])
        if layer in ("", "borrower"):
            source = f"Arrears' own check: {own_checks.get(rule, 'not described')}"
        else:
            source = cite(layer, rule)
        figures.append({**row, "decided_by": layer or "(Arrears)", "source": source})  # "borrower" kept
    return figures
