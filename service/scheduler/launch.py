"""Build an ``InstanceLaunch`` from a stored job description (pure)."""

from __future__ import annotations

from typing import Any

from api.cluster_choice import reserves_on_fail
from service.config import DEFAULT_CPU_MEMORY, INSTANCE_TYPES, Settings
from service.executors.base import InstanceKey, InstanceLaunch


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def build_launch(
    settings: Settings,
    job_id: str,
    task_name: str,
    task_spec: dict[str, Any],
    idx: int,
    attempt: int,
    cluster_id: str,
    vm_id: str,
    instance_type: str,
    cluster_env: dict[str, str],
) -> InstanceLaunch:
    """Everything one attempt needs. Environment (reference §8.7): the BATCH_COMPUTE_* set,
    then the cluster's EnvVars, then the task's Command.EnvVars (the most specific wins)."""
    params = task_spec.get("Parameters") or {}
    command = params.get("Command") or {}
    env = {
        "BATCH_COMPUTE_DAG_JOB_ID": job_id,
        "BATCH_COMPUTE_DAG_TASK_ID": task_name,
        "BATCH_COMPUTE_DAG_INSTANCE_ID": str(idx),
        "BATCH_COMPUTE_OSS_HOST": "localhost",
        "BATCH_COMPUTE_REGION": settings.region,
        "BATCH_COMPUTE_CLUSTER_ID": cluster_id,
        "BATCH_COMPUTE_WORKER_ID": vm_id,
    }
    env.update(cluster_env)
    env.update(_str_map(command.get("EnvVars")))
    cpu, memory = INSTANCE_TYPES.get(instance_type, DEFAULT_CPU_MEMORY)
    return InstanceLaunch(
        key=InstanceKey(job_id, task_name, idx, attempt),
        command_line=str(command.get("CommandLine") or ""),
        package_path=str(command.get("PackagePath") or ""),
        env=env,
        input_mapping=_str_map(task_spec.get("InputMapping")),
        output_mapping=_str_map(task_spec.get("OutputMapping")),
        log_mapping=_str_map(task_spec.get("LogMapping")),
        stdout_dir=str(params.get("StdoutRedirectPath") or ""),
        stderr_dir=str(params.get("StderrRedirectPath") or ""),
        timeout_s=float(task_spec.get("Timeout") or 86400),
        sandbox_root=str(settings.sandbox_root),
        cluster_id=cluster_id,
        vm_id=vm_id,
        instance_type=instance_type,
        cpu=float(cpu),
        memory_gb=float(memory),
        keep_sandbox_on_failure=reserves_on_fail(task_spec),
        object_store=dict(settings.object_store_options),
        isolation=settings.instance_isolation,
    )
