"""case-file: the legal topic -> case-file queue (SQS) -> the court case file of each legal referral.

Builds the file once (`arrears.usecases.case_file`) in the restricted case-file bucket: the JSON and
its printable HTML, with the contact history's hash-chain proof. A record that is malformed, or whose
loan is unknown or time-barred, fails on its own (`batchItemFailures`) and reaches the queue's DLQ
after its retries, with a log line saying why (never the borrower's data).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.events.legal import LegalReferral
    from arrears.usecases.case_file import CaseFilePorts

telemetry = Telemetry()
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def ports() -> CaseFilePorts:
    """The case file's ports, wired by the first invocation (docs/architecture.md, "Cold starts")."""
    from arrears.usecases.case_file import CaseFilePorts

    return CaseFilePorts(
        loans=container.loans,
        borrowers=container.borrowers,
        payments=container.payments,
        contacts=container.contacts,
        archive=container.archive_store,
        chain=container.archive_chain,
        store=container.case_files,
        token_secret=container.token_secret.value,
    )


@telemetry.handler()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    from aws_lambda_powertools.metrics import MetricUnit

    from arrears.events.legal import LegalReferralRecord
    from arrears.handlers.lambda_events import process_batch
    from arrears.usecases.case_file import build_or_fetch

    def build(referral: LegalReferral) -> None:
        result = build_or_fetch(
            referral.loan_id, referral.action_id, referral.at, ports(), jurisdiction=referral.jurisdiction
        )
        telemetry.logger.info(
            "case file built" if result.written else "case file already built",
            extra={
                "case_id": result.case_id,
                "loan_id": result.loan_id,
                "records": result.records,
                "manifests": result.manifests,
                "proof_problems": len(result.problems),
            },
        )
        telemetry.metrics.add_metric(
            name="CaseFilesBuilt" if result.written else "CaseFilesFound", unit=MetricUnit.Count, value=1
        )

    return process_batch(event, context, LegalReferralRecord, build, telemetry.logger)
