"""The demo's credit-bureau output: the Metro 2 files and the CN records the stack wrote, counted.

Reads the bureau bucket after the run, copies its objects to `out/bureau/` (the demo's identities are
synthetic) and counts what a compliance officer checks first: Metro 2 accounts by status code, by
compliance condition code and special comment, per cycle, and CN records by event, repayment status
code and five-level class. The monthly function's own results (accounts held by the precondition)
come from its invocations (`cycles`).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from arrears.domain.metro2 import BASE, field_value


def _objects(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def bureau_files_summary(bucket: str, cycles: list[dict[str, Any]], out: Path) -> dict[str, Any]:
    """Copy the bureau bucket to `out/bureau/` (emptied first: an earlier run's files never pass for
    this run's) and count its records (see the module)."""
    s3 = boto3.client("s3")
    target = out / "bureau"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    by_status: Counter[str] = Counter()
    cn_events: Counter[str] = Counter()
    cn_status: Counter[str] = Counter()
    cn_class: Counter[str] = Counter()
    cn_records = 0
    cn_lines: list[str] = []
    for key in _objects(s3, bucket):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if key.startswith("metro2/"):
            (target / key.rsplit("/", 1)[-1]).write_bytes(body)
            bases = body.decode("ascii").rstrip("\n").split("\n")[1:-1]
            statuses = Counter(field_value(BASE, b, "account_status") for b in bases)
            by_status.update(statuses)
            files[key] = {
                "accounts": len(bases),
                "by_status": dict(sorted(statuses.items())),
                "compliance_condition": dict(
                    Counter(
                        c for b in bases if (c := field_value(BASE, b, "compliance_condition_code").strip())
                    )
                ),
                "special_comment": dict(
                    Counter(c for b in bases if (c := field_value(BASE, b, "special_comment").strip()))
                ),
            }
        elif key.startswith("cn-credit/"):
            for line in body.decode("utf-8").splitlines():
                record = json.loads(line)
                cn_records += 1
                cn_events[record["event"]] += 1
                cn_status[record["repayment_status"]] += 1
                cn_class[record["five_level_class"]] += 1
                cn_lines.append(line)
    (target / "cn-credit.jsonl").write_text("".join(line + "\n" for line in cn_lines), encoding="utf-8")
    return {
        "metro2": {
            "files": files,
            "accounts_by_status": dict(sorted(by_status.items())),
            "cycles": cycles,
        },
        "cn": {
            "records": cn_records,
            "by_event": dict(sorted(cn_events.items())),
            "by_repayment_status": dict(sorted(cn_status.items())),
            "by_five_level_class": dict(sorted(cn_class.items())),
        },
    }
