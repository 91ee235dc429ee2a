"""``bcsd``: serve the API, and put/read objects of the ``oss://`` store for local users.

bcsd serve --host 127.0.0.1 --port 8080 --data-dir ./bcsd-data
bcsd oss cp ./worker.tar.gz oss://bucket/pkg/worker.tar.gz   (a folder copies recursively)
bcsd oss cat oss://bucket/logs/stdout.job-….task.0
bcsd oss ls oss://bucket/logs/
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from api import Quotas
from service.config import Settings


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bcsd", description="Self-hosted BatchCompute-compatible service")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the API, scheduler and executor")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--data-dir", default="./bcsd-data")
    s.add_argument("--database-url", default="", help="SQLAlchemy URL; default sqlite:///DATA_DIR/bcsd.db")
    s.add_argument("--executor", choices=["local", "dask"], default="local")
    s.add_argument("--dask-scheduler", default="", help="tcp://HOST:PORT of the Dask scheduler")
    s.add_argument(
        "--dask-unschedulable-timeout", type=float, default=300.0,
        help="seconds an instance may wait for a Dask worker offering its resources before it fails",
    )  # fmt: skip
    s.add_argument(
        "--object-store", type=json_object, default={},
        help='JSON fsspec options, e.g. {"protocol": "s3", ...}',
    )  # fmt: skip
    s.add_argument("--max-running", type=int, default=0, help="instances running at once (0 = 8 x CPUs)")
    s.add_argument("--auto-cluster-max-vms", type=int, default=64)
    s.add_argument("--max-job-count", type=int, default=Quotas().max_job_count)
    s.add_argument("--max-job-task-count", type=int, default=Quotas().max_job_task_count)
    s.add_argument("--max-task-instance-count", type=int, default=Quotas().max_task_instance_count)
    s.add_argument("--max-instance-timeout", type=int, default=Quotas().max_instance_timeout)
    s.add_argument("--max-body-bytes", type=int, default=256 * 1024)
    s.add_argument("--notify-retries", type=int, default=5)
    s.add_argument("--notify-backoff", type=float, default=0.5)
    s.add_argument("--log-level", default="INFO")
    s.add_argument(
        "--lease-ttl", type=float, default=10.0,
        help="seconds before another bcsd node on the same PostgreSQL takes over a silent node's jobs",
    )  # fmt: skip
    s.add_argument(
        "--isolation", choices=["auto", "bwrap", "none"], default=os.environ.get("BCSD_ISOLATION", "auto"),
        help="how instances are confined: bwrap sandbox, or none (unconfined); auto = bwrap when it "
        "works here, else none with a warning (env BCSD_ISOLATION; default %(default)s)",
    )  # fmt: skip
    s.add_argument(
        "--isolation-user", type=run_as, default=os.environ.get("BCSD_ISOLATION_USER", "nobody"),
        help="USER or UID[:GID] instances run as when bcsd runs as root (env BCSD_ISOLATION_USER; "
        "default %(default)s)",
    )  # fmt: skip
    s.add_argument(
        "--isolation-network", choices=["on", "off"], default=os.environ.get("BCSD_ISOLATION_NETWORK", "on"),
        help="off gives sandboxed instances only a loopback interface (env BCSD_ISOLATION_NETWORK; "
        "default %(default)s)",
    )  # fmt: skip
    s.add_argument(
        "--isolation-ro-path", action="append", default=[], metavar="PATH",
        help="another host folder instances see read-only (repeatable), e.g. /opt/tools",
    )  # fmt: skip
    s.add_argument(
        "--isolation-rw-path", action="append", default=[], metavar="PATH",
        help="a shared folder every instance may write (repeatable), e.g. a scratch NAS mount",
    )  # fmt: skip
    s.add_argument(
        "--instance-pids-max", type=int, default=int(os.environ.get("BCSD_INSTANCE_PIDS_MAX", "512")),
        help="processes one instance may have at once (env BCSD_INSTANCE_PIDS_MAX; default %(default)s)",
    )  # fmt: skip
    # The store options are accepted before and after the subcommand (`bcsd oss --data-dir D cp …`
    # and `bcsd oss cp --data-dir D …`); SUPPRESS keeps a subcommand's default from overwriting a
    # value given before it.
    data_help = "the bcsd data dir (oss:// is DATA_DIR/oss)"
    store_help = "JSON object-store options (as for serve)"
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--data-dir", default=argparse.SUPPRESS, help=data_help)
    store.add_argument("--object-store", type=json_object, default=argparse.SUPPRESS, help=store_help)
    o = sub.add_parser("oss", help="the object store behind oss://")
    o.add_argument("--data-dir", default="./bcsd-data", help=data_help)
    o.add_argument("--object-store", type=json_object, default={}, help=store_help)
    osub = o.add_subparsers(dest="oss_command", required=True)
    cp = osub.add_parser("cp", parents=[store], help="copy a file or folder into oss://")
    cp.add_argument("src")
    cp.add_argument("dst")
    cat = osub.add_parser("cat", parents=[store], help="print an object")
    cat.add_argument("path")
    ls = osub.add_parser("ls", parents=[store], help="list objects under a prefix")
    ls.add_argument("path")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        data_dir=Path(args.data_dir).resolve(),
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        executor=args.executor,
        dask_scheduler=args.dask_scheduler,
        dask_unschedulable_timeout_s=args.dask_unschedulable_timeout,
        object_store=args.object_store,
        quotas=Quotas(
            max_job_count=args.max_job_count,
            max_job_task_count=args.max_job_task_count,
            max_task_instance_count=args.max_task_instance_count,
            max_instance_timeout=args.max_instance_timeout,
        ),
        max_body_bytes=args.max_body_bytes,
        max_running=args.max_running,
        auto_cluster_max_vms=args.auto_cluster_max_vms,
        notify_retries=args.notify_retries,
        notify_backoff_s=args.notify_backoff,
        log_level=args.log_level,
        lease_ttl_s=args.lease_ttl,
        isolation=args.isolation,
        isolation_run_as=args.isolation_user,
        isolation_network=args.isolation_network == "on",
        isolation_ro_paths=tuple(os.path.abspath(p) for p in args.isolation_ro_path),
        isolation_rw_paths=tuple(os.path.abspath(p) for p in args.isolation_rw_path),
        instance_pids_max=args.instance_pids_max,
    )


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service import data_dir_lock
    from service.app import create_app
    from service.credentials import load_credentials
    from service.executors.isolation import IsolationUnavailable

    settings = _settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        data_lock = data_dir_lock.acquire(settings.data_dir)
    except data_dir_lock.DataDirInUse as exc:
        print(f"bcsd serve: {exc}", file=sys.stderr)
        return 1
    # Listen before anything starts, so a busy port is one clear line (not a "ready" line followed
    # by uvicorn's bind error) and "ready" is only logged once connections are really accepted.
    try:
        listener = socket.create_server((settings.host, settings.port))
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        print(f"bcsd serve: cannot listen on {settings.host}:{settings.port}: {why}", file=sys.stderr)
        return 1
    settings = dataclasses.replace(settings, port=listener.getsockname()[1])  # --port 0: the real one
    data_dir_lock.announce(data_lock, f"http://{settings.host}:{settings.port}")
    creds = load_credentials(settings.data_dir)
    try:
        app = create_app(settings, creds)
    except IsolationUnavailable as exc:
        print(f"bcsd serve: {exc}", file=sys.stderr)
        return 1
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[listener])
    return 0


def _store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from service.objectstore import ObjectStore

    data_dir = Path(args.data_dir).resolve()
    settings = Settings(data_dir=data_dir, object_store=args.object_store)
    return ObjectStore.from_config(settings.object_store_options)


def oss(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.oss_command == "cp":
        src = Path(args.src)
        if not src.exists():
            print(f"bcsd oss cp: {src} does not exist", file=sys.stderr)
            return 2
        dst = args.dst if not src.is_dir() or args.dst.endswith("/") else args.dst + "/"
        for url in store.put(str(src), dst):
            print(url)
        return 0
    if args.oss_command == "cat":
        sys.stdout.buffer.write(store.read_bytes(args.path))
        return 0
    for name in store.list(args.path):
        print(name)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return serve(args) if args.command == "serve" else oss(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a CLI user sees one clear line, never a traceback
        from service.store.database_url import DatabaseUnavailable

        if args.command == "serve" and not isinstance(exc, DatabaseUnavailable):
            raise
        print(f"bcsd {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
