"""How a simulated borrower's intent reaches Arrears: one port, one implementation on today's paths.

`IntentPort.deliver` is the only way the reacting borrowers (`localcloud.reactions`) act on the
lender. `EventBusIntents` uses the paths Arrears has today:

* a **promise to pay**, **hardship** (a pause until a date) and a **dispute** (opened, later closed)
  are recorded by the collector desk as `HoldChanged` events on LoanEventsBus (source
  `arrears.collections`, docs/contracts.md "Events"), one per loan of the borrower;
* an **opt-out** is a text reply with the pack's keyword (STOP, 退订) through the inbound SMS topic
  (`localcloud.optouts.SimulatedReplies.reply`);
* a **payment plan asked for**, a **complaint** and **hardship** go through the borrower API over HTTP
  when an `ApiVoice` is given (`localcloud.plan_voices`: the plan routes, the complaint and hardship
  routes, with a reason code); without one, hardship is a `HoldChanged` event and the other two are
  recorded (counted in summary.json) and reach nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from arrears.domain.borrowers import Borrower
from arrears.domain.calendar import format_utc
from localcloud.behaviour_model import Intent
from localcloud.cloud import LocalCloud
from localcloud.optouts import SimulatedReplies
from localcloud.plan_voices import ApiVoice

COLLECTOR_DESK = "arrears.collections"
OPT_OUT_WORD = {"CN": "退订", "US-REGF": "STOP"}
DISPUTE_ANSWERED_AFTER = timedelta(days=14)  # the lender answers a dispute and closes it


class IntentPort(Protocol):
    def deliver(self, borrower: Borrower, jurisdiction: str, loan_ids: Sequence[str], intent: Intent) -> str:
        """Deliver `intent` for the borrower's `loan_ids`; returns how it reached Arrears (a label)."""
        ...


class EventBusIntents:
    """Today's paths: HoldChanged from the collector desk, a keyword reply, or recorded only.

    On the fast path (`localcloud.memory`) there are no text replies and no API (`replies` and `api`
    None): promises, hardship and disputes still arrive as HoldChanged; an opt-out, a complaint and
    a plan request are recorded only."""

    def __init__(
        self, cloud: LocalCloud, replies: SimulatedReplies | None, api: ApiVoice | None = None
    ) -> None:
        self.cloud = cloud
        self.replies = replies
        self.api = api
        self.delivered: Counter[str] = Counter()  # "<kind>:<how>" -> count

    def _hold(
        self, loan_ids: Sequence[str], intent: Intent, hold: str, active: bool, until: str | None
    ) -> str:
        applied = 0
        stamp = format_utc(intent.at)
        for loan_id in loan_ids:
            detail: dict[str, object] = {
                "request_id": f"SIM-{hold}-{'on' if active else 'off'}-{loan_id}-{stamp}".replace(":", ""),
                "loan_id": loan_id,
                "hold": hold,
                "active": active,
                "occurred_at": stamp,
            }
            if until is not None:
                detail["until"] = until
            responses = self.cloud.put_event("LoanEventsBus", COLLECTOR_DESK, "HoldChanged", detail)
            applied += sum(1 for r in responses if isinstance(r, dict) and r.get("outcome") == "applied")
        return "hold_applied" if applied else "hold_not_applied"

    def deliver(self, borrower: Borrower, jurisdiction: str, loan_ids: Sequence[str], intent: Intent) -> str:
        until = intent.until.isoformat() if intent.until is not None else None
        if self.api is not None and intent.kind in ("plan_request", "complaint", "hardship"):
            how = self.api.deliver(intent.kind, borrower.borrower_id, loan_ids, intent.at)
        elif intent.kind == "promise_to_pay":
            how = self._hold(loan_ids, intent, "promise_to_pay", True, until)
        elif intent.kind == "hardship":
            end = until or (intent.at + timedelta(days=30)).date().isoformat()
            how = self._hold(loan_ids, intent, "hardship", True, end)
        elif intent.kind == "dispute":
            how = self._hold(loan_ids, intent, "dispute", True, None)
        elif intent.kind == "dispute_closed":
            how = self._hold(loan_ids, intent, "dispute", False, None)
        elif intent.kind == "opt_out" and borrower.phone and self.replies is not None:
            self.replies.reply(borrower.phone, OPT_OUT_WORD.get(jurisdiction, "STOP"))
            how = "keyword_reply"
        else:
            how = "recorded_only"  # complaint, plan request: no event in Arrears yet
        self.delivered[f"{intent.kind}:{how}"] += 1
        return how


__all__ = ["COLLECTOR_DESK", "DISPUTE_ANSWERED_AFTER", "EventBusIntents", "IntentPort"]
