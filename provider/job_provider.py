"""The dynamic provider of ``bcs:Job``: one BatchCompute DAG job per resource.

Properties (:mod:`provider.properties` says which is which): the inputs are the wire spec's
top-level keys (``Name``, ``Priority``, ``DAG``, ...) plus the provider-only ``triggers``,
``on_failure``, ``wait_for`` and ``resource_urn`` (set by ``provider.resources`` so create can
derive an IdempotentToken); the outputs add the snake_case keys of :mod:`provider.outputs`.
The class holds no state: it is pickled into Pulumi's state by dill, and every call builds its
own client from the settings ``configure`` left in this process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from api.states import TERMINAL_STATES, allows
from provider import config, failure_policy, outputs, planner, properties
from provider.client import BatchComputeClient
from provider.errors import BatchComputeError
from provider.hosting import one_line_errors, quiet_tracebacks
from provider.idempotency import MAX_GENERATIONS, submit
from provider.inputs import input_failures, wait_timeout
from provider.pulumi_diff import diff_result
from provider.waiting import NOT_FOUND, RELEASED, wait_for_state, wait_until_finished

STOP_TIMEOUT = 120.0
GONE = (NOT_FOUND, RELEASED)


def _client() -> BatchComputeClient:
    return BatchComputeClient(config.current())


def _observe(client: BatchComputeClient, job_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return outputs.job_outputs(client.get_job(job_id), client.list_tasks(job_id), spec)


def _submit(client: BatchComputeClient, urn: str, spec: dict[str, Any]) -> str:
    """CreateJob with a deterministic token; skip generations whose job was since deleted."""

    def alive(job_id: str) -> bool:
        try:
            client.get_job(job_id)
        except BatchComputeError as exc:
            if exc.code not in GONE:
                raise
            return False
        return True

    canonical = planner.canonical_job_spec(spec)
    job_id = submit(lambda token: client.create_job(spec, token), alive, urn, canonical)
    if job_id is None:
        raise BatchComputeError(
            "IdempotentTokenExhausted", f"{MAX_GENERATIONS} earlier jobs of {urn} were deleted", 0
        )
    return job_id


def patch_body(plan: planner.Plan, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ``PATCH /jobs/{id}`` body of ``plan``'s in-place changes: every top-level API field an
    update touches (JOB_LIFECYCLE decides which may change in place; provider-only keys such as
    ``wait_for`` send nothing), with its canonical value, so a removed field goes back to its
    default."""
    fields = {c.path.split(".", 1)[0] for c in plan.changes if c.action == "update"}
    sent = fields - set(properties.PROVIDER_ONLY)
    canonical = planner.canonical_job_spec(spec) if sent else {}
    return {field: canonical.get(field) for field in sorted(sent)}


def job_plan(id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> planner.Plan:
    """The plan of diff and of update alike: the planner's, extended by the ``on_failure`` policy."""
    return failure_policy.apply(planner.plan("Job", olds, news), id_, olds, news)


class JobProvider(ResourceProvider):
    """check / diff / create / update / delete / read of one BatchCompute job."""

    serialize_as_secret_always = False  # the pickle is a reference to this class, nothing secret

    def configure(self, req: ConfigureRequest) -> None:
        config.configure_from(req.config.get)
        quiet_tracebacks()

    @one_line_errors("check")
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = properties.inputs_of(news)
        failures = [CheckFailure(path, reason) for path, reason in input_failures(inputs)]
        return CheckResult(inputs, failures)

    @one_line_errors("diff")
    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_result(job_plan(id_, olds, news))

    @one_line_errors("create")
    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = properties.inputs_of(props)
        spec = properties.api_part(inputs)
        with _client() as client:
            job_id = _submit(client, str(inputs.get(properties.URN) or spec.get("Name", "")), spec)
            timeout = wait_timeout(inputs)
            if timeout is not None:
                wait_until_finished(client, job_id, timeout)
            return CreateResult(job_id, {**inputs, **_read_outputs(client, job_id, spec, props)})

    @one_line_errors("update")
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = properties.inputs_of(news)
        if olds.get("released"):
            return UpdateResult({**inputs, **properties.outputs_part(olds)})
        plan = job_plan(id_, olds, news)
        spec = properties.api_part(inputs)
        patch = patch_body(plan, spec)
        with _client() as client:
            if patch:
                client.patch_job(id_, patch)
            if failure_policy.restarts(plan):
                client.start_job(id_)
            timeout = wait_timeout(inputs)
            if timeout is not None and any(c.path == "wait_for" for c in plan.changes):
                wait_until_finished(client, id_, timeout)
            return UpdateResult({**inputs, **_read_outputs(client, id_, spec, olds)})

    @one_line_errors("delete")
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if props.get("released"):
            return
        with _client() as client:
            try:
                job = client.get_job(id_)
                if allows("StopJob", job.get("State", "")):
                    try:
                        client.stop_job(id_)
                    except BatchComputeError as exc:
                        if exc.code != "StateConflict":  # it ended meanwhile
                            raise
                    wait_for_state(client, id_, TERMINAL_STATES, STOP_TIMEOUT)
                client.delete_job(id_)  # releases VMs kept under ReserveOnFail
            except BatchComputeError as exc:
                if exc.code not in GONE:
                    raise

    @one_line_errors("refresh")
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = properties.inputs_of(props)
        with _client() as client:
            try:
                outs = _read_outputs(client, id_, properties.api_part(inputs), props)
            except BatchComputeError as exc:
                if exc.code == NOT_FOUND:
                    return ReadResult("", {})  # deleted behind Pulumi's back: drop from state
                raise
        return ReadResult(id_, {**inputs, **outs}, inputs)


def _read_outputs(
    client: BatchComputeClient, job_id: str, spec: Mapping[str, Any], previous: Mapping[str, Any]
) -> dict[str, Any]:
    """Live outputs; a job the service auto-released keeps its last outputs, marked released."""
    try:
        return _observe(client, job_id, spec)
    except BatchComputeError as exc:
        if exc.code != RELEASED:
            raise
        return outputs.released_outputs({**previous, "job_id": job_id}, exc.message)
