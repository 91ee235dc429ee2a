"""Round trips through the models (frozen, in the normal form) and which cluster takes effect."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from api import JobDescription, parse_cluster, parse_job


def test_seed_example_round_trips(seed_job: dict[str, Any]) -> None:
    parsed = parse_job(seed_job)
    assert parse_job(parsed.wire) == parsed
    assert JobDescription.model_validate_json(parsed.model_dump_json(by_alias=True)) == parsed


def test_models_are_frozen(seed_job: dict[str, Any]) -> None:
    """The scheduler and the launcher share one value per job: nobody may change it in place."""
    task = parse_job(seed_job).dag.tasks["taskA"]
    with pytest.raises(ValidationError):
        task.timeout = 1


def test_seed_example_typed_access(seed_job: dict[str, Any]) -> None:
    task = parse_job(seed_job).dag.tasks["taskA"]
    assert task.parameters.command.command_line == "python worker.py"
    assert task.auto_cluster is not None and task.auto_cluster.configs is not None
    assert task.auto_cluster.configs.mounts is not None and task.auto_cluster.configs.mounts.nas is not None
    assert task.auto_cluster.configs.mounts.nas.file_system == ["filesystem1", "filesystem2"]
    assert task.auto_cluster.ecs_image_id == ""


def test_cluster_example_round_trips(cluster: dict[str, Any]) -> None:
    parsed = parse_cluster(cluster)
    assert parse_cluster(parsed.wire) == parsed
    assert parsed.groups["group1"].desired_vm_count == 3


def test_seed_example_cluster_id_takes_effect(seed_job: dict[str, Any]) -> None:
    task = parse_job(seed_job).dag.tasks["taskA"]
    assert (task.cluster_id, task.effective_auto_cluster) == ("cls-6kir9pdp3lg6220g418002", None)


def test_auto_cluster_takes_effect_when_cluster_id_empty(seed_job: dict[str, Any]) -> None:
    seed_job["DAG"]["Tasks"]["taskA"]["ClusterId"] = ""
    task = parse_job(seed_job).dag.tasks["taskA"]
    assert task.cluster_id == ""
    auto = task.effective_auto_cluster
    assert auto is not None and auto.instance_type == "bcs.a2.large"
