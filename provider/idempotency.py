"""IdempotentTokens for CreateJob / CreateCluster.

A token is derived from the resource URN (which names the stack), the canonical spec and a
*generation*: re-running a deployment interrupted after the POST sends the same token, so the
service answers with the job it already created instead of submitting it twice. The service keeps
tokens for a long time, and a token may point at a job that was since deleted (a replacement with an
unchanged spec, or a job deleted behind Pulumi's back): the caller then moves on to the next
generation, which is just as deterministic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

MAX_GENERATIONS = 16
_PREFIX = "bcs_"


def idempotent_token(urn: str, canonical: Mapping[str, Any], generation: int = 0) -> str:
    """``bcs_`` + 60 hex chars: 64 characters of ``[A-Za-z0-9_]`` (reference §5.1)."""
    text = json.dumps([urn, canonical, generation], sort_keys=True, separators=(",", ":"), default=str)
    return _PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:60]


def submit(
    create: Callable[[str], str], alive: Callable[[str], bool], urn: str, canonical: Mapping[str, Any]
) -> str | None:
    """Create with the first token whose resource still exists: ``create(token)`` returns the id
    the service answers (the earlier one for a token it has seen), ``alive(id)`` says whether it
    is still there. ``None`` when every generation's resource was deleted."""
    for generation in range(MAX_GENERATIONS):
        resource_id = create(idempotent_token(urn, canonical, generation))
        if alive(resource_id):
            return resource_id
    return None
