"""A tiny signed HTTP client for tests (the production client lives in ``provider/``)."""

from __future__ import annotations

import json
import ssl
import time
from typing import Any

import httpx

from api.signing import canonical_target, sign_headers


class SignedClient:
    def __init__(
        self,
        url: str,
        key_id: str,
        secret: str,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.key_id, self.secret = key_id, secret
        self.http = httpx.Client(base_url=url, timeout=timeout, verify=verify)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SignedClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
    ) -> httpx.Response:
        target = canonical_target(path, params)
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        hdrs = (
            sign_headers(method, target, headers, self.key_id, self.secret, body=data)
            if sign
            else headers or {}
        )
        return self.http.request(method, target, content=data, headers=hdrs)

    def get(self, path: str, params: dict[str, Any] | str | None = None) -> httpx.Response:
        return self.request("GET", path, params)

    def post(self, path: str, body: Any = None, params: dict[str, Any] | None = None) -> httpx.Response:
        return self.request("POST", path, params, body)

    def put(self, path: str, body: Any = None) -> httpx.Response:
        return self.request("PUT", path, None, body)

    def patch(self, path: str, body: Any = None) -> httpx.Response:
        return self.request("PATCH", path, None, body)

    def delete(self, path: str) -> httpx.Response:
        return self.request("DELETE", path)

    def create_job(self, spec: dict[str, Any], token: str = "") -> str:
        r = self.post("/jobs", spec, {"IdempotentToken": token} if token else None)
        assert r.status_code == 201, r.text
        return r.json()["Id"]

    def job(self, job_id: str) -> dict[str, Any]:
        r = self.get(f"/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait_job(
        self, job_id: str, states: tuple[str, ...] = ("Finished", "Failed", "Stopped"), timeout: float = 60
    ):
        deadline = time.monotonic() + timeout
        while True:
            body = self.job(job_id)
            if body["State"] in states:
                return body
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {body['State']} after {timeout}s")
            time.sleep(0.05)
