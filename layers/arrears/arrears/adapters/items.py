"""Mapping domain objects to and from DynamoDB items (resource-level Python types)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from arrears.domain.actions import Action, ActionOutcome, ActionStatus, ContactRecord, StatedFigures
from arrears.domain.borrowers import Borrower
from arrears.domain.calendar import format_utc, parse_utc
from arrears.domain.loans import HoldKind, Holds, HoldStamp, Instalment, Loan, LoanStatus
from arrears.domain.money import legacy_principal_days
from arrears.domain.plans import Approval, InstalmentOutcome, PlanInstalment, PlanStatus, RepaymentPlan
from arrears.domain.strategy import Channel
from arrears.domain.terms import DEFAULT_TERMS, Advance, Component, LoanTerms, Prepayment, Waterfall


class MalformedItem(ValueError):
    """A stored or streamed item that does not describe a valid object."""


def json_object(text: str | bytes, what: str) -> dict[str, Any]:
    """A message body that must be a JSON object (`what` names it in the reason); MalformedItem for
    anything else. The reason names the error's kind, never the body (which may carry any value)."""
    try:
        body = json.loads(text)
    except (TypeError, ValueError) as error:
        raise MalformedItem(f"{what} body is not JSON: {type(error).__name__}") from None
    if not isinstance(body, dict):
        raise MalformedItem(f"{what} body is not an object but {type(body).__name__}")
    return body


_AS_IS = frozenset({str, int, bool, type(None), bytes})


def _integer(number: Decimal) -> int:
    """`number` as an int; MalformedItem when it is not a whole number (a fraction, NaN, Infinity)."""
    try:
        whole = int(number)
    except (ValueError, OverflowError):  # NaN, Infinity
        whole = None
    if whole is None or whole != number:
        raise MalformedItem(f"non-integer number {number} where integers are expected")
    return whole


def plain(value: Any) -> Any:
    """DynamoDB's Decimals to int (all our numbers are integers), recursively.

    Exact types first (what boto3's deserializer builds: str, Decimal, dict, list, set, bool, None,
    Binary): a loan item holds a few hundred values, and the ABC checks below cost most of a read.
    """
    kind = type(value)
    if kind is dict:
        out = {}
        for key, member in value.items():  # leaves inline: most of an item's values are leaves
            member_kind = type(member)
            if member_kind is str or member_kind is bool or member is None:
                out[key] = member
            elif member_kind is Decimal:
                out[key] = _integer(member)
            else:
                out[key] = plain(member)
        return out
    if kind in _AS_IS:
        return value
    if kind is list:
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return _integer(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return {plain(v) for v in value}
    return value


def _date(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value))


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _drop_none(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def _fraction(value: Fraction) -> str | int:
    """An exact amount: an integer when whole, else "numerator/denominator" (DynamoDB numbers are
    decimal and could not hold thirds)."""
    return value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _read_fraction(value: Any) -> Fraction:
    return Fraction(0) if value in (None, "") else Fraction(str(value))


def _terms_to_item(terms: LoanTerms) -> dict[str, Any] | None:
    """The terms that differ from the default product's (`LoanTerms()`), None when none does: most
    loans are on the default, and every write of a loan pays for its size (1 write unit per KB)."""
    default = DEFAULT_TERMS
    fields = {
        "product": (terms.product, default.product),
        "waterfall": (terms.waterfall.value, default.waterfall.value),
        "order": ([c.value for c in terms.order], [c.value for c in default.order]),
        "advance": (terms.advance.value, default.advance.value),
        "prepayment": (terms.prepayment.value, default.prepayment.value),
        "tolerance_minor": (terms.tolerance_minor, default.tolerance_minor),
        "charge_off_dpd": (terms.charge_off_dpd, default.charge_off_dpd),
    }
    return {name: value for name, (value, usual) in fields.items() if value != usual} or None


def _terms_from_item(raw: Mapping[str, Any] | None) -> LoanTerms:
    if not raw:
        return DEFAULT_TERMS  # frozen: one shared value
    default = DEFAULT_TERMS
    return LoanTerms(
        product=str(raw.get("product", default.product)),
        waterfall=Waterfall(raw.get("waterfall", default.waterfall)),
        order=tuple(Component(c) for c in raw.get("order", [c.value for c in default.order])),
        advance=Advance(raw.get("advance", default.advance)),
        prepayment=Prepayment(raw.get("prepayment", default.prepayment)),
        tolerance_minor=int(raw.get("tolerance_minor", default.tolerance_minor)),
        charge_off_dpd=int(raw.get("charge_off_dpd", default.charge_off_dpd)),
    )


def shard_for(loan_id: str, shard_count: int) -> int:
    """The ReviewIndex shard of `loan_id`: stable in 0..shard_count-1 (FNV-1a of the id's UTF-8 bytes,
    independent of PYTHONHASHSEED). ValueError when `shard_count` < 1."""
    if shard_count < 1:
        raise ValueError(f"shard_count must be at least 1, got {shard_count}")
    value = 0xCBF29CE484222325
    for byte in loan_id.encode():
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value % shard_count


def loan_to_item(
    loan: Loan, *, shard_count: int, parked: bool = False, carried: str | None = None
) -> dict[str, Any]:
    """The Loans table item of `loan`: attributes with no value (None) are left out.

    A loan with a `next_review_on` also gets its `review_shard` (`shard_for(loan_id, shard_count)`)
    and, unless `parked`, `list_on` (the same date): the request that the review lister
    (`arrears.usecases.review_listing`, fed by the table's stream) list the loan in the sweep's due
    list. A `parked` write asks for no listing: the sweep's own writes (it listed the loans before
    writing them) drop the request, and a write that postponed a listed loan keeps the one its
    previous version carried (`carried`, as `LoanRepository.save` read it), which the lister skips as
    a repeat and the census relists in case it was lost (`arrears.usecases.census`). A loan without a
    next review (closed, charged off) gets neither. No writer puts `review_on`, the sort key of
    ReviewIndex, any more: the index only drains the entries of loans written before the lister
    existed (docs/scaling.md, "The review lister"). `shard_count` must be the same for every writer
    of the table.
    """
    holds = loan.holds
    review_shard = None if loan.next_review_on is None else shard_for(loan.loan_id, shard_count)
    return _drop_none(
        {
            "loan_id": loan.loan_id,
            "borrower_id": loan.borrower_id,
            "jurisdiction": loan.jurisdiction,
            "currency": loan.currency,
            "principal_minor": loan.principal_minor,
            "disbursed_on": loan.disbursed_on.isoformat(),
            "instalments": [
                _drop_none(
                    {
                        "seq": i.seq,
                        "due_on": i.due_on.isoformat(),
                        "principal_due": i.principal_due,
                        "interest_due": i.interest_due,
                        "fee_due": i.fee_due,
                        "principal_paid": i.principal_paid,
                        "interest_paid": i.interest_paid,
                        "fee_paid": i.fee_paid,
                        "settled_on": _iso(i.settled_on),
                        "pay_by": _iso(i.pay_by),
                        "principal_prepaid": i.principal_prepaid or None,
                        "interest_waived": i.interest_waived or None,
                        "fee_waived": i.fee_waived or None,
                        "accrual_from": _iso(i.accrual_from),
                        "interest_accrued_at": _fraction(i.interest_accrued_at) if i.accrual_from else None,
                        "fee_accrued_at": _fraction(i.fee_accrued_at) if i.accrual_from else None,
                    }
                )
                for i in loan.instalments
            ],
            "penalty_daily_ppm": loan.penalty_daily_ppm,
            "apr_cap_bps": loan.apr_cap_bps,
            "status": loan.status.value,
            # Whole minor units for readers (reports, the ops CLI); `penalty_exact` is the state.
            "penalty_accrued_minor": loan.penalty_accrued_minor,
            "penalty_exact": _fraction(loan.penalty_exact),
            "penalty_paid_minor": loan.penalty_paid_minor,
            "money_through": _iso(loan.money_through),
            "principal_days": loan.principal_days,
            "charged_off_on": _iso(loan.charged_off_on),
            "recovered_minor": loan.recovered_minor or None,
            "overpaid_minor": loan.overpaid_minor or None,
            "timezone": loan.timezone or None,
            "contract_region": loan.contract_region or None,
            "terms": _terms_to_item(loan.terms),
            "ledger_count": loan.ledger_count or None,
            "ledger_digest": loan.ledger_digest or None,
            "last_value_date": _iso(loan.last_value_date),
            "last_payment_id": loan.last_payment_id,
            "dpd": loan.dpd,
            "bucket": loan.bucket,
            "due_offset": loan.due_offset,
            "cycle": loan.collection_instalment,
            "evaluated_on": _iso(loan.evaluated_on),
            "closed_on": _iso(loan.closed_on),
            "holds": _drop_none(
                {
                    "promise_to_pay_until": _iso(holds.promise_to_pay_until),
                    # flags only when set: an absent flag reads as False
                    "dispute_open": holds.dispute_open or None,
                    "hardship_until": _iso(holds.hardship_until),
                    "cease_contact": holds.cease_contact or None,
                    "bankruptcy": holds.bankruptcy or None,
                    "deceased": holds.deceased or None,
                    "plan_until": _iso(holds.plan_until),
                }
            )
            or None,
            "strategy_arm": loan.strategy_arm,
            "risk_band": loan.risk_band,
            "version": loan.version,
            "review_shard": review_shard,
            "next_review_on": _iso(loan.next_review_on),
            "list_on": carried if parked else _iso(loan.next_review_on),
            "risk_score": loan.risk_score,
            "risk_features": [list(f) for f in loan.risk_features] or None,
            "broken_promises": loan.broken_promises or None,
            "unanswered_contacts": loan.unanswered_contacts or None,
            "last_broken_promise": _iso(loan.last_broken_promise),
            "last_kept_promise": _iso(loan.last_kept_promise),
            "applied_call_ids": list(loan.applied_call_ids) or None,
            "hold_stamps": {
                stamp.hold.value: {
                    "occurred_at": format_utc(stamp.occurred_at),
                    "request_id": stamp.request_id,
                }
                for stamp in loan.hold_stamps
            }
            or None,
            "validation_notice_at": (
                None if loan.validation_notice_at is None else format_utc(loan.validation_notice_at)
            ),
            "validation_period_ends": _iso(loan.validation_period_ends),
            "validation_notice_sha256": loan.validation_notice_sha256 or None,
            "validation_notice_action": loan.validation_notice_action or None,
            "validation_notice_amount_minor": loan.validation_notice_amount_minor or None,
            "plan": plan_to_item(loan.plan) if loan.plan is not None else None,
            "hardship_reason": loan.hardship_reason or None,
            "original_default_on": _iso(loan.original_default_on),
        }
    )


def census_review_from_item(raw: Mapping[str, Any]) -> tuple[str, date, date | None]:
    """(loan id, next review date, listing request or None) of a loan item projected for the census;
    MalformedItem, naming the loan, when a date is not an ISO date."""
    loan_id = str(raw.get("loan_id", "?"))
    try:
        request = raw.get("list_on")
        return (
            loan_id,
            date.fromisoformat(str(raw["next_review_on"])),
            date.fromisoformat(str(request)) if request else None,
        )
    except (KeyError, ValueError):
        raise MalformedItem(f"loan {loan_id}: next_review_on or list_on is not an ISO date") from None


def census_row_from_item(raw: Mapping[str, Any]) -> tuple[str, str]:
    """(jurisdiction, bucket) of a ReviewIndex item projected for the census.

    A loan without `bucket` has never been assessed and counts as `M0`, as `loan_from_item` reads it;
    one without a jurisdiction is malformed (the sweep would refuse it too).
    """
    jurisdiction, bucket = raw.get("jurisdiction"), raw.get("bucket", "M0")
    if not isinstance(jurisdiction, str) or not jurisdiction or not isinstance(bucket, str) or not bucket:
        raise MalformedItem(f"loan {raw.get('loan_id', '?')}: no jurisdiction or bucket for the census")
    return jurisdiction, bucket


def loan_from_item(raw: Mapping[str, Any]) -> Loan:
    item = plain(raw)
    try:
        holds = item.get("holds", {})
        loan = Loan(
            loan_id=item["loan_id"],
            borrower_id=item["borrower_id"],
            jurisdiction=item["jurisdiction"],
            currency=item["currency"],
            principal_minor=item["principal_minor"],
            disbursed_on=date.fromisoformat(item["disbursed_on"]),
            instalments=tuple(
                Instalment(
                    seq=i["seq"],
                    due_on=date.fromisoformat(i["due_on"]),
                    principal_due=i["principal_due"],
                    interest_due=i["interest_due"],
                    fee_due=i.get("fee_due", 0),
                    principal_paid=i.get("principal_paid", 0),
                    interest_paid=i.get("interest_paid", 0),
                    fee_paid=i.get("fee_paid", 0),
                    settled_on=_date(i.get("settled_on")),
                    pay_by=_date(i.get("pay_by")),
                    principal_prepaid=i.get("principal_prepaid", 0),
                    interest_waived=i.get("interest_waived", 0),
                    fee_waived=i.get("fee_waived", 0),
                    accrual_from=_date(i.get("accrual_from")),
                    interest_accrued_at=_read_fraction(i.get("interest_accrued_at")),
                    fee_accrued_at=_read_fraction(i.get("fee_accrued_at")),
                )
                for i in item["instalments"]
            ),
            penalty_daily_ppm=item["penalty_daily_ppm"],
            apr_cap_bps=item["apr_cap_bps"],
            status=LoanStatus(item.get("status", "OPEN")),
            penalty_exact=_read_fraction(item.get("penalty_exact", item.get("penalty_accrued_minor", 0))),
            penalty_paid_minor=item.get("penalty_paid_minor", 0),
            money_through=_date(item.get("money_through", item.get("penalty_through"))),
            principal_days=item.get("principal_days", 0),
            charged_off_on=_date(item.get("charged_off_on")),
            recovered_minor=item.get("recovered_minor", 0),
            overpaid_minor=item.get("overpaid_minor", 0),
            timezone=str(item.get("timezone", "")),
            contract_region=str(item.get("contract_region", "")),
            terms=_terms_from_item(item.get("terms")),
            ledger_count=item.get("ledger_count", 0),
            ledger_digest=item.get("ledger_digest", 0),
            last_value_date=_date(item.get("last_value_date")),
            last_payment_id=item.get("last_payment_id"),
            dpd=item.get("dpd", 0),
            bucket=item.get("bucket", "M0"),
            due_offset=item.get("due_offset"),
            collection_instalment=item.get("cycle", 0),
            evaluated_on=_date(item.get("evaluated_on")),
            closed_on=_date(item.get("closed_on")),
            holds=Holds(
                promise_to_pay_until=_date(holds.get("promise_to_pay_until")),
                dispute_open=bool(holds.get("dispute_open", False)),
                hardship_until=_date(holds.get("hardship_until")),
                cease_contact=bool(holds.get("cease_contact", False)),
                bankruptcy=bool(holds.get("bankruptcy", False)),
                deceased=bool(holds.get("deceased", False)),
                plan_until=_date(holds.get("plan_until")),
            ),
            strategy_arm=item.get("strategy_arm", "champion"),
            risk_band=item.get("risk_band", "MEDIUM"),
            version=item.get("version", 0),
            next_review_on=_date(item.get("next_review_on")),
            risk_score=item.get("risk_score"),
            risk_features=tuple((str(n), int(v), int(p)) for n, v, p in item.get("risk_features", ())),
            broken_promises=item.get("broken_promises", 0),
            unanswered_contacts=item.get("unanswered_contacts", 0),
            last_broken_promise=_date(item.get("last_broken_promise")),
            last_kept_promise=_date(item.get("last_kept_promise")),
            applied_call_ids=tuple(str(c) for c in item.get("applied_call_ids", ())),
            hold_stamps=tuple(
                HoldStamp(HoldKind(kind), parse_utc(str(stamp["occurred_at"])), str(stamp["request_id"]))
                for kind, stamp in sorted(
                    item.get("hold_stamps", {}).items(),
                    key=lambda pair: list(HoldKind).index(HoldKind(pair[0])),
                )
            ),
            validation_notice_at=(
                None
                if item.get("validation_notice_at") is None
                else parse_utc(str(item["validation_notice_at"]))
            ),
            validation_period_ends=_date(item.get("validation_period_ends")),
            validation_notice_sha256=str(item.get("validation_notice_sha256", "")),
            validation_notice_action=str(item.get("validation_notice_action", "")),
            validation_notice_amount_minor=int(item.get("validation_notice_amount_minor") or 0),
            plan=plan_from_item(item["plan"]) if item.get("plan") else None,
            hardship_reason=str(item.get("hardship_reason", "")),
            original_default_on=_date(item.get("original_default_on")),
        )
        if "principal_days" not in item and loan.money_through is not None:
            # An item written before the cost cap counted principal-days (legacy): the schedule's
            # own balance to that day, a lower bound of the allowance, so the cap errs low.
            loan = loan.with_changes(principal_days=legacy_principal_days(loan, loan.money_through))
        return loan
    except (KeyError, TypeError, ValueError) as error:
        loan_id = item.get("loan_id", "?") if isinstance(item, dict) else "?"
        raise MalformedItem(f"loan {loan_id}: {type(error).__name__}: {error}") from None


def plan_to_item(plan: RepaymentPlan) -> dict[str, Any]:
    """A repayment plan as a map on its loan's item (a few hundred bytes: at most 6 instalments)."""
    return _drop_none(
        {
            "plan_id": plan.plan_id,
            "agreed_on": plan.agreed_on.isoformat(),
            "currency": plan.currency,
            "arrears_minor": plan.arrears_minor,
            "received_at_start_minor": plan.received_at_start_minor,
            "approval": plan.approval.value,
            "grace_days": plan.grace_days,
            "status": plan.status.value,
            "ended_on": _iso(plan.ended_on),
            "policy": plan.policy or None,
            "instalments": [
                [i.seq, i.due_on.isoformat(), i.amount_minor, i.outcome.value] for i in plan.instalments
            ],
        }
    )


def plan_from_item(raw: Mapping[str, Any]) -> RepaymentPlan:
    return RepaymentPlan(
        plan_id=str(raw["plan_id"]),
        agreed_on=date.fromisoformat(str(raw["agreed_on"])),
        currency=str(raw["currency"]),
        arrears_minor=int(raw["arrears_minor"]),
        received_at_start_minor=int(raw["received_at_start_minor"]),
        instalments=tuple(
            PlanInstalment(
                int(seq), date.fromisoformat(str(due)), int(amount), InstalmentOutcome(str(outcome))
            )
            for seq, due, amount, outcome in raw["instalments"]
        ),
        approval=Approval(str(raw["approval"])),
        grace_days=int(raw["grace_days"]),
        status=PlanStatus(str(raw.get("status", "active"))),
        ended_on=_date(raw.get("ended_on")),
        policy=str(raw.get("policy") or ""),
    )


def borrower_to_item(borrower: Borrower) -> dict[str, Any]:
    return _drop_none(
        {
            "borrower_id": borrower.borrower_id,
            "timezone": borrower.timezone,
            "language": borrower.language,
            "region": borrower.region,
            "name": borrower.name or None,
            "phone": borrower.phone or None,
            "email": borrower.email or None,
            "address": borrower.address or None,
            "opted_out_channels": sorted(borrower.opted_out_channels) or None,
            "preferred_hours": list(borrower.preferred_hours) if borrower.preferred_hours else None,
            "profile_at": format_utc(borrower.profile_at) if borrower.profile_at else None,
        }
    )


def borrower_from_item(raw: Mapping[str, Any]) -> Borrower:
    item = plain(raw)
    try:
        hours = item.get("preferred_hours")
        return Borrower(
            borrower_id=item["borrower_id"],
            timezone=item["timezone"],
            language=item.get("language", "en"),
            region=item.get("region", "unknown"),
            name=item.get("name", ""),
            phone=item.get("phone", ""),
            email=item.get("email", ""),
            address=item.get("address", ""),
            opted_out_channels=frozenset(item.get("opted_out_channels", ())),
            preferred_hours=(int(hours[0]), int(hours[1])) if hours else None,
            profile_at=parse_utc(str(item["profile_at"])) if item.get("profile_at") else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedItem(f"borrower {item.get('borrower_id', '?')}: {type(error).__name__}") from None


DEFERRED_PARTITION = "DEFERRED"


def outcome_to_item(outcome: ActionOutcome) -> dict[str, Any]:
    """An action's `last_outcome` map: the facts its contact record is rebuilt from."""
    item: dict[str, Any] = {
        "status": outcome.status.value,
        "occurred_at": format_utc(outcome.occurred_at),
        "borrower_timezone": outcome.borrower_timezone,
        "rule_pack": outcome.rule_pack,
        "reason": outcome.reason,
        "message_sha256": outcome.message_sha256,
        "rules_checked": [[rule, verdict] for rule, verdict in outcome.rules_checked],
    }
    if outcome.decided_by:
        item["decided_by"] = outcome.decided_by
    if outcome.zones_checked:
        item["zones_checked"] = list(outcome.zones_checked)
    if outcome.stated is not None:
        item["stated"] = {
            "dpd": outcome.stated.dpd,
            "bucket": outcome.stated.bucket,
            "amount_due_minor": outcome.stated.amount_due_minor,
        }
    return item


def outcome_from_item(item: Mapping[str, Any] | None) -> ActionOutcome | None:
    """The `last_outcome` map read back (None when absent or empty); KeyError/ValueError if malformed."""
    if not item:
        return None
    return ActionOutcome(
        status=ActionStatus(item["status"]),
        occurred_at=parse_utc(str(item["occurred_at"])),
        borrower_timezone=str(item["borrower_timezone"]),
        rule_pack=str(item["rule_pack"]),
        reason=str(item.get("reason", "")),
        message_sha256=str(item.get("message_sha256", "")),
        rules_checked=tuple((str(rule), str(verdict)) for rule, verdict in item.get("rules_checked", [])),
        decided_by=str(item.get("decided_by", "")),
        zones_checked=tuple(str(zone) for zone in item.get("zones_checked", [])),
        stated=_stated_from_item(item.get("stated")),
    )


def _stated_from_item(item: Mapping[str, Any] | None) -> StatedFigures | None:
    """An outcome's `stated` map read back (None: absent, as on outcomes stored before it existed)."""
    if not item:
        return None
    return StatedFigures(
        dpd=int(item["dpd"]), bucket=str(item["bucket"]), amount_due_minor=int(item["amount_due_minor"])
    )


def action_to_item(action: Action) -> dict[str, Any]:
    item: dict[str, Any] = {
        "action_id": action.action_id,
        "loan_id": action.loan_id,
        "borrower_id": action.borrower_id,
        "jurisdiction": action.jurisdiction,
        "channel": action.channel.value,
        "step_id": action.step_id,
        "template_id": action.template_id,
        "cycle": action.collection_instalment,
        "status": action.status.value,
        "planned_at": format_utc(action.planned_at),
        "not_before": format_utc(action.not_before),
        "strategy_id": action.strategy_id,
        "strategy_version": action.strategy_version,
        "strategy_arm": action.strategy_arm,
        "dpd": action.dpd,
        "bucket": action.bucket,
        "amount_due_minor": action.amount_due_minor,
        "currency": action.currency,
        "receipt": action.receipt,
        "reason": action.reason,
        "version": action.version,
    }
    if action.last_outcome is not None:
        item["last_outcome"] = outcome_to_item(action.last_outcome)
    if action.status is ActionStatus.DEFERRED:
        item["defer_partition"] = DEFERRED_PARTITION
    return item


def action_from_item(raw: Mapping[str, Any]) -> Action:
    item = plain(raw)
    try:
        return Action(
            action_id=item["action_id"],
            loan_id=item["loan_id"],
            borrower_id=item["borrower_id"],
            jurisdiction=item["jurisdiction"],
            channel=Channel(item["channel"]),
            step_id=item["step_id"],
            template_id=item["template_id"],
            collection_instalment=item["cycle"],
            status=ActionStatus(item["status"]),
            planned_at=parse_utc(item["planned_at"]),
            not_before=parse_utc(item["not_before"]),
            strategy_id=item["strategy_id"],
            strategy_version=item["strategy_version"],
            strategy_arm=item["strategy_arm"],
            dpd=item["dpd"],
            bucket=item["bucket"],
            amount_due_minor=item["amount_due_minor"],
            currency=item["currency"],
            receipt=item.get("receipt", {}),
            reason=item.get("reason", ""),
            version=item.get("version", 0),
            last_outcome=outcome_from_item(item.get("last_outcome")),
            record_pending=bool(item.get("record_pending", False)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedItem(f"action {item.get('action_id', '?')}: {type(error).__name__}: {error}") from None


def contact_to_item(contact: ContactRecord, expires_at: int | None = None) -> dict[str, Any]:
    """The hot record; no `expires_at` unless given: the archiver sets the TTL once archived."""
    item: dict[str, Any] = {
        "loan_id": contact.loan_id,
        "contact_key": contact.contact_key,
        "contact_id": contact.contact_id,
        "action_id": contact.action_id,
        "borrower_id": contact.borrower_id,
        "channel": contact.channel.value,
        "step": contact.step,
        "status": contact.status.value,
        "occurred_at": format_utc(contact.occurred_at),
        "borrower_timezone": contact.borrower_timezone,
        "borrower_local_time": contact.borrower_local_time,
        "jurisdiction": contact.jurisdiction,
        "rule_pack": contact.rule_pack,
        "strategy": contact.strategy,
        "dpd": contact.dpd,
        "bucket": contact.bucket,
        "amount_due_minor": contact.amount_due_minor,
        "currency": contact.currency,
        "reason": contact.reason,
        "template_id": contact.template_id,
        "message_sha256": contact.message_sha256,
        "rules_checked": [f"{rule}:{verdict}" for rule, verdict in contact.rules_checked],
    }
    if contact.decided_by:
        item["decided_by"] = contact.decided_by
    if contact.zones_checked:
        item["zones_checked"] = list(contact.zones_checked)
    if contact.result:  # a dialer's attempt or a field visit
        item.update(
            task_id=contact.task_id,
            attempt=contact.attempt,
            result=contact.result,
            conversation=contact.conversation,
            collector_ids=list(contact.collector_ids),
            recording_ref=contact.recording_ref,
        )
    if expires_at is not None:
        item["expires_at"] = expires_at
    return item
