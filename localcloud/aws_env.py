"""The environment a local run sets before anything builds a boto3 client: a region and fake
credentials, so that the demo, the what-if and the benchmark run on a machine with no AWS
configuration at all, and only ever talk to moto or the in-memory adapters (never to a real account
the operator's shell happens to point at)."""

from __future__ import annotations

import os

# Region and credentials only: what botocore needs to build a client without a config file.
LOCAL_AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
# A simulated run adds what the functions' template environment would otherwise leave to Lambda:
# no X-Ray daemon to trace to, and the metrics namespace the report reads.
LOCAL_RUN_ENV = {
    **LOCAL_AWS_ENV,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Arrears",
}


def use_local_aws(environment: dict[str, str] = LOCAL_RUN_ENV) -> None:
    """Set `environment` in this process (overriding the shell's: a local run never reaches AWS)."""
    os.environ.update(environment)
