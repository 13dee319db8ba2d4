"""The S3 side of the archive: SSE-KMS objects under the stage's Object Lock (`ArchiveLock`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from arrears.adapters.clock import Clock, WallClock
from arrears.domain.archive import ArchiveLock

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ArchiveStore:
    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        kms_key_id: str,
        lock: ArchiveLock | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id
        self.lock = lock or ArchiveLock()
        self._clock = clock or WallClock()
        self.put_requests = 0

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted (all pages of ListObjectsV2)."""
        found: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            found.extend(str(entry["Key"]) for entry in page.get("Contents", []))
        return sorted(found)

    def read(self, key: str) -> bytes:
        """The current version's bytes of `key` (raises ClientError NoSuchKey when absent)."""
        body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def retain_until(self, day: date, years: int) -> date:
        """The retain-until date of an object for a record of `day` whose jurisdiction keeps it `years`,
        under the stage's lock (`ArchiveLock.until`, counted from today's write in a dev stage)."""
        return self.lock.until(day, years, self._clock.now().date())

    def put(self, key: str, body: bytes, *, content_type: str, retain_until: date) -> None:
        """PUT with SSE-KMS (the data key) under the stage's Object Lock until `retain_until` (from
        `retain_until()`; kept in the archive chain's claim so a completed batch keeps the same date).

        Repeating a PUT of the same bytes (a retry) adds an identical version; the bucket is
        versioned and locked, so no earlier version can be overwritten or removed.
        """
        self.put_requests += 1
        keep_until = retain_until
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self._kms_key_id,
            ObjectLockMode=self.lock.mode,
            ObjectLockRetainUntilDate=datetime.combine(keep_until, time(), tzinfo=UTC),
        )

    def extend_retention(self, key: str, until: date) -> None:
        """Move the object's retain-until date forward to `until`, in the stage's mode (Object Lock
        refuses to shorten a COMPLIANCE date; extending needs no bypass)."""
        self._s3.put_object_retention(
            Bucket=self._bucket,
            Key=key,
            Retention={
                "Mode": self.lock.mode,
                "RetainUntilDate": datetime.combine(until, time(), tzinfo=UTC),
            },
        )

    def mark_expired(self, key: str) -> None:
        """Tag the object `retention=expired`: the bucket's lifecycle rule for that tag deletes it (a
        delete marker, then the version once no lock holds it)."""
        self._s3.put_object_tagging(
            Bucket=self._bucket, Key=key, Tagging={"TagSet": [{"Key": "retention", "Value": "expired"}]}
        )
