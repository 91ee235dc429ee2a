"""Each response leaves bcsd in one write (``service.http_protocol``), and every kind of
response still arrives whole: keep-alive, HEAD, a streamed body, ``100 Continue``, an app that
fails after it started answering."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from service.http_protocol import OneWriteHttpProtocol
from tests.support.bcsd import free_port, start_bcsd


def _writes(pid: int) -> int:
    """write/writev syscalls made so far by the process's main thread (the event loop's)."""
    for line in Path(f"/proc/{pid}/task/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError("no syscw in /proc/PID/io")


def test_bcsd_answers_each_request_in_one_write(tmp_path: Path) -> None:
    # at WARNING no line is logged per request, so the loop thread's writes are the responses'
    bcsd = start_bcsd(tmp_path, log_level="WARNING")
    try:
        with httpx.Client(base_url=bcsd.url) as client:
            assert client.get("/healthz").status_code == 200  # connection open, code warm
            before = _writes(bcsd.pid)
            for _ in range(40):
                assert client.get("/healthz").status_code == 200
            assert client.get("/jobs").status_code == 400  # a refusal: the gate's own answer
            writes = _writes(bcsd.pid) - before
    finally:
        bcsd.stop()
    assert writes <= 41 + 4, f"{writes} writes for 41 responses"  # uvicorn alone writes 82


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers by path: /small (Content-Length), /stream (chunked, pauses between chunks), /big
    (4 MiB in chunks), /echo (reads the body: the client waits for ``100 Continue``), /broken
    (fails mid-body)."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/echo":
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two,", b"three"):
            await asyncio.sleep(0.01)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/big":  # past the socket's buffer: uvicorn waits for it to drain between chunks
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(64):
            await send({"type": "http.response.body", "body": bytes([i]) * 65536, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/broken":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        await send({"type": "http.response.body", "body": b"12345", "more_body": True})
        raise RuntimeError("the app fails half-way")
    else:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"small"})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """uvicorn with the one-write protocol serving ``_app`` on 127.0.0.1, in a thread."""
    port = free_port()
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=OneWriteHttpProtocol, log_level="critical"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if instance.started:
            break
        threading.Event().wait(0.05)
    yield url
    instance.should_exit = True
    thread.join(10)


def test_keep_alive_and_head(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        for _ in range(3):  # one connection: each answer complete before the next request
            r = client.get("/small")
            assert (r.status_code, r.content) == (200, b"small")
        head = client.head("/small")  # headers only: nothing follows them in that iteration
        assert head.status_code == 200 and head.headers["content-length"] == "5" and head.content == b""
        assert client.get("/small").content == b"small"


def test_a_streamed_body_arrives_whole(server: str) -> None:
    with httpx.Client(base_url=server) as client, client.stream("GET", "/stream") as r:
        assert r.headers["transfer-encoding"] == "chunked"
        assert b"".join(r.iter_bytes()) == b"one,two,three"


def test_a_body_past_the_socket_buffer_arrives_whole_and_in_order(server: str) -> None:
    with httpx.Client(base_url=server) as client, client.stream("GET", "/big") as r:
        body = b"".join(r.iter_bytes())
    assert body == b"".join(bytes([i]) * 65536 for i in range(64))


def test_expect_continue_then_the_answer(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n")
        assert s.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"ping")
        answer = b""
        while not answer.endswith(b"ping"):
            chunk = s.recv(1024)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")


def test_an_app_failing_mid_body_closes_the_connection(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/broken")
        assert client.get("/small").content == b"small"  # the server goes on (a new connection)
