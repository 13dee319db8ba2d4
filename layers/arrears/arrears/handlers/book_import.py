"""One import of a book file, whoever asks: the import function (an object under `imports/`), the
`arrears-import` CLI and the local demo all call `import_text`; the lending core's `LoanDisbursed`
and `BorrowerUpdated` events are imported by the same function as one-row files (`import_event`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from arrears.adapters.container import Container
from arrears.domain.playbook import CollectionPlaybook
from arrears.events.book_file import parse_book
from arrears.events.onboarding import LINE_PATHS, ONBOARDING_EVENTS
from arrears.handlers.lambda_events import receive
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.book_import import ImportReport, import_book


def import_text(
    text: str, name: str, at: datetime, container: Container, playbook: CollectionPlaybook
) -> ImportReport:
    """Parse `text` (CSV or JSON Lines, by `name` or its content), validate every row and import it as
    of `at` into the tables of `container` (`arrears.usecases.book_import`)."""
    return import_book(
        parse_book(text, name),
        at,
        loans=container.loans,
        borrowers=container.borrowers,
        ledger=container.payments,
        playbook=playbook,
    )


def report_import(telemetry: Telemetry, name: str, report: ImportReport) -> dict[str, object]:
    """Count the rows (BookRowsRead, BookRowsImported, BookRowsRejected: the alarm's metric) and log the
    import's figures: the file's name and counts only, never a row."""
    summary = report.as_json()
    telemetry.count("BookRowsRead", report.rows_read)
    telemetry.count("BookRowsImported", report.imported)
    telemetry.count("BookRowsRejected", report.rejected)
    telemetry.logger.info(
        "book imported",
        extra={"file": name, **{k: v for k, v in summary.items() if k != "rejected_by_reason"}},
    )
    return summary


ONBOARDING_REFUSED = "onboarding event refused"
"""The log line of a well-formed `LoanDisbursed`/`BorrowerUpdated` the import refuses (an unknown
borrower, a product not in the policy, a contract over its cap or unlike the registered one, an
erased borrower): logged with the fields and problems, then raised (retried, then the failure queue)."""


class OnboardingRefused(ValueError):
    """A well-formed onboarding event the import refuses; the message names the fields and problems."""


def import_event(
    raw: Mapping[str, Any], telemetry: Telemetry, container: Container, playbook: CollectionPlaybook
) -> dict[str, Any]:
    """Import one `LoanDisbursed` or `BorrowerUpdated` (by its `detail-type`) as the book file's rows
    are (`arrears.usecases.book_import.import_book`); the import's counts (`by_record`: e.g.
    `loan:CREATED`, `borrower:UPDATED`, `borrower:STALE`, `loan:UNCHANGED` on a redelivery).

    Raises ValueError for a malformed event (`receive`) and `OnboardingRefused` for a refused one,
    each logged once with the event's id and the fields and problems, never a value. Counts
    `OnboardingEvents` by `detail_type` and `outcome` (APPLIED, UNCHANGED, REFUSED).
    """
    detail_type = str(raw.get("detail-type", ""))
    model = ONBOARDING_EVENTS[detail_type]
    asked = receive(raw, model, telemetry.logger)
    report = import_book(
        asked.records,
        asked.at,
        loans=container.loans,
        borrowers=container.borrowers,
        ledger=container.payments,
        playbook=playbook,
    )
    by_record = {key: n for key, n in report.as_json()["by_record"].items() if n}
    reference = model.reference(raw)
    if report.problems:
        reason = "; ".join(
            f"{LINE_PATHS.get(p.line, 'detail')}.{p.field}: {p.problem}" for p in report.problems
        )
        telemetry.count("OnboardingEvents", detail_type=detail_type, outcome="REFUSED")
        telemetry.logger.error(
            ONBOARDING_REFUSED, extra={"reason": reason, "detail_type": detail_type, **reference}
        )
        raise OnboardingRefused(reason)
    outcome = "APPLIED" if report.imported else "UNCHANGED"
    telemetry.count("OnboardingEvents", detail_type=detail_type, outcome=outcome)
    telemetry.logger.info(
        "onboarding event imported",
        extra={"detail_type": detail_type, "outcome": outcome, "by_record": by_record, **reference},
    )
    return {"detail_type": detail_type, "outcome": outcome, "by_record": by_record}
