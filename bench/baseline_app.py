"""The CreateJob baseline servers (issue 16, item 5): the least a signed, durable create costs.

Both answer ``POST /jobs`` with the work every create must do and nothing else: the same
``acs`` HMAC-SHA1 signature check bcsd runs (``api.signing.verify``), ``json.loads`` of the
body, one row inserted and committed in SQLite WAL (``synchronous=NORMAL``, as bcsd's store),
and a 201 with the new id. ``fastapi_app`` is a one-route FastAPI app; ``asgi_app`` the same
work as a bare ASGI callable. Configured by ``BASELINE_DB``, ``BCS_ACCESS_KEY_ID`` and
``BCS_ACCESS_KEY_SECRET``; served by uvicorn on 127.0.0.1 as bcsd is.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response

from api.signing import candidate_resources, verify

KEY_ID = os.environ.get("BCS_ACCESS_KEY_ID", "")
SECRET = os.environ.get("BCS_ACCESS_KEY_SECRET", "")


def _open() -> sqlite3.Connection:
    db = sqlite3.connect(os.environ.get("BASELINE_DB", ":memory:"), check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
    return db


DB = _open()


def create(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
    """Status and body of one create: signature, JSON, one durable row."""
    scheme, _, rest = headers.get("authorization", "").partition(" ")
    key_id, _, given = rest.rpartition(":")
    if scheme != "acs" or key_id != KEY_ID or not verify(method, candidate_resources(path, query), headers,
                                                          SECRET, given):  # fmt: skip
        return 403, b'{"Code":"SignatureDoesNotMatch"}'
    spec = json.loads(body)
    job_id = "job-" + secrets.token_hex(16).upper()
    DB.execute("INSERT INTO jobs (id, body) VALUES (?, ?)", (job_id, json.dumps(spec)))
    DB.commit()
    return 201, json.dumps({"Id": job_id}).encode()


fastapi_app = FastAPI()


@fastapi_app.post("/jobs")
async def post_job(request: Request) -> Response:
    status, out = create("POST", request.url.path, request.url.query, request.headers, await request.body())
    return Response(out, status_code=status, media_type="application/json")


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def asgi_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The same create without a framework: the floor of a Python ASGI service here."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    status, out = create(scope["method"], scope["path"], scope["query_string"].decode(), headers, body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": out})
