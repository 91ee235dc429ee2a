"""The outermost ASGI middleware: gives each request its id (header, log lines), and when the
response is done, counts and times it by route template and status (never by raw path: ids
would explode the series) and writes the access log line (``bcsd.access``: client, method,
path without the query, status, milliseconds; never a header or body).

Pure ASGI like ``service.middleware.ApiGate`` (inside it), so a request pays two function calls.
A request the gate refuses never reaches routing; its template is found by matching the routes
here, so auth failures still count under the route they were aimed at.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http_errors import new_request_id
from service.telemetry.log_format import REQUEST_ID
from service.telemetry.metrics import Metrics

access_log = logging.getLogger("bcsd.access")

UNMATCHED = "<unmatched>"


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The path template that served (or would have served) this request."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match != Match.NONE:
            return str(getattr(candidate, "path", UNMATCHED))
    return UNMATCHED


class RequestTelemetry:
    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        # a plain Starlette route leaves only its endpoint in the scope (FastAPI's leave the
        # route): its template without matching the routes again
        self.by_endpoint = {
            endpoint: str(getattr(route, "path", UNMATCHED))
            for route in routes
            if (endpoint := getattr(route, "endpoint", None)) is not None
        }
        # the series of each (method, template, status): labels() takes a lock and a lookup
        self.series: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def template(self, scope: Scope) -> str:
        if scope.get("route") is None and (endpoint := scope.get("endpoint")) in self.by_endpoint:
            return self.by_endpoint[endpoint]
        return route_template(scope, self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = scope.setdefault("state", {})["request_id"] = new_request_id()
        context = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before a response starts

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            elapsed = time.perf_counter() - started
            labels = (scope["method"], self.template(scope), str(status))
            series = self.series.get(labels)
            if series is None:
                series = self.series[labels] = (
                    self.metrics.http_requests.labels(*labels),
                    self.metrics.http_latency.labels(*labels),
                )
            series[0].inc()
            series[1].observe(elapsed)
            client = scope.get("client") or ("-", 0)
            access_log.info(
                '%s "%s %s" %d %.1f ms', client[0], scope["method"], scope["path"], status, elapsed * 1000
            )
            REQUEST_ID.reset(context)
