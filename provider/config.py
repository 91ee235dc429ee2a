"""Where the provider's endpoint, region and keys come from.

Stack config (``bcs:endpoint``, ``bcs:region``, ``bcs:accessKeyId``, secret ``bcs:accessKeySecret``)
reaches the dynamic-provider host through ``ResourceProvider.configure``; the environment
(``BCS_ENDPOINT``, ``BCS_REGION``, ``BCS_ACCESS_KEY_ID``, ``BCS_ACCESS_KEY_SECRET``) fills what the
stack does not set. The result is held at module level in the host process, never on a provider
object: providers are pickled into the state and must carry no secret.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from provider.errors import ConfigurationError

# (stack config key, environment variable, default)
SETTINGS: tuple[tuple[str, str, str, str], ...] = (
    ("endpoint", "bcs:endpoint", "BCS_ENDPOINT", ""),
    ("region", "bcs:region", "BCS_REGION", "local"),
    ("key_id", "bcs:accessKeyId", "BCS_ACCESS_KEY_ID", ""),
    ("secret", "bcs:accessKeySecret", "BCS_ACCESS_KEY_SECRET", ""),
)


@dataclass(frozen=True)
class Settings:
    """Connection settings; the secret never appears in ``repr``."""

    endpoint: str
    region: str = "local"
    key_id: str = ""
    secret: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.endpoint and not self.endpoint.startswith(("http://", "https://")):
            object.__setattr__(self, "endpoint", f"https://{self.endpoint}")

    def require(self) -> Settings:
        """Fail with a one-line hint when something needed to talk to the service is missing."""
        needed = {"endpoint", "key_id", "secret"}
        hints = [
            f"{key} (or ${var})"
            for name, key, var, _ in SETTINGS
            if name in needed and not getattr(self, name)
        ]
        if hints:
            raise ConfigurationError(f"BatchCompute connection is not configured: set {', '.join(hints)}")
        return self


def _unwrap(value: Any) -> Any:
    # The host unwraps secrets already; a mocked or older host may pass {"value": ...} wrappers.
    if isinstance(value, Mapping) and "value" in value and len(value) <= 2:
        return value["value"]
    return value


def resolve(get: Callable[[str], Any], env: Mapping[str, str]) -> Settings:
    """Settings from stack config (``get("bcs:endpoint")``) first, then the environment."""
    values: dict[str, str] = {}
    for name, key, var, default in SETTINGS:
        raw = _unwrap(get(key))
        values[name] = str(raw) if raw not in (None, "") else env.get(var, default) or default
    return Settings(**values)


_lock = threading.Lock()
_current: Settings | None = None


def configure_from(get: Callable[[str], Any]) -> Settings:
    """Remember the settings for this process (called by the providers' ``configure``)."""
    global _current
    settings = resolve(get, os.environ)
    with _lock:
        _current = settings
    return settings


def current() -> Settings:
    """The settings of this process: configured ones, or the environment alone."""
    with _lock:
        settings = _current
    if settings is None:
        settings = resolve(lambda _key: None, os.environ)
    return settings.require()
