"""Hosts the dynamic providers in the SDK's own server, ``python -m pulumi.dynamic``, over gRPC.

The engine starts that server, reads its port from stdout and calls ``ResourceProvider``:
Configure once, then Check / Diff / Create / Update / Delete / Read per resource. We do the same.
Properties cross the wire as ``google.protobuf.Struct`` in the encoding of
``pulumi.runtime.rpc`` (secrets and unknowns as signature-tagged objects); here they are handled
as the equivalent JSON dicts so that they can be stored and compared as they are.

A provider that raises comes back as gRPC UNKNOWN whose details are the Python traceback; we keep
only the exception's message, which is what users should read (``QuotaExhausted.MaxJobCount: …``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc


class ProviderError(Exception):
    """A provider call failed; the message is the provider's own one-line error."""


def to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    msg = struct_pb2.Struct()
    json_format.ParseDict(props, msg)
    return msg


def from_struct(msg: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(msg)


def one_line(details: str) -> str:
    """The last meaningful line of a provider traceback, without the exception's module path."""
    lines = [ln.strip() for ln in (details or "").strip().splitlines() if ln.strip()]
    if not lines:
        return "provider call failed without a message"
    last = lines[-1]
    head, sep, rest = last.partition(": ")
    if sep and " " not in head and (head[:1].isupper() or "." in head) and rest:
        return rest
    return last


@dataclass(frozen=True)
class CheckFailure:
    property: str
    reason: str


@dataclass(frozen=True)
class DiffResult:
    changes: bool | None
    replaces: tuple[str, ...]
    delete_before_replace: bool


class ProviderHost:
    """One ``python -m pulumi.dynamic`` process and a stub to it; stop it by its PID."""

    def __init__(self, python: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        full_env = dict(os.environ if env is None else env)
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(cwd), full_env.get("PYTHONPATH", "")) if p
        )
        self._proc = subprocess.Popen(
            # -u: the host prints its port on stdout, which is a pipe here; block-buffered (no
            # PYTHONUNBUFFERED in a plain shell) the line would never come and this would hang.
            [python or sys.executable, "-u", "-m", "pulumi.dynamic"],
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise ProviderError("the dynamic provider host did not start (python -m pulumi.dynamic)")
        self.port = int(line)
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stop(self) -> None:
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as exc:
            raise ProviderError(one_line(exc.details() or str(exc.code()))) from None

    def configure(self, config: dict[str, str]) -> None:
        self._call(
            "Configure",
            provider_pb2.ConfigureRequest(variables=config, args=to_struct(dict(config)), acceptSecrets=True),
        )

    def check(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> tuple[dict, list[CheckFailure]]:
        resp = self._call(
            "Check", provider_pb2.CheckRequest(urn=urn, olds=to_struct(olds), news=to_struct(news))
        )
        failures = [CheckFailure(f.property, f.reason) for f in resp.failures]
        return from_struct(resp.inputs), failures

    def diff(self, urn: str, id_: str, olds: dict, news: dict, old_inputs: dict) -> DiffResult:
        resp = self._call(
            "Diff",
            provider_pb2.DiffRequest(
                urn=urn, id=id_, olds=to_struct(olds), news=to_struct(news),
                old_inputs=to_struct(old_inputs),
            ),
        )
        changes = {
            provider_pb2.DiffResponse.DIFF_SOME: True,
            provider_pb2.DiffResponse.DIFF_NONE: False,
        }.get(resp.changes)
        return DiffResult(changes, tuple(resp.replaces), bool(resp.deleteBeforeReplace))

    def create(self, urn: str, news: dict) -> tuple[str, dict]:
        resp = self._call("Create", provider_pb2.CreateRequest(urn=urn, properties=to_struct(news)))
        return resp.id, from_struct(resp.properties)

    def update(self, urn: str, id_: str, olds: dict, news: dict, old_inputs: dict) -> dict:
        resp = self._call(
            "Update",
            provider_pb2.UpdateRequest(
                urn=urn, id=id_, olds=to_struct(olds), news=to_struct(news), old_inputs=to_struct(old_inputs)
            ),
        )
        return from_struct(resp.properties)

    def delete(self, urn: str, id_: str, outputs: dict, inputs: dict) -> None:
        self._call(
            "Delete",
            provider_pb2.DeleteRequest(
                urn=urn, id=id_, properties=to_struct(outputs), old_inputs=to_struct(inputs)
            ),
        )

    def read(self, urn: str, id_: str, outputs: dict, inputs: dict) -> tuple[str, dict, dict | None]:
        resp = self._call(
            "Read",
            provider_pb2.ReadRequest(
                urn=urn, id=id_, properties=to_struct(outputs), inputs=to_struct(inputs)
            ),
        )
        new_inputs = from_struct(resp.inputs) if resp.HasField("inputs") else None
        return resp.id, from_struct(resp.properties), new_inputs
