"""`bcsd serve` start-up as a user meets it: a busy port is one clear line, not a trace."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

BCSD = Path(sys.executable).with_name("bcsd")


def test_busy_port_is_one_clear_line_and_nothing_claims_ready(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        got = subprocess.run(
            [str(BCSD), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert got.returncode == 1
    assert f"bcsd serve: cannot listen on 127.0.0.1:{port}: Address already in use" in got.stderr
    assert "bcsd ready" not in got.stderr + got.stdout and "Traceback" not in got.stderr


def test_a_second_bcsd_on_a_data_dir_is_refused_naming_the_first(bcsd) -> None:  # type: ignore[no-untyped-def]
    """One bcsd per data dir, whatever the port: the second names the first's pid and URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        other_port = s.getsockname()[1]
    got = subprocess.run(
        [str(BCSD), "serve", "--host", "127.0.0.1", "--port", str(other_port),
         "--data-dir", str(bcsd.data_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert got.returncode == 1, got.stderr
    expected = f"is in use by bcsd pid {bcsd.pid} at {bcsd.url} (one bcsd per data dir)"
    assert expected in got.stderr and "Traceback" not in got.stderr
    lock = json.loads((bcsd.data_dir / "bcsd.lock").read_text())
    assert lock == {"pid": bcsd.pid, "url": bcsd.url}
