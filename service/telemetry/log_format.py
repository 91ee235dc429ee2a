"""One log format for every line bcsd writes, its own and uvicorn's: text or JSON (one object a
line, for log shippers), each carrying the id of the request it belongs to (``-`` outside one).

uvicorn is started with ``log_config=None`` and ``access_log=False``: its loggers propagate to
the root handler configured here, and the access line is bcsd's own (``bcsd.access``, written by
``telemetry.requests``), which knows the route template and the request id.

Secrets: nothing logs a request body or header; as a second guard every rendered line passes
through ``SecretMask``, which replaces the service's own access key secret wherever it appears.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Literal

LogFormat = Literal["text", "json"]

#: the request being served by this task (set by ``telemetry.requests.RequestTelemetry``)
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("bcsd_request_id", default="-")
TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
#: uvicorn's loggers: no handlers of their own, so their lines take this format too
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
#: libraries whose INFO lines would print whole URLs (a webhook's user:password or ?token=):
#: bcsd logs those deliveries itself, without the secrets (``notifications._where``); and
#: alembic's per-start chatter (``store.migrate`` logs one line when it upgrades)
QUIET_LOGGERS = ("httpx", "httpcore", "alembic")
MASK = "***"


class RequestContext(logging.Filter):
    """Stamps each record with the current request id, unless the call named it
    (``extra={"request_id": …}``: a line written for a request outside its task's context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class SecretMask:
    """Replaces known secret values in a rendered line (the formatters apply it last)."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def add(self, secret: str) -> None:
        if len(secret) >= 8:  # never mask short, common strings
            self.secrets.append(secret)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


class UtcFormatter(logging.Formatter):
    """ISO 8601 UTC timestamps with milliseconds (sortable, the same on every node); the line
    passes through ``mask`` once rendered."""

    def __init__(self, fmt: str | None = None, mask: SecretMask | None = None) -> None:
        super().__init__(fmt)
        self.mask = mask or SecretMask()
        self._second: tuple[int, str] = (-1, "")  # the last second rendered: lines come many a second

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        second = int(record.created)
        last, stamp = self._second
        if second != last:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, stamp)
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        return self.mask(super().format(record))


class JsonFormatter(UtcFormatter):
    """One JSON object per line: time, level, logger, request_id, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": self.mask(record.getMessage()),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = self.mask(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: LogFormat) -> SecretMask:
    """Route every logger (bcsd's, uvicorn's, libraries') to one stderr handler in ``fmt``.
    Returns the handler's mask: add secrets to it as they become known."""
    mask = SecretMask()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(mask=mask) if fmt == "json" else UtcFormatter(TEXT, mask))
    handler.addFilter(RequestContext())
    # what no line shows is not gathered for every record (the logging HOWTO, "Optimization"):
    # the caller's file/line/function, thread, process
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return mask
