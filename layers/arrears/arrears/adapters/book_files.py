"""Book files in the imports bucket: read one under `imports/`, write its import report under `reports/`.

The report goes under another prefix than the file (`imports/x.csv` -> `reports/x.csv.errors.jsonl`
and `reports/x.csv.summary.json`) so that writing it triggers no import: the EventBridge rule
matches `imports/` only. Both are written with SSE-KMS under the stack's data key.
"""

from __future__ import annotations

import json
from typing import Any

IMPORTS_PREFIX = "imports/"
REPORTS_PREFIX = "reports/"
MAX_BOOK_BYTES = 100 * 1024 * 1024
"""The largest book file one invocation reads (100 MiB: some 500,000 rows in under a minute of CSV
parsing, well within the function's memory); split a larger book into several files."""


class BookTooLarge(ValueError):
    """A book file beyond `MAX_BOOK_BYTES`: not read, reported as a whole."""


def report_keys(key: str) -> tuple[str, str]:
    """(errors key, summary key) of the book file `key`: beside it, under `reports/`."""
    name = key.removeprefix(IMPORTS_PREFIX)
    return f"{REPORTS_PREFIX}{name}.errors.jsonl", f"{REPORTS_PREFIX}{name}.summary.json"


class BookFiles:
    def __init__(self, s3: Any, kms_key_id: str) -> None:
        self._s3 = s3
        self._kms_key_id = kms_key_id

    def read(self, bucket: str, key: str) -> str:
        """The file's text (UTF-8, a byte-order mark dropped); `BookTooLarge` or `UnicodeDecodeError`."""
        head = self._s3.head_object(Bucket=bucket, Key=key)
        if int(head["ContentLength"]) > MAX_BOOK_BYTES:
            raise BookTooLarge(
                f"{head['ContentLength']} bytes, more than the {MAX_BOOK_BYTES} one import reads"
            )
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return bytes(body).decode("utf-8-sig")

    def write_report(
        self, bucket: str, key: str, problems: list[dict[str, Any]], summary: dict[str, Any]
    ) -> tuple[str, str]:
        """Write the problems (one JSON object a line) and the summary; returns their keys."""
        errors_key, summary_key = report_keys(key)
        lines = "".join(json.dumps(p, ensure_ascii=False, sort_keys=True) + "\n" for p in problems)
        for target, body, kind in (
            (errors_key, lines, "application/x-ndjson"),
            (summary_key, json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "application/json"),
        ):
            self._s3.put_object(
                Bucket=bucket,
                Key=target,
                Body=body.encode(),
                ContentType=kind,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self._kms_key_id,
            )
        return errors_key, summary_key
