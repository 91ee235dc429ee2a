"""The dynamic provider of ``bcs:Cluster``: one named BatchCompute cluster per resource.

Inputs are the ClusterDescription's wire keys (plus ``resource_urn`` for IdempotentTokens, see
:mod:`provider.properties`);
outputs add ``cluster_id``, ``state``, ``creation_time`` and ``groups`` with desired and actual
VM counts. Group sizes, spot settings, UserData and EnvVars change in place (ModifyCluster);
the rest replaces the cluster, new one first. Deleting a cluster that Waiting or Running jobs use
is refused with a message naming them, rather than breaking them.
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

from api.states import ACTIVE_STATES, RUN_STATES
from provider import config, lifecycle, outputs, planner, properties
from provider.client import BatchComputeClient
from provider.errors import BatchComputeError, ProviderError
from provider.hosting import one_line_errors, quiet_tracebacks
from provider.idempotency import MAX_GENERATIONS, submit
from provider.inputs import spec_failures
from provider.pulumi_diff import diff_result
from provider.waiting import NOT_FOUND


def _client() -> BatchComputeClient:
    return BatchComputeClient(config.current())


def modify_body(plan: planner.Plan, new: Mapping[str, Any]) -> dict[str, Any]:
    """The partial ModifyCluster body for the in-place changes of ``plan``: for each one, the
    subtree of ``new`` that its ``CLUSTER_LIFECYCLE`` rule covers (a group field, or a whole map
    such as ``UserData``, sent as ``{}`` when removed). The table is the only list of what
    ModifyCluster may change."""
    body: dict[str, Any] = {}
    for change in plan.changes:
        if change.action != "update":
            continue
        segments = tuple(change.path.split("."))
        _, depth = lifecycle.covering(lifecycle.CLUSTER_LIFECYCLE, segments)
        *parents, leaf = segments[:depth]
        source: Any = new
        target = body
        for name in parents:
            source = (source or {}).get(name)
            target = target.setdefault(name, {})
        value = (source or {}).get(leaf)
        target[leaf] = {} if value is None and depth == 1 else value
    return body


class ClusterProvider(ResourceProvider):
    """check / diff / create / update / delete / read of one BatchCompute cluster."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        config.configure_from(req.config.get)
        quiet_tracebacks()

    @one_line_errors("check")
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        import api
        from provider.offered_types import offered_instance_types

        inputs = properties.inputs_of(news)
        spec = properties.api_part(inputs)
        offered = offered_instance_types()
        refused = api.cluster_instance_type_errors(spec, offered) if offered else ()
        problems = spec_failures(spec, [*api.check_cluster(spec), *refused])
        failures = [CheckFailure(path, reason) for path, reason in problems]
        return CheckResult(inputs, failures)

    @one_line_errors("diff")
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_result(planner.plan("Cluster", olds, news))

    @one_line_errors("create")
    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = properties.inputs_of(props)
        spec = properties.api_part(inputs)
        urn = str(inputs.get(properties.URN) or spec.get("Name", ""))
        canonical = planner.canonical_cluster_spec(spec)
        with _client() as client:

            def alive(cluster_id: str) -> bool:
                try:
                    return client.get_cluster(cluster_id).get("State") != "Deleting"
                except BatchComputeError as exc:
                    if exc.code != NOT_FOUND:
                        raise
                    return False

            cluster_id = submit(lambda token: client.create_cluster(spec, token), alive, urn, canonical)
            if cluster_id is not None:
                return CreateResult(
                    cluster_id, {**inputs, **outputs.cluster_outputs(client.get_cluster(cluster_id))}
                )
        raise ProviderError(f"cluster {urn}: {MAX_GENERATIONS} earlier clusters with this spec were deleted")

    @one_line_errors("update")
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = properties.inputs_of(news)
        body = modify_body(planner.plan("Cluster", olds, news), properties.api_part(inputs))
        with _client() as client:
            if body:
                client.modify_cluster(id_, body)
            return UpdateResult({**inputs, **outputs.cluster_outputs(client.get_cluster(id_))})

    @one_line_errors("delete")
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with _client() as client:
            busy = [
                f"{job.get('Id')} ({job.get('State')})"
                for state in RUN_STATES
                if state in ACTIVE_STATES
                for job in client.list_jobs(ClusterId=id_, State=state)
            ]
            if busy:
                raise ProviderError(
                    f"cluster {id_} is still used by {len(busy)} job(s): {', '.join(busy[:5])}"
                    f"{' …' if len(busy) > 5 else ''}; stop or delete them first, then run again"
                )
            try:
                client.delete_cluster(id_)
            except BatchComputeError as exc:
                if exc.code != NOT_FOUND:
                    raise

    @one_line_errors("refresh")
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = properties.inputs_of(props)
        with _client() as client:
            try:
                live = client.get_cluster(id_)
            except BatchComputeError as exc:
                if exc.code == NOT_FOUND:
                    return ReadResult("", {})
                raise
        return ReadResult(id_, {**inputs, **outputs.cluster_outputs(live)}, inputs)
