"""The tables the report's SQL reads, and how DuckDB opens them over a run's exported files.

The same names and columns exist in Athena (database `arrears_reporting`, created by
infrastructure/athena/reporting.sql over the archive bucket's `reporting/` prefix and the contact
archive): the queries under `arrears_report/sql/` run unchanged on both, because every date is an ISO
string (they compare as dates) and only functions both engines have are used (`date_diff('day', ..)`,
`substr`, `lead`/`lag`/`row_number`, `coalesce`, `CAST(.. AS date)`).

* `loans`: one row per loan (`arrears.usecases.reporting_export.loan_row`), no borrower id, no
  personal data.
* `transitions`: one row per bucket transition (`arrears.usecases.reporting_export.transition_rows`).
* `contacts`: the contact archive, one row per contact (a record archived twice counted once), with
  `held_by`: the rule that held the contact back (DEFERRED, SUPPRESSED, CANCELLED; `HELD_BY`).
* `plan_events`: the archive's repayment-plan records (`plans/`, one per event: agreed, an instalment
  kept or missed, broken, completed; `arrears.domain.plans.plan_record`), flattened.
* `plan_requests`: the archive's plan requests (`borrower-requests/plan/`: the borrower's or an
  agent's, with who decided: auto, agent, supervisor, or queued for a supervisor).
* `hardship_requests`, `dispute_requests`: the archive's hardship and dispute requests
  (`borrower-requests/hardship/`, `.../dispute/`) with the reason the borrower gave, a code (the free
  text is never archived); `complaint_requests` (`.../complaint/`) with the complaint's category.
* `promise_events`: the archive's promise-to-pay records (`promises/`: made, kept, broken).
* `preference_changes`: the archive's contact preference changes (`preferences/`: opt-outs and
  opt-ins by channel, `applied` when it changed something), by borrower token (no loan).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

# Column -> type, in the DuckDB spelling; the Athena DDL declares the same names (tested).
COLUMNS: dict[str, dict[str, str]] = {
    "loans": {
        "loan_id": "VARCHAR",
        "jurisdiction": "VARCHAR",
        "strategy_arm": "VARCHAR",
        "disbursed_on": "VARCHAR",
        "currency": "VARCHAR",
        "principal_minor": "BIGINT",
        "status": "VARCHAR",
        "bucket": "VARCHAR",
        "dpd": "INTEGER",
        "charged_off_on": "VARCHAR",
        "recovered_minor": "BIGINT",
        "balance_minor": "BIGINT",
    },
    "transitions": {
        "loan_id": "VARCHAR",
        "jurisdiction": "VARCHAR",
        "strategy_arm": "VARCHAR",
        "disbursed_on": "VARCHAR",
        "changed_on": "VARCHAR",
        "from_state": "VARCHAR",
        "to_state": "VARCHAR",
        "dpd": "INTEGER",
        "version": "BIGINT",
    },
    # The archive's data columns the queries use (the archive has more: docs/contracts.md).
    "contacts": {
        "contact_id": "VARCHAR",
        "loan_id": "VARCHAR",
        "borrower_token": "VARCHAR",
        "channel": "VARCHAR",
        "status": "VARCHAR",
        "occurred_at": "VARCHAR",
        "strategy": "VARCHAR",
        "decided_by": "VARCHAR",
        "result": "VARCHAR",
    },
    # The archive's write-once JSON records (one object a file), flattened: `plan.plan_id`,
    # `plan.approval`, `details.decision` and `at` (as occurred_at) of the records.
    "plan_events": {
        "plan_id": "VARCHAR",
        "loan_id": "VARCHAR",
        "jurisdiction": "VARCHAR",
        "event": "VARCHAR",
        "instalment": "INTEGER",
        "approval": "VARCHAR",
        "occurred_at": "VARCHAR",
    },
    "plan_requests": {
        "request_id": "VARCHAR",
        "loan_id": "VARCHAR",
        "jurisdiction": "VARCHAR",
        "decision": "VARCHAR",
        "occurred_at": "VARCHAR",
    },
    "hardship_requests": {
        "request_id": "VARCHAR",
        "loan_id": "VARCHAR",
        "jurisdiction": "VARCHAR",
        "reason": "VARCHAR",
        "occurred_at": "VARCHAR",
    },
    "dispute_requests": {
        "request_id": "VARCHAR",
        "loan_id": "VARCHAR",
        "jurisdiction": "VARCHAR",
        "reason": "VARCHAR",
        "occurred_at": "VARCHAR",
    },
    "complaint_requests": {
        "request_id": "VARCHAR",
        "loan_id": "VARCHAR",
        "jurisdiction": "VARCHAR",
        "category": "VARCHAR",
        "occurred_at": "VARCHAR",
    },
    # The promises to pay Arrears recorded (`promises/`: made, kept, broken; arrears.domain.behaviour).
    "promise_events": {
        "loan_id": "VARCHAR",
        "jurisdiction": "VARCHAR",
        "event": "VARCHAR",
        "promised_for": "VARCHAR",
        "occurred_at": "VARCHAR",
    },
    # The borrowers' contact preference changes (`preferences/`): a borrower's, not a loan's.
    "preference_changes": {
        "change_id": "VARCHAR",
        "borrower_token": "VARCHAR",
        "record_type": "VARCHAR",
        "channel": "VARCHAR",
        "applied": "BOOLEAN",
        "occurred_at": "VARCHAR",
    },
}

# The contacts views' derived column: `held_by`, the rule the record's receipt failed
# (`rules_checked`'s `<rule>:FAIL`; NULL on a record that failed none). Each engine's view computes it
# with its own array function (DuckDB `array_to_string`, Athena `array_join`); the queries read it.
HELD_BY = "held_by"
HELD_BY_PATTERN = "([a-z0-9_.]+):FAIL"

QUERIES = (
    "book",
    "bucket_stock",
    "roll_rates",
    "episodes",
    "vintages",
    "contacts",
    "recoveries",
    "plans",
    "held",
    "reasons",
    "outcomes",
)

# Where each archive record table lives, what its records hold (read_json columns) and how the view
# flattens them: (glob under the archive, record columns, the view's select list).
_RECORDS: dict[str, tuple[str, dict[str, str], str]] = {
    "plan_events": (
        "plans/*/*/*.json",
        {
            "loan_id": "VARCHAR",
            "jurisdiction": "VARCHAR",
            "event": "VARCHAR",
            "instalment": "INTEGER",
            "at": "VARCHAR",
            "plan": "STRUCT(plan_id VARCHAR, approval VARCHAR)",
        },
        "plan.plan_id AS plan_id, loan_id, jurisdiction, event, instalment, plan.approval AS approval,"
        ' "at" AS occurred_at',
    ),
    "plan_requests": (
        "borrower-requests/plan/*/*.json",
        {
            "request_id": "VARCHAR",
            "loan_id": "VARCHAR",
            "jurisdiction": "VARCHAR",
            "at": "VARCHAR",
            "details": "STRUCT(decision VARCHAR)",
        },
        'request_id, loan_id, jurisdiction, details.decision AS decision, "at" AS occurred_at',
    ),
    **{
        f"{kind}_requests": (
            f"borrower-requests/{kind}/*/*.json",
            {
                "request_id": "VARCHAR",
                "loan_id": "VARCHAR",
                "jurisdiction": "VARCHAR",
                "at": "VARCHAR",
                "details": f"STRUCT({detail} VARCHAR)",
            },
            f'request_id, loan_id, jurisdiction, details.{detail} AS {detail}, "at" AS occurred_at',
        )
        for kind, detail in (("hardship", "reason"), ("dispute", "reason"), ("complaint", "category"))
    },
    "promise_events": (
        "promises/*/*/*.json",
        {
            "loan_id": "VARCHAR",
            "jurisdiction": "VARCHAR",
            "event": "VARCHAR",
            "promised_for": "VARCHAR",
            "at": "VARCHAR",
        },
        'loan_id, jurisdiction, event, promised_for, "at" AS occurred_at',
    ),
    "preference_changes": (
        "preferences/*/*.json",
        dict(COLUMNS["preference_changes"]),
        ", ".join(COLUMNS["preference_changes"]),
    ),
}


def query_text(name: str) -> str:
    """The SQL of query `name` (arrears_report/sql/<name>.sql)."""
    return resources.files("arrears_report").joinpath("sql", f"{name}.sql").read_text()


def _columns(table: str, columns: dict[str, str] | None = None) -> str:
    pairs = (columns if columns is not None else COLUMNS[table]).items()
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in pairs) + "}"


def _empty_view(table: str) -> str:
    return (
        f"CREATE VIEW {table} AS SELECT "
        + ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in COLUMNS[table].items())
        + " WHERE false"
    )


def open_local(data: Path, archive: Path) -> Any:
    """A DuckDB connection with the views `loans`, `transitions` over `data/*.jsonl`, `contacts` over
    the archive's `contacts/jurisdiction=*/dt=*/*.jsonl.gz` (partition columns from the path), and
    the views of the archive's write-once records (`plan_events`, `plan_requests`, the hardship,
    dispute and complaint requests, `promise_events`, `preference_changes`; empty when there are
    none)."""
    import duckdb

    con = duckdb.connect()
    for table in ("loans", "transitions"):
        path = str(data / f"{table}.jsonl").replace("'", "''")
        # Our own table names and an escaped path: no outside input reaches this statement.
        view = (
            f"CREATE VIEW {table} AS SELECT * FROM read_json('{path}', format = 'newline_delimited', "  # noqa: S608
            f"columns = {_columns(table)})"
        )
        con.execute(view)
    pattern = str(archive / "contacts" / "*" / "*" / "*.jsonl.gz").replace("'", "''")
    contact_columns = ", ".join(COLUMNS["contacts"])
    if any((archive / "contacts").glob("*/*/*.jsonl.gz")):
        # As the Athena view: a record archived twice (a retried, re-split stream batch) counted once.
        held_by = f"nullif(regexp_extract(array_to_string(rules_checked, ','), '{HELD_BY_PATTERN}', 1), '')"
        read = _columns("contacts", {**COLUMNS["contacts"], "rules_checked": "VARCHAR[]"})
        view = (
            f"CREATE VIEW contacts AS SELECT {contact_columns}, {held_by} AS {HELD_BY}, jurisdiction, dt"  # noqa: S608
            " FROM (SELECT *, row_number() OVER (PARTITION BY jurisdiction, dt, contact_id ORDER BY filename)"
            " AS copy"
            f" FROM read_json('{pattern}', format = 'newline_delimited', hive_partitioning = true,"
            f" filename = true, columns = {read})) WHERE copy = 1"
        )
        con.execute(view)
    else:
        con.execute(
            "CREATE VIEW contacts AS SELECT "
            + ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in COLUMNS["contacts"].items())
            + f", CAST(NULL AS VARCHAR) AS {HELD_BY}"
            + ", CAST(NULL AS VARCHAR) AS jurisdiction, CAST(NULL AS VARCHAR) AS dt WHERE false"
        )
    for table, (glob, record, select) in _RECORDS.items():
        if not any(archive.glob(glob)):
            con.execute(_empty_view(table))
            continue
        path = str(archive / glob).replace("'", "''")
        con.execute(
            f"CREATE VIEW {table} AS SELECT {select} FROM read_json('{path}', "  # noqa: S608
            f"format = 'newline_delimited', columns = {_columns(table, record)})"
        )
    return con


def run(con: Any, name: str) -> list[dict[str, Any]]:
    """The rows of query `name` on `con`, as dicts."""
    cursor = con.execute(query_text(name))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


__all__ = ["COLUMNS", "HELD_BY", "HELD_BY_PATTERN", "QUERIES", "open_local", "query_text", "run"]
