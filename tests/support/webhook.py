"""A notification endpoint on 127.0.0.1 that records what it is posted."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def webhook(answer_after_s: float = 0.0) -> Iterator[tuple[str, list[dict]]]:
    """(URL, the JSON bodies received so far); each POST is answered 200 after ``answer_after_s``
    (a slow endpoint keeps a delivery attempt in flight)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            time.sleep(answer_after_s)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/topic", received
    finally:
        server.shutdown()
        server.server_close()
