"""book_import: a book file put under `imports/` of the imports bucket (S3 -> EventBridge `Object
Created`) -> every row validated and imported (borrowers, loans, payment history), the rejected rows
reported under `reports/` beside it (line, field, problem; never a personal value).

The lending core's day-to-day onboarding (`LoanDisbursed`, `BorrowerUpdated` on LoanEventsBus, a
second rule) runs the same import as a one-row file: the same validation, the same writes, the same
grants; a refused event fails (retried, then the failure queue) with a log line saying why."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from arrears.adapters.container import Container
from arrears.handlers.telemetry import Telemetry

if TYPE_CHECKING:
    from arrears.config.playbook import PlaybookSource

telemetry = Telemetry()
# Borrowers are stored with their lookup keys, keyed hashes under the token_secret (BorrowerTokenSecret).
container = Container.from_environment()  # the environment only: see the container's docstring


@cache
def playbooks() -> PlaybookSource:
    """The SSM collection policy, read by the first invocation that needs it."""
    return container.playbook_source()


ONBOARDING = ("LoanDisbursed", "BorrowerUpdated")  # arrears.events.onboarding.ONBOARDING_EVENTS


@telemetry.handler(correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Imported by the first invocation, not at import (docs/architecture.md, "Cold starts").
    # Anything but an object, or another detail-type, is parsed (and rejected, logged) as a book file's.
    if isinstance(event, dict) and event.get("detail-type") in ONBOARDING:  # type: ignore[redundant-expr]
        from arrears.handlers.book_import import import_event

        return import_event(event, telemetry, container, playbooks().current())
    from arrears.adapters.book_files import BookFiles, BookTooLarge
    from arrears.events.book_file import BookObjectCreated
    from arrears.handlers.book_import import import_text, report_import
    from arrears.handlers.lambda_events import receive
    from arrears.usecases.book_import import ImportReport, RowProblem

    bucket, key, at = receive(event, BookObjectCreated, telemetry.logger)
    if key.endswith("/"):  # a "folder" made in the console: no file to import
        telemetry.logger.info("not a book file: a folder", extra={"file": key})
        return {"skipped": key}
    files = BookFiles(container.client("s3"), container.settings.archive_kms_key_id)
    try:
        text = files.read(bucket, key)
    except (BookTooLarge, UnicodeDecodeError) as error:
        # Nothing of the file is imported: the report says why, as the problem of its line 1.
        problem = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
        report = ImportReport(problems=[RowProblem(1, "?", "", "file", problem)])
    except ClientError as error:
        # Gone since the event (deleted, overwritten by a delete marker) or not readable: logged with
        # S3's code, and the invocation fails (Lambda retries it, then the on-failure destination).
        code = error.response.get("Error", {}).get("Code", "unknown")
        telemetry.logger.error("book file not read", extra={"file": key, "reason": f"S3 {code}"})
        raise
    else:
        report = import_text(text, key, at, container, playbooks().current())
    summary = report_import(telemetry, key, report)
    errors_key, summary_key = files.write_report(
        bucket, key, [problem.as_json() for problem in report.problems], {"file": key, **summary}
    )
    return {**summary, "errors_key": errors_key, "summary_key": summary_key}
