"""Host the providers exactly as the Pulumi engine does: ``python -m pulumi.dynamic`` over gRPC.

Properties go through ``pulumi.runtime.rpc.serialize_properties`` with the dill-pickled provider
under ``__provider`` (``pulumi.dynamic.dynamic.serialize_provider``), as ``Resource`` sends them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2
from pulumi.runtime.proto.provider_pb2_grpc import ResourceProviderStub

from provider.cluster_provider import ClusterProvider
from provider.job_provider import JobProvider

JOB_PROVIDER = serialize_provider(JobProvider())
CLUSTER_PROVIDER = serialize_provider(ClusterProvider())
JOB_TYPE = "pulumi-python:dynamic/bcs:Job"
CLUSTER_TYPE = "pulumi-python:dynamic/bcs:Cluster"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::bcs::{type_}::{name}"


def to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    return asyncio.run(rpc.serialize_properties(props, {}))


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return rpc.deserialize_properties(struct)


@dataclass
class Diff:
    changes: int
    replaces: list[str]
    delete_before_replace: bool

    @property
    def some(self) -> bool:
        return self.changes == provider_pb2.DiffResponse.DIFF_SOME


class ProviderHost:
    """One ``python -m pulumi.dynamic`` process and a stub to it; :meth:`stop` ends it by pid."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        assert self.process.stdout is not None
        port = self.process.stdout.readline().decode().strip()
        if not port.isdigit():
            self.stop()
            raise RuntimeError(f"pulumi.dynamic did not print a port: {port!r}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = ResourceProviderStub(self.channel)

    def stop(self) -> None:
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    # -- the engine's calls -------------------------------------------------------------------

    def configure(self, config: dict[str, str]) -> None:
        self.stub.Configure(provider_pb2.ConfigureRequest(args=to_struct(config), acceptSecrets=False))

    def check(self, urn_: str, olds: dict, news: dict, provider: str) -> tuple[dict, list[tuple[str, str]]]:
        resp = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn_, olds=to_struct(olds), news=to_struct({**news, "__provider": provider})
            )
        )
        return from_struct(resp.inputs), [(f.property, f.reason) for f in resp.failures]

    def diff(self, urn_: str, id_: str, olds: dict, news: dict, provider: str) -> Diff:
        resp = self.stub.Diff(
            provider_pb2.DiffRequest(
                urn=urn_,
                id=id_,
                olds=to_struct({**olds, "__provider": provider}),
                news=to_struct({**news, "__provider": provider}),
            )
        )
        return Diff(resp.changes, list(resp.replaces), resp.deleteBeforeReplace)

    def create(self, urn_: str, props: dict, provider: str) -> tuple[str, dict]:
        resp = self.stub.Create(
            provider_pb2.CreateRequest(urn=urn_, properties=to_struct({**props, "__provider": provider}))
        )
        return resp.id, from_struct(resp.properties)

    def read(self, urn_: str, id_: str, outs: dict, inputs: dict) -> tuple[str, dict, dict | None]:
        resp = self.stub.Read(
            provider_pb2.ReadRequest(urn=urn_, id=id_, properties=to_struct(outs), inputs=to_struct(inputs))
        )
        new_inputs = from_struct(resp.inputs) if resp.HasField("inputs") else None
        return resp.id, from_struct(resp.properties), new_inputs

    def update(self, urn_: str, id_: str, olds: dict, news: dict, provider: str) -> dict:
        resp = self.stub.Update(
            provider_pb2.UpdateRequest(
                urn=urn_, id=id_, olds=to_struct(olds), news=to_struct({**news, "__provider": provider})
            )
        )
        return from_struct(resp.properties)

    def delete(self, urn_: str, id_: str, outs: dict) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(urn=urn_, id=id_, properties=to_struct(outs)))
