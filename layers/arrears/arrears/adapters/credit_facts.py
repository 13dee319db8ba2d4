"""A loan's credit-bureau facts and month-end snapshots, on its DelinquencyHistory item.

Beside the bucket transitions (`arrears.adapters.delinquency_history`), the same item (key
`loan_id`) carries:

* `credit_facts`: a map, the loan's `CreditFacts` (`arrears.domain.credit_facts`), and
  `facts_version`, the loan version they are as of. A write is conditional on `facts_version` being
  lower than the new one: a replayed or older stream record changes nothing. A change that is also a
  bucket transition appends it in the same UpdateItem (`save(..., transition=)`, one write unit
  instead of two), conditional on its version not being recorded as well.
* `month#YYYY-MM`: the month-end snapshot a reporting cycle reported (`MonthEnd`), written once per
  (loan, period) with a condition on the attribute's absence: a re-run of a cycle reads what the
  first run wrote and writes the same file.
* `bureau_reported_from`: the first period the loan was reported in (it stays in every later file).

Personal data is never stored here (ids, dates, amounts and codes only).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

from arrears.adapters.delinquency_history import DelinquencyHistoryRepository, append_update
from arrears.adapters.items import plain
from arrears.adapters.tables import all_items, conditional_write
from arrears.domain.credit_facts import CreditFacts, DisputeState, LoanClass, MonthEnd
from arrears.domain.loans import Loan
from arrears.domain.transitions import Transition

MONTH_PREFIX = "month#"


def _day(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def facts_to_item(facts: CreditFacts) -> dict[str, Any]:
    return {
        "dofd": _iso(facts.dofd),
        "charge_off_minor": facts.charge_off_minor,
        "charged_off_on": _iso(facts.charged_off_on),
        "dispute": facts.dispute.value,
        "dispute_changed_on": _iso(facts.dispute_changed_on),
        "plan": facts.plan,
        "plan_changed_on": _iso(facts.plan_changed_on),
        "cn_class": facts.cn_class.value,
        "cn_class_since": _iso(facts.cn_class_since),
        "month_high_period": facts.month_high_period,
        "month_high_dpd": facts.month_high_dpd,
        "cn_opened": facts.cn_opened,
    }


def facts_from_item(loan_id: str, version: int, raw: dict[str, Any], jurisdiction: str = "") -> CreditFacts:
    return CreditFacts(
        loan_id=loan_id,
        version=version,
        jurisdiction=jurisdiction,
        dofd=_day(raw.get("dofd")),
        charge_off_minor=int(raw.get("charge_off_minor", 0)),
        charged_off_on=_day(raw.get("charged_off_on")),
        dispute=DisputeState(str(raw.get("dispute", "NONE"))),
        dispute_changed_on=_day(raw.get("dispute_changed_on")),
        plan=bool(raw.get("plan", False)),
        plan_changed_on=_day(raw.get("plan_changed_on")),
        cn_class=LoanClass(str(raw.get("cn_class", LoanClass.NORMAL.value))),
        cn_class_since=_day(raw.get("cn_class_since")),
        month_high_period=str(raw.get("month_high_period", "")),
        month_high_dpd=int(raw.get("month_high_dpd", 0)),
        cn_opened=bool(raw.get("cn_opened", False)),
    )


def month_to_item(snapshot: MonthEnd) -> dict[str, Any]:
    return {
        "as_of": snapshot.as_of.isoformat(),
        "dpd": snapshot.dpd,
        "highest_dpd": snapshot.highest_dpd,
        "amount_past_due_minor": snapshot.amount_past_due_minor,
        "balance_minor": snapshot.balance_minor,
        "paid_total_minor": snapshot.paid_total_minor,
        "last_payment_on": _iso(snapshot.last_payment_on),
        "status": snapshot.status,
        "dofd": _iso(snapshot.dofd),
        "dispute": snapshot.dispute.value,
        "plan": snapshot.plan,
        "cn_class": snapshot.cn_class.value,
    }


def month_from_item(period: str, raw: dict[str, Any]) -> MonthEnd:
    return MonthEnd(
        period=period,
        as_of=date.fromisoformat(str(raw["as_of"])),
        dpd=int(raw["dpd"]),
        highest_dpd=int(raw["highest_dpd"]),
        amount_past_due_minor=int(raw["amount_past_due_minor"]),
        balance_minor=int(raw["balance_minor"]),
        paid_total_minor=int(raw["paid_total_minor"]),
        last_payment_on=_day(raw.get("last_payment_on")),
        status=str(raw["status"]),
        dofd=_day(raw.get("dofd")),
        dispute=DisputeState(str(raw["dispute"])),
        plan=bool(raw["plan"]),
        cn_class=LoanClass(str(raw["cn_class"])),
    )


class CreditFactsRepository:
    """Reads and writes the bureau facts on DelinquencyHistory items (a boto3 Table)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def _item(self, loan_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"loan_id": loan_id}, ConsistentRead=True).get("Item")
        return None if item is None else plain(item)

    def facts(self, loan_id: str) -> CreditFacts | None:
        """The loan's facts (None: none recorded yet)."""
        item = self._item(loan_id)
        if item is None or "credit_facts" not in item:
            return None
        version = int(item.get("facts_version", 0))
        return facts_from_item(loan_id, version, item["credit_facts"], str(item.get("jurisdiction", "")))

    def save(
        self,
        facts: CreditFacts,
        *,
        loan: Loan | None = None,
        transition: Transition | None = None,
        token: str | None = None,
    ) -> bool:
        """Write `facts`, and append `transition` of `loan` (the same version) to the history in the same
        UpdateItem, unless facts of that loan version or a later one are there, or the transition's
        version is recorded already (False then: nothing written). A write retried after its first
        attempt was applied (by botocore, or by a caller passing the same `token` to every attempt)
        finds its own token and is still told it wrote; `token` None: a fresh one."""
        token = token or uuid.uuid4().hex
        sets = {"credit_facts": ":f", "facts_version": ":fv", "jurisdiction": ":j", "append_token": ":token"}
        values: dict[str, Any] = {
            ":f": facts_to_item(facts),
            ":fv": facts.version,
            ":j": facts.jurisdiction,
            ":token": token,
        }
        condition = "(attribute_not_exists(facts_version) OR facts_version < :fv)"
        adds = ""
        if transition is not None:
            if loan is None:
                raise ValueError("a transition is appended with its loan")
            appended, more, recorded = append_update(loan, transition)
            sets = {**appended, **sets}
            values = {**more, **values}
            condition = f"{condition} AND {recorded}"
            adds = " ADD versions :v"
        response = conditional_write(
            self._table.update_item,
            Key={"loan_id": facts.loan_id},
            UpdateExpression="SET " + ", ".join(f"{k} = {v}" for k, v in sets.items()) + adds,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ours=lambda item: item.get("append_token") == token,
        )
        return response is not None

    def append(self, loan: Loan, transition: Transition, *, token: str | None = None) -> bool:
        """Append `transition` alone (`DelinquencyHistoryRepository.append`, `token` as there): for a
        change whose facts a later version has already moved on."""
        return DelinquencyHistoryRepository(self._table).append(loan, transition, token=token)

    def months(self, loan_id: str) -> tuple[dict[str, MonthEnd], str | None]:
        """The loan's reported month-end snapshots by period, and the first period it was reported."""
        item = self._item(loan_id) or {}
        months = {
            key[len(MONTH_PREFIX) :]: month_from_item(key[len(MONTH_PREFIX) :], value)
            for key, value in item.items()
            if key.startswith(MONTH_PREFIX)
        }
        first = item.get("bureau_reported_from")
        return months, None if first is None else str(first)

    def record_month(self, loan_id: str, snapshot: MonthEnd, *, first_reported: str) -> MonthEnd:
        """Write the period's snapshot once; the one stored (this one, or an earlier run's)."""
        name = MONTH_PREFIX + snapshot.period
        response = conditional_write(
            self._table.update_item,
            Key={"loan_id": loan_id},
            UpdateExpression="SET #m = :s, bureau_reported_from = if_not_exists(bureau_reported_from, :p)",
            ConditionExpression="attribute_not_exists(#m)",
            ExpressionAttributeNames={"#m": name},
            ExpressionAttributeValues={":s": month_to_item(snapshot), ":p": first_reported},
        )
        if response is not None:
            return snapshot
        stored = (self._item(loan_id) or {}).get(name)
        return snapshot if stored is None else month_from_item(snapshot.period, stored)

    def loan_ids(self, jurisdiction_prefix: str) -> Iterator[str]:
        """Every loan with a history whose jurisdiction starts with `jurisdiction_prefix` (a scan of
        keys and the jurisdiction only: the local build; at scale the file is built from an export,
        docs/scaling.md)."""
        for item in all_items(
            self._table.scan,
            ProjectionExpression="loan_id, jurisdiction",
        ):
            if str(item.get("jurisdiction", "")).startswith(jurisdiction_prefix):
                yield str(item["loan_id"])


__all__ = ["CreditFactsRepository", "facts_from_item", "facts_to_item", "month_from_item", "month_to_item"]
