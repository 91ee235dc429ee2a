"""``bcsd``: serve the API, and put/read objects of the ``oss://`` store for local users.

bcsd serve --host 127.0.0.1 --port 8080 --data-dir ./bcsd-data
bcsd oss cp ./worker.tar.gz oss://bucket/pkg/worker.tar.gz   (a folder copies recursively)
bcsd oss cat oss://bucket/logs/stdout.job-….task.0
bcsd oss ls oss://bucket/logs/
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from api import Quotas
from service import extras, tls
from service.config import Settings
from service.serve_options import add_options, json_object
from service.version import version


def _parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bcsd", description="Self-hosted BatchCompute-compatible service")
    p.add_argument("--version", action="version", version=f"bcsd {version()}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "serve", help="run the API, scheduler and executor",
        description="Every option can also be set by its BCSD_* environment variable; a flag wins.",
    )  # fmt: skip
    add_options(s, os.environ if environ is None else environ)
    # The store options are accepted before and after the subcommand (`bcsd oss --data-dir D cp …`
    # and `bcsd oss cp --data-dir D …`); SUPPRESS keeps a subcommand's default from overwriting a
    # value given before it.
    data_help = "the bcsd data dir (oss:// is DATA_DIR/oss)"
    store_help = "JSON object-store options (as for serve)"
    store = argparse.ArgumentParser(add_help=False)
    also = "(default: the value given to `bcsd oss`)"
    store.add_argument("--data-dir", default=argparse.SUPPRESS, help=f"{data_help} {also}")
    store.add_argument(
        "--object-store", type=json_object, default=argparse.SUPPRESS, help=f"{store_help} {also}"
    )
    o = sub.add_parser("oss", help="the object store behind oss://")
    o.add_argument("--data-dir", default="./bcsd-data", help=f"{data_help} (default: ./bcsd-data)")
    o.add_argument("--object-store", type=json_object, default={}, help=f"{store_help} (default: {{}})")
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
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        database_url=args.database_url,
        executor=args.executor,
        dask_scheduler=args.dask_scheduler,
        dask_unschedulable_timeout_s=args.dask_unschedulable_timeout,
        validate=args.validate,
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
        log_format=args.log_format,
        lease_ttl_s=args.lease_ttl,
        isolation=args.isolation,
        isolation_run_as=args.isolation_user,
        isolation_network=args.isolation_network == "on",
        isolation_ro_paths=tuple(os.path.abspath(p) for p in args.isolation_ro_path),
        isolation_rw_paths=tuple(os.path.abspath(p) for p in args.isolation_rw_path),
        instance_pids_max=args.instance_pids_max,
        vm_sandbox_idle_s=args.vm_sandbox_idle,
        vm_sandbox_max=args.vm_sandbox_max,
    )


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service import data_dir_lock
    from service.app import create_app
    from service.credentials import load_credentials
    from service.executors.isolation import IsolationUnavailable
    from service.http_protocol import OneWriteHttpProtocol
    from service.telemetry import log_format

    settings = _settings(args)
    if problem := tls.check(settings.tls_cert, settings.tls_key) or extras.missing(settings):
        print(f"bcsd serve: {problem}", file=sys.stderr)
        return 2
    mask = log_format.configure(settings.log_level, settings.log_format)
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
    scheme = "https" if settings.tls_cert else "http"
    data_dir_lock.announce(data_lock, f"{scheme}://{settings.host}:{settings.port}")
    creds = load_credentials(settings.data_dir)
    mask.add(creds.secret)
    try:
        app = create_app(settings, creds)
    except IsolationUnavailable as exc:
        print(f"bcsd serve: {exc}", file=sys.stderr)
        return 1
    config = uvicorn.Config(
        app, log_config=None, log_level=None, access_log=False,  # one format: telemetry.log_format
        http=OneWriteHttpProtocol,  # each response in one send()
        ssl_certfile=settings.tls_cert or None, ssl_keyfile=settings.tls_key or None,
    )  # fmt: skip
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    return 0


def _store(args: argparse.Namespace) -> Any:
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
