"""The S3 side of the archive: SSE-KMS objects under Object Lock retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ArchiveStore:
    def __init__(self, s3: S3Client, bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id
        self.put_requests = 0

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def put(self, key: str, body: bytes, *, content_type: str, retain_until: date) -> None:
        """PUT with SSE-KMS (the data key) and COMPLIANCE retention until `retain_until` (00:00 UTC).

        Repeating a PUT of the same bytes (a retry) adds an identical version; the bucket is
        versioned and locked, so no earlier version can be overwritten or removed.
        """
        self.put_requests += 1
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self._kms_key_id,
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=datetime.combine(retain_until, time(), tzinfo=UTC),
        )
