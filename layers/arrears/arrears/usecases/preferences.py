"""Channel preferences: opt-outs and opt-ins recorded at once, from a text reply or an unsubscribe link.

One use case records every change, whatever its way in (`record_preference`); each way in finds the
borrower and calls it:

* `receive_text_reply`: a two-way SMS reply (AWS End User Messaging -> SNS -> the inbound-sms
  function). The reply's words are matched against the reply keywords of every rule pack in force
  (`arrears.domain.optouts.classify_reply`); the sender is found by the keyed hash of their number on
  the PhoneKeyIndex. A reply that is no keyword, or from a number nobody has, changes nothing.
* `follow_unsubscribe_link`: the signed link of an e-mail (the unsubscribe function's URL, later the
  borrower API's preference route calls the same function); the borrower is found by the archive
  token the link carries, on the BorrowerTokenIndex.

`record_preference` writes the channel's state on the Borrowers item (`opted_out_channels`, the list
the compliance gate reads at every send, so the next send on that channel is SUPPRESSED) and archives
one write-once record under `preferences/dt=<day>/<change id>.json` (`preference_record`). A
redelivered request writes nothing new. `opt_out_link` builds the signed link an e-mail carries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from arrears.adapters.archive_store import ArchiveStore
from arrears.adapters.dynamodb import BORROWER_TOKEN_INDEX, PHONE_KEY_INDEX, BorrowerRepository
from arrears.config.rulepacks import bundled_rule_packs, rule_pack_in_force
from arrears.domain.archive import retain_until
from arrears.domain.optouts import (
    LinkClaims,
    PreferenceChange,
    PreferenceKind,
    PreferenceSource,
    ReplyKeywords,
    classify_reply,
    clean_link_token,
    link_url,
    phone_lookup_key,
    preference_record,
    preference_record_key,
    sign_link,
    verify_link,
)
from arrears.domain.rulepacks import RulePackHistory
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token

Secret = Callable[[], bytes]


def reply_keywords(at: datetime, packs: RulePackHistory | None = None) -> ReplyKeywords:
    """The union of the reply keywords of every pack in force at `at` (honouring more is safe)."""
    history = packs if packs is not None else bundled_rule_packs()
    union = ReplyKeywords(frozenset(), frozenset())
    for jurisdiction in history:
        pack = rule_pack_in_force(jurisdiction, at, history)
        if pack.reply_keywords is not None:
            union = union | pack.reply_keywords
    return union


@dataclass(frozen=True)
class PreferencePorts:
    borrowers: BorrowerRepository
    store: ArchiveStore
    token_secret: Secret


@dataclass(frozen=True, slots=True)
class PreferenceOutcome:
    """What a request did. `status`: RECORDED (stored now), STALE (a later change of that channel is
    stored: archived, not applied), UNKNOWN_BORROWER, NOT_A_KEYWORD. `record_key` is the archive key
    ("" when nothing was archived); `archived` says whether this call wrote it (False on a redelivery)."""

    status: str
    kind: PreferenceKind | None = None
    channel: Channel | None = None
    source: PreferenceSource | None = None
    record_key: str = ""
    archived: bool = False


def preference_retention_years(packs: RulePackHistory | None = None) -> int:
    """A preference record is kept as long as the longest-kept collection record of any pack."""
    history = packs if packs is not None else bundled_rule_packs()
    return max(pack.retention_years for pack in history.latest.values())


def record_preference(change: PreferenceChange, ports: PreferencePorts) -> PreferenceOutcome:
    """Store the change on the borrower at once and archive it (write-once, idempotent by change id).

    Raises `LookupError` when the borrower does not exist (callers look them up first).
    """
    applied = ports.borrowers.set_channel_preference(
        change.borrower_id,
        change.channel.value,
        opted_out=change.kind is PreferenceKind.OPT_OUT,
        at=change.at,
    )
    if applied is None:
        raise LookupError("no such borrower")
    key = preference_record_key(change)
    archived = False
    if not ports.store.exists(key):
        token = borrower_token(ports.token_secret(), change.borrower_id)
        body = json.dumps(preference_record(change, token, applied=applied), sort_keys=True).encode()
        ports.store.put(
            key,
            body,
            content_type="application/json",
            retain_until=retain_until(change.at.date(), preference_retention_years()),
        )
        archived = True
    return PreferenceOutcome(
        "RECORDED" if applied else "STALE", change.kind, change.channel, change.source, key, archived
    )


# -- text replies ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextReply:
    """A two-way SMS reply as AWS End User Messaging publishes it (docs/contracts.md, "Inbound")."""

    origination_number: str
    message_body: str
    inbound_message_id: str


def receive_text_reply(
    reply: TextReply, at: datetime, ports: PreferencePorts, requested_at: datetime | None = None
) -> PreferenceOutcome:
    """Opt the sender out of (or back into) texts from the instant `at` when the reply is a keyword;
    else change nothing. `requested_at`: when the reply reached us (archived beside `at`).

    Raises ValueError for a sender number that is not a phone number (the caller's failure path).
    """
    kind = classify_reply(reply.message_body, reply_keywords(at))
    if kind is None:
        return PreferenceOutcome("NOT_A_KEYWORD", source=PreferenceSource.SMS_KEYWORD)
    key = phone_lookup_key(ports.token_secret(), reply.origination_number)
    borrower_id = ports.borrowers.find_id(PHONE_KEY_INDEX, "phone_key", key)
    if borrower_id is None:
        return PreferenceOutcome("UNKNOWN_BORROWER", kind, Channel.SMS, PreferenceSource.SMS_KEYWORD)
    change = PreferenceChange(
        borrower_id,
        Channel.SMS,
        kind,
        at,
        PreferenceSource.SMS_KEYWORD,
        reply.inbound_message_id,
        requested_at,
    )
    return record_preference(change, ports)


# -- the e-mail unsubscribe link ------------------------------------------------------------------


def opt_out_link(
    borrower_id: str,
    channel: Channel,
    *,
    now: datetime,
    base_url: str,
    ttl: timedelta,
    token_secret: Secret,
    link_secret: Secret,
) -> str:
    """The signed, expiring unsubscribe link for `borrower_id`'s `channel`, valid `ttl` from `now`."""
    claims = LinkClaims(borrower_token(token_secret(), borrower_id), channel, now + ttl)
    return link_url(base_url, sign_link(link_secret(), claims))


def follow_unsubscribe_link(
    token: str, at: datetime, ports: PreferencePorts, link_secret: Secret
) -> PreferenceOutcome:
    """Opt the link's borrower out of the link's channel at `at`.

    Raises `arrears.domain.optouts.LinkError` (malformed 400, tampered 403, expired 410); an unknown
    borrower (erased since, or a link of another stack) answers UNKNOWN_BORROWER.
    """
    claims = verify_link(link_secret(), token, at)
    borrower_id = ports.borrowers.find_id(BORROWER_TOKEN_INDEX, "borrower_token", claims.borrower_token)
    if borrower_id is None:
        return PreferenceOutcome(
            "UNKNOWN_BORROWER", PreferenceKind.OPT_OUT, claims.channel, PreferenceSource.EMAIL_LINK
        )
    # One link, one opt-out: the link's signature identifies the request.
    ref = hashlib.sha256(clean_link_token(token).encode()).hexdigest()
    change = PreferenceChange(
        borrower_id, claims.channel, PreferenceKind.OPT_OUT, at, PreferenceSource.EMAIL_LINK, ref
    )
    return record_preference(change, ports)
