"""The demo's view of the composed rule packs: deferrals and suppressions by the layer that decided.

Read from the Contacts table's records (`decided_by`, `zones_checked`, as the archive carries them);
`summary.json` shows the result under `decided_by_layer`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

STOPPED = ("DEFERRED", "SUPPRESSED")
NO_LAYER = "(none)"  # a record without a deciding layer (e.g. written before layers were recorded)


def _phone_zone_decided(record: Mapping[str, Any]) -> bool:
    """Whether the contact hours stopped the contact in a zone other than the address zone (a phone's)."""
    zones = list(record.get("zones_checked") or [])
    if len(zones) < 2 or "contact_hours:FAIL" not in (record.get("rules_checked") or []):
        return False
    reason = str(record.get("reason", ""))
    return any(f" in {zone} (" in reason for zone in zones[1:])


def decisions_by_layer(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`{"DEFERRED": {layer: n}, "SUPPRESSED": {layer: n}, "by_rule": {"layer rule": n},
    "cancelled_by_rule": {rule: n}, "checked_in_several_zones": n, "deferred_by_a_phone_zone": n}`
    over the contact records (a cancellation, e.g. `due_date_ahead` or `still_overdue`, names no layer).

    A layer is `<id>@<version>` (`US-MA@2026.1`), `borrower` for their own preferred hours.
    """
    by_layer: dict[str, Counter[str]] = {status: Counter() for status in STOPPED}
    by_rule: Counter[str] = Counter()
    cancelled: Counter[str] = Counter()
    several_zones = phone_zone = 0
    for record in records:
        if len(record.get("zones_checked") or []) > 1:
            several_zones += 1
        status = str(record.get("status", ""))
        failed = [rule for rule in record.get("rules_checked") or [] if str(rule).endswith(":FAIL")]
        if status == "CANCELLED" and failed:
            cancelled[str(failed[-1]).removesuffix(":FAIL")] += 1
        if status not in STOPPED:
            continue
        layer = str(record.get("decided_by") or NO_LAYER)
        by_layer[status][layer] += 1
        if failed and layer != NO_LAYER:
            by_rule[f"{layer} {str(failed[-1]).removesuffix(':FAIL')}"] += 1
        if status == "DEFERRED" and _phone_zone_decided(record):
            phone_zone += 1
    return {
        **{status: dict(sorted(counts.items())) for status, counts in by_layer.items()},
        "by_rule": dict(sorted(by_rule.items())),
        "cancelled_by_rule": dict(sorted(cancelled.items())),
        "checked_in_several_zones": several_zones,
        "deferred_by_a_phone_zone": phone_zone,
    }
