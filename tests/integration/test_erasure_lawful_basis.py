"""An erasure keeps the lawful basis of an open debt: the bureau step still fires, judged by its precondition.

US Regulation F (12 CFR 1006.30(a)(1)): a bureau report waits for a delivered communication about the
debt and 14 days. A borrower told on 10 March and erased on 11 March is still reported once the 14 days
have passed (not before), under their pseudonym, with the same archive token as before the erasure;
nothing reaches the person any more.
"""

from __future__ import annotations

from datetime import timedelta

from arrears.adapters.container import Container
from arrears.domain.actions import ActionStatus
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token, pseudonym
from arrears.usecases.dispatch import DispatchPorts
from arrears.usecases.erasure import ErasurePorts, ErasureRequest, erase_borrower
from localcloud.stack import LocalStack
from tests.integration.conftest import us_regf_loan, utc
from tests.integration.test_dispatch import (
    contacts_of,
    dispatch_at,
    overdue,
    plan,
    ports,
    subscribe,
    us_borrower,
)

__all__ = ["ports"]  # the fixture, shared with the dispatcher's tests

TOLD_AT = utc(2026, 3, 10, 18, 0)  # 11:00 in Los Angeles
ERASED_AT = TOLD_AT + timedelta(days=1)


def test_an_erased_borrowers_bureau_step_waits_for_its_precondition_then_fires_under_the_pseudonym(
    container: Container, ports: DispatchPorts, stack: LocalStack
) -> None:
    reports = subscribe(stack, "BureauTopic")
    base = us_regf_loan("L-ERASED-BUREAU")
    loan = overdue(container, base, us_borrower(base))
    token = borrower_token(container.token_secret.value(), loan.borrower_id)
    told = plan(container, loan, Channel.SMS, "sms_overdue", step="sms-d9")
    assert dispatch_at(told.action_id, TOLD_AT, ports).status is ActionStatus.SENT
    # Planned before the erasure, under the borrower's id: the erasure re-keys it.
    bureau = plan(container, loan, Channel.BUREAU, "bureau_report", step="bureau-d60")

    outcome = erase_borrower(
        ErasureRequest("ER-B-1", loan.borrower_id, ERASED_AT),
        at=ERASED_AT,
        ports=ErasurePorts.from_container(container),
    )

    assert outcome.open_debt is True
    assert outcome.identity_kept == ["name", "address"]
    alias = pseudonym(token)
    stored = container.actions.get(bureau.action_id)
    assert stored is not None
    assert stored.borrower_id == alias
    # Five days after the notice: held by the precondition (not failed for a missing borrower).
    early = dispatch_at(bureau.action_id, TOLD_AT + timedelta(days=5), ports)
    assert early.status is ActionStatus.DEFERRED
    assert "12 CFR 1006.30(a)(1)" in early.reason
    assert reports() == []
    # A reminder planned after the erasure (from the stored loan) reaches nobody.
    erased_loan = container.loans.get(loan.loan_id)
    assert erased_loan is not None
    assert erased_loan.borrower_id == alias
    reminder = plan(container, erased_loan, Channel.EMAIL, "email_overdue", step="email-d14")
    suppressed = dispatch_at(reminder.action_id, TOLD_AT + timedelta(days=5), ports)
    assert suppressed.status is ActionStatus.SUPPRESSED

    fired = dispatch_at(bureau.action_id, TOLD_AT + timedelta(days=15), ports)

    assert fired.status is ActionStatus.SENT
    (report,) = reports()
    assert report["borrower_token"] == token  # the same token before and after the erasure
    assert "borrower_id" not in report
    (record,) = [
        c for c in contacts_of(container, loan.loan_id) if c["channel"] == "BUREAU" and c["status"] == "SENT"
    ]
    assert record["borrower_id"] == alias
    assert record["rules_checked"][-1] == "bureau_precondition:PASS"
