"""Secrets Manager: the borrower-token HMAC key, read once per container."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class TokenSecret:
    def __init__(self, client: SecretsManagerClient, secret_arn: str) -> None:
        self._client = client
        self._secret_arn = secret_arn

    @cache  # noqa: B019 - one instance per container; the key is immutable for its lifetime
    def value(self) -> bytes:
        secret = self._client.get_secret_value(SecretId=self._secret_arn).get("SecretString", "")
        if not secret:
            raise RuntimeError(f"secret {self._secret_arn} has no SecretString")
        return secret.encode()
