"""Count the AWS requests the handlers make during a run, and the SMS message parts they send.

`RequestCount` hooks botocore's event system for every session created after `install()` (botocore's
built-in handlers, the list every new session registers): `after-call` counts each request by
`service:Operation` and by the function running it (`LocalCloud` sets `current_function` while a
handler is loaded or invoked; requests the simulator makes itself, as the lending core or to export,
are not counted), and `provide-client-params.sns.Publish` counts the parts of each SMS (a Publish
with a PhoneNumber) by the destination's country calling code.

SMS parts follow GSM 03.38 / 3GPP TS 23.040: a message in the GSM 7-bit alphabet is one part up to 160
characters (the extension characters count two), else 153 per part; a message with any other
character is sent as UCS-2: one part up to 70 characters, else 67 per part.
"""

from __future__ import annotations

import math
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
import phonenumbers

current_function: ContextVar[str | None] = ContextVar("current_function", default=None)

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("^{}\\[~]|€\f")


def sms_parts(message: str) -> int:
    """How many SMS parts `message` is sent in (GSM 7-bit or UCS-2, with concatenation headers)."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in message):
        length = sum(2 if ch in _GSM_EXTENSION else 1 for ch in message)
        return 1 if length <= 160 else math.ceil(length / 153)
    length = sum(2 if ord(ch) > 0xFFFF else 1 for ch in message)  # UTF-16 code units
    return 1 if length <= 70 else math.ceil(length / 67)


@dataclass
class RequestCount:
    """Requests by `service:Operation`, by function, and SMS parts by country calling code."""

    requests: Counter[str] = field(default_factory=Counter)
    by_function: Counter[str] = field(default_factory=Counter)
    by_function_service: Counter[tuple[str, str]] = field(default_factory=Counter)
    sms_parts: Counter[str] = field(default_factory=Counter)
    sms_messages: int = 0

    def install(self) -> None:
        """Count from now on, in every botocore session created after this call."""
        botocore.handlers.BUILTIN_HANDLERS.append(("after-call", self._after_call))
        botocore.handlers.BUILTIN_HANDLERS.append(("provide-client-params.sns.Publish", self._publish))

    def uninstall(self) -> None:
        botocore.handlers.BUILTIN_HANDLERS[:] = [
            entry
            for entry in botocore.handlers.BUILTIN_HANDLERS
            if getattr(entry[1], "__self__", None) is not self
        ]

    def _after_call(self, model: Any = None, **_: Any) -> None:
        function = current_function.get()
        if function is None or model is None:
            return
        self.record(function, model.service_model.service_name, model.name)

    def record(self, function: str, service: str, operation: str) -> None:
        """Count one request of `function` to `service` (`dynamodb`, `sns`...) `operation` (`PutItem`...)."""
        self.requests[f"{service}:{operation}"] += 1
        self.by_function[function] += 1
        self.by_function_service[(function, service)] += 1

    def _publish(self, params: dict[str, Any] | None = None, **_: Any) -> None:
        if current_function.get() is None or not params or not params.get("PhoneNumber"):
            return
        try:
            code = f"+{phonenumbers.parse(str(params['PhoneNumber'])).country_code}"
        except phonenumbers.NumberParseException:
            code = "unknown"
        self.sms_messages += 1
        self.sms_parts[code] += sms_parts(str(params.get("Message", "")))

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "requests_by_function": dict(sorted(self.by_function.items())),
            "requests_by_function_and_service": by_function_and_service(self.by_function_service),
            "sms_messages": self.sms_messages,
            "sms_parts_by_country_code": dict(sorted(self.sms_parts.items())),
        }


def by_function_and_service(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """{function: {service: requests}}, both sorted."""
    nested: dict[str, dict[str, int]] = {}
    for (function, service), n in sorted(counts.items()):
        nested.setdefault(function, {})[service] = n
    return nested


def per_loan_day(aws_requests: dict[str, Any], loans: int, days: int) -> dict[str, Any]:
    """The run's counted AWS requests per loan-day (`loans` x `days`): in total, by service (`dynamodb`,
    `sqs`, `sns`, `s3`, ...), by handler, and by handler and service. `aws_requests` is
    `RequestCount.as_json()` (summary.json → `outcomes.aws_requests`)."""
    loan_days = loans * days
    if loan_days <= 0:
        raise ValueError("a run of no loan-day has no rate")
    by_service: Counter[str] = Counter()
    for key, n in aws_requests["requests"].items():
        by_service[key.partition(":")[0]] += int(n)

    def rate(n: float) -> float:
        return round(n / loan_days, 4)

    return {
        "loan_days": loan_days,
        "total": rate(sum(by_service.values())),
        "by_service": {service: rate(n) for service, n in sorted(by_service.items())},
        "by_handler": {fn: rate(n) for fn, n in sorted(aws_requests["requests_by_function"].items())},
        "by_handler_and_service": {
            fn: {service: rate(n) for service, n in services.items()}
            for fn, services in aws_requests.get("requests_by_function_and_service", {}).items()
        },
    }


__all__ = ["RequestCount", "by_function_and_service", "current_function", "per_loan_day", "sms_parts"]
