"""Database URLs as users type them, and as they may be shown.

Users write ``postgresql://user:pass@host/db`` (what ``psql`` and every PostgreSQL tool accept);
SQLAlchemy needs the driver named (``postgresql+psycopg://``, psycopg 3). Passwords never reach
a log line or an error message: everything shown goes through :func:`masked`.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

_PLAIN_SCHEMES = ("postgresql://", "postgres://")


class DatabaseUnavailable(RuntimeError):
    """The database named by ``--database-url`` cannot be opened (message safe to print)."""


def driver_url(url: str) -> str:
    """Name the psycopg 3 driver when the URL names none; other URLs pass unchanged."""
    for scheme in _PLAIN_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def masked(url: str) -> str:
    """The URL with its password replaced by ``***`` (unparseable URLs are hidden whole)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL we cannot parse may still hold a secret
        return "<database url>"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")
