"""Account quotas and the QuotaExhausted.* family (seed, 403). Defaults: reference §12 #46."""

from __future__ import annotations

from dataclasses import dataclass

from api.errors import ApiError, error
from api.models.job import JobDescription


@dataclass(frozen=True, slots=True)
class Quotas:
    """Numeric limits of one account; the public service never published its defaults."""

    max_job_count: int = 10000
    max_job_task_count: int = 16
    max_task_instance_count: int = 10000
    max_instance_timeout: int = 604800


def quota_errors(job: JobDescription, quotas: Quotas, job_count: int) -> list[ApiError]:
    """Every quota ``job`` would exhaust when the account already holds ``job_count`` jobs."""
    found: list[ApiError] = []
    if job_count + 1 > quotas.max_job_count:
        found.append(error("quota", quota="MaxJobCount", value=quotas.max_job_count))
    if len(job.dag.tasks) > quotas.max_job_task_count:
        found.append(error("quota", "DAG.Tasks", quota="MaxJobTaskCount", value=quotas.max_job_task_count))
    for name, task in job.dag.tasks.items():
        if task.instance_count > quotas.max_task_instance_count:
            found.append(
                error(
                    "quota",
                    f"DAG.Tasks.{name}.InstanceCount",
                    quota="MaxTaskInstanceCount",
                    value=quotas.max_task_instance_count,
                )
            )
        if task.timeout > quotas.max_instance_timeout:
            found.append(
                error(
                    "quota",
                    f"DAG.Tasks.{name}.Timeout",
                    quota="MaxInstanceTimeout",
                    value=quotas.max_instance_timeout,
                )
            )
    return found
