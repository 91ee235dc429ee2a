"""Build an ``InstanceLaunch`` from a stored job description (pure)."""

from __future__ import annotations

from api import TaskDescription
from service.config import DEFAULT_CPU_MEMORY, INSTANCE_TYPES, Settings
from service.executors.base import InstanceKey, InstanceLaunch


def instances_per_vm(task: TaskDescription, settings: Settings) -> int:
    """How many of the task's instances each VM runs in turn, as far as the launch can tell: an
    AutoCluster has ``settings.auto_cluster_vms(InstanceCount)`` VMs (``clusters.create_auto_cluster``);
    a named cluster's size is not known here, so InstanceCount stands for it (an upper bound)."""
    count = max(1, task.instance_count)
    if task.cluster_id:
        return count
    return -(-count // settings.auto_cluster_vms(count))


def build_launch(
    settings: Settings,
    job_id: str,
    task_name: str,
    task: TaskDescription,
    idx: int,
    attempt: int,
    cluster_id: str,
    vm_id: str,
    instance_type: str,
    cluster_env: dict[str, str],
) -> InstanceLaunch:
    """Everything one attempt needs. Environment (reference §8.7): the BATCH_COMPUTE_* set,
    then the cluster's EnvVars, then the task's Command.EnvVars (the most specific wins)."""
    params = task.parameters
    command = params.command
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
    env.update(command.env_vars)
    cpu, memory = INSTANCE_TYPES.get(instance_type, DEFAULT_CPU_MEMORY)
    return InstanceLaunch(
        key=InstanceKey(job_id, task_name, idx, attempt),
        command_line=command.command_line,
        package_path=command.package_path,
        env=env,
        input_mapping=dict(task.input_mapping),
        output_mapping=dict(task.output_mapping),
        log_mapping=dict(task.log_mapping),
        stdout_dir=params.stdout_redirect_path,
        stderr_dir=params.stderr_redirect_path,
        timeout_s=float(task.timeout),
        sandbox_root=str(settings.sandbox_root),
        cluster_id=cluster_id,
        vm_id=vm_id,
        instance_type=instance_type,
        cpu=float(cpu),
        memory_gb=float(memory),
        keep_sandbox_on_failure=task.reserves_on_fail,
        object_store=dict(settings.object_store_options),
        isolation=settings.instance_isolation,
        instances_per_vm=instances_per_vm(task, settings),
    )
