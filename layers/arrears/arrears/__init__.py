"""Arrears: overdue-loan collection on AWS serverless.

`arrears.domain` is pure Python (no AWS); `arrears.adapters` holds every boto3 call;
`arrears.usecases` wires the two together for the thin handlers under `functions/`.
"""

__version__ = "0.1.0"
