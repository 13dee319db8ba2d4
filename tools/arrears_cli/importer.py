"""arrears-import: import a lender's book file (CSV or JSON Lines, docs/import.md) into a stack.

The same import as the stack's import function (an object put under `imports/` of its import bucket):
every row validated, borrowers, loans and payment history written through onboarding, the rejected
rows reported with their line, field and problem (never a personal value). Re-running it with the
same file changes nothing.

    arrears-import book.csv --check                         # validate every row; no AWS, nothing imported
    arrears-import book.csv --stack arrears-prod            # the tables of a deployed stack
    arrears-import book.csv --environment env.json          # a function environment, as JSON
    arrears-import book.csv --stack arrears-prod --report rejected.jsonl

`--check` validates each row on its own (fields, types, units, the schema version) and reports
what the import would reject for them; what only the tables can tell (a loan whose borrower is
neither in the file nor stored, a loan that differs from the stored one) is known at the import.

With `--stack`, the tables, the borrower-token secret and the collection policy are those of the
stack's import function (`<stack>-book-import`, read with lambda:GetFunctionConfiguration: its
environment is encrypted with the stack's data key, so the caller needs kms:Decrypt on it, and
DynamoDB, Secrets Manager and SSM read access to what it names). Without them, put the file under
`imports/` of the stack's import bucket (output `ImportBucketName`) and read the report under `reports/`.

Exit status: 0 every row imported or unchanged, 2 some rows rejected (see the report), 1 an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from arrears.adapters.container import Container
from arrears.config.settings import load_settings
from arrears.events.book_file import parse_book
from arrears.handlers.book_import import import_text
from arrears.usecases.book_import import ImportReport, RowProblem
from arrears_cli.aws_errors import reports_aws_errors

__all__ = ["function_environment", "main", "run_import"]


def function_environment(stack: str, session: boto3.session.Session) -> dict[str, str]:
    """The environment of the stack's import function (`<stack>-book-import`)."""
    configuration = session.client("lambda").get_function_configuration(FunctionName=f"{stack}-book-import")
    environment = configuration.get("Environment", {})
    if "Error" in environment:
        raise RuntimeError(
            f"{stack}-book-import: environment not readable: {environment['Error'].get('ErrorCode')}"
        )
    return dict(environment.get("Variables", {}))


def run_import(
    path: Path, environment: Mapping[str, str], at: datetime, session: boto3.session.Session | None = None
) -> ImportReport:
    """Import the file at `path` into the tables `environment` names, as of `at`."""
    container = Container(load_settings(dict(environment)), session or boto3.session.Session())
    playbook = container.playbook_source().current()
    return import_text(path.read_text(encoding="utf-8-sig"), path.name, at, container, playbook)


@reports_aws_errors("arrears-import")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="arrears-import", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, help="the book file (.csv, or .jsonl for JSON Lines)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--check", action="store_true", help="validate the rows only (no AWS, no writes)")
    target.add_argument("--stack", help="a deployed stack's name")
    target.add_argument("--environment", type=Path, help="a JSON file of a function's environment")
    parser.add_argument(
        "--report", type=Path, help="where to write the rejected rows (default: FILE.errors.jsonl)"
    )
    parser.add_argument("--region", default=None, help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--profile", default=None, help="AWS profile (default: your AWS configuration's)")
    args = parser.parse_args(argv)
    target_report = args.report or args.file.with_name(args.file.name + ".errors.jsonl")
    if args.check:
        try:
            records = parse_book(args.file.read_text(encoding="utf-8-sig"), args.file.name)
        except (OSError, ValueError) as error:
            print(f"arrears-import: {error}", file=sys.stderr)
            return 1
        if records.problems:
            _write_problems(target_report, records.problems)
        print(
            f"{args.file}: {records.rows_read} rows read, {len({p.line for p in records.problems})} "
            f"would be rejected (each row checked on its own; nothing imported)"
        )
        return _print_problems(records.problems, target_report)
    try:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
        if args.stack:
            environment = function_environment(args.stack, session)
        else:
            environment = json.loads(args.environment.read_text())
        report = run_import(args.file, environment, datetime.now(UTC), session)
    except (OSError, ValueError, RuntimeError, BotoCoreError, ClientError) as error:
        # no region, no credentials, no such stack, access denied: said plainly, no traceback
        print(f"arrears-import: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    _write_problems(target_report, report.problems)
    summary = report.as_json()
    print(
        f"{args.file}: {summary['rows_read']} rows read, {summary['imported']} imported, "
        f"{summary['unchanged']} unchanged, {summary['rejected']} rejected"
    )
    for key, count in summary["by_record"].items():
        print(f"  {key}: {count}")
    return _print_problems(report.problems, target_report)


def _write_problems(path: Path, problems: list[RowProblem]) -> None:
    path.write_text("".join(json.dumps(p.as_json(), ensure_ascii=False) + "\n" for p in problems))


def _print_problems(problems: list[RowProblem], report: Path) -> int:
    """Each problem on a line (line, record, id, field, problem: never a value); the exit status."""
    for problem in problems:
        print(f"  line {problem.line} ({problem.record} {problem.id}): {problem.field}: {problem.problem}")
    if problems:
        print(f"rejected rows written to {report}")
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
