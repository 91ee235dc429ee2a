"""The body of ``stacks/__main__.py``: specs in, ``Cluster``/``Job`` resources and exports out.

Kept here, not in the program file, so the program stays a few lines and the same loading code
serves the PR plan command. Clusters are declared first; a task's ``ClusterId: cluster:<name>``
becomes that cluster's ``cluster_id`` output, so Pulumi orders the job after the cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from provider.gitops.sources import fs_source
from provider.gitops.specs import CLUSTER_REF, Spec, StackSettings, load_stack_specs


def _with_cluster_ids(spec: Spec, cluster_ids: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    body = dict(spec.body)
    tasks = dict((body.get("DAG") or {}).get("Tasks") or {})
    for name, task in tasks.items():
        cid = task.get("ClusterId")
        if isinstance(cid, str) and cid.startswith(CLUSTER_REF):
            tasks[name] = {**task, "ClusterId": cluster_ids[cid[len(CLUSTER_REF):]]}
    if tasks:
        body["DAG"] = {**body["DAG"], "Tasks": tasks}
    return body


def deploy_stack(program_dir: Path) -> None:
    """Declare the stack's resources from the specs under ``program_dir`` and export ids and states."""
    from provider.resources import Cluster, Job

    config = pulumi.Config()
    settings = StackSettings.from_config(config.get)
    read, list_dir = fs_source(program_dir)
    specs = load_stack_specs(read, list_dir, settings, base=f"{program_dir.name}/")
    clusters = {name: Cluster.from_spec(name, spec.body) for name, spec in specs.clusters.items()}
    cluster_ids = {name: c.cluster_id for name, c in clusters.items()}
    jobs = {}
    for name, spec in specs.jobs.items():
        depends = [clusters[ref] for ref in spec.cluster_refs()]
        opts = pulumi.ResourceOptions(depends_on=depends) if depends else None
        jobs[name] = Job.from_spec(name, _with_cluster_ids(spec, cluster_ids), opts=opts)
    pulumi.export("clusters", {n: {"id": c.cluster_id, "state": c.state} for n, c in clusters.items()})
    pulumi.export("jobs", {n: {"id": j.job_id, "state": j.state} for n, j in jobs.items()})
