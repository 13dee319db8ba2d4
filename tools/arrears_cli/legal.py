"""arrears-legal: fetch or build a loan's court case file against a stack, and verify its proof.

    arrears-legal case --loan L-123 --stack arrears-prod [--out DIR]          # fetch (or build) and verify
    arrears-legal case --loan L-123 --environment env.json [--case-id ID] [--at ISO] [--out DIR]

`case` looks for the loan's case files in the stack's case-file bucket (one per legal referral, written
by the case-file function); with `--case-id` that one. When there is none it builds one now (case id
`manual-<YYYYMMDD>`, as of `--at` or now) through the same use case as the function: refused for a
time-barred claim. Either way it verifies the file's hash-chain proof (every archived record in its
data object, every object in its manifest, every manifest linked to the next up to the anchor) and
checks the anchor against the chain head today, then writes `<case id>.json` and `.html` into `--out`
(default: the current directory). The files hold the borrower's identity: keep them inside the trust
boundary.

With `--stack`, the tables, buckets and secret are those of the stack's case-file function
(`<stack>-case-file`, read with lambda:GetFunctionConfiguration; its environment is encrypted with
the stack's data key). Exit status: 0 verified, 3 the proof does not hold, 1 an error (unknown loan,
time-barred claim, unreadable stack).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import boto3

from arrears.adapters.container import Container
from arrears.config.settings import load_settings
from arrears.domain.calendar import parse_utc
from arrears.domain.case_file import CASE_FILE_PREFIX, render_html
from arrears.usecases.case_file import CaseFilePorts, CaseFileResult, build_or_fetch
from arrears_cli.aws_errors import reports_aws_errors

__all__ = ["case_file", "main"]


def _environment(stack: str, session: boto3.session.Session) -> dict[str, str]:
    configuration = session.client("lambda").get_function_configuration(FunctionName=f"{stack}-case-file")
    environment = configuration.get("Environment", {})
    if "Error" in environment:
        raise RuntimeError(
            f"{stack}-case-file: environment not readable: {environment['Error'].get('ErrorCode')}"
        )
    return dict(environment.get("Variables", {}))


def _ports(container: Container) -> CaseFilePorts:
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


def case_file(
    loan_id: str,
    environment: Mapping[str, str],
    *,
    case_id: str | None = None,
    at: datetime | None = None,
    session: boto3.session.Session | None = None,
) -> CaseFileResult:
    """The loan's case file: `case_id`, else the last of its files by key, else a new one
    (`manual-<date>`) built as of `at`."""
    container = Container(load_settings(dict(environment)), session or boto3.session.Session())
    loan = container.loans.get(loan_id)
    if loan is None:
        raise LookupError(f"loan {loan_id} not found")
    if case_id is None:
        prefix = f"{CASE_FILE_PREFIX}jurisdiction={loan.jurisdiction}/loan={loan_id}/"
        existing = [key for key in container.case_files.keys(prefix) if key.endswith(".json")]
        if existing:
            case_id = existing[-1].rsplit("/", 1)[-1].removesuffix(".json")
    moment = at or container.clock.now()
    if case_id is None:
        case_id = f"manual-{moment:%Y%m%d}"
    return build_or_fetch(loan_id, case_id, moment, _ports(container), jurisdiction=loan.jurisdiction)


@reports_aws_errors("arrears-legal")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="arrears-legal", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    case = commands.add_parser("case", help="fetch or build a loan's case file and verify its proof")
    case.add_argument("--loan", required=True, help="the loan id")
    target = case.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="a deployed stack's name")
    target.add_argument(
        "--environment", type=Path, help="a JSON file of the case-file function's environment"
    )
    case.add_argument("--case-id", help="a referral's case id (the legal action's id)")
    case.add_argument("--at", help="build as of this instant (ISO 8601 with Z or offset; default now)")
    case.add_argument("--out", type=Path, default=Path(), help="where to write the JSON and HTML")
    args = parser.parse_args(argv)
    session = boto3.session.Session()
    try:
        environment = (
            _environment(args.stack, session) if args.stack else json.loads(args.environment.read_text())
        )
        at = parse_utc(args.at) if args.at else datetime.now(UTC)
        result = case_file(args.loan, environment, case_id=args.case_id, at=at, session=session)
    except (OSError, ValueError, LookupError, RuntimeError) as error:
        print(f"arrears-legal: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{result.case_id}.json").write_text(
        json.dumps(result.document, indent=1, ensure_ascii=False)
    )
    (args.out / f"{result.case_id}.html").write_text(render_html(result.document))
    claim = result.document["claim"]
    print(
        f"{result.loan_id} case {result.case_id}: {'built' if result.written else 'fetched'}; "
        f"{result.records} archived records, {result.manifests} manifests; claim {claim['total_minor']} "
        f"{claim['currency']} minor units as of {claim['as_of']}"
    )
    for problem in result.problems:
        print(f"FAIL {problem}")
    print("proof verified" if not result.problems else "proof does NOT hold")
    return 3 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
