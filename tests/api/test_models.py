"""Round trips through the models and which cluster takes effect."""

from __future__ import annotations

from typing import Any

from api import effective_cluster, parse_cluster, parse_job


def test_seed_example_round_trips(seed_job: dict[str, Any]) -> None:
    parsed = parse_job(seed_job)
    assert parsed.model_dump(by_alias=True) == seed_job
    assert parse_job(parsed.model_dump(by_alias=True)) == parsed


def test_seed_example_typed_access(seed_job: dict[str, Any]) -> None:
    task = parse_job(seed_job).dag.tasks["taskA"]
    assert task.parameters.command.command_line == "python worker.py"
    assert task.auto_cluster is not None and task.auto_cluster.configs is not None
    assert task.auto_cluster.configs.mounts is not None and task.auto_cluster.configs.mounts.nas is not None
    assert task.auto_cluster.configs.mounts.nas.file_system == ["filesystem1", "filesystem2"]
    assert task.auto_cluster.ecs_image_id == ""


def test_cluster_example_round_trips(cluster: dict[str, Any]) -> None:
    parsed = parse_cluster(cluster)
    assert parsed.model_dump(by_alias=True) == cluster
    assert parsed.groups["group1"].desired_vm_count == 3


def test_seed_example_cluster_id_takes_effect(seed_job: dict[str, Any]) -> None:
    choice = effective_cluster(parse_job(seed_job).dag.tasks["taskA"])
    assert (choice.cluster_id, choice.auto_cluster) == ("cls-6kir9pdp3lg6220g418002", None)


def test_auto_cluster_takes_effect_when_cluster_id_empty(seed_job: dict[str, Any]) -> None:
    seed_job["DAG"]["Tasks"]["taskA"]["ClusterId"] = ""
    choice = effective_cluster(parse_job(seed_job).dag.tasks["taskA"])
    assert choice.cluster_id is None
    assert choice.auto_cluster is not None and choice.auto_cluster.instance_type == "bcs.a2.large"
