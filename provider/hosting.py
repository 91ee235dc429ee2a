"""How provider failures reach the person running `up`: one line, no traceback.

The SDK's dynamic-provider host (``pulumi/dynamic/__main__.py``) answers any exception with
``traceback.format_exc()``. ``format_exc`` honours ``sys.tracebacklimit``; setting it to 0 in the
host process leaves just ``provider.errors.BatchComputeError: QuotaExhausted.MaxJobCount: …``.
Unexpected exceptions are still turned into one line for the user, with the full traceback kept
on the host's stderr (the engine's verbose log) for whoever debugs the provider.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from provider.errors import ProviderError

P = ParamSpec("P")
R = TypeVar("R")


def quiet_tracebacks() -> None:
    """Make the host print only the exception line (called from ``configure``, in the host)."""
    sys.tracebacklimit = 0


def one_line_errors(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a provider method: any failure becomes a :class:`ProviderError` naming ``what``."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except ProviderError:
                raise
            except Exception as exc:  # noqa: BLE001 - the user gets one line, stderr the details
                traceback.print_exc(limit=64, file=sys.stderr)
                raise ProviderError(f"{what} failed: {type(exc).__name__}: {exc}") from None

        return call

    return wrap
