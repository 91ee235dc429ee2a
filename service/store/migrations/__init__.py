"""Alembic migrations of the bcsd store (``versions/``: ``0001`` is the frozen 0.1.0 schema).

A schema change is a new revision here plus the same change in ``service/store/schema.py``;
``tests/scaleout/test_migrations.py`` fails when the two disagree. To draft one:
``alembic -c service/store/migrations/alembic.ini revision -m "…"`` (see ``migrate.py``).
"""
