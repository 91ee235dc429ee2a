"""The instance types the configured endpoint offers (``GET /available``), for ``check``.

bcsd refuses an InstanceType it does not offer at CreateJob / CreateCluster; asking the endpoint
during ``check`` lets ``pulumi preview`` report the same thing before anything is submitted. The
list is a fact of the endpoint (bcsd's table, or the real service's), so it is asked for, once per
endpoint and process (the dynamic host answers many checks). When the endpoint cannot say (not
configured, unreachable, no ``/available``), check says nothing about instance types and the
service remains the judge at create time.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from api.signing import sign_headers
from provider import config
from provider.errors import ConfigurationError

TIMEOUT = httpx.Timeout(5.0, connect=2.0)
LISTS = ("AvailableClusterInstanceType", "AvailableSpotInstanceType")

_lock = threading.Lock()
_known: dict[str, frozenset[str] | None] = {}


def _names(answer: Any) -> frozenset[str] | None:
    if not isinstance(answer, dict) or not any(isinstance(answer.get(k), list) for k in LISTS):
        return None
    names = set()
    for key in LISTS:
        for item in answer.get(key) or []:  # the SDK's shape (objects) or the CLI's (names)
            name = item.get("InstanceType") if isinstance(item, dict) else item
            if isinstance(name, str) and name:
                names.add(name)
    return frozenset(names)


def _ask(settings: config.Settings) -> frozenset[str] | None:
    headers = sign_headers("GET", "/available", {}, settings.key_id, settings.secret, region=settings.region,
                           body=b"")
    try:
        response = httpx.get(f"{settings.endpoint.rstrip('/')}/available", headers=headers, timeout=TIMEOUT)
        return _names(response.json()) if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def offered_instance_types() -> frozenset[str] | None:
    """The endpoint's instance types, or None when it cannot say."""
    try:
        settings = config.current()
    except ConfigurationError:
        return None
    with _lock:
        if settings.endpoint in _known:
            return _known[settings.endpoint]
    names = _ask(settings)
    with _lock:
        _known[settings.endpoint] = names
    return names
