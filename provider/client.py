"""A small signed HTTP client for any BatchCompute endpoint (bcsd or the real service).

HTTP and transport errors are mapped to :class:`~provider.errors.BatchComputeError` here, once;
callers only ever see ``Code: Message``. Connection failures are retried (a request that never
left is safe to resend; creates carry an IdempotentToken). Nothing secret is kept in ``repr`` or
logged. One client is built per provider call: the providers themselves hold none.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from api.signing import canonical_target, sign_headers
from provider.config import Settings
from provider.errors import BatchComputeError, Unreachable

RETRY_DELAYS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
"""Pauses between attempts after a connection failure."""

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def error_from_response(status: int, text: str) -> BatchComputeError:
    """The service's ``{"Code","Message"}`` body as an error; a non-JSON body still reads well."""
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        body = {}
    if isinstance(body, Mapping) and body.get("Code"):
        return BatchComputeError(str(body["Code"]), str(body.get("Message", "")), status)
    first = text.strip().splitlines()[0][:200] if text.strip() else "no error body"
    return BatchComputeError(f"HTTP{status}", first, status)


class BatchComputeClient:
    """Signed JSON calls to one endpoint. Use as a context manager or call :meth:`close`."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self._settings = settings
        self._http = httpx.Client(base_url=settings.endpoint, timeout=TIMEOUT, transport=transport)

    def __repr__(self) -> str:
        return f"BatchComputeClient(endpoint={self._settings.endpoint!r})"

    def __enter__(self) -> BatchComputeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- transport -------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: Any = None,
        *,
        idempotent: bool | None = None,
    ) -> Any:
        """One signed request; the parsed JSON answer (``None`` for an empty body)."""
        target = canonical_target(path, params)
        raw = b"" if body is None else json.dumps(body).encode("utf-8")
        retry_any = method in ("GET", "PUT", "DELETE", "PATCH") if idempotent is None else idempotent
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            headers = sign_headers(
                method,
                target,
                {},
                self._settings.key_id,
                self._settings.secret,
                region=self._settings.region,
                body=raw,
            )
            try:
                response = self._http.request(method, target, content=raw or None, headers=headers)
            except httpx.TransportError as exc:
                safe = isinstance(exc, httpx.ConnectError) or retry_any
                if delay is None or not safe:
                    raise Unreachable(
                        "Unreachable",
                        f"{method} {path} to {self._settings.endpoint} failed after {attempt + 1} "
                        f"attempt(s): {type(exc).__name__}",
                        0,
                    ) from None
                time.sleep(delay)
                continue
            if response.status_code >= 400:
                raise error_from_response(response.status_code, response.text)
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise BatchComputeError(
                    "InvalidResponse",
                    f"{method} {path} answered with a body that is not JSON",
                    response.status_code,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def pages(self, path: str, params: Mapping[str, object] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a List* call, following ``NextMarker``."""
        query: dict[str, object] = {**(params or {}), "MaxItemCount": 100}
        while True:
            answer = self.call("GET", path, query) or {}
            items = answer if isinstance(answer, list) else answer.get("Items") or []
            yield from items
            marker = "" if isinstance(answer, list) else answer.get("NextMarker") or ""
            if not marker:
                return
            query["Marker"] = marker

    # -- jobs ------------------------------------------------------------------------------

    def create_job(self, spec: Mapping[str, Any], token: str) -> str:
        answer = self.call("POST", "/jobs", {"IdempotentToken": token}, spec, idempotent=True)
        return str(answer["Id"])

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self.call("GET", f"/jobs/{job_id}")

    def get_job_description(self, job_id: str) -> dict[str, Any]:
        return self.call("GET", f"/jobs/{job_id}", "description")

    def list_tasks(self, job_id: str) -> list[dict[str, Any]]:
        return list(self.pages(f"/jobs/{job_id}/tasks"))

    def list_instances(self, job_id: str, task: str) -> list[dict[str, Any]]:
        return list(self.pages(f"/jobs/{job_id}/tasks/{task}/instances"))

    def list_jobs(self, **filters: str) -> list[dict[str, Any]]:
        return list(self.pages("/jobs", {k: v for k, v in filters.items() if v}))

    def stop_job(self, job_id: str) -> None:
        self.call("POST", f"/jobs/{job_id}/stop", idempotent=False)

    def start_job(self, job_id: str) -> None:
        self.call("POST", f"/jobs/{job_id}/start", idempotent=False)

    def delete_job(self, job_id: str) -> None:
        self.call("DELETE", f"/jobs/{job_id}")

    def patch_job(self, job_id: str, changes: Mapping[str, Any]) -> None:
        """The ``PATCH /jobs/{id}`` extension: Priority, Description, Notification in any state."""
        self.call("PATCH", f"/jobs/{job_id}", body=dict(changes))

    # -- clusters --------------------------------------------------------------------------

    def create_cluster(self, spec: Mapping[str, Any], token: str) -> str:
        answer = self.call("POST", "/clusters", {"IdempotentToken": token}, spec, idempotent=True)
        return str(answer["Id"])

    def get_cluster(self, cluster_id: str) -> dict[str, Any]:
        return self.call("GET", f"/clusters/{cluster_id}")

    def modify_cluster(self, cluster_id: str, changes: Mapping[str, Any]) -> None:
        self.call("PUT", f"/clusters/{cluster_id}", body=dict(changes))

    def delete_cluster(self, cluster_id: str) -> None:
        self.call("DELETE", f"/clusters/{cluster_id}")
