"""The expired-nonce sweep reads an index, on new databases and on ones made before it existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.store.engine import open_engine


def test_sweep_uses_the_expiry_index_after_opening_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "bcsd.db"
    with sqlite3.connect(path) as con:  # the nonces table as bcsd created it before the index
        con.execute("CREATE TABLE nonces (nonce VARCHAR(128) PRIMARY KEY, expires FLOAT NOT NULL)")
    for _ in range(2):  # opening twice: the index is created once, then found
        open_engine(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as con:
        plan = con.execute("EXPLAIN QUERY PLAN DELETE FROM nonces WHERE expires < 5").fetchall()
    assert any("USING INDEX nonces_by_expiry" in row[-1] for row in plan), plan
