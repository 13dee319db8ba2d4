"""Every AWS call a function makes is allowed by its role, and on DynamoDB nothing more is granted.

moto enforces no IAM, so a permission missing from template.yaml would only show in production (an
AccessDenied), and a permission nobody uses would never show at all. Here the real handlers run
through the local cloud (a small book through simulated days, as `make demo` does, plus the flows a
simulation does not reach: a dialer's call outcome, cures that cancel an open action and withdraw a
queued field visit, an erasure request, a legal and bureau hand-off, a throttled send and a lost
conditional write), every call each function makes is recorded (tests/integration/iam_support.py),
and each is checked against the function's role in the SAM-translated template. On DynamoDB the check
also runs the other way: every action a role grants on a table or index was needed by some call.

The limit: only the calls these flows make are seen. A code path no flow takes can still lack a
permission; add a flow here when you add one (a function without any recorded call fails the test).
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arrears.adapters.items import plain
from arrears.adapters.tables import all_items
from arrears.config.playbook import bundled_playbook
from arrears.config.rulepacks import rule_pack_for
from arrears.domain.business_time import loan_business_date
from arrears.domain.calendar import format_utc
from arrears.domain.penalties import amount_due
from arrears.usecases.onboarding import register_loan
from localcloud.borrower_voice import BorrowerIntent, IntentKind, reach_arrears
from localcloud.http_api import http_call
from localcloud.simulation import Simulation
from localcloud.stack import LocalStack, load_template
from tests.infrastructure.test_iam import translate
from tests.integration.conftest import borrower_for, cn_cash_loan
from tests.integration.iam_support import (
    Call,
    CallRecorder,
    Fault,
    Need,
    StackIndex,
    Statement,
    Unattributable,
    needs,
    role_statements,
    verdict,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
LOANS, DAYS, SEED, START = 20, 6, 7, date(2026, 3, 1)
DEEP_OVERDUE = "L-IAM-LEGAL"  # 95 days past due when the run starts: legal referral and bureau report

# DynamoDB grants no flow here exercises, each with the reason it is granted all the same.
IDEMPOTENCY_READ = (
    "Powertools idempotency reads the record when a conditional put fails without returning it "
    "(ReturnValuesOnConditionCheckFailure unsupported); current botocore and moto return it"
)
OUTBOX_COMPLETION = (
    "the send outbox completes a claim only when a send's answer was lost, its holder died, or the "
    "action's SENT transition failed after the send (that transition is the completion otherwise); "
    "the coverage run's throttled send is refused before the service took it (the claim is deleted)"
)
DEFERRED_BUREAU_STEP = (
    "a deferred bureau step released by the schedule re-checks its precondition (the loan's actions), as "
    "the dispatcher does; the coverage run releases no deferred bureau step"
)
DEFERRED_FIRST_MESSAGE = (
    "a US loan's first message released from DEFERRED carries its validation notice (set on the loan); "
    "the coverage run's US loans get their first message from the dispatcher"
)
WITHDRAWN_CALL_TASK = (
    "the planner closes a withdrawn call task on the borrower's call ledger (read, conditional put, as "
    "the dispatcher's ContactCapLedgers); the coverage run ends more than a day after its last call task, "
    "so nothing is withdrawn (tests/integration/test_call_withdrawal.py covers the flow)"
)
DESK_ATTEMPT_FAILED = (
    "Powertools idempotency deletes its record when a desk call's counting fails (a version conflict on "
    "the loan, ledger contention), as call-outcomes' does; the coverage run's desk calls all succeed"
)
STOCK_CORRECTION = (
    "the census day's reconciliation adds the drift it found to the stock from flows; the coverage "
    "run's stock has none (tests/integration/test_census.py injects one)"
)
CENSUS_DAY_SCAN = (
    "the reconciliation census reads the Loans table on census days only (CensusIntervalDays, Sundays); "
    "the coverage run's six days from Sunday 1 March sweep none (tests/integration/test_census.py does)"
)
CENSUS_CLAIM_TAKEN = (
    "a census task whose shard was counted already (a redelivery) reads the run record to learn "
    "whether the sweep it holds back is still to be sent; the coverage run redelivers none"
)
UNEXERCISED_DYNAMODB_GRANTS = (
    {
        (function, "dynamodb:GetItem", "IdempotencyTable"): IDEMPOTENCY_READ
        for function in (
            "DispatcherFunction",
            "DeferredReleaseFunction",
            "CallOutcomesFunction",
            "ApiFunction",
        )
    }
    | {("ApiFunction", "dynamodb:DeleteItem", "IdempotencyTable"): DESK_ATTEMPT_FAILED}
    | {("DeferredReleaseFunction", "dynamodb:UpdateItem", "IdempotencyTable"): OUTBOX_COMPLETION}
    | {
        (
            "DeferredReleaseFunction",
            "dynamodb:Query",
            "ActionsTable/index/LoanActionsIndex",
        ): DEFERRED_BUREAU_STEP,
        ("DeferredReleaseFunction", "dynamodb:UpdateItem", "LoansTable"): DEFERRED_FIRST_MESSAGE,
        ("PlannerFunction", "dynamodb:GetItem", "ContactCapsTable"): WITHDRAWN_CALL_TASK,
        ("PlannerFunction", "dynamodb:PutItem", "ContactCapsTable"): WITHDRAWN_CALL_TASK,
        ("SweepWorkerFunction", "dynamodb:UpdateItem", "BookStockTable"): STOCK_CORRECTION,
        ("SweepWorkerFunction", "dynamodb:GetItem", "SweepRunsTable"): CENSUS_CLAIM_TAKEN,
        ("SweepWorkerFunction", "dynamodb:Scan", "LoansTable"): CENSUS_DAY_SCAN,
    }
)


@dataclass(frozen=True)
class Coverage:
    stack: LocalStack
    index: StackIndex
    calls: Counter[Call]
    faults: list[Fault]
    roles: dict[str, list[Statement]]  # function -> its role's statements, resources resolved


def _scan(table: str) -> list[dict[str, Any]]:
    """The test's own read of a whole table (made outside any function: not recorded)."""
    return [plain(item) for item in all_items(boto3.resource("dynamodb").Table(table).scan)]


def add_deep_overdue_loan(sim: Simulation) -> None:
    """A CN loan 95 days past due: the planner plans the legal and bureau steps, the dispatcher hands
    them off to their topics."""
    loan = cn_cash_loan(DEEP_OVERDUE, due=START - timedelta(days=95), principal=900_000)
    assert register_loan(
        loan,
        borrower_for(loan),
        sim.cloud.clock,
        loans=sim.loans,
        borrowers=sim.borrowers,
        playbook=bundled_playbook(),
    )
    sim.cloud.settle()


def report_call_outcome(sim: Simulation) -> None:
    """The dialer reports an unanswered call for a queued call task, twice (the second is a replay),
    then a conversation (a connected call: the call caps' ledger is written)."""
    calls = [
        a for a in _scan(sim.settings.actions_table) if a["channel"] == "CALL_TASK" and a["status"] == "SENT"
    ]
    assert calls, "the run queued no call task: the CallOutcome flow has nothing to report on"
    action = min(calls, key=lambda a: str(a["action_id"]))
    detail = {
        "call_id": "CALL-IAM-1",
        "action_id": action["action_id"],
        "borrower_id": action["borrower_id"],
        "occurred_at": format_utc(sim.cloud.clock),
        "connected": False,
        "conversation": False,
    }
    for _ in range(2):
        sim.cloud.put_event("LoanEventsBus", "arrears.dialer", "CallOutcome", detail)
    conversation = {**detail, "call_id": "CALL-IAM-2", "connected": True, "conversation": True}
    sim.cloud.put_event("LoanEventsBus", "arrears.dialer", "CallOutcome", conversation)


def pay_off(sim: Simulation, loan_id: str, payment_id: str) -> None:
    loan = sim.loans.get(loan_id)
    assert loan is not None
    assert loan.is_open, loan_id
    detail = {
        "payment_id": payment_id,
        "loan_id": loan_id,
        "amount_minor": amount_due(
            loan, loan_business_date(loan, sim.cloud.clock, rule_pack_for(loan.jurisdiction))
        ),
        "currency": loan.currency,
        "paid_at": format_utc(sim.cloud.clock),
    }
    (response,) = sim.cloud.put_event("LoanEventsBus", "arrears.lending-core", "PaymentReceived", detail)
    assert response["cured"], response


def cure_loans_with_pending_work(sim: Simulation) -> None:
    """Two borrowers pay everything due: the planner withdraws a queued field visit (a cancellation
    on the visit's FIFO group) and cancels an open action (its CANCELLED contact record)."""
    actions = _scan(sim.settings.actions_table)
    visits = sorted(
        str(a["loan_id"]) for a in actions if a["channel"] == "FIELD_VISIT" and a["status"] == "SENT"
    )
    assert visits, "the run queued no field visit: the cure flow has nothing to withdraw"
    open_ = sorted(str(a["action_id"]) for a in actions if a["status"] in {"PENDING", "DEFERRED"})
    assert open_, "the run left no open action: the cure flow has nothing to cancel"
    (action,) = [a for a in actions if a["action_id"] == open_[0]]
    for n, loan_id in enumerate(dict.fromkeys([visits[0], str(action["loan_id"])])):
        pay_off(sim, loan_id, f"P-IAM-CURE-{n}")
    (cancelled,) = [a for a in _scan(sim.settings.actions_table) if a["action_id"] == open_[0]]
    assert cancelled["status"] == "CANCELLED", cancelled["status"]


def reverse_a_payment(sim: Simulation) -> None:
    """The lending core reverses a cure payment (the ledger entry marked, the loan rebuilt), then
    sends the reversal again (the entry is read to tell it was reversed before)."""
    (loan_id,) = [
        str(e["loan_id"]) for e in _scan(sim.settings.payments_table) if e["payment_id"] == "P-IAM-CURE-0"
    ]
    detail = {"payment_id": "P-IAM-CURE-0", "loan_id": loan_id, "reversed_at": format_utc(sim.cloud.clock)}
    (first,) = sim.cloud.put_event("LoanEventsBus", "arrears.lending-core", "PaymentReversed", detail)
    assert (first["verdict"], first["rebuilt"]) == ("REVERSED", True), first
    (again,) = sim.cloud.put_event("LoanEventsBus", "arrears.lending-core", "PaymentReversed", detail)
    assert again["verdict"] == "ALREADY_REVERSED", again


def request_erasure(sim: Simulation, borrower_id: str | None = None, request_id: str = "DSR-IAM-1") -> None:
    """An erasure request for `borrower_id`, else for a borrower with hot contact records and a call
    ledger (the first by borrower id): the ledger is moved under the pseudonym."""
    if borrower_id is None:
        called = {str(item["borrower_id"]) for item in _scan(sim.settings.contact_caps_table)}
        borrowers = sorted(
            str(c["borrower_id"])
            for c in _scan(sim.settings.contacts_table)
            if str(c.get("borrower_id")) in called
        )
        assert borrowers, "the run called nobody: the erasure has no call ledger to move"
        borrower_id = borrowers[0]
    at = format_utc(sim.cloud.clock)
    detail = {"request_id": request_id, "borrower_id": borrower_id, "requested_at": at}
    (response,) = sim.cloud.put_event("LoanEventsBus", "arrears.privacy", "ErasureRequested", detail)
    assert response["contacts_pseudonymised"], response


def record_hold(sim: Simulation) -> None:
    """The collector desk records a promise to pay on an open loan (read, re-assess, put)."""
    open_loans = sorted(
        str(loan["loan_id"]) for loan in _scan(sim.settings.loans_table) if loan["status"] == "OPEN"
    )
    assert open_loans, "the run left no open loan to record a hold on"
    until = sim.cloud.clock.date() + timedelta(days=3)
    detail = {
        "request_id": "HOLD-IAM-1",
        "loan_id": open_loans[0],
        "hold": "promise_to_pay",
        "active": True,
        "until": until.isoformat(),
        "occurred_at": format_utc(sim.cloud.clock),
    }
    (response,) = sim.cloud.put_event("LoanEventsBus", "arrears.collections", "HoldChanged", detail)
    assert response["outcome"] == "applied", response


IMPORT_HEADER = (
    "schema_version,record,borrower_id,timezone,region,name,phone,loan_id,jurisdiction,product,currency,"
    "principal_minor,disbursed_on,instalments,monthly_interest_bps,payment_id,amount_minor,paid_on"
)


def import_books(sim: Simulation) -> None:
    """A lender's book file put under imports/ (a new borrower, a loan and its payment history), then a
    second file (the borrower's phone changed, a payment of the loan since): created, then updated."""
    rows = [
        "1,borrower,B-IAM-IMPORT,Asia/Shanghai,Shanghai,王伟,+8613912345678,,,,,,,,,,,",
        "1,loan,B-IAM-IMPORT,,,,,L-IAM-IMPORT,CN,cn-consumer,CNY,300000,2026-01-05,3,50,,,",
        "1,payment,,,,,,L-IAM-IMPORT,,,CNY,,,,,P-IAM-IMPORT-1,101500,2026-02-04",
    ]
    first = "\n".join([IMPORT_HEADER, *rows]) + "\n"
    (response,) = sim.cloud.put_object("ImportBucket", "imports/iam-1.csv", first.encode())
    assert response["by_record"] == {"borrower:CREATED": 1, "loan:CREATED": 1, "payment:RECORDED": 1}
    rows[0] = rows[0].replace("+8613912345678", "+8613912345679")
    rows.append("1,payment,,,,,,L-IAM-IMPORT,,,CNY,,,,,P-IAM-IMPORT-2,1000,2026-03-01")
    second = "\n".join([IMPORT_HEADER, *rows]) + "\n"
    (response,) = sim.cloud.put_object("ImportBucket", "imports/iam-2.csv", second.encode())
    assert response["by_record"] == {
        "borrower:UPDATED": 1,
        "loan:UNCHANGED": 1,
        "payment:UNCHANGED": 1,
        "payment:APPLIED": 1,
    }, response


def file_the_bureau_month(sim: Simulation) -> None:
    """The monthly Metro 2 schedule for March fires on 1 April: told borrowers' accounts are
    reported (their month-end snapshots written), untold ones held."""
    sim.cloud.advance_to(datetime(2026, 4, 1, 12, tzinfo=UTC))
    response = sim.cloud.schedule("BureauFileFunction")
    assert response["accounts"] > 0, response


def erase_after_a_reported_account_is_paid(sim: Simulation) -> None:
    """A borrower whose account March's file reported pays off what they owe and asks to be erased:
    the erasure reads the accounts' credit facts and keeps the identity the closing report needs;
    April's file reports the account paid and May's lets the identity go (the bureau function finds
    the erased borrower's loans on the borrower index and updates the tombstone)."""
    from arrears.adapters.credit_facts import CreditFactsRepository
    from arrears.domain.penalties import total_outstanding

    table = boto3.resource("dynamodb").Table(sim.stack.physical["DelinquencyHistoryTable"])
    facts = CreditFactsRepository(table)
    loans = _scan(sim.settings.loans_table)
    statuses: dict[str, set[str]] = defaultdict(set)
    for item in loans:
        statuses[str(item["borrower_id"])].add(str(item["status"]))
    reported = sorted(
        (str(item["borrower_id"]), str(item["loan_id"]))
        for item in loans
        if item["status"] == "OPEN"
        and statuses[str(item["borrower_id"])] <= {"OPEN", "CLOSED"}
        and not str(item["borrower_id"]).startswith("erased:")
        and facts.months(str(item["loan_id"]))[0]
    )
    assert reported, "March's file reported no open account of a borrower with nothing charged off"
    borrower_id = reported[0][0]
    owing = [str(i["loan_id"]) for i in loans if i["borrower_id"] == borrower_id and i["status"] == "OPEN"]
    for n, loan_id in enumerate(owing):
        loan = sim.loans.get(loan_id)
        assert loan is not None
        day = loan_business_date(loan, sim.cloud.clock, rule_pack_for(loan.jurisdiction))
        detail = {
            "payment_id": f"P-IAM-PAYOFF-{n}",
            "loan_id": loan_id,
            "amount_minor": total_outstanding(loan, day),
            "currency": loan.currency,
            "paid_at": format_utc(sim.cloud.clock),
        }
        sim.cloud.put_event("LoanEventsBus", "arrears.lending-core", "PaymentReceived", detail)
        paid = sim.loans.get(loan_id)
        assert paid is not None
        assert paid.status.value == "CLOSED", paid
    at = format_utc(sim.cloud.clock)
    erasure = {"request_id": "DSR-IAM-3", "borrower_id": borrower_id, "requested_at": at}
    (response,) = sim.cloud.put_event("LoanEventsBus", "arrears.privacy", "ErasureRequested", erasure)
    assert response["closing_report_pending"] is True, response
    for month in (5, 6):
        sim.cloud.advance_to(datetime(2026, month, 1, 12, tzinfo=UTC))
        cycle = sim.cloud.schedule("BureauFileFunction")
    assert cycle["identities_erased_after_closing_report"] == 1, cycle


def use_the_api(sim: Simulation) -> str:
    """A borrower lists their loans, disputes one and complains about it; compliance reads the
    complaints near their deadline (each over HTTP, through the API function). Returns who."""
    open_loans = sorted(
        (str(loan["borrower_id"]), str(loan["loan_id"]))
        for loan in _scan(sim.settings.loans_table)
        if loan["status"] == "OPEN"
        and loan["loan_id"] != DEEP_OVERDUE
        and not str(loan["borrower_id"]).startswith("erased:")  # the first erasure's borrower
    )
    assert open_loans, "the run left no open loan for the API to act on"
    borrower_id, loan_id = open_loans[-1]
    calls = [
        (IntentKind.READ_LOANS, None),
        (IntentKind.DISPUTE, {"reason": "wrong_amount"}),
        (IntentKind.COMPLAINT, {"category": "amount_owed", "text": "The amount looks wrong."}),
    ]
    answers = []
    for n, (kind, body) in enumerate(calls):
        intent = BorrowerIntent(kind, borrower_id, loan_id, body, key=f"IAM-API-{n}" if body else "")
        answer = reach_arrears(sim.http_api, intent)
        assert answer.status in {200, 201}, (kind, answer.status, answer.json())
        answers.append(answer)
    token = sim.http_api.issuer.staff_token("S-IAM-1", "compliance")
    answer = http_call("GET", sim.http_api.url + "/staff/complaints/due?warn_days=30", token=token)
    assert answer.status == 200, answer.json()
    # A plan asked for beyond the auto-approval limits is queued; the supervisor declines it (the
    # decision is an update conditional on the request being queued).
    api_borrower = borrower_id
    overdue = sorted(
        (str(loan["borrower_id"]), str(loan["loan_id"]))
        for loan in _scan(sim.settings.loans_table)
        if loan["status"] == "OPEN" and int(loan.get("dpd", 0)) > 0 and not loan.get("plan")
    )
    queued = ""
    for borrower_id, loan_id in overdue:
        token = sim.http_api.issuer.borrower_token(borrower_id)
        offers = http_call("GET", f"{sim.http_api.url}/me/loans/{loan_id}/plans", token=token).json()[
            "offers"
        ]
        beyond = [o for o in offers if o["approval"] != "auto"]
        if not beyond:
            continue
        answer = http_call(
            "POST",
            f"{sim.http_api.url}/me/loans/{loan_id}/plan-requests",
            token=token,
            body={"instalments": beyond[-1]["instalments"]},
            headers={"Idempotency-Key": f"IAM-PLAN-{loan_id}"},
        )
        assert answer.status == 201, answer.json()
        queued = answer.json()["request_id"]
        break
    assert queued, "no overdue loan could ask for a plan beyond the auto-approval limits"
    supervisor = sim.http_api.issuer.staff_token("S-IAM-2", "supervisor")
    answer = http_call(
        "POST",
        f"{sim.http_api.url}/staff/plan-requests/{queued}/decision",
        token=supervisor,
        body={"approve": False},
        headers={"Idempotency-Key": "IAM-DECIDE-1"},
    )
    assert answer.status == 201, answer.json()
    # Compliance answers the complaint (closes it: a conditional update).
    complaint = answers[-1].json()["request_id"]
    answer = http_call(
        "POST",
        sim.http_api.url + f"/staff/complaints/{complaint}/response",
        token=sim.http_api.issuer.staff_token("S-IAM-1", "compliance"),
        body={"outcome": "upheld"},
        headers={"Idempotency-Key": "IAM-API-answer"},
    )
    assert answer.status == 200, answer.json()
    return api_borrower


def assert_handed_off(sim: Simulation) -> None:
    sent = {
        a["channel"]
        for a in _scan(sim.settings.actions_table)
        if a["loan_id"] == DEEP_OVERDUE and a["status"] == "SENT"
    }
    assert {"LEGAL", "BUREAU"} <= sent, f"{DEEP_OVERDUE}: legal and bureau not both handed off ({sent})"


@pytest.fixture(scope="module")
def coverage() -> Coverage:
    template = load_template(TEMPLATE)
    translated = translate(template)
    recorder = CallRecorder()
    with mock_aws(), recorder.recording():
        sim = Simulation(loans=LOANS, seed=SEED, start=START, log=io.StringIO())
        loans_table, caps_table = sim.settings.loans_table, sim.settings.contact_caps_table
        recorder.faults = [
            # A payment lands between the sweep's read and its write: the conditional put fails and
            # the loan is re-read (GetItem) and re-assessed.
            Fault(
                "SweepWorkerFunction",
                "dynamodb",
                "PutItem",
                "ConditionalCheckFailedException",
                when=lambda call: call.param("TableName") == loans_table,
            ),
            # SNS throttles a send: the idempotency record is released (DeleteItem), the record retried
            # (a new action), or the action left due for the next run (a deferred one).
            Fault("DispatcherFunction", "sns", "Publish", "Throttling"),
            Fault("DeferredReleaseFunction", "sns", "Publish", "Throttling"),
            # The call caps' ledger cannot be read: the report's idempotency record is released
            # (DeleteItem) and the invocation retried.
            Fault(
                "CallOutcomesFunction",
                "dynamodb",
                "GetItem",
                "ProvisionedThroughputExceededException",
                when=lambda call: call.param("TableName") == caps_table,
            ),
        ]
        sim.load_book()
        add_deep_overdue_loan(sim)
        sim.run(DAYS)
        assert_handed_off(sim)
        report_call_outcome(sim)
        cure_loans_with_pending_work(sim)
        reverse_a_payment(sim)
        request_erasure(sim)
        record_hold(sim)
        # The borrower who used the API asks to be erased: their requests are pseudonymised.
        request_erasure(sim, use_the_api(sim), "DSR-IAM-2")
        import_books(sim)
        file_the_bureau_month(sim)
        erase_after_a_reported_account_is_paid(sim)
        stack = sim.stack
    roles = {function: role_statements(translated, stack, function) for function in stack.functions}
    return Coverage(stack, StackIndex(stack, template), recorder.calls, recorder.faults, roles)


def required(coverage: Coverage) -> dict[tuple[str, Need], Counter[str]]:
    """(function, need) -> how many calls of each operation needed it (calls this check cannot
    attribute are left to test_every_call_names_a_resource_of_the_stack)."""
    found: dict[tuple[str, Need], Counter[str]] = defaultdict(Counter)
    for call, count in coverage.calls.items():
        try:
            call_needs = needs(call, coverage.index)
        except Unattributable:
            continue
        for need in call_needs:
            found[call.function, need][call.operation] += count
    return found


def counted(operations: Counter[str]) -> str:
    return ", ".join(f"{operation} x{n}" for operation, n in sorted(operations.items()))


def test_every_function_of_the_template_made_calls(coverage: Coverage) -> None:
    """Guard against covering nothing: each function (the template's, whatever they are) ran a flow."""
    silent = sorted(set(coverage.stack.functions) - {call.function for call in coverage.calls})
    assert not silent, f"no recorded AWS call for {silent}: add a flow that invokes it (this module)"


def test_the_injected_failures_happened(coverage: Coverage) -> None:
    for fault in coverage.faults:
        assert fault.injected == fault.times, (
            f"{fault.function} made no {fault.service}:{fault.operation} to fail"
        )


def test_every_call_names_a_resource_of_the_stack(coverage: Coverage) -> None:
    problems = []
    for call in coverage.calls:
        try:
            needs(call, coverage.index)
        except Unattributable as error:
            problems.append(f"{call}: {error}")
    assert not problems, "calls this check cannot judge:\n" + "\n".join(sorted(problems))


def test_every_call_is_allowed_by_the_functions_role(coverage: Coverage) -> None:
    denied: dict[tuple[str, str, str, str], Counter[str]] = defaultdict(Counter)
    for (function, need), operations in required(coverage).items():
        why = verdict(coverage.roles[function], need)
        if why:
            denied[function, need.action, coverage.index.describe(need.resource), why] += operations
    lines = [
        f"{function}: {action} on {resource} ({counted(ops)}): {why}"
        for (function, action, resource, why), ops in sorted(denied.items())
    ]
    assert not lines, "calls the deployed role would refuse (AccessDenied):\n" + "\n".join(lines)


def test_every_dynamodb_grant_is_used(coverage: Coverage) -> None:
    """The other way round, on DynamoDB: each action a function may take on a table or index, some
    recorded call of that function took (or UNEXERCISED_DYNAMODB_GRANTS says why it is kept)."""
    used: dict[str, list[Need]] = defaultdict(list)
    for function, need in required(coverage):
        used[function].append(need)
    unused = []
    exempt = set()
    for function, statements in coverage.roles.items():
        for statement in statements:
            if statement.effect != "Allow" or statement.source.startswith("managed:"):
                continue
            for action in statement.actions:
                if not action.startswith("dynamodb:"):
                    continue
                for resource in statement.resources:
                    probe = Statement("", "Allow", (action,), (resource,), (), False)
                    if any(probe.grants(n.action) and probe.covers(n.resource) for n in used[function]):
                        continue
                    key = (function, action, coverage.index.describe(resource))
                    if key in UNEXERCISED_DYNAMODB_GRANTS:
                        exempt.add(key)
                        continue
                    unused.append(f"{function}: {action} on {key[2]} ({statement.source})")
    assert not unused, "DynamoDB grants no recorded call needed:\n" + "\n".join(sorted(unused))
    assert exempt == set(UNEXERCISED_DYNAMODB_GRANTS), "an exemption no longer applies: remove it"
