"""Bring a store to the current schema with Alembic, at every start.

A new store runs the whole chain; a store of the 0.1.0 release (tables, no ``alembic_version``)
starts at the baseline, whose upgrade only adds what is missing, and continues; a current one
does nothing. On PostgreSQL the upgrade holds an advisory lock, so nodes starting together
migrate once, one after the other. The whole upgrade is one transaction where the database
allows transactional DDL (PostgreSQL; SQLite as far as pysqlite lets it).
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

log = logging.getLogger("bcsd.store")
SCRIPTS = Path(__file__).with_name("migrations")
#: pg_advisory_xact_lock key: "bcsd" in ASCII
LOCK_KEY = 0x62637364


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    return config


def head() -> str:
    """The newest revision of the chain."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(engine: Engine) -> str | None:
    """The store's revision (None: never migrated, i.e. new or made by 0.1.0)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    config = _config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        before = MigrationContext.configure(conn).get_current_revision()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        after = MigrationContext.configure(conn).get_current_revision()
    if before != after:
        log.info("store schema upgraded from %s to %s", before or "0.1.0 (no revision)", after)
