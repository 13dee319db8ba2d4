"""Opt-out keywords (rule-pack data), the signed unsubscribe link and the keyed phone lookup key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arrears.config.rulepacks import (
    RulePackError,
    bundled_rule_packs,
    bundled_rule_packs_text,
    parse_rule_packs,
)
from arrears.domain.optouts import (
    ExpiredLink,
    LinkClaims,
    MalformedLink,
    PreferenceChange,
    PreferenceKind,
    PreferenceSource,
    TamperedLink,
    classify_reply,
    phone_lookup_key,
    preference_record,
    sign_link,
    verify_link,
)
from arrears.domain.strategy import Channel
from arrears.usecases.preferences import reply_keywords

NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
SECRET = b"k" * 64


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("STOP", PreferenceKind.OPT_OUT),
        ("stop", PreferenceKind.OPT_OUT),
        (" Stop. ", PreferenceKind.OPT_OUT),
        ("STOP texting me", PreferenceKind.OPT_OUT),
        ("unsubscribe", PreferenceKind.OPT_OUT),
        ("Cancel", PreferenceKind.OPT_OUT),
        ("END", PreferenceKind.OPT_OUT),
        ("quit", PreferenceKind.OPT_OUT),
        ("opt out", PreferenceKind.OPT_OUT),
        ("退订", PreferenceKind.OPT_OUT),
        ("我要退订。", PreferenceKind.OPT_OUT),
        ("TD", PreferenceKind.OPT_OUT),
        ("\uff34\uff24", PreferenceKind.OPT_OUT),  # full-width TD, as Chinese keyboards type it
        ("START", PreferenceKind.OPT_IN),
        ("unstop", PreferenceKind.OPT_IN),
        ("please start again", None),  # an opt-in is the whole reply, never a word in a sentence
        ("I will pay tomorrow", None),
        ("好的", None),
        ("", None),
    ],
)
def test_a_reply_is_classified_by_the_keywords_of_the_packs_in_force(
    body: str, kind: PreferenceKind | None
) -> None:
    assert classify_reply(body, reply_keywords(NOW)) is kind


def test_every_pack_cites_the_sources_of_its_reply_keywords() -> None:
    packs = bundled_rule_packs().latest
    us, cn = packs["US-REGF"].reply_keywords, packs["CN"].reply_keywords
    assert us is not None
    assert cn is not None
    assert {"STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"} <= us.opt_out
    assert {"START", "UNSTOP"} == us.opt_in
    assert {"退订", "TD"} <= cn.opt_out
    assert any("1006.6(e)" in c for c in us.citations)
    assert any("64.1200(a)(10)" in c for c in us.citations)
    assert any("CTIA" in c for c in us.citations)
    assert any("通信短信息服务管理规定" in c for c in cn.citations)


def test_a_pack_may_not_list_a_word_as_both_opt_out_and_opt_in() -> None:
    text = bundled_rule_packs_text().replace('opt_in: ["START", "UNSTOP"]', 'opt_in: ["START", "STOP"]')
    with pytest.raises(RulePackError, match="cannot both opt out and opt in"):
        parse_rule_packs(text, "test")


def test_a_signed_link_verifies_until_it_expires() -> None:
    claims = LinkClaims("a" * 64, Channel.EMAIL, NOW + timedelta(days=60))
    token = sign_link(SECRET, claims)

    assert verify_link(SECRET, token, NOW) == claims
    assert verify_link(SECRET, token + ".", NOW) == claims  # the sentence's full stop, linkified
    with pytest.raises(ExpiredLink):
        verify_link(SECRET, token, NOW + timedelta(days=60))


def test_a_link_signed_with_another_key_or_changed_is_refused() -> None:
    token = sign_link(SECRET, LinkClaims("a" * 64, Channel.EMAIL, NOW + timedelta(days=1)))
    payload, _, signature = token.partition(".")
    other = sign_link(SECRET, LinkClaims("b" * 64, Channel.EMAIL, NOW + timedelta(days=1)))

    with pytest.raises(TamperedLink):
        verify_link(b"another key", token, NOW)
    with pytest.raises(TamperedLink):  # someone else's payload under this signature
        verify_link(SECRET, f"{other.partition('.')[0]}.{signature}", NOW)
    with pytest.raises(MalformedLink):
        verify_link(SECRET, payload, NOW)
    assert TamperedLink.status == 403
    assert ExpiredLink.status == 410
    assert MalformedLink.status == 400


def test_the_phone_lookup_key_is_keyed_and_ignores_formatting() -> None:
    key = phone_lookup_key(SECRET, "+14155550100")

    assert key == phone_lookup_key(SECRET, "+1 (415) 555-0100")
    assert key != phone_lookup_key(b"another key", "+14155550100")
    assert "4155550100" not in key
    with pytest.raises(ValueError, match="international format"):
        phone_lookup_key(SECRET, "4155550100")


def test_the_archive_record_is_pseudonymous_and_keyed_by_the_request() -> None:
    stop, by_text = PreferenceKind.OPT_OUT, PreferenceSource.SMS_KEYWORD
    change = PreferenceChange("B-1", Channel.SMS, stop, NOW, by_text, "m-1")
    again = PreferenceChange("B-1", Channel.SMS, stop, NOW + timedelta(seconds=5), by_text, "m-1")

    record = preference_record(change, "tok", applied=True)

    assert change.change_id == again.change_id
    assert record == {
        "record_type": "OPT_OUT",
        "change_id": change.change_id,
        "borrower_token": "tok",
        "channel": "SMS",
        "source": "SMS_KEYWORD",
        "occurred_at": "2026-03-10T18:00:00Z",
        "requested_at": "2026-03-10T18:00:00Z",
        "applied": True,
    }
