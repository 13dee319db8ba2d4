"""The case-file bucket: court case files written once, SSE-KMS, under the restricted `case-files/` prefix.

A case file holds the borrower's identity (`arrears.domain.case_file`): the bucket is its own, with
its own KMS key and a policy that lets only the case-file function write and the legal role read
(template.yaml, `CaseFileBucket`). Each object is written with S3's conditional put (`If-None-Match:
*`): a retried legal step finds the file there and writes nothing, so a file is written once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# S3's answers to a conditional put of a key that exists (or is being written by another request).
_ALREADY_WRITTEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_ABSENT = frozenset({"NoSuchKey", "404", "NotFound"})


class CaseFileStore:
    def __init__(self, s3: S3Client, bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    @property
    def bucket(self) -> str:
        return self._bucket

    def put_once(self, key: str, body: bytes, *, content_type: str) -> bool:
        """Write `body` at `key` unless an object is there already; True when this call wrote it."""
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self._kms_key_id,
                IfNoneMatch="*",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ALREADY_WRITTEN:
                return False
            raise
        return True

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted (all pages of ListObjectsV2)."""
        found: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            found.extend(str(entry["Key"]) for entry in page.get("Contents", []))
        return sorted(found)

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        try:
            body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ABSENT:
                return None
            raise
        return body
