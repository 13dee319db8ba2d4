"""The collection policy in force: bundled with the code, overridable from SSM without a deploy.

`DEFAULT_POLICY` is the bundled document (`bundled/strategies.yaml`, the only copy in the tree).
`PolicySource` answers the policy a handler should use
now: the document in the SSM parameter named by STRATEGY_PARAMETER_NAME when there is one, read
through Powertools Parameters and cached for `max_age` seconds; the bundled default when the name
is empty, the parameter is absent, or it holds the placeholder `bundled`. A parameter that holds
an invalid document is an error (logged with its field and problem) and the last good policy stays
in force: an operator's typo never stops collection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from arrears.config.strategies import PolicyDocumentError, load_bundled, parse_policy
from arrears.domain.policy import CollectionPolicy

__all__ = ["BUNDLED_MARKER", "DEFAULT_POLICY", "CollectionPolicy", "PolicySource"]

DEFAULT_POLICY = load_bundled()
BUNDLED_MARKER = "bundled"

logger = logging.getLogger(__name__)

Fetch = Callable[[str, int], str | None]
"""(parameter name, max age in seconds) -> the parameter's value, or None when it does not exist."""


def ssm_fetch(name: str, max_age: int) -> str | None:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        return str(parameters.get_parameter(name, max_age=max_age))
    except GetParameterError as error:
        if "ParameterNotFound" in str(error):
            return None
        raise


@dataclass
class PolicySource:
    parameter_name: str = ""
    max_age: int = 300
    fetch: Fetch = ssm_fetch
    report: Callable[[str], None] | None = None  # told of an invalid document (the handler logs it)
    _last_text: str | None = field(default=None, repr=False)
    _last: CollectionPolicy = field(default=DEFAULT_POLICY, repr=False)
    _bad_text: str | None = field(default=None, repr=False)

    def current(self) -> CollectionPolicy:
        if not self.parameter_name:
            return DEFAULT_POLICY
        text = self.fetch(self.parameter_name, self.max_age)
        if text is None or text.strip() in ("", BUNDLED_MARKER):
            return DEFAULT_POLICY
        if text == self._bad_text:
            return self._last  # already reported
        if text != self._last_text:
            try:
                self._last = parse_policy(text, f"ssm:{self.parameter_name}")
            except PolicyDocumentError as error:
                self._bad_text = text
                if self.report is not None:
                    self.report(str(error))
                else:
                    logger.error("invalid collection policy document; keeping the last good one: %s", error)
                return self._last
            self._last_text = text
        return self._last
