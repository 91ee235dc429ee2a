"""Errors the provider lets users see, each one line, never a traceback.

    ProviderError                 -- a clear, one-line message for the person running `up`
     ├── ConfigurationError       -- endpoint or keys missing / malformed
     ├── BatchComputeError        -- the service answered with an error (``Code: Message``)
     │    └── Unreachable         -- the endpoint could not be reached after retries
     └── JobFailed                -- ``wait_for``: the job ended Failed/Stopped (names task + instance)

The SDK's dynamic-provider host formats any exception with ``traceback.format_exc()``; the
providers therefore turn every failure into a :class:`ProviderError` and the host is told to print
only the exception line (see ``provider.hosting``).
"""

from __future__ import annotations


class ProviderError(Exception):
    """A failure explained in one line."""


class ConfigurationError(ProviderError):
    """Endpoint, region or keys are missing or malformed."""


class BatchComputeError(ProviderError):
    """An error answer from a BatchCompute endpoint; ``str()`` is ``Code: Message``."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def __reduce__(self) -> tuple[type, tuple[str, str, int]]:
        return (type(self), (self.code, self.message, self.status))


class Unreachable(BatchComputeError):
    """The endpoint did not answer (connection refused, reset, timed out) after retries."""


class JobFailed(ProviderError):
    """A job the deployment waited for (``wait_for``) did not finish."""
