"""Durable state of bcsd: SQLAlchemy Core schema (``schema``), engine set-up (``engine``) and
the repository (``repo``) every route and the scheduler go through. Portable SQL only, so the
same code runs on SQLite (default, WAL) and PostgreSQL."""
