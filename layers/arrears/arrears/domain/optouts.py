"""Opt-outs and opt-ins: the borrower saying "stop" (or "start again") on one channel.

Three pure parts, each used by `arrears.usecases.preferences`:

* **Reply keywords** (`ReplyKeywords`, `classify_reply`): what a text message from the borrower means.
  The keyword lists are rule-pack data (`rulepacks.yaml`, `reply_keywords`, with their sources: the
  CTIA Messaging Principles and Best Practices (STOP, END, CANCEL, UNSUBSCRIBE, QUIT; START, UNSTOP to
  opt back in), 47 CFR 64.1200(a)(10) (revocation of consent by any reasonable means, the FCC's list of
  words), Reg F 12 CFR 1006.6(e) (a reasonable and simple way to opt out of electronic messages), and
  the MIIT short-message rules (通信短信息服务管理规定, art. 18: an easy, effective way to refuse
  commercial texts; carriers' "回复TD退订" practice). An opt-out is honoured when the **first word**
  of the reply is an opt-out keyword ("STOP please" stops); an opt-in only when the **whole reply** is an
  opt-in keyword (a sentence that happens to contain "start" never re-enrols anyone). Honouring more
  opt-outs than a pack asks for is never unlawful, so the keywords of every pack in force apply to
  every reply.
* **The keyed phone lookup key** (`phone_lookup_key`): HMAC-SHA256 of the E.164 number under a key
  derived from the borrower-token secret, so the Borrowers index holds no phone number and no log,
  metric or archive line ever needs one.
* **The signed unsubscribe link** (`sign_link`, `verify_link`): `<base>?t=<payload>.<signature>`, the
  payload `v1|<borrower_token>|<channel>|<expires epoch s>` in base64url and the signature its
  HMAC-SHA256 under the opt-out link key (Secrets Manager). A tampered, malformed or expired link raises
  a `LinkError` whose `code` is machine-readable.

`PreferenceChange` is one opt-out or opt-in, whatever its source (SMS reply, e-mail link, and later the
borrower API's preference route), and `preference_record` its archive record: pseudonymous (the
borrower token, never the id, number, address or the reply's text).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from arrears.domain.borrowers import Borrower
from arrears.domain.calendar import format_utc
from arrears.domain.strategy import Channel
from arrears.domain.tokens import borrower_token

LINK_VERSION = "v1"
PHONE_KEY_LABEL = b"arrears/phone-lookup-key/v1"
PREFERENCES_PREFIX = "preferences/"


class PreferenceKind(StrEnum):
    OPT_OUT = "OPT_OUT"
    OPT_IN = "OPT_IN"


class PreferenceSource(StrEnum):
    SMS_KEYWORD = "SMS_KEYWORD"  # a reply to our number (AWS End User Messaging two-way SMS)
    EMAIL_LINK = "EMAIL_LINK"  # the signed unsubscribe link of an e-mail
    BORROWER_API = "BORROWER_API"  # the borrower's own preference route (HTTP API)


@dataclass(frozen=True, slots=True)
class ReplyKeywords:
    """The words a text reply is matched against (upper-case, NFKC-normalised), and their sources."""

    opt_out: frozenset[str]
    opt_in: frozenset[str]
    citations: tuple[str, ...] = ()

    def __or__(self, other: ReplyKeywords) -> ReplyKeywords:
        return ReplyKeywords(
            self.opt_out | other.opt_out,
            self.opt_in | other.opt_in,
            tuple(dict.fromkeys(self.citations + other.citations)),
        )


# Punctuation around a keyword (ASCII and CJK full-width marks, curly quotes), stripped before matching.
_SURROUNDING = " \t\r\n.,!?;:'\"\u3002\uff0c\uff01\uff1f\uff1b\uff1a\u201c\u201d\u2018\u2019"


def normalise_keyword(text: str) -> str:
    """NFKC, trimmed, upper-case, surrounding punctuation removed: "Stop!" -> "STOP"; full-width Latin letters
    become ASCII ones."""
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    return folded.strip(_SURROUNDING)


def classify_reply(body: str, keywords: ReplyKeywords) -> PreferenceKind | None:
    """OPT_OUT when the reply's first word (or all of it) is an opt-out keyword, or contains a Chinese
    one; OPT_IN when the
    whole reply is an opt-in keyword; None otherwise (not a keyword: nothing changes)."""
    whole = normalise_keyword(body)
    if not whole:
        return None
    first = normalise_keyword(whole.split()[0])
    if whole in keywords.opt_out or first in keywords.opt_out:
        return PreferenceKind.OPT_OUT
    # Chinese is written without spaces: "我要退订" opts out too (a CJK keyword anywhere in the reply).
    if any(not word.isascii() and word in whole for word in keywords.opt_out):
        return PreferenceKind.OPT_OUT
    if whole in keywords.opt_in:
        return PreferenceKind.OPT_IN
    return None


def e164(number: str) -> str:
    """The number in E.164 (`+14255550182`); raises ValueError for one that is not a valid number."""
    import phonenumbers  # on the first number: not paid by the cold import of every handler

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number in international format") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_lookup_key(secret: bytes, number: str) -> str:
    """HMAC-SHA256 (hex) of the E.164 number under a key derived from `secret` for this use only."""
    if not secret:
        raise ValueError("the lookup-key secret is empty")
    derived = hmac.new(secret, PHONE_KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(derived, e164(number).encode(), hashlib.sha256).hexdigest()


def borrower_lookup_keys(secret: bytes, borrower: Borrower) -> dict[str, str]:
    """The index keys a Borrowers item carries: its archive token, and the keyed hash of its number."""
    keys = {"borrower_token": borrower_token(secret, borrower.borrower_id)}
    if borrower.phone:
        keys["phone_key"] = phone_lookup_key(secret, borrower.phone)
    return keys


# -- the signed unsubscribe link ---------------------------------------------------------------


class LinkError(ValueError):
    """An unsubscribe link that cannot be honoured; `code` is machine-readable, `status` its HTTP code."""

    code = "link_invalid"
    status = 400


class MalformedLink(LinkError):
    code = "link_malformed"
    status = 400


class TamperedLink(LinkError):
    code = "link_signature_invalid"
    status = 403


class ExpiredLink(LinkError):
    code = "link_expired"
    status = 410


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a verified link says: whose (pseudonymous borrower token), which channel, until when."""

    borrower_token: str
    channel: Channel
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str) -> str:
    if not secret:
        raise ValueError("the link secret is empty")
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def sign_link(secret: bytes, claims: LinkClaims) -> str:
    """The link's `t` value: base64url(payload) "." base64url(HMAC-SHA256(secret, payload))."""
    expires = int(claims.expires_at.timestamp())
    payload = _b64(f"{LINK_VERSION}|{claims.borrower_token}|{claims.channel.value}|{expires}".encode())
    return f"{payload}.{_signature(secret, payload)}"


def link_url(base_url: str, token: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}t={token}"


def clean_link_token(token: str) -> str:
    """The `t` value without what a mail client's linkifier may append (the sentence's full stop):
    base64url never contains a `.` at the end."""
    return (token or "").strip().rstrip(".")


def verify_link(secret: bytes, token: str, now: datetime) -> LinkClaims:
    """The claims of a link `t` value, checked: signature first (constant time), then the expiry.

    Raises `MalformedLink` (400), `TamperedLink` (403) or `ExpiredLink` (410).
    """
    token = clean_link_token(token)
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature or len(token) > 512:
        raise MalformedLink("the link is incomplete")
    if not hmac.compare_digest(_signature(secret, payload), signature):
        raise TamperedLink("the link's signature does not match")
    try:
        version, borrower, channel, expires = _unb64(payload).decode().split("|")
        claims = LinkClaims(borrower, Channel(channel), datetime.fromtimestamp(int(expires), UTC))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise MalformedLink("the link's content is not understood") from None
    if version != LINK_VERSION or not borrower:
        raise MalformedLink("the link's version is not understood")
    if now >= claims.expires_at:
        raise ExpiredLink("the link has expired")
    return claims


# -- one change of preference and its archive record ---------------------------------------------


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    """One opt-out or opt-in of `channel` by `borrower_id`, in effect from the instant `at` (when it
    was recorded: the Clock port's instant).

    `source_ref` identifies the request (the inbound message id, the link's signature...): a redelivery
    of the same request is the same change (one archive record, one write).
    """

    borrower_id: str
    channel: Channel
    kind: PreferenceKind
    at: datetime
    source: PreferenceSource
    source_ref: str
    requested_at: datetime | None = None  # when the borrower asked (the reply's publication), if known

    @property
    def change_id(self) -> str:
        text = f"{self.source.value}|{self.source_ref}|{self.channel.value}|{self.kind.value}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def preference_record_key(change: PreferenceChange) -> str:
    return f"{PREFERENCES_PREFIX}dt={change.at.date().isoformat()}/{change.change_id}.json"


def preference_record(change: PreferenceChange, token: str, *, applied: bool) -> dict[str, Any]:
    """The archived record of one change: pseudonymous (borrower token), no number, address or text.

    `applied` is False when a later change of the same channel was already recorded (this one is
    older: it is archived, but does not overturn the newer one).
    """
    return {
        "record_type": change.kind.value,
        "change_id": change.change_id,
        "borrower_token": token,
        "channel": change.channel.value,
        "source": change.source.value,
        "occurred_at": format_utc(change.at),
        "requested_at": format_utc(change.requested_at or change.at),
        "applied": applied,
    }
