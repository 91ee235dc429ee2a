"""Every option of ``bcsd serve`` as data: flag, built-in default, help, and the ``BCSD_*``
environment variable that sets it (for systemd units and containers).

Precedence: a flag on the command line, else its environment variable, else the default. An
environment value is converted and checked like the flag would be; a bad one is a usage error
naming the variable. Repeatable options (``--isolation-ro-path``) take a ``:``-separated list
from the environment, and flags add to it. ``tests/service/test_configuration.py`` holds
README's table to this one.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from api import Quotas

ENV_PREFIX = "BCSD_"


def json_object(text: str) -> dict[str, Any]:
    """An argparse type: a JSON object of option strings (a bad value is a usage error, not a trace)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, e.g. {"protocol": "s3"}')
    return value


def run_as(text: str) -> tuple[int, int]:
    """An argparse type: a user name or ``UID[:GID]`` -> (uid, gid)."""
    import pwd

    name, _, group = text.partition(":")
    try:
        if name.isdigit():
            uid = int(name)
            gid = int(group) if group.isdigit() else uid
        else:
            entry = pwd.getpwnam(name)
            uid, gid = entry.pw_uid, int(group) if group.isdigit() else entry.pw_gid
    except KeyError:
        raise argparse.ArgumentTypeError(f"no such user {name!r}") from None
    if uid == 0:
        raise argparse.ArgumentTypeError("instances may not run as root")
    return uid, gid


def switch(text: str) -> bool:
    """An argparse type for an on/off option: ``1``/``0``, ``on``/``off``, ``true``/``false``."""
    value = text.strip().lower()
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no", ""):
        return False
    raise argparse.ArgumentTypeError("use 1 or 0 (on/off)")


@dataclass(frozen=True)
class Option:
    flag: str
    default: str  # as a user would type it; converted with ``kind`` like a command-line value
    help: str
    kind: Callable[[str], Any] = str
    choices: tuple[str, ...] = ()
    repeat: bool = False
    metavar: str | None = None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.flag.removeprefix("--").upper().replace("-", "_")

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


_q = Quotas()
OPTIONS: tuple[Option, ...] = (
    Option("--host", "127.0.0.1", "address to listen on"),
    Option("--port", "8080", "port to listen on (0: any free port)", int),
    Option("--tls-cert", "", "PEM certificate chain: serve HTTPS (needs --tls-key)", metavar="FILE"),
    Option("--tls-key", "", "PEM private key of --tls-cert", metavar="FILE"),
    Option("--data-dir", "./bcsd-data", "SQLite database, credentials, sandboxes, local oss:// store"),
    Option("--database-url", "", "SQLAlchemy URL, e.g. postgresql://…; '' = sqlite:///DATA_DIR/bcsd.db"),
    Option("--executor", "local", "where instances run", choices=("local", "dask")),
    Option("--dask-scheduler", "", "tcp://HOST:PORT of the Dask scheduler (--executor dask)"),
    Option(
        "--dask-unschedulable-timeout",
        "300",
        "seconds an instance may wait for a Dask worker offering "
        "its resources before it fails with Unschedulable",
        float,
    ),  # fmt: skip
    Option(
        "--object-store",
        "{}",
        'JSON fsspec options for oss://, e.g. {"protocol": "s3", …}; {} = DATA_DIR/oss',
        json_object,
    ),  # fmt: skip
    Option("--max-running", "0", "instances running at once on this node (0 = 8 x CPUs)", int),
    Option("--auto-cluster-max-vms", "64", "VMs of one AutoCluster", int),
    Option("--max-job-count", str(_q.max_job_count), "quota: jobs stored", int),
    Option("--max-job-task-count", str(_q.max_job_task_count), "quota: tasks of one job", int),
    Option("--max-task-instance-count", str(_q.max_task_instance_count), "quota: instances of a task", int),
    Option("--max-instance-timeout", str(_q.max_instance_timeout), "quota: Timeout of an instance (s)", int),
    Option("--max-body-bytes", str(256 * 1024), "larger request bodies get 413 RequestBodyTooLarge", int),
    Option("--notify-retries", "5", "delivery attempts of one notification", int),
    Option("--notify-backoff", "0.5", "seconds before the first retry (doubling after each)", float),
    Option(
        "--log-level",
        "INFO",
        "lowest level logged",
        str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    ),  # fmt: skip
    Option(
        "--log-format",
        "text",
        "text lines, or one JSON object a line for log shippers",
        choices=("text", "json"),
    ),  # fmt: skip
    Option(
        "--lease-ttl",
        "10",
        "seconds before another node on the same PostgreSQL takes over a silent node's jobs",
        float,
    ),  # fmt: skip
    Option(
        "--isolation",
        "auto",
        "how instances are confined: bwrap sandbox, or none (unconfined); "
        "auto = bwrap when it works here, else none with a warning",
        choices=("auto", "bwrap", "none"),
    ),  # fmt: skip
    Option(
        "--isolation-user", "nobody", "USER or UID[:GID] instances run as when bcsd runs as root", run_as
    ),  # fmt: skip
    Option(
        "--isolation-network",
        "on",
        "off gives sandboxed instances only a loopback interface",
        choices=("on", "off"),
    ),  # fmt: skip
    Option(
        "--isolation-ro-path",
        "",
        "another host folder instances see read-only (repeatable; env: ':'-separated)",
        repeat=True,
        metavar="PATH",
    ),  # fmt: skip
    Option(
        "--isolation-rw-path",
        "",
        "a shared folder every instance may write (repeatable; env: ':'-separated)",
        repeat=True,
        metavar="PATH",
    ),  # fmt: skip
    Option("--instance-pids-max", "512", "processes one instance may have at once", int),
    Option(
        "--vm-sandbox-idle",
        "2",
        "seconds a VM sandbox (bwrap + agent kept for a task's next "
        "instances on one VM slot) lives without work",
        float,
    ),  # fmt: skip
    Option(
        "--vm-sandbox-max",
        "64",
        "VM sandboxes alive at once on this node (0 = every instance gets its own sandbox)",
        int,
    ),  # fmt: skip
    Option(
        "--validate",
        "0",
        "check the scheduler's run-state invariants after every turn and exit "
        "(status 70) on the first broken one; slower, the test suite runs with it",
        switch,
    ),  # fmt: skip
)


class EnvValue(str):
    """A default that came from the environment: its conversion errors name the variable."""

    env: str


def _typed(option: Option) -> Callable[[str], Any]:
    """``option.kind``, plus (for a value from the environment) the choices check argparse skips
    on defaults and an error that names the variable."""

    def convert(text: str) -> Any:
        if not isinstance(text, EnvValue):
            return option.kind(text)
        where = f"{text.env}={str(text)!r}"
        try:
            value = option.kind(text)
        except (ValueError, argparse.ArgumentTypeError) as exc:
            raise argparse.ArgumentTypeError(f"{where}: {exc or 'invalid value'}") from None
        if option.choices and value not in option.choices:
            raise argparse.ArgumentTypeError(f"{where}: choose from {', '.join(option.choices)}")
        return value

    convert.__name__ = getattr(option.kind, "__name__", "value")  # argparse's "invalid <name> value"
    return convert


def _from_env(option: Option, raw: str) -> EnvValue:
    value = EnvValue(raw)
    value.env = option.env
    return value


def add_options(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Add every option to ``parser``, its default taken from ``environ`` when set there.
    Defaults stay strings, so argparse converts them only when ``serve`` is what runs."""
    for option in OPTIONS:
        shown = "none" if option.repeat else (option.default or "''")
        help_text = f"{option.help} (env {option.env}; default: {shown})"
        raw = environ.get(option.env)
        if option.repeat:
            paths = [p for p in (raw or "").split(":") if p]
            parser.add_argument(option.flag, action="append", default=paths, metavar=option.metavar,
                                help=help_text)  # fmt: skip
            continue
        default = _from_env(option, raw) if raw is not None else option.default
        # `--validate` alone = on
        bare: dict[str, Any] = {"nargs": "?", "const": "1"} if option.kind is switch else {}
        parser.add_argument(
            option.flag, type=_typed(option), default=default, choices=option.choices or None,
            metavar=option.metavar, help=help_text, **bare,
        )  # fmt: skip
