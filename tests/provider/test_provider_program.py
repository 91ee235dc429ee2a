"""A Pulumi program using Job and Cluster, run under ``pulumi.runtime.set_mocks``."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest

TYPES: list[tuple[str, str]] = []
INPUTS: dict[str, dict[str, Any]] = {}


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        TYPES.append((args.typ, args.name))
        INPUTS[args.name] = dict(args.inputs)
        outs = dict(args.inputs)
        if args.typ.endswith("bcs:Cluster"):
            outs["cluster_id"] = "cls-mock0000000000000000"
        else:
            outs["job_id"] = "job-MOCK"
            outs["state"] = "Waiting"
        return f"{args.name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list]:
        return {}, []


from provider.resources import Cluster, Job  # noqa: E402


@pytest.fixture(autouse=True)
def mocks() -> None:
    # per test: other tests in the session run their own event loops
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(Mocks(), project="bcs", stack="test", preview=False)


@pulumi.runtime.test
def test_program_wires_cluster_id_into_job_and_keeps_tokens_apart() -> pulumi.Output:
    pool = Cluster.from_spec(
        "pool", {"Name": "pool", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 1}}}
    )
    spec = {
        "Name": "nightly",
        "Priority": 1,
        "Type": "DAG",
        "JobFailOnInstanceFail": True,
        "DAG": {
            "Tasks": {
                "main": {
                    "InstanceCount": 1,
                    "ClusterId": pool.cluster_id,
                    "Parameters": {"Command": {"CommandLine": "python3 -c pass", "PackagePath": ""}},
                }
            }
        },
        "triggers": {"rev": "abc"},
    }
    job = Job.from_spec("nightly", spec, on_failure="restart")

    def verify(values: list[Any]) -> None:
        job_id, state = values
        assert (job_id, state) == ("job-MOCK", "Waiting")
        assert ("pulumi-python:dynamic/bcs:Cluster", "pool") in TYPES
        assert ("pulumi-python:dynamic/bcs:Job", "nightly") in TYPES
        inputs = INPUTS["nightly"]
        assert inputs["DAG"]["Tasks"]["main"]["ClusterId"] == "cls-mock0000000000000000"
        assert inputs["triggers"] == {"rev": "abc"} and inputs["on_failure"] == "restart"
        assert inputs["resource_urn"].endswith("::pulumi-python:dynamic/bcs:Job::nightly")
        assert "triggers" not in inputs["DAG"]

    return pulumi.Output.all(job.job_id, job.state).apply(verify)


@pulumi.runtime.test
def test_keyword_constructor_maps_to_wire_keys() -> pulumi.Output:
    job = Job(
        "kw",
        name="kw",
        priority=3,
        job_fail_on_instance_fail=False,
        dag={
            "Tasks": {
                "t": {
                    "InstanceCount": 1,
                    "ClusterId": "cls-x",
                    "Parameters": {"Command": {"CommandLine": "true", "PackagePath": ""}},
                }
            }
        },
    )

    def verify(_: Any) -> None:
        inputs = INPUTS["kw"]
        assert (inputs["Name"], inputs["Priority"], inputs["JobFailOnInstanceFail"]) == ("kw", 3, False)
        assert inputs["Type"] == "DAG"

    return job.job_id.apply(verify)
