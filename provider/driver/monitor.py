"""The gRPC side of the engine that the SDK talks to: ``ResourceMonitor`` and ``Engine``.

The program (in a subprocess, see ``program_run.py``) registers its resources here exactly as it
would with the Pulumi CLI. Each RegisterResource is handed to :class:`engine.Engine`, whose outputs
go back to the program, so a ``Job`` that uses a ``Cluster``'s id waits for it as usual.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, resource_pb2, resource_pb2_grpc

from provider.driver.engine import Engine, Registration, StepFailed
from provider.driver.program_run import ENV
from provider.driver.provider_host import from_struct, to_struct

SEVERITY = {engine_pb2.DEBUG: "debug", engine_pb2.INFO: "info", engine_pb2.WARNING: "warning",
            engine_pb2.ERROR: "error"}
FEATURES = [
    resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
    resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH,
]


class Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    """Answers the SDK's resource calls by running engine steps."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        return resource_pb2.DeploymentInfo(supportedFeatures=FEATURES)

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in ("secrets", "deletedWith"))

    def RegisterResource(self, request: Any, context: Any) -> Any:
        reg = Registration(
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=request.custom,
            inputs=from_struct(request.object),
            dependencies=tuple(request.dependencies),
            delete_before_replace=request.deleteBeforeReplace,
            property_dependencies=tuple(
                (key, tuple(deps.urns)) for key, deps in sorted(request.propertyDependencies.items())
            ),
        )
        try:
            urn, id_, outputs = self.engine.register(reg)
        except StepFailed as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=to_struct(outputs))

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.engine.set_stack_outputs(from_struct(request.outputs))
        return empty_pb2.Empty()

    def ReadResource(self, request: Any, context: Any) -> Any:
        try:
            urn, outs = self.engine.read(
                request.type, request.name, request.parent, request.id, from_struct(request.properties)
            )
        except StepFailed as exc:
            context.abort(grpc.StatusCode.UNKNOWN, str(exc))
        return resource_pb2.ReadResourceResponse(urn=urn, properties=to_struct(outs))

    def Invoke(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"the offline driver has no function {request.tok}")

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()


class EngineService(engine_pb2_grpc.EngineServicer):
    """Log messages from the program, and the root (stack) resource."""

    def __init__(self, log: Any) -> None:
        self._log = log
        self._root = ""

    def Log(self, request: Any, context: Any) -> Any:
        severity = SEVERITY.get(request.severity, "info")
        if severity != "debug":
            self._log(severity, request.message.rstrip())
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=self._root)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        self._root = request.urn
        return engine_pb2.SetRootResourceResponse()


def run_program(
    engine: Engine,
    python: str,
    project_root: Path,
    project: str,
    main: Path,
    config: dict[str, str],
    secret_keys: list[str],
    log: Any,
) -> str:
    """Serve the monitor, run the program to completion; return its error message ('' when fine)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(Monitor(engine), server)
    engine_pb2_grpc.add_EngineServicer_to_server(EngineService(log), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(project_root), env.get("PYTHONPATH", "")) if p)
        env["PULUMI_PROJECT"] = project
        env["PULUMI_STACK"] = engine.stack
        env[ENV] = json.dumps(
            {
                "monitor": f"127.0.0.1:{port}",
                "engine": f"127.0.0.1:{port}",
                "project": project,
                "stack": engine.stack,
                "preview": engine.preview,
                "config": config,
                "secret_keys": secret_keys,
                "main": str(main),
                "root": str(project_root),
            }
        )
        workdir = main if main.is_dir() else main.parent
        proc = subprocess.run(
            [python, "-m", "provider.driver.program_run"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        server.stop(grace=1)
    if proc.returncode == 0:
        return ""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    return "\n".join(lines[-20:]) or f"the program exited with code {proc.returncode}"
