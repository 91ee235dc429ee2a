"""bcsd's log as an operator reads it: one format for bcsd's and uvicorn's lines (text or JSON),
an access line per request, the request id on every line of a request, and never a secret."""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from api.signing import sign_headers
from service.telemetry.log_format import TEXT, JsonFormatter, SecretMask, UtcFormatter
from tests.service.jobspec import PARKED_CLUSTER, job, task
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient
from tests.support.waiting import until

TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ "
    r"\[(-|[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12})\] "
)


def garbage_request(bcsd: BcsdProcess) -> None:
    """Bytes that are not HTTP: uvicorn itself logs a warning about them."""
    with socket.create_connection(("127.0.0.1", bcsd.port), timeout=5) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        s.recv(1024)


def create_and_finish(bcsd: BcsdProcess) -> str:
    """Create a job, wait for it; returns the CreateJob request id (its response header)."""
    with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
        r = client.post("/jobs", job({"a": task("true")}))
        assert r.status_code == 201
        client.wait_job(r.json()["Id"])
        return r.headers["x-acs-request-id"]


def test_text_lines_share_one_format_and_carry_their_request_id(tmp_path: Path) -> None:
    bcsd = start_bcsd(tmp_path)
    rid = create_and_finish(bcsd)
    garbage_request(bcsd)
    bcsd.stop()
    lines = bcsd.log().splitlines()
    assert lines and [line for line in lines if not TEXT_LINE.match(line)] == []
    assert any(" WARNING uvicorn.error [-] Invalid HTTP request" in line for line in lines)
    assert any(" INFO uvicorn.error [-] Application startup complete" in line for line in lines)
    of_create = [line for line in lines if f"[{rid}]" in line]
    assert any(" bcsd.jobs " in line and "created (1 task(s))" in line for line in of_create)
    assert any(' bcsd.access ' in line and '"POST /jobs" 201 ' in line for line in of_create)


def test_json_lines_for_log_shippers(tmp_path: Path) -> None:
    bcsd = start_bcsd(tmp_path, log_format="json")
    rid = create_and_finish(bcsd)
    garbage_request(bcsd)
    bcsd.stop()
    entries = [json.loads(line) for line in bcsd.log().splitlines()]  # every line is one object
    assert all({"time", "level", "logger", "request_id", "message"} <= set(e) for e in entries)
    assert {e["logger"] for e in entries} >= {"bcsd", "bcsd.access", "bcsd.jobs", "uvicorn.error"}
    access = [e for e in entries if e["logger"] == "bcsd.access" and e["request_id"] == rid]
    assert len(access) == 1 and '"POST /jobs" 201' in access[0]["message"]
    assert [e["logger"] for e in entries if e["request_id"] == rid] == ["bcsd.jobs", "bcsd.access"]


def test_each_created_line_carries_its_own_request_id(tmp_path: Path) -> None:
    """Concurrent creates share one commit (group commit): the line each one's job gets is
    still stamped with that request's id, not the id of the request that began the flush."""
    bcsd = start_bcsd(tmp_path)
    with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
        cluster = client.post("/clusters", PARKED_CLUSTER).json()["Id"]
    body = job({"a": task("true", cluster_id=cluster)})

    def creates(_: int) -> list[tuple[str, str]]:
        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            answers = [client.post("/jobs", body) for _ in range(5)]
        assert all(r.status_code == 201 for r in answers)
        return [(r.json()["Id"], r.headers["x-acs-request-id"]) for r in answers]

    with ThreadPoolExecutor(12) as pool:
        made = [pair for part in pool.map(creates, range(12)) for pair in part]
    bcsd.stop()
    lines = bcsd.log().splitlines()
    for job_id, rid in made:
        (line,) = [line for line in lines if f"job {job_id} created" in line]
        assert f"[{rid}]" in line, line


class Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[int]:
    """A webhook on a loopback port that accepts every notification."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_no_secret_ever_reaches_the_log(tmp_path: Path, webhook: int) -> None:
    oss_secret = "OssSecretValue-4f1c9a7e2b"
    hook_password, hook_token = "HookPassword-77aa21", "HookToken-99bb34"
    bcsd = start_bcsd(tmp_path, log_level="DEBUG")
    endpoint = f"http://user:{hook_password}@127.0.0.1:{webhook}/hook?token={hook_token}"
    body = job(
        {"a": task("true", Mounts={"OSS": {"AccessKeyId": "LTAIoss", "AccessKeySecret": oss_secret}})},
        Notification={"Topic": {"Name": "t", "Endpoint": endpoint, "Events": ["OnJobFinished"]}},
    )
    raw = json.dumps(body).encode()
    headers = sign_headers("POST", "/jobs", None, bcsd.key_id, bcsd.secret, body=raw)
    signature = headers["Authorization"].split(":", 1)[1]
    r = httpx.post(f"{bcsd.url}/jobs", content=raw, headers=headers)
    assert r.status_code == 201, r.text
    delivered = f"notification OnJobFinished delivered to http://127.0.0.1:{webhook}/hook"
    until(lambda: delivered in bcsd.log(), "the delivery line (host and path only)")
    with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
        # refused and broken requests carrying the secrets: a replayed signature, bad JSON, a bad body
        assert httpx.post(f"{bcsd.url}/jobs", content=raw, headers=headers).status_code == 400
        assert client.request("POST", "/jobs", raw=raw[:-5]).status_code == 400
        bad = {**body, "Priority": oss_secret}
        assert client.post("/jobs", bad).status_code == 400
    forged = SignedClient(bcsd.url, bcsd.key_id, "WrongSecret-0123456789")
    assert forged.post("/jobs", body).json()["Code"] == "SignatureDoesNotMatch"
    forged.close()
    bcsd.stop()
    log = bcsd.log()
    assert '"POST /jobs" 201' in log and '"POST /jobs" 400' in log
    for secret in (oss_secret, bcsd.secret, signature, hook_password, hook_token, "WrongSecret-0123456789"):
        assert secret not in log, f"a secret reached the log: {secret[:6]}…"


def test_the_mask_is_the_last_step_of_both_formats() -> None:
    """The second guard: were the service secret ever in a line or a trace, it is masked."""
    secret = "ServiceSecret-0123456789"
    mask = SecretMask()
    mask.add(secret)
    mask.add("short")  # too short to mask safely: ignored
    try:
        raise ValueError(f"boom {secret}")
    except ValueError:
        trace = sys.exc_info()
    record = logging.LogRecord("bcsd", logging.ERROR, __file__, 1, "key %s short", (secret,), trace)
    record.request_id = "-"
    for formatter in (UtcFormatter(TEXT, mask), JsonFormatter(mask=mask)):
        record.exc_text = None
        line = formatter.format(record)
        assert secret not in line and "***" in line and "short" in line and "boom" in line
