"""Our Python language host for the Pulumi CLI (the `pulumi-language-python` plugin).

Pulumi's own host is a Go module (``sdk/python/cmd/pulumi-language-python/v3``) that the Go module
proxy reachable from these machines does not serve at any version, so the pinned CLI is built from
``pkg/v3`` and this host takes the Go host's place. It speaks the same ``LanguageRuntime`` gRPC
service: the CLI starts it with the engine's address as its last argument, reads the port it
prints, and calls ``Run`` once per preview/update. ``Run`` starts the project's program in the
project's virtualenv (``runtime.options.virtualenv`` of Pulumi.yaml) through
``provider.driver.program_run``, the same runner the offline driver uses, so both engines run the
program identically. A failing program's message becomes the run's error (one line, no traceback).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

VERSION = "3.260.0"  # reported as the plugin's version; tools/pulumi/build.py rewrites it
EXIT_PROGRAM_ERROR = 3  # provider.driver.program_run's exit code for a failed program


def _virtualenv_python(root: Path, options: dict[str, Any]) -> str:
    """The interpreter of the project's virtualenv, else the one running this host."""
    venv = options.get("virtualenv") or os.environ.get("VIRTUAL_ENV")
    if venv:
        python = (root / str(venv)).resolve() / "bin" / "python"
        if python.exists():
            return str(python)
    return sys.executable


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """Runs a bcs-gitops Pulumi program for the engine; every other call answers "nothing needed".

    The running programs are remembered so that ``stop`` can end them: a program must never
    outlive its host (a killed ``pulumi up`` would otherwise leave it blocked on a dead monitor).
    """

    def __init__(self, engine_address: str) -> None:
        self.engine_address = engine_address
        self._programs: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()

    def stop(self) -> None:
        with self._lock:
            for program in self._programs:
                program.kill()

    def Handshake(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method names)
        if request.engine_address:
            self.engine_address = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> Any:  # noqa: N802
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:  # noqa: N802
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:  # noqa: N802
        return language_pb2.GetRequiredPackagesResponse()

    def About(self, request: Any, context: Any) -> Any:  # noqa: N802
        version = ".".join(str(part) for part in sys.version_info[:3])
        return language_pb2.AboutResponse(executable=sys.executable, version=version)

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:  # noqa: N802
        return language_pb2.GetProgramDependenciesResponse()

    def RuntimeOptionsPrompts(self, request: Any, context: Any) -> Any:  # noqa: N802
        return language_pb2.RuntimeOptionsResponse()

    def InstallDependencies(self, request: Any, context: Any) -> Any:  # noqa: N802
        return iter(())  # `make venv` installs the project; nothing to do here

    def Run(self, request: Any, context: Any) -> Any:  # noqa: N802
        info = request.info
        root = Path(info.root_directory or request.pwd or os.getcwd())
        options = json_format.MessageToDict(info.options) if info.HasField("options") else {}
        program_dir = Path(info.program_directory or request.pwd or root)
        entry = info.entry_point or "."
        spec = {
            "main": str((program_dir / entry).resolve()),
            "root": str(root),
            "project": request.project,
            "stack": request.stack,
            "monitor": request.monitor_address,
            "engine": self.engine_address,
            "preview": request.dryRun,
            "config": dict(request.config),
            "secret_keys": list(request.configSecretKeys),
        }
        env = {**os.environ, "BCS_DEPLOY_RUN": json.dumps(spec)}
        python = _virtualenv_python(root, options)
        program = subprocess.Popen(
            [python, "-u", "-m", "provider.driver.program_run"],
            cwd=str(program_dir),
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        with self._lock:
            self._programs.add(program)
        try:
            _, stderr = program.communicate()
        finally:
            with self._lock:
                self._programs.discard(program)
        if program.returncode == 0:
            return language_pb2.RunResponse()
        message = stderr.strip() or f"the program exited with code {program.returncode}"
        return language_pb2.RunResponse(error=message)


def main() -> int:
    engine_address = next((a for a in reversed(sys.argv[1:]) if not a.startswith("-")), "")
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
    )
    host = LanguageHost(engine_address)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)  # the CLI reads the port from our first line of stdout

    def shut_down(*_: object) -> None:
        host.stop()
        server.stop(grace=None)

    # The CLI ends its plugins with SIGINT (then SIGKILL): stop serving, quietly. When the CLI
    # itself is killed, nobody signals us: we notice being re-parented and end the same way.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, shut_down)
    threading.Thread(target=_watch_parent, args=(os.getppid(), shut_down), daemon=True).start()
    server.wait_for_termination()
    return 0


def _watch_parent(parent: int, shut_down: Callable[[], None]) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    shut_down()


if __name__ == "__main__":
    sys.exit(main())
