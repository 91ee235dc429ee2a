"""``bcs:Job`` and ``bcs:Cluster``: the resources a Pulumi program declares.

Type tokens are ``pulumi-python:dynamic/bcs:Job`` and ``pulumi-python:dynamic/bcs:Cluster`` (from
``Resource.__init_subclass__(module="bcs", name=...)``), so policies and previews tell them apart.
Input properties are the spec's wire keys (``Name``, ``Priority``, ``DAG``, ...), so a YAML spec
maps one to one (:meth:`Job.from_spec`); the Python keyword arguments use Pulumi's snake_case.
Any value may be a plain value or an ``Output`` (e.g. a task's ClusterId from a ``Cluster``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from provider.cluster_provider import ClusterProvider
from provider.job_provider import JobProvider
from provider.outputs import SECRET_FIELDS
from provider.properties import CLUSTER_OUTPUTS, JOB_OUTPUTS, PROVIDER_ONLY, URN

_JOB_ARGS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("description", "Description"),
    ("priority", "Priority"),
    ("type", "Type"),
    ("job_fail_on_instance_fail", "JobFailOnInstanceFail"),
    ("auto_release", "AutoRelease"),
    ("notification", "Notification"),
    ("dag", "DAG"),
)


def _urn(type_token: str, resource_name: str) -> str:
    return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_token}::{resource_name}"


def _holds_secret(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any((k in SECRET_FIELDS and v) or _holds_secret(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _secret_outputs(props: Mapping[str, Any], opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Keep top-level properties holding OSS keys secret in the state's outputs too."""
    keys = sorted(k for k, v in props.items() if _holds_secret(v))
    extra = pulumi.ResourceOptions(additional_secret_outputs=keys) if keys else None
    return pulumi.ResourceOptions.merge(opts, extra)


class Job(Resource, module="bcs", name="Job"):
    """A BatchCompute DAG job. Changing Priority/Description/Notification updates it in place;
    any other change (the DAG, its AutoClusters, Name, ...) or a new ``triggers`` value replaces it.
    """

    job_id: pulumi.Output[str]
    state: pulumi.Output[str]
    message: pulumi.Output[str]
    creation_time: pulumi.Output[str]
    start_time: pulumi.Output[str]
    end_time: pulumi.Output[str]
    released: pulumi.Output[bool]
    tasks: pulumi.Output[dict]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str] | None = None,
        dag: pulumi.Input[Mapping[str, Any]] | None = None,
        priority: pulumi.Input[int] | None = None,
        description: pulumi.Input[str] | None = None,
        type: pulumi.Input[str] | None = "DAG",
        job_fail_on_instance_fail: pulumi.Input[bool] | None = None,
        auto_release: pulumi.Input[bool] | None = None,
        notification: pulumi.Input[Mapping[str, Any]] | None = None,
        triggers: pulumi.Input[Any] | None = None,
        on_failure: pulumi.Input[str] | None = None,
        wait_for: pulumi.Input[Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``triggers``: any value whose change re-runs the job. ``on_failure``: ``keep`` (default),
        ``restart`` or ``replace`` a Failed job on the next `up`. ``wait_for``: ``True``, seconds or
        ``{"timeout": s}`` to block the deployment until the job Finished (fails with the cause)."""
        values = locals()
        spec = {wire: values[arg] for arg, wire in _JOB_ARGS if values[arg] is not None}
        extras = {"triggers": triggers, "on_failure": on_failure, "wait_for": wait_for}
        self._declare(resource_name, spec, extras, opts)

    def _declare(
        self,
        resource_name: str,
        spec: Mapping[str, Any],
        extras: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None,
    ) -> None:
        props: dict[str, Any] = {**spec, **{k: v for k, v in extras.items() if v is not None}}
        props[URN] = _urn(f"pulumi-python:{self._resource_type_name}", resource_name)
        props.update({key: None for key in JOB_OUTPUTS})
        super().__init__(JobProvider(), resource_name, props, _secret_outputs(spec, opts))

    @classmethod
    def from_spec(
        cls,
        resource_name: str,
        spec: Mapping[str, Any],
        *,
        triggers: Any = None,
        on_failure: str | None = None,
        wait_for: Any = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> Job:
        """A Job from a wire-format spec (PascalCase, as in a YAML file); provider-only keys
        (``triggers``, ``on_failure``, ``wait_for``) may sit in the spec or be passed here."""
        body = dict(spec)
        in_spec = {key: body.pop(key, None) for key in PROVIDER_ONLY}
        given = {"triggers": triggers, "on_failure": on_failure, "wait_for": wait_for}
        extras = {key: in_spec[key] if given[key] is None else given[key] for key in PROVIDER_ONLY}
        job = cls.__new__(cls)
        job._declare(resource_name, body, extras, opts)
        return job


class Cluster(Resource, module="bcs", name="Cluster"):
    """A named BatchCompute cluster. Group sizes, spot settings, UserData and EnvVars change in
    place; anything else replaces it (the new cluster is created before the old one is deleted)."""

    cluster_id: pulumi.Output[str]
    state: pulumi.Output[str]
    creation_time: pulumi.Output[str]
    groups: pulumi.Output[dict]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        image_id: pulumi.Input[str],
        groups: pulumi.Input[Mapping[str, Any]],
        instance_type: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        user_data: pulumi.Input[Mapping[str, str]] | None = None,
        env_vars: pulumi.Input[Mapping[str, str]] | None = None,
        configs: pulumi.Input[Mapping[str, Any]] | None = None,
        notification: pulumi.Input[Mapping[str, Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Keyword arguments are ClusterDescription fields; nested values use wire keys."""
        spec = {
            wire: value
            for wire, value in (
                ("Name", name),
                ("ImageId", image_id),
                ("Groups", groups),
                ("InstanceType", instance_type),
                ("Description", description),
                ("UserData", user_data),
                ("EnvVars", env_vars),
                ("Configs", configs),
                ("Notification", notification),
            )
            if value is not None
        }
        self._declare(resource_name, spec, opts)

    def _declare(
        self, resource_name: str, spec: Mapping[str, Any], opts: pulumi.ResourceOptions | None
    ) -> None:
        props: dict[str, Any] = dict(spec)
        props[URN] = _urn(f"pulumi-python:{self._resource_type_name}", resource_name)
        props.update({key: None for key in CLUSTER_OUTPUTS})
        super().__init__(ClusterProvider(), resource_name, props, _secret_outputs(spec, opts))

    @classmethod
    def from_spec(
        cls, resource_name: str, spec: Mapping[str, Any], *, opts: pulumi.ResourceOptions | None = None
    ) -> Cluster:
        """A Cluster from a wire-format ClusterDescription (as in a YAML file)."""
        cluster = cls.__new__(cls)
        cluster._declare(resource_name, dict(spec), opts)
        return cluster
