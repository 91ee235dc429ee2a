"""IdempotentToken replay (reference §5.1), one rule for CreateJob and CreateCluster."""

from __future__ import annotations

from sqlalchemy import Connection

from api.errors import error
from service.store import repo


def replayed(conn: Connection, kind: str, token: str, body_hash: str) -> str | None:
    """The id an IdempotentToken already created (same body), ``None`` for a new or absent token;
    the same token with another body is ``IdempotentTokenMismatch``."""
    seen = repo.find_token(conn, kind, token) if token else None
    if seen is None:
        return None
    if seen.body_hash != body_hash:
        raise error("idempotent_token_mismatch")
    return str(seen.resource_id)
