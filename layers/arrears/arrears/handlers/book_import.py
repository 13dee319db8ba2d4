"""One import of a book file, whoever asks: the import function (an object under `imports/`), the
`arrears-import` CLI and the local demo all call `import_text`."""

from __future__ import annotations

from datetime import datetime

from arrears.adapters.container import Container
from arrears.domain.playbook import CollectionPlaybook
from arrears.events.book_file import parse_book
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
