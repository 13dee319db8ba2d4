"""Where an event carries the id its log lines are correlated by (Powertools Logger's
`correlation_id_path`), for the events whose path Powertools' `correlation_paths` does not name.

Kept apart from the models so that a handler module can name its path at import without importing
pydantic and the models, which its first invocation imports (`arrears.adapters.container`).
"""

from __future__ import annotations

SCHEDULED_TIME = "time"
"""The correlation id of an EventBridge Scheduler invocation (Logger `correlation_id_path`): its
scheduled time, which names the run."""
