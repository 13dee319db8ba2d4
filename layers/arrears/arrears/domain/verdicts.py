"""The verdict on one contact, and the rules checked to reach it: one vocabulary for every judge.

The planner judges each strategy step of a loan (`arrears.domain.planning.decide_step`), the
dispatcher's gate judges a planned contact again at the instant it would go out
(`arrears.domain.compliance.gate`), and the call limits judge a call task (`arrears.domain.call_limits`).
Each records the rules it checked, in order, as `(rule, PASS | FAIL)` pairs; contact records and
receipts store them as `rule:PASS` strings (docs/contracts.md), so the rule names are stored values.
"""

from __future__ import annotations

from enum import StrEnum

PASS = "PASS"  # noqa: S105 (a rule's result, not a password)
FAIL = "FAIL"

type RulesChecked = tuple[tuple[str, str], ...]
"""`(rule, PASS | FAIL)` in the order the rules were checked; a FAIL is always the last pair."""


class Verdict(StrEnum):
    """What is to become of one contact. The planner answers PLAN, DEFER, SUPPRESS or SKIP for a
    step; the gate answers SEND, DEFER, SUPPRESS or CANCEL for a planned contact. The planner's
    value is stored in the action's receipt (`decision.verdict`)."""

    PLAN = "PLAN"  # planner: the step goes ahead (the action is written PENDING)
    SEND = "SEND"  # gate: the planned contact goes out now
    DEFER = "DEFER"  # a pause or the contact window holds it until a later time
    SUPPRESS = "SUPPRESS"  # a rule forbids it (stop, cease, dispute, opt-out, the pack): never sent
    CANCEL = "CANCEL"  # gate: what it was planned for is gone (loan closed, instalment settled)
    SKIP = "SKIP"  # planner: the step's conditions do not hold for this loan; nothing is written
