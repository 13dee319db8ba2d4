"""Effects that must happen at most once per key, on Powertools idempotency records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

SEND_RECORD_TTL_SECONDS = 14 * 24 * 3600


class OnceRunner:
    """`runner(key, effect)` runs `effect()` the first time `key` is seen and replays its result after.

    A retried batch, a duplicate stream delivery or two dispatchers racing for the same action all
    get the first run's message id back instead of sending again.
    """

    def __init__(self, table_name: str, boto3_session: Any = None) -> None:
        self.config = IdempotencyConfig(expires_after_seconds=SEND_RECORD_TTL_SECONDS)
        persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_session=boto3_session)

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="request", persistence_store=persistence, config=self.config
        )
        def _run(request: dict[str, str], effect: Callable[[], str]) -> dict[str, str]:
            return {"message_id": effect()}

        self._run = _run

    def register_lambda_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)

    def __call__(
        self,
        key: str,
        effect: Callable[[], str],
        *,
        retry_safe: bool = False,
        recorded: Callable[[], object] | None = None,
        decision: Mapping[str, Any] | None = None,
        guard: Mapping[str, Any] | None = None,
    ) -> str:
        """The message id of `effect`'s first run for `key`; then `recorded()` (the caller's own record
        of it, run after a replay too: the Powertools record is completed whatever it does).
        `decision` is not kept and `guard` not checked (a Powertools record holds only the result and
        is written alone; the send outbox, `arrears.adapters.outbox`, keeps and checks both: contacts
        go through it, this runner guards the recording of reports only)."""
        message_id = str(self._run(request={"key": key}, effect=effect)["message_id"])
        if recorded is not None:
            recorded()
        return message_id
