"""Simulated borrowers answering: text replies (STOP, 退订, START) and one click on an unsubscribe link.

Twice a day (17:00 UTC, afternoon in the US; 03:00 UTC, late morning in China) the borrowers chosen
from the book look at what they received and answer through the real paths:

* a text reply is published to the stack's InboundSmsTopic in AWS End User Messaging's two-way SMS
  shape and reaches the inbound-sms function as SNS delivers it (`LocalCloud.publish`);
* an e-mail's unsubscribe link is read from the simulated mailbox (an SQS queue subscribed to the
  reminders topic, as an e-mail gateway would be) and followed over HTTP on the local borrower API
  (`localcloud.http_api.LocalHttpApi`, route /preferences/unsubscribe): first the GET a browser (or a
  mail scanner) makes, then the button's POST.

Who answers (deterministic from the book): the first US borrowers who fall behind reply "STOP" to
their first text, the first to do so "START" three days later; the first Chinese borrower who falls
behind replies "我要退订"; one US borrower clicks the link of their first e-mail, after one tampered
attempt (refused 403). A reply that is no keyword ("I will pay on Friday") and a "STOP" from a number
nobody has show the paths that change nothing.

`opt_out_summary` then judges the run from the exported archive alone: the opt-outs and opt-ins by
channel and source, and every contact SENT on a channel after the borrower's opt-out of it and
before any opt-in (`violations`, which must be 0).
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import boto3

from localcloud.book import Behaviour, BookEntry
from localcloud.cloud import ACCOUNT, REGION, LocalCloud
from localcloud.http_api import LocalHttpApi, http_call

REPLY_TIMES_UTC = (time(3, 0), time(17, 0))
STOP_REPLIERS_US = 2
OPT_BACK_IN_AFTER = timedelta(days=3)
BEHIND = (Behaviour.NEVER, Behaviour.LATE, Behaviour.PARTIAL, Behaviour.RECOVERED)
OUR_NUMBER = "+12125550101"
_LINK = re.compile(r"https://\S+?\?t=[A-Za-z0-9_.-]+")


@dataclass
class _Replier:
    entry: BookEntry
    first: str  # what they reply to their first text
    opted_out_at: datetime | None = None
    then_start: bool = False
    started: bool = False


@dataclass
class ReplyStats:
    replies: Counter[str] = field(default_factory=Counter)  # outcome status -> count
    link_answers: Counter[str] = field(default_factory=Counter)  # "<METHOD> <status code>" -> count


def _sent_sms() -> list[tuple[str, str]]:
    """(number, body) of every text moto's SNS has sent (the simulated phones' inboxes)."""
    from moto.sns.models import sns_backends

    backend = sns_backends[ACCOUNT][REGION]
    return [(str(number), str(body)) for number, body in backend.sms_messages.values()]


class SimulatedReplies:
    def __init__(self, cloud: LocalCloud, book: list[BookEntry], api: LocalHttpApi) -> None:
        self.cloud = cloud
        self.api = api
        self.stats = ReplyStats()
        us = [e for e in book if e.loan.jurisdiction == "US-REGF" and e.behaviour in BEHIND]
        cn = [e for e in book if e.loan.jurisdiction == "CN" and e.behaviour in BEHIND]
        self.repliers = [_Replier(e, "STOP") for e in us[:STOP_REPLIERS_US]]
        self.repliers += [_Replier(e, "我要退订") for e in cn[:1]]
        self.clicker = next((e for e in us[STOP_REPLIERS_US:]), None)
        self.clicked = False
        self.side_replies_sent = False
        sqs = boto3.client("sqs", region_name=REGION)
        self._mailbox = sqs.create_queue(QueueName=f"simulated-mailbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self._mailbox, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=cloud.stack.physical["RemindersTopic"],
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self._links: dict[str, str] = {}

    def moments(self, begin: datetime, end: datetime) -> Iterator[datetime]:
        day = begin.date()
        while True:
            for at in REPLY_TIMES_UTC:
                moment = datetime.combine(day, at, tzinfo=begin.tzinfo)
                if moment >= end:
                    return
                if moment > begin:
                    yield moment
            day += timedelta(days=1)

    # -- one look at the inboxes --------------------------------------------------------------

    def answer(self) -> None:
        now = self.cloud.clock
        received = {number for number, _ in _sent_sms()}
        for replier in self.repliers:
            phone = replier.entry.borrower.phone
            if replier.opted_out_at is None and phone in received:
                self._reply(phone, replier.first)
                replier.opted_out_at = now
                # The first US borrower to say STOP says START a few days later.
                if replier.first == "STOP" and not any(r.then_start for r in self.repliers):
                    replier.then_start = True
                if not self.side_replies_sent:
                    self._reply(phone, "I will pay on Friday")  # no keyword: nothing changes
                    self._reply("+12025550199", "STOP")  # a number nobody has: nothing changes
                    self.side_replies_sent = True
            elif (
                replier.then_start
                and not replier.started
                and replier.opted_out_at is not None
                and now - replier.opted_out_at >= OPT_BACK_IN_AFTER
            ):
                self._reply(phone, "START")
                replier.started = True
        self._read_mail()
        if self.clicker is not None and not self.clicked:
            link = self._links.get(self.clicker.borrower.email)
            if link:
                self._click(link)
                self.clicked = True

    def reply(self, number: str, body: str) -> None:
        """A text reply from `number` (a reacting borrower's STOP, `localcloud.intents`)."""
        self._reply(number, body)

    def _reply(self, number: str, body: str) -> None:
        payload = {
            "originationNumber": number,
            "destinationNumber": OUR_NUMBER,
            "messageKeyword": "KEYWORD_ARREARS",
            "messageBody": body,
            "inboundMessageId": str(uuid.uuid4()),
            "previousPublishedMessageId": "",
        }
        for response in self.cloud.publish("InboundSmsTopic", json.dumps(payload, ensure_ascii=False)):
            self.stats.replies[response["status"] if isinstance(response, dict) else "FAILED"] += 1

    def _read_mail(self) -> None:
        sqs = boto3.client("sqs", region_name=REGION)
        while True:
            messages = sqs.receive_message(QueueUrl=self._mailbox, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                mail = json.loads(message["Body"])
                found = _LINK.findall(mail.get("body", ""))
                if found:
                    self._links.setdefault(str(mail.get("to", "")), found[0])
                sqs.delete_message(QueueUrl=self._mailbox, ReceiptHandle=message["ReceiptHandle"])

    def _click(self, link: str) -> None:
        tampered = link.rstrip(".")[:-2] + ("AA" if not link.rstrip(".").endswith("AA") else "BB")
        for method, url in (("POST", tampered), ("GET", link), ("POST", link)):
            for _ in range(3):  # a 500 (the function failed) is clicked again, as a borrower would
                response = http_call(method, self.api.local(url), headers={"Accept": "text/html"})
                self.stats.link_answers[f"{method} {response.status}"] += 1
                if response.status < 500:
                    break


# -- the check from the archive ------------------------------------------------------------------


def _archive_contacts(archive: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(archive.glob("contacts/**/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


def opt_out_summary(archive: Path, stats: ReplyStats | None = None) -> dict[str, Any]:
    """Opt-outs/opt-ins by channel and source, and the sends after an opt-out, from the archive alone."""
    changes = [json.loads(p.read_text()) for p in sorted(archive.glob("preferences/**/*.json"))]
    by: Counter[str] = Counter(f"{c['channel']}:{c['source']}:{c['record_type']}" for c in changes)
    timeline: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for change in sorted(changes, key=lambda c: str(c["occurred_at"])):
        if change["applied"]:
            timeline.setdefault((change["borrower_token"], change["channel"]), []).append(
                (str(change["occurred_at"]), str(change["record_type"]))
            )
    violations = checked = suppressed = 0
    for contact in _archive_contacts(archive):
        history = timeline.get((contact["borrower_token"], contact["channel"]))
        if not history:
            continue
        at = str(contact["occurred_at"])
        state = [kind for when, kind in history if when < at]
        if not state or state[-1] != "OPT_OUT":
            continue
        checked += 1
        if contact["status"] == "SENT":
            violations += 1
        elif contact["status"] == "SUPPRESSED" and "opted out" in str(contact.get("reason", "")):
            suppressed += 1
    summary: dict[str, Any] = {
        "opt_outs": sum(1 for c in changes if c["record_type"] == "OPT_OUT"),
        "opt_ins": sum(1 for c in changes if c["record_type"] == "OPT_IN"),
        "by_channel_source_and_kind": dict(sorted(by.items())),
        "contacts_after_an_opt_out": checked,
        "suppressed_after_an_opt_out": suppressed,
        "violations_sent_after_opt_out": violations,
    }
    if stats is not None:
        summary["text_replies_by_outcome"] = dict(sorted(stats.replies.items()))
        summary["unsubscribe_link_answers"] = dict(sorted(stats.link_answers.items()))
    return summary
