"""The bureau files bucket: Metro 2 files and CN credit-reporting records, SSE-KMS, never public.

Kept apart from the contact archive: these files carry the borrower's identity (the bureau needs
it), the archive never does. No Object Lock: a file holding personal data must be erasable once its
retention has passed (the bucket's lifecycle rule expires it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from arrears.domain.cn_credit import CnCreditRecord


class BureauFileStore:
    """PUTs and reads objects of the bureau files bucket (an S3 client, the bucket, the KMS key)."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def put(self, key: str, body: bytes, *, content_type: str) -> None:
        """Write `key` with SSE-KMS (the same key and bytes again: the same object)."""
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self._kms_key_id,
        )

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        body: bytes = response["Body"].read()
        return body


class JsonLinesCreditReportWriter:
    """The shipped CN `CreditReportWriter`: one JSON Lines object per loan change, under
    `cn-credit/dt=<business date>/<loan id>-v<loan version>.jsonl` (a replayed change rewrites the
    same object with the same bytes)."""

    def __init__(self, store: BureauFileStore) -> None:
        self._store = store

    def write(self, records: Sequence[CnCreditRecord]) -> None:
        first = records[0]
        key = f"cn-credit/dt={first.occurred_on.isoformat()}/{first.loan_id}-v{first.version}.jsonl"
        body = "".join(json.dumps(r.as_json(), ensure_ascii=False, sort_keys=True) + "\n" for r in records)
        self._store.put(key, body.encode("utf-8"), content_type="application/x-ndjson")


__all__ = ["BureauFileStore", "JsonLinesCreditReportWriter"]
