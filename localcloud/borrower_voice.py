"""Simulated borrowers speaking to Arrears through the borrower API, over HTTP on 127.0.0.1.

`reach_arrears(api, intent)` is the one way a borrower's intent reaches Arrears in the local world: a
`BorrowerIntent` (read my loans, promise to pay, dispute, report hardship, complain, set channel
preferences) becomes the HTTP request of its route, with a token minted for that borrower and the
intent's Idempotency-Key. A behaviour model of borrowers (which borrower wants what, when) only has to
build intents and call it.

`SimulatedVoices` is the demo's scripted model: once a day (16:00 UTC: late morning in the US, night in
China, which the API does not mind) the borrowers it picked from the back of the book (the opt-out
repliers are at the front) act once their loan is past due (a complaint: once they were contacted), as
their own `GET /me/loans/{loan_id}` shows:

* a US borrower promises the amount due in 3 days, retries the same POST (a replay: 200, nothing new),
  and first tries a date beyond the policy (400 `promise_too_far`);
* a Chinese borrower disputes the debt (`wrong_amount`); another complains (`contact_conduct`);
* a US borrower reports hardship (`job_loss`, with free text: stored encrypted, never archived);
* a US borrower opts out of calls and sets preferred hours 18:00-21:00;
* one borrower asks for another borrower's loan (404, like a loan that does not exist).

`api_summary` adds the API's calls by route and status and what they caused, read from the archive.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from localcloud.book import Behaviour, BookEntry
from localcloud.http_api import HttpAnswer, LocalHttpApi, http_call

SPEAK_AT_UTC = time(16, 0)
BEHIND = (Behaviour.NEVER, Behaviour.LATE, Behaviour.PARTIAL, Behaviour.RECOVERED)


class IntentKind(StrEnum):
    READ_LOANS = "read_loans"
    READ_LOAN = "read_loan"
    PROMISE = "promise"
    DISPUTE = "dispute"
    HARDSHIP = "hardship"
    COMPLAINT = "complaint"
    PREFERENCES = "preferences"


_ROUTES: Mapping[IntentKind, tuple[str, str]] = {
    IntentKind.READ_LOANS: ("GET", "/me/loans"),
    IntentKind.READ_LOAN: ("GET", "/me/loans/{loan_id}"),
    IntentKind.PROMISE: ("POST", "/me/loans/{loan_id}/promises"),
    IntentKind.DISPUTE: ("POST", "/me/loans/{loan_id}/disputes"),
    IntentKind.HARDSHIP: ("POST", "/me/loans/{loan_id}/hardship"),
    IntentKind.COMPLAINT: ("POST", "/me/loans/{loan_id}/complaints"),
    IntentKind.PREFERENCES: ("PUT", "/me/preferences"),
}


@dataclass(frozen=True, slots=True)
class BorrowerIntent:
    """What `borrower_id` wants: `kind`, about `loan_id` (routes on a loan), with the route's `body`
    (docs/api.md), retried safely under `key` (the Idempotency-Key of a POST or PUT)."""

    kind: IntentKind
    borrower_id: str
    loan_id: str = ""
    body: Mapping[str, Any] | None = None
    key: str = ""


def reach_arrears(api: LocalHttpApi, intent: BorrowerIntent) -> HttpAnswer:
    """Send `intent` to the borrower API as its borrower (a token minted for them) and answer the response."""
    method, path = _ROUTES[intent.kind]
    headers = {"Idempotency-Key": intent.key} if intent.key else {}
    return http_call(
        method,
        api.url + path.format(loan_id=intent.loan_id),
        token=api.issuer.borrower_token(intent.borrower_id),
        body=dict(intent.body) if intent.body is not None else None,
        headers=headers,
    )


@dataclass
class _Voice:
    entry: BookEntry
    kind: IntentKind
    done: bool = False


@dataclass
class VoiceStats:
    answers: Counter[str] = field(default_factory=Counter)  # "<intent> <status>" -> count


class SimulatedVoices:
    def __init__(self, api: LocalHttpApi, book: list[BookEntry]) -> None:
        self.api = api
        self.stats = VoiceStats()
        behind = [e for e in book if e.behaviour in BEHIND and e.loan.jurisdiction != "CN"][::-1]
        behind_cn = [e for e in book if e.behaviour in BEHIND and e.loan.jurisdiction == "CN"][::-1]
        script = [
            (behind, IntentKind.PROMISE),
            (behind_cn, IntentKind.DISPUTE),
            (behind, IntentKind.HARDSHIP),
            (behind_cn, IntentKind.COMPLAINT),
            (behind, IntentKind.PREFERENCES),
        ]
        self.voices: list[_Voice] = []
        taken: set[str] = set()
        for pool, kind in script:
            entry = next((e for e in pool if e.borrower.borrower_id not in taken), None)
            if entry is not None:
                taken.add(entry.borrower.borrower_id)
                self.voices.append(_Voice(entry, kind))
        self.other_loan = next((e.loan.loan_id for e in book if e.borrower.borrower_id not in taken), "")

    def moments(self, begin: datetime, end: datetime) -> Iterator[datetime]:
        day = begin.date()
        while True:
            moment = datetime.combine(day, SPEAK_AT_UTC, tzinfo=begin.tzinfo)
            if moment >= end:
                return
            if moment > begin:
                yield moment
            day += timedelta(days=1)

    def _send(self, intent: BorrowerIntent, label: str = "") -> HttpAnswer:
        answer = reach_arrears(self.api, intent)
        self.stats.answers[f"{label or intent.kind.value} {answer.status}"] += 1
        return answer

    def speak(self) -> None:
        for voice in self.voices:
            if voice.done:
                continue
            borrower, loan_id = voice.entry.borrower.borrower_id, voice.entry.loan.loan_id
            seen = self._send(BorrowerIntent(IntentKind.READ_LOAN, borrower, loan_id))
            if seen.status != 200:
                continue
            loan = seen.json()
            if loan["status"] != "OPEN":
                continue
            # A complaint follows a contact (its conduct); every other request a past-due loan.
            ready = bool(loan["contacts"]) if voice.kind is IntentKind.COMPLAINT else loan["dpd"] > 0
            if not ready:
                continue
            self._act(voice, borrower, loan_id, loan)
            voice.done = True

    def _act(self, voice: _Voice, borrower: str, loan_id: str, loan: Mapping[str, Any]) -> None:
        key = f"demo-{voice.kind.value}-{loan_id}"
        if voice.kind is IntentKind.PROMISE:
            today = date.fromisoformat(loan["as_of"])
            far = {
                "pay_on": (today + timedelta(days=90)).isoformat(),
                "amount_minor": loan["amount_due_minor"],
            }
            self._send(
                BorrowerIntent(IntentKind.PROMISE, borrower, loan_id, far, key + "-far"), "promise_too_far"
            )
            body = {
                "pay_on": (today + timedelta(days=3)).isoformat(),
                "amount_minor": loan["amount_due_minor"],
            }
            self._send(BorrowerIntent(IntentKind.PROMISE, borrower, loan_id, body, key))
            self._send(BorrowerIntent(IntentKind.PROMISE, borrower, loan_id, body, key), "promise_retry")
            if self.other_loan:
                self._send(
                    BorrowerIntent(IntentKind.READ_LOAN, borrower, self.other_loan), "other_borrowers_loan"
                )
        elif voice.kind is IntentKind.DISPUTE:
            self._send(BorrowerIntent(IntentKind.DISPUTE, borrower, loan_id, {"reason": "wrong_amount"}, key))
        elif voice.kind is IntentKind.HARDSHIP:
            body = {"reason": "job_loss", "text": "I lost my job last month and look for work."}
            self._send(BorrowerIntent(IntentKind.HARDSHIP, borrower, loan_id, body, key))
        elif voice.kind is IntentKind.COMPLAINT:
            body = {"category": "contact_conduct", "text": "催收电话太多了。"}
            self._send(BorrowerIntent(IntentKind.COMPLAINT, borrower, loan_id, body, key))
        elif voice.kind is IntentKind.PREFERENCES:
            body = {"opt_out": ["CALL_TASK"], "preferred_hours": {"start": 18, "end": 21}}
            self._send(BorrowerIntent(IntentKind.PREFERENCES, borrower, "", body, key))


def api_summary(archive: Path, api: LocalHttpApi, voices: SimulatedVoices) -> dict[str, Any]:
    """The API's calls by route and status, the simulated borrowers' answers, and what the archive
    holds of it: borrower requests by kind (with the holds they set) and opt-outs made on the API."""
    requests: Counter[str] = Counter()
    preference_changes: Counter[str] = Counter()
    for path in sorted(archive.glob("borrower-requests/**/*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        requests[record["kind"]] += 1
    for path in sorted(archive.glob("preferences/**/*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("source") == "BORROWER_API":
            preference_changes[f"{record['record_type']}:{record['channel']}"] += 1
    return {
        "calls": dict(sorted(api.calls.items())),
        "simulated_borrowers": dict(sorted(voices.stats.answers.items())),
        "requests_archived": dict(sorted(requests.items())),
        "preference_changes_by_api": dict(sorted(preference_changes.items())),
    }
