"""ASGI middleware run before routing: request id, body-size limit, and authentication.

Pure ASGI (not BaseHTTPMiddleware) so the hot create path pays one function call. A rejected
request is answered here with the API error body and never reaches a route.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error
from service.auth import PUBLIC_PATHS, NonceRegistry, has_digest, verify_request
from service.credentials import Credentials
from service.http_errors import HOST_ID, new_request_id
from service.store.engine import STORE_ERRORS
from service.store.group_commit import Prelude

log = logging.getLogger("bcsd.http")

#: the routes whose every effect is one group-commit write (``CommitGroup.run``): their nonce is
#: spent in that write's flush, one commit instead of two; any other route spends it before it runs
NONCE_IN_WRITE: frozenset[tuple[str, str]] = frozenset({("POST", "/jobs")})


class ApiGate:
    def __init__(
        self,
        app: ASGIApp,
        creds: Credentials,
        nonces: NonceRegistry,
        skew_s: float,
        max_body: int,
        on_auth_failure: Callable[[ApiError], None] | None = None,
    ) -> None:
        self.app = app
        self.creds = creds
        self.nonces = nonces
        self.skew_s = skew_s
        self.max_body = max_body
        self.on_auth_failure = on_auth_failure  # metrics: refused signatures by code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        rid = state.get("request_id") or new_request_id()  # given by the telemetry middleware
        state["request_id"] = rid
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                hdrs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hdrs}
                if b"x-acs-request-id" not in names:
                    hdrs += [(b"x-acs-request-id", rid.encode()), (b"request-id", rid.encode())]
                hdrs.append((b"server", b"bcsd"))
                message = {**message, "headers": hdrs}
            await send(message)

        deferred: Prelude | None = None
        try:
            length = headers.get("content-length", "")
            if length and (not (length.isascii() and length.isdigit()) or int(length) > self.max_body):
                raise error("body_too_large", max=self.max_body)
            if path not in PUBLIC_PATHS:
                body: bytes | None = None
                if has_digest(headers):
                    # the digest must match the body before the nonce is spent: read it now
                    body = await _read_body(receive, self.max_body)
                    receive = _replay(body, receive)
                raw_path = scope.get("raw_path") or path.encode()
                now = time.time()
                try:
                    nonce = verify_request(
                        scope["method"],
                        raw_path.decode("latin-1"),
                        scope.get("query_string", b"").decode("latin-1"),
                        headers,
                        self.creds,
                        self.skew_s,
                        now,
                        body=body,
                    )
                except ApiError as refused:
                    if self.on_auth_failure:
                        self.on_auth_failure(refused)
                    raise
                if (scope["method"], path) in NONCE_IN_WRITE:
                    deferred = self.nonces.defer(nonce, now, self.on_auth_failure)
                else:
                    await self.nonces.spend(nonce, now, self.on_auth_failure)
        except ApiError as err:
            await _reject(send_with_id, err, rid)
            return
        except STORE_ERRORS:
            await _nonce_not_stored(send_with_id, rid)
            return
        limited = _limited(scope, receive, self.max_body)
        if deferred is None:
            await self.app(scope, limited, send_with_id)
            return
        await self.app(scope, limited, _settled_first(deferred, self.nonces, send_with_id, rid))


async def _nonce_not_stored(send: Send, rid: str) -> None:
    """The store refused the nonce (a failed commit): retryable, 503 as in a route, never a 500."""
    log.warning("store refused the nonce of a request", exc_info=True)
    await _reject(send, error("store_busy"), rid)


def _settled_first(deferred: Prelude, nonces: NonceRegistry, send: Send, rid: str) -> Send:
    """The app's ``send`` for a request whose nonce was deferred: before the answer starts, a
    nonce no write took (the route refused before writing) is spent alone, and a used one, or
    one the store could not take, replaces the app's answer with the gate's refusal. So every
    answered request spent its nonce, as if it had been spent before the route ran."""
    refused = False

    async def wrapped(message: Message) -> None:
        nonlocal refused
        if message["type"] == "http.response.start":
            try:
                await nonces.settle(deferred)
            except ApiError as err:
                refused = True
                await _reject(send, err, rid)
            except STORE_ERRORS:
                refused = True
                await _nonce_not_stored(send, rid)
        if not refused:
            await send(message)

    return wrapped


async def _read_body(receive: Receive, max_body: int) -> bytes:
    """The whole body (at most ``max_body`` bytes; more is refused as RequestBodyTooLarge)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # client gone: the digest check fails on the partial body, nothing is done
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_body:
            raise error("body_too_large", max=max_body)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the already-read body to the app once, then the client's own events (disconnect)."""
    pending = True

    async def wrapped() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return wrapped


def _limited(scope: Scope, receive: Receive, max_body: int) -> Receive:
    """Stop reading a chunked body past the limit and flag it in the request state (routes then
    answer RequestBodyTooLarge; a Content-Length above the limit is refused up front)."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_body:
                scope["state"]["too_large"] = True
                return {"type": "http.request", "body": b"", "more_body": False}
        return message

    return wrapped


async def _reject(send: Send, err: ApiError, rid: str) -> None:
    body = json.dumps(err.to_body(rid, HOST_ID)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": err.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
