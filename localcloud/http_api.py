"""The borrower and staff HTTP API served on 127.0.0.1: real HTTP, the real handler, API Gateway's rules.

`LocalHttpApi(cloud)` starts a threaded Werkzeug server on a free port of 127.0.0.1 and serves the
routes the template declares for the stack's `AWS::Serverless::HttpApi` (the functions' `HttpApi`
events) as API Gateway does:

* the route: an exact path first, else a greedy `{proxy+}`; no route answers 404 `{"message": "Not Found"}`;
* the JWT authorizer (unless the route's `Auth.Authorizer` is NONE): a `Bearer` token signed by the
  local issuer's key (`LocalTokenIssuer`, standing in for the Cognito user pool), with its issuer,
  audience and expiry checked at the simulated clock; else 401 `{"message": "Unauthorized"}`;
* the payload cap (10 MB: 413), then the request as an API Gateway v2 (payload format 2.0) event, with
  the claims in `requestContext.authorizer.jwt.claims` (a list claim as API Gateway flattens it:
  `"[agent supervisor]"`), invoked synchronously; a function error answers 500.

Requests are served one at a time (the local cloud is not thread-safe), and the streams are settled
after each. `calls` counts requests by method, route template and
status (`summary.json`'s `api.calls`). `LocalTokenIssuer.mint` makes a token for a borrower or a staff
role (the README's `curl` examples; `make api` prints some).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwt import JWTClaimsRegistry
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from localcloud.cloud import ACCOUNT, LocalCloud

# Werkzeug's request log names the path (a loan id): the API's own access log is `calls`.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

PAYLOAD_CAP_BYTES = 10 * 1024 * 1024  # API Gateway HTTP APIs refuse larger payloads
_IDS = re.compile(r"/(loans)/[^/]+")


@dataclass(frozen=True, slots=True)
class HttpRoute:
    function: str
    path: str
    method: str  # ANY or a method
    authorized: bool


class LocalTokenIssuer:
    """Signs user-pool-like tokens with a local P-256 key and checks them, at the cloud's clock."""

    def __init__(
        self,
        cloud: LocalCloud,
        issuer: str = "https://cognito-idp.local/arrears",
        audience: str = "local-client",
    ) -> None:
        self.cloud = cloud
        self.issuer = issuer
        self.audience = audience
        self._key = ECKey.generate_key("P-256", parameters={"kid": "local-1"})

    def mint(
        self,
        subject: str,
        *,
        borrower_id: str | None = None,
        groups: Iterable[str] = (),
        ttl: timedelta = timedelta(hours=1),
    ) -> str:
        now = int(self.cloud.clock.timestamp())
        claims: dict[str, Any] = {
            "sub": subject,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + int(ttl.total_seconds()),
            "token_use": "id",
        }
        if borrower_id is not None:
            claims["custom:borrower_id"] = borrower_id
        if groups:
            claims["cognito:groups"] = list(groups)
        return jwt.encode({"alg": "ES256", "kid": "local-1"}, claims, self._key)

    def borrower_token(self, borrower_id: str) -> str:
        return self.mint(f"user-{borrower_id}", borrower_id=borrower_id)

    def staff_token(self, staff_id: str, *roles: str) -> str:
        return self.mint(staff_id, groups=roles)

    def verify(self, token: str) -> dict[str, Any] | None:
        """The token's claims, or None when its signature, issuer, audience or expiry is wrong."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=["ES256"])
            JWTClaimsRegistry(
                now=lambda: int(self.cloud.clock.timestamp()),
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError):
            return None
        return dict(decoded.claims)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def http_call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> HttpAnswer:
    """One HTTP request (stdlib only): a JSON `body`, a bearer `token`; any status is an answer."""
    sent = {"Accept": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError("http_call talks to the local API only")
    request = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310 (checked above)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return HttpAnswer(response.status, dict(response.headers.items()), response.read().decode())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, dict(error.headers.items()), error.read().decode())


def _apigw_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as the HTTP API's JWT authorizer hands them to the integration: every value a string,
    a list as `[a b]`."""
    flat: dict[str, str] = {}
    for name, value in claims.items():
        flat[name] = "[" + " ".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)
    return flat


def route_template(method: str, path: str) -> str:
    """The route a request counts under: loan ids replaced by `{loan_id}`."""
    return f"{method} {_IDS.sub(r'/\1/{loan_id}', path)}"


class LocalHttpApi:
    def __init__(self, cloud: LocalCloud, *, api: str = "Api", port: int = 0) -> None:
        self.cloud = cloud
        self.api_id = cloud.stack.physical.get(api, "local")
        self.issuer = LocalTokenIssuer(cloud)
        self.routes = [
            HttpRoute(
                name,
                str(source.properties.get("Path", "/")),
                str(source.properties.get("Method", "ANY")).upper(),
                str((source.properties.get("Auth") or {}).get("Authorizer", "")).upper() != "NONE",
            )
            for name, spec in cloud.stack.functions.items()
            for source in spec.events
            if source.kind == "http_api"
        ]
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: BaseWSGIServer = make_server("127.0.0.1", port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-http-api", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def local(self, public_url: str) -> str:
        """`public_url` (the API's execute-api URL, as an e-mail's link carries it) on this server."""
        parts = urlsplit(public_url)
        return f"{self.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHttpApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- routing --------------------------------------------------------------------------------

    def route_for(self, method: str, path: str) -> HttpRoute | None:
        def matches(route: HttpRoute) -> bool:
            return route.method in ("ANY", method)

        exact = [r for r in self.routes if r.path == path and matches(r)]
        if exact:
            return exact[0]
        for route in self.routes:
            if route.path.endswith("{proxy+}") and matches(route):
                prefix = route.path[: -len("{proxy+}")]
                if path.startswith(prefix) and len(path) > len(prefix):
                    return route
        return None

    # -- one request ------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            status, headers, body = self._serve(request)
        self.calls[f"{route_template(request.method, request.path)} {status}"] += 1
        response = Response(body, status=status, headers=headers)
        return response(environ, start_response)

    def _serve(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        gateway = {"content-type": "application/json"}
        route = self.route_for(request.method, request.path)
        if route is None:
            return 404, gateway, b'{"message":"Not Found"}'
        raw = request.get_data(cache=False)
        if len(raw) > PAYLOAD_CAP_BYTES:
            return 413, gateway, b'{"message":"Request Entity Too Large"}'
        claims: dict[str, Any] | None = None
        if route.authorized:
            scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
            claims = self.issuer.verify(token.strip()) if scheme.lower() == "bearer" else None
            if claims is None:
                return 401, {**gateway, "www-authenticate": "Bearer"}, b'{"message":"Unauthorized"}'
        event = self._event(request, route, raw, claims)
        try:
            answer = self.cloud.invoke(route.function, event)
        except Exception:  # a function error: API Gateway answers 500
            return 500, gateway, b'{"message":"Internal Server Error"}'
        finally:
            self.cloud.settle()
        return self._response(answer)

    def _event(
        self, request: Request, route: HttpRoute, raw: bytes, claims: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        now = self.cloud.clock
        try:
            body: str | None = raw.decode() if raw else None
            encoded = False
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode(), True
        route_key = f"{route.method} {route.path}" if route.method != "ANY" else f"ANY {route.path}"
        context: dict[str, Any] = {
            "accountId": ACCOUNT,
            "apiId": self.api_id,
            "domainName": f"{self.api_id}.execute-api.local",
            "domainPrefix": self.api_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        if claims is not None:
            context["authorizer"] = {"jwt": {"claims": _apigw_claims(claims), "scopes": None}}
        query = request.query_string.decode()
        return {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": request.path,
            "rawQueryString": query,
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "queryStringParameters": dict(request.args.items()) or None,
            "pathParameters": {"proxy": request.path.lstrip("/")}
            if route.path.endswith("{proxy+}")
            else None,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": encoded,
        }

    @staticmethod
    def _response(answer: Any) -> tuple[int, dict[str, str], bytes]:
        if not isinstance(answer, dict) or "statusCode" not in answer:
            # Payload format 2.0: a bare value is a 200 JSON body.
            return 200, {"content-type": "application/json"}, json.dumps(answer).encode()
        headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers[str(name)] = ", ".join(str(v) for v in values)
        body = answer.get("body") or ""
        data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
        return int(answer["statusCode"]), headers, data
