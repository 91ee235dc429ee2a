"""Polling for a condition that a real service reaches in its own time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(fn: Callable[[], T], what: str, timeout: float = 60.0, interval: float = 0.1) -> T:
    """Call ``fn`` until it returns something truthy and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := fn():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
