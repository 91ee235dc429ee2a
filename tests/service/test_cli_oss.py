"""`bcsd oss` as a user types it: the store options before or after the subcommand, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BCSD = Path(sys.executable).with_name("bcsd")


def bcsd_oss(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BCSD), "oss", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "put, read",
    [
        (["--data-dir", "{d}", "cp", "{src}", "oss://b/k.txt"], ["--data-dir", "{d}", "cat", "oss://b/k.txt"]),
        (["cp", "{src}", "oss://b/k.txt", "--data-dir", "{d}"], ["cat", "--data-dir", "{d}", "oss://b/k.txt"]),
    ],
    ids=["before-subcommand", "after-subcommand"],
)
def test_data_dir_is_accepted_before_and_after_the_subcommand(
    tmp_path: Path, put: list[str], read: list[str]
) -> None:
    src = tmp_path / "k.txt"
    src.write_text("payload\n")
    data = tmp_path / "data"
    fill = {"d": str(data), "src": str(src)}
    assert bcsd_oss(*[a.format(**fill) for a in put]).returncode == 0
    assert (data / "oss" / "b" / "k.txt").read_text() == "payload\n"
    got = bcsd_oss(*[a.format(**fill) for a in read])
    assert got.returncode == 0 and got.stdout == "payload\n"


def test_missing_object_and_missing_source_are_one_line_errors(tmp_path: Path) -> None:
    missing = bcsd_oss("cat", "--data-dir", str(tmp_path), "oss://b/none.txt")
    assert missing.returncode != 0
    assert "no such object oss://b/none.txt" in missing.stderr and "Traceback" not in missing.stderr
    absent = bcsd_oss("cp", str(tmp_path / "absent"), "oss://b/x", "--data-dir", str(tmp_path))
    assert absent.returncode != 0
    assert "does not exist" in absent.stderr and "Traceback" not in absent.stderr


@pytest.mark.parametrize("value, why", [("{bad", "not valid JSON"), ("[1]", "must be a JSON object")])
def test_bad_object_store_option_is_a_usage_error(tmp_path: Path, value: str, why: str) -> None:
    for argv in (
        [str(BCSD), "serve", "--data-dir", str(tmp_path), "--object-store", value],
        [str(BCSD), "oss", "ls", "oss://b/", "--data-dir", str(tmp_path), "--object-store", value],
    ):
        got = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert got.returncode == 2, got.stderr
        assert f"argument --object-store: {why}" in got.stderr and "Traceback" not in got.stderr
