"""Configuration as operators meet it: ``--version``, a default in every option's help, every
``bcsd serve`` option settable by its ``BCSD_*`` variable (a flag wins), README's one table."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from provider.driver.cli import _parser as deploy_parser
from service.cli import _parser as bcsd_parser
from service.serve_options import OPTIONS
from tests.support.bcsd import free_port, instance_scratch
from tests.support.client import SignedClient
from tests.support.waiting import until

BIN = Path(sys.executable).parent
README = Path(__file__).resolve().parents[2] / "README.md"


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every (nested) subcommand parser by its path, e.g. ``oss cp``."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in subparsers(sub).items()})
    return found


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.dest not in ("help", "version")]


@pytest.mark.parametrize("program", ["bcsd", "bcs-deploy"])
def test_version(program: str) -> None:
    got = subprocess.run([str(BIN / program), "--version"], capture_output=True, text=True, timeout=60)
    assert got.returncode == 0 and got.stdout == f"{program} {metadata.version('bcs-gitops')}\n"


def test_every_option_says_its_default() -> None:
    for program, parser in (("bcsd", bcsd_parser({})), ("bcs-deploy", deploy_parser())):
        for command, sub in subparsers(parser).items():
            for action in options(sub):
                assert action.help and re.search(r"default: |\(required\)", action.help), (
                    program, command, action.option_strings,
                )  # fmt: skip


def test_every_serve_option_has_its_variable() -> None:
    serve = subparsers(bcsd_parser({}))["serve"]
    flags = {a.option_strings[0]: a for a in options(serve)}
    assert set(flags) == {o.flag for o in OPTIONS}
    for option in OPTIONS:
        assert f"(env {option.env}; default: " in (flags[option.flag].help or "")
    shown = subprocess.run([str(BIN / "bcsd"), "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert all(option.env in shown.stdout.replace("\n", " ").replace("  ", "") for option in OPTIONS)


def test_readme_has_one_table_of_every_option() -> None:
    text = README.read_text()
    rows = re.findall(r"^\| `(--[a-z-]+)` \| `(BCSD_[A-Z_]+)` \| (.+?) \|", text, flags=re.M)
    assert [(flag, env) for flag, env, _ in rows] == [(o.flag, o.env) for o in OPTIONS]
    for (_, _, default), option in zip(rows, OPTIONS, strict=True):
        assert default == ("—" if option.repeat else f"`{option.default or chr(39) * 2}`")


def _serve(env: dict[str, str], *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "bcsd"), "serve", *flags], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip


def test_the_environment_configures_serve_and_a_flag_wins(tmp_path: Path) -> None:
    port = free_port()
    env = dict(
        os.environ, BCS_ACCESS_KEY_ID="LTAIenv", BCS_ACCESS_KEY_SECRET="env-secret-0123456789",
        BCSD_HOST="127.0.0.1", BCSD_PORT=str(port), BCSD_DATA_DIR=str(tmp_path / "data"),
        BCSD_LOG_FORMAT="json", BCSD_MAX_BODY_BYTES="2000", BCSD_ISOLATION_RW_PATH=str(instance_scratch()),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    big = {"Name": "x" * 3000}
    for flags, limit in (((), 2000), (("--max-body-bytes", "5000"), 5000)):
        proc = _serve(env, *flags)
        try:
            until(lambda: _healthy(url), "bcsd configured from the environment to answer")
            with SignedClient(url, "LTAIenv", "env-secret-0123456789") as client:
                r = client.post("/jobs", big)
            assert (r.status_code == 413) == (limit == 2000), r.text
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        lines = out.decode().splitlines()
        assert lines and all(json.loads(line)["level"] for line in lines)  # BCSD_LOG_FORMAT=json
        assert (tmp_path / "data" / "bcsd.db").exists()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BCSD_PORT", "eighty", "BCSD_PORT='eighty'"),
        ("BCSD_EXECUTOR", "slurm", "BCSD_EXECUTOR='slurm': choose from local, dask"),
        ("BCSD_OBJECT_STORE", "[1]", "BCSD_OBJECT_STORE='[1]': must be a JSON object"),
    ],
)
def test_a_bad_variable_is_one_usage_line(variable: str, value: str, expected: str, tmp_path: Path) -> None:
    env = dict(os.environ, **{variable: value}, BCSD_DATA_DIR=str(tmp_path))
    got = subprocess.run([str(BIN / "bcsd"), "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert got.returncode == 2 and expected in got.stderr and "Traceback" not in got.stderr
