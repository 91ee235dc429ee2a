"""``--database-url``: plain PostgreSQL URLs accepted; the password never shown."""

from __future__ import annotations

import subprocess
from pathlib import Path

from service.store.database_url import driver_url, masked
from tests.support.bcsd import BCSD, free_port


def test_plain_postgresql_urls_name_psycopg3() -> None:
    assert driver_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert driver_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert driver_url("postgresql+psycopg://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert driver_url("sqlite:///x.db") == "sqlite:///x.db"


def test_masked_hides_the_password() -> None:
    assert masked("postgresql+psycopg://bcs:hunter2@h:5432/db") == "postgresql+psycopg://bcs:***@h:5432/db"
    assert "hunter2" not in masked("not a url hunter2")


def test_unreachable_database_is_one_clear_line_without_the_secret(tmp_path: Path) -> None:
    url = f"postgresql://bcs:hunter2@127.0.0.1:{free_port()}/db"
    done = subprocess.run(
        [str(BCSD), "serve", "--port", str(free_port()), "--data-dir", str(tmp_path), "--database-url", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "cannot open the database postgresql+psycopg://bcs:***@127.0.0.1" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout and "Traceback" not in done.stderr
