"""The borrower's way to opt out: the unsubscribe routes, and what a recorded change logs and counts.

`unsubscribe_router(ports, link_secret, now)` is a Powertools event-handler `Router` with two routes,
mounted by the borrower API (`arrears.handlers.api`, functions/api) under `/preferences`: the link an
e-mail carries is `<API URL>/preferences/unsubscribe?t=...` (template parameter OptOutBaseUrl, else the
API's own URL). These are the API's only routes without a token: the link is signed and expires.
`ports` is called on the first request (the OpenAPI document is built without AWS).

* `GET /unsubscribe?t=<link>`: checks the link and answers a confirmation page with a button (nothing
  is recorded: mail scanners and link previews follow GET links).
* `POST /unsubscribe?t=<link>` (the button; also RFC 8058 one-click `List-Unsubscribe=One-Click`):
  records the opt-out at once and answers the confirmation.

Answers are HTML unless the request accepts `application/json`; a bad link answers 400 (malformed),
403 (tampered) or 410 (expired) with `{"error": {"code", "message", "field"}}` (or a page saying the same),
and its log line names the code only (never the link, which identifies the borrower).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from arrears.domain.optouts import LinkError, MalformedLink, verify_link
from arrears.handlers.telemetry import Telemetry
from arrears.usecases.preferences import (
    PreferenceOutcome,
    PreferencePorts,
    Secret,
    follow_unsubscribe_link,
)

UNSUBSCRIBE_PATH = "/unsubscribe"
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p>{form}</body></html>
"""


def preference_received(
    telemetry: Telemetry, outcome: PreferenceOutcome, ids: Mapping[str, object]
) -> dict[str, Any]:
    """Count and log one request (ids and outcome only: never a number, address or text)."""
    answer = {
        **ids,
        "status": outcome.status,
        "kind": outcome.kind.value if outcome.kind else None,
        "channel": outcome.channel.value if outcome.channel else None,
        "source": outcome.source.value if outcome.source else None,
        "record_key": outcome.record_key,
        "archived": outcome.archived,
    }
    if outcome.status in ("RECORDED", "STALE") and outcome.kind and outcome.channel:
        telemetry.count(
            "PreferenceChanges",
            kind=outcome.kind.value,
            channel=outcome.channel.value,
            source=str(answer["source"]),
        )
        telemetry.logger.info("channel preference recorded", extra=answer)
    else:
        telemetry.count("PreferenceRequestsIgnored", reason=outcome.status)
        telemetry.logger.info("channel preference request changed nothing", extra=answer)
    return answer


def _link_answer(description: str) -> dict[str, Any]:
    page = {"schema": {"type": "string"}}
    return {
        "description": description,
        "content": {content_types.TEXT_HTML: page, content_types.APPLICATION_JSON: {}},
    }


# Pages (or JSON with `Accept: application/json`; errors in the API's `{"error": {...}}` shape).
_LINK_ANSWERS: dict[int, Any] = {
    200: _link_answer("The confirmation page (GET) or the opt-out recorded (POST)"),
    400: _link_answer("The link is malformed"),
    403: _link_answer("The link's signature is not valid"),
    404: _link_answer("No borrower for this link (erased since)"),
    410: _link_answer("The link has expired"),
}


def _wants_json(headers: Mapping[str, str]) -> bool:
    return "application/json" in (headers.get("accept") or headers.get("Accept") or "")


def _page(status: int, title: str, text: str, form: str = "") -> Response[str]:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text), form=form)
    return Response(status, content_types.TEXT_HTML, body, headers=dict(_HEADERS))


def _json(status: int, body: Mapping[str, Any]) -> Response[str]:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers=dict(_HEADERS))


def unsubscribe_router(
    ports: Callable[[], PreferencePorts],
    link_secret: Secret,
    now: Callable[[], datetime],
    telemetry: Telemetry,
) -> Router:
    """The GET (confirm) and POST (record) routes of the signed unsubscribe link."""
    router = Router()  # type: ignore[no-untyped-call]

    def link_of() -> str:
        event = router.current_event
        token = (event.query_string_parameters or {}).get("t", "")
        if not token and event.body:
            body = event.decoded_body if event.is_base64_encoded else event.body
            token = parse_qs(body or "").get("t", [""])[0]
        return token

    def refused(error: LinkError) -> Response[str]:
        telemetry.count("UnsubscribeLinksRefused", reason=error.code)
        telemetry.logger.warning("unsubscribe link refused", extra={"reason": error.code})
        if _wants_json(router.current_event.headers):
            return _json(error.status, {"error": {"code": error.code, "message": str(error), "field": "t"}})
        text = {
            "link_expired": "This link has expired. Reply STOP to any of our texts, or use the link in our "
            "latest e-mail, to stop these messages.",
        }.get(
            error.code, "This link is not valid. Use the link in our latest e-mail, or reply STOP to a text."
        )
        return _page(error.status, "Link not valid", text)

    @router.get(UNSUBSCRIBE_PATH, summary="Unsubscribe link: confirm", responses=_LINK_ANSWERS)
    def confirm() -> Response[str]:
        token = link_of()
        try:
            claims = verify_link(link_secret(), token, now())
        except LinkError as error:
            return refused(error)
        channel = claims.channel.value.lower().replace("_", " ")
        if _wants_json(router.current_event.headers):
            return _json(200, {"channel": claims.channel.value, "confirm_with": "POST"})
        form = (
            f'<form method="post" action="?t={html.escape(token, quote=True)}">'
            f'<button type="submit">Stop {html.escape(channel)} messages</button></form>'
        )
        return _page(200, "Unsubscribe", f"Confirm that you no longer want {channel} messages from us.", form)

    @router.post(UNSUBSCRIBE_PATH, summary="Unsubscribe link: record the opt-out", responses=_LINK_ANSWERS)
    def unsubscribe() -> Response[str]:
        token = link_of()
        try:
            if not token:
                raise MalformedLink("the link is incomplete")
            outcome = follow_unsubscribe_link(token, now(), ports(), link_secret)
        except LinkError as error:
            return refused(error)
        answer = preference_received(telemetry, outcome, {"route": UNSUBSCRIBE_PATH})
        if outcome.status == "UNKNOWN_BORROWER":
            if _wants_json(router.current_event.headers):
                return _json(
                    404, {"error": {"code": "borrower_unknown", "message": "no such borrower", "field": "t"}}
                )
            return _page(404, "Link not valid", "We hold no record for this link.")
        if _wants_json(router.current_event.headers):
            return _json(
                200, {"status": answer["status"], "channel": answer["channel"], "kind": answer["kind"]}
            )
        channel = (outcome.channel.value if outcome.channel else "").lower().replace("_", " ")
        return _page(200, "Unsubscribed", f"You will no longer receive {channel} messages from us.")

    return router
