"""The Athena side of the report: the DDL declares the tables and columns the local DuckDB views have,
and the queries name only those tables and use only functions both engines have."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from arrears_report.tables import COLUMNS, HELD_BY, HELD_BY_PATTERN, QUERIES, query_text

ROOT = Path(__file__).resolve().parents[2]
DDL = (ROOT / "infrastructure" / "athena" / "reporting.sql").read_text()
ATHENA_TYPES = {"VARCHAR": "string", "BIGINT": "bigint", "INTEGER": "int"}


def athena_columns(table: str) -> dict[str, str]:
    match = re.search(
        rf"CREATE EXTERNAL TABLE IF NOT EXISTS arrears_reporting\.{table} \((?P<body>.*?)\)\s*PARTITIONED BY",
        DDL,
        re.S,
    )
    assert match, table
    columns = {}
    for raw in match["body"].splitlines():
        line = raw.strip().rstrip(",")
        if line:
            name, kind = line.split()
            columns[name.strip("`")] = kind
    return columns


@pytest.mark.parametrize("table", ["loans", "transitions"])
def test_the_athena_tables_have_the_columns_and_types_of_the_local_views(table: str) -> None:
    snapshots = f"{table[:-1]}_snapshots"
    assert athena_columns(snapshots) == {name: ATHENA_TYPES[kind] for name, kind in COLUMNS[table].items()}
    # The report reads a view of the latest snapshot the export completed (its marker is written last).
    latest = r"WHERE snapshot_on = \(SELECT max\(snapshot_on\) FROM arrears_reporting\.completed_snapshots\);"
    header = rf"CREATE OR REPLACE VIEW arrears_reporting\.{table} AS\s+SELECT (?P<cols>.*?)\s+"
    view = re.search(rf"{header}FROM arrears_reporting\.{snapshots}\s+{latest}", DDL, re.S)
    assert view, table
    assert [c.strip() for c in view["cols"].split(",")] == list(COLUMNS[table])


def test_the_snapshot_tables_project_the_partitions_the_export_writes() -> None:
    from arrears.adapters.reporting_store import snapshot_prefix

    for table, prefix in (("loan_snapshots", "loans"), ("transition_snapshots", "transitions")):
        assert table in DDL
        template = f"s3://${{ReportingBucket}}/{snapshot_prefix(prefix, date(2026, 3, 2))}".replace(
            "2026-03-02", "${snapshot_on}"
        )
        assert f"'storage.location.template' = '{template}'" in DDL, table
    assert athena_columns("completed_snapshots") == {"snapshot": "string", "rows": "map<string,bigint>"}


def test_the_athena_contacts_view_has_the_columns_of_the_local_one() -> None:
    match = re.search(
        r"CREATE OR REPLACE VIEW arrears_reporting\.contacts AS\s+SELECT (?P<cols>.*?)\s+FROM", DDL, re.S
    )
    assert match
    held_by = f"regexp_extract(array_join(rules_checked, ','), '{HELD_BY_PATTERN}', 1) AS {HELD_BY}"
    plain = " ".join(match["cols"].split()).replace(held_by, HELD_BY)
    assert [c.strip() for c in plain.split(",")] == [*COLUMNS["contacts"], HELD_BY, "jurisdiction", "dt"]
    # and the archive's own table declares every one of them
    archive = (ROOT / "infrastructure" / "athena" / "contacts.sql").read_text()
    for column in COLUMNS["contacts"]:
        assert re.search(rf"^\s+{column}\s+string", archive, re.M), column


# Functions the queries may call: each exists with the same meaning in DuckDB and in Athena (Trino).
PORTABLE = {
    "count",
    "sum",
    "min",
    "max",
    "coalesce",
    "substr",
    "date_diff",
    "row_number",
    "lead",
    "lag",
    "cast",
}
SQL_WORDS = {"in", "over", "and", "or", "as", "on", "join", "from", "select", "where", "not", "by", "exists"}


@pytest.mark.parametrize("name", QUERIES)
def test_each_query_reads_only_the_report_tables_with_portable_functions(name: str) -> None:
    sql = re.sub(r"--[^\n]*", "", query_text(name))
    tables = {t.lower() for t in re.findall(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", sql, re.I)}
    ctes = {c.lower() for c in re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+AS\s*\(", sql, re.I)}
    assert tables - ctes <= set(COLUMNS), name
    functions = {f.lower() for f in re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", sql)} - ctes - SQL_WORDS
    assert functions <= PORTABLE, (name, functions - PORTABLE)


@pytest.mark.parametrize(
    "table",
    [
        "plan_events",
        "plan_requests",
        "hardship_requests",
        "dispute_requests",
        "complaint_requests",
        "promise_events",
        "preference_changes",
    ],
)
def test_the_athena_plan_views_have_the_columns_of_the_local_ones(table: str) -> None:
    match = re.search(
        rf"CREATE OR REPLACE VIEW arrears_reporting\.{table} AS\s+SELECT (?P<cols>.*?)\s+"
        rf"FROM arrears_archive\.{table}_raw;",
        DDL,
        re.S,
    )
    assert match, table
    names = [c.strip().rsplit(" AS ", 1)[-1] for c in match["cols"].split(",")]
    assert names == list(COLUMNS[table])
    archive = (ROOT / "infrastructure" / "athena" / "contacts.sql").read_text()
    assert f"arrears_archive.{table}_raw (" in archive
