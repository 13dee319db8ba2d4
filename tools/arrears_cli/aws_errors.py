"""One line on stderr, not a traceback, when a CLI cannot reach or use AWS.

`reports_aws_errors(program)` wraps a CLI's `main`: a botocore error (no region, no credentials, an
endpoint out of reach, a request AWS refused) is printed as `<program>: <what> (<what to do>)` and
the command exits 2, the status argparse uses for a command that cannot run as given.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

CANNOT_RUN = 2


def describe(error: BotoCoreError | ClientError) -> str:
    """What went wrong with AWS and what to do, in one line (no request ids, no payloads)."""
    if isinstance(error, NoRegionError):
        return (
            "no AWS region: pass --region where the command has it, or set AWS_REGION or a profile's region"
        )
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials: set AWS_PROFILE (or --profile) or the AWS_ACCESS_KEY_ID pair"
    if isinstance(error, ProfileNotFound):
        return f"{error} (see ~/.aws/config)"
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach {error.kwargs.get('endpoint_url', 'AWS')} (network, or the region)"
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return f"AWS refused {error.operation_name}: {detail.get('Code', '?')}: {detail.get('Message', '')}"
    return str(error)


def reports_aws_errors[**P](program: str) -> Callable[[Callable[P, int]], Callable[P, int]]:
    """Decorate a CLI `main` so an AWS error ends it with one line on stderr and exit status 2."""

    def wrap(main: Callable[P, int]) -> Callable[P, int]:
        @functools.wraps(main)
        def run(*args: P.args, **kwargs: P.kwargs) -> int:
            try:
                return main(*args, **kwargs)
            except (BotoCoreError, ClientError) as error:
                print(f"{program}: {describe(error)}", file=sys.stderr)
                return CANNOT_RUN

        return run

    return wrap


__all__ = ["describe", "reports_aws_errors"]
