"""Rules the seed implies, both modes, bodies real clients send, defaults and seed contradictions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api import (
    ApiError,
    check_cluster,
    check_idempotent_token,
    check_job,
    parse_cluster,
    parse_job,
    parse_job_update,
    parse_json_body,
    parse_modify_cluster,
    parse_priority,
)


def _task(**extra: Any) -> dict[str, Any]:
    return {"InstanceCount": 1, "Parameters": {"Command": {"CommandLine": "sh run.sh"}}, **extra}


def _first(body: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse_job(body)
    return info.value


# --- implied rules -------------------------------------------------------------------------


def test_cycle_is_bad_dag_and_names_the_cycle(job: dict[str, Any]) -> None:
    tasks = job["DAG"]["Tasks"]
    for name in ("b", "c"):
        tasks[name] = copy.deepcopy(tasks["taskA"])
    job["DAG"]["Dependencies"] = {"taskA": ["b"], "b": ["c"], "c": ["taskA"]}
    err = _first(job)
    assert (err.code, err.status, err.path) == ("BadDAG", 400, "DAG.Dependencies")
    assert err.message == "It is a cyclic dag. Cycle: taskA -> b -> c -> taskA."


def test_self_dependency_is_a_cycle(job: dict[str, Any]) -> None:
    job["DAG"]["Dependencies"] = {"taskA": ["taskA"]}
    assert _first(job).message == "It is a cyclic dag. Cycle: taskA -> taskA."


def test_acyclic_diamond_is_valid(job: dict[str, Any]) -> None:
    tasks = job["DAG"]["Tasks"]
    for name in ("b", "c", "d"):
        tasks[name] = copy.deepcopy(tasks["taskA"])
    job["DAG"]["Dependencies"] = {"taskA": ["b", "c"], "b": ["d"], "c": ["d"]}
    assert check_job(job) == []


def test_dependencies_name_only_declared_tasks(job: dict[str, Any]) -> None:
    job["DAG"]["Dependencies"] = {"ghost": ["taskA"], "taskA": ["phantom"]}
    errors = check_job(job)
    assert [(e.code, e.path) for e in errors] == [
        ("InvalidDependencies.ghost", "DAG.Dependencies.ghost"),
        ("InvalidDependencies.taskA.value", "DAG.Dependencies.taskA.0"),
    ]
    assert errors[0].message == (
        "Specified parameter Dependencies.ghost is not valid. Task ghost is not declared in DAG.Tasks."
    )
    assert "phantom" in errors[1].message


def test_missing_cluster_id_when_neither_cluster_nor_autocluster(job: dict[str, Any]) -> None:
    task = job["DAG"]["Tasks"]["taskA"]
    del task["ClusterId"]
    task["AutoCluster"] = {}
    err = _first(job)
    assert (err.code, err.path) == ("MissingClusterId", "DAG.Tasks.taskA.ClusterId")


def test_autocluster_alone_is_enough(job: dict[str, Any]) -> None:
    task = job["DAG"]["Tasks"]["taskA"]
    del task["ClusterId"]
    task["AutoCluster"] = {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu"}
    assert check_job(job) == []


def test_autocluster_needs_an_instance_type_and_one_image(job: dict[str, Any]) -> None:
    task = job["DAG"]["Tasks"]["taskA"]
    task["ClusterId"] = ""
    task["AutoCluster"] = {"ImageId": "img-ubuntu", "ECSImageId": "m-123"}
    errors = check_job(job)
    assert [(e.code, e.path) for e in errors] == [
        ("MissingAutoCluster.InstanceType", "DAG.Tasks.taskA.AutoCluster.InstanceType"),
        ("InvalidAutoCluster.ECSImageId", "DAG.Tasks.taskA.AutoCluster.ECSImageId"),
    ]
    task["AutoCluster"] = {"InstanceType": "bcs.a2.large"}
    assert [e.code for e in check_job(job)] == ["MissingAutoCluster.ImageId"]


def test_type_must_be_dag(job: dict[str, Any]) -> None:
    for bad in ("App", "dag", 1, None):
        job["Type"] = bad
        assert _first(job).code == "InvalidType"


@pytest.mark.parametrize(
    ("price", "ok"), [(0.5, True), (1.125, True), (2, True), (0.1234, False), (-1, False)]
)
def test_spot_price_limit_at_most_three_decimals(job: dict[str, Any], price: float, ok: bool) -> None:
    job["DAG"]["Tasks"]["taskA"]["AutoCluster"] = {"SpotPriceLimit": price}
    errors = check_job(job)
    assert (errors == []) is ok
    if not ok:
        assert errors[0].code == "InvalidAutoCluster.SpotPriceLimit"


def test_notification_events_must_be_job_events(job: dict[str, Any]) -> None:
    events = ["OnJobFailed", "OnClusterDeleted"]
    job["Notification"] = {"Topic": {"Name": "t", "Endpoint": "e", "Events": events}}
    err = _first(job)
    assert (err.code, err.path) == ("InvalidNotification.Topic.Events", "Notification.Topic.Events.1")


# --- seed self-contradictions, resolved -------------------------------------------------------


def test_names_accept_underscore_but_not_a_leading_digit(job: dict[str, Any]) -> None:
    job["Name"] = "_my_job-1"
    job["DAG"]["Tasks"] = {"task_a": job["DAG"]["Tasks"]["taskA"]}
    job["DAG"]["Tasks"]["task_a"]["ClusterId"] = "my_cluster"
    assert check_job(job) == []
    job["Name"] = "1job"
    assert _first(job).code == "InvalidName"


def test_task_count_row_applies_to_tasks_not_user_data(job: dict[str, Any]) -> None:
    job["DAG"]["Tasks"] = {}
    err = _first(job)
    assert err.message == "Specified parameter Tasks is not valid. Its size must be in [1, 16]."


@pytest.mark.parametrize(
    ("priority", "ok"), [(0, True), (999, True), (1000, True), (1001, False), (-1, False)]
)
def test_priority_range_follows_the_seed(job: dict[str, Any], priority: int, ok: bool) -> None:
    job["Priority"] = priority
    assert (check_job(job) == []) is ok


# --- both modes ------------------------------------------------------------------------------


def test_all_errors_mode_reports_every_failure_with_paths(job: dict[str, Any]) -> None:
    job["Name"] = 5
    cmd = job["DAG"]["Tasks"]["taskA"]["Parameters"]["Command"]
    cmd["CommandLine"] = 1
    cmd["EnvVars"] = {"A": 2}
    job["DAG"]["Tasks"]["taskA"]["InstanceCount"] = "1"
    errors = check_job(job)
    assert [(e.code, e.path) for e in errors] == [
        ("InvalidName", "Name"),
        ("InvalidCommandLine", "DAG.Tasks.taskA.Parameters.Command.CommandLine"),
        ("InvalidEnvVars.A.value", "DAG.Tasks.taskA.Parameters.Command.EnvVars.A"),
        ("InvalidInstanceCount", "DAG.Tasks.taskA.InstanceCount"),
    ]
    assert _first(job) == errors[0]


# --- bodies real clients send (reference §4.1, §6.12) ------------------------------------------


def sdk_task(**over: Any) -> dict[str, Any]:
    """A task as the official SDK 2.1.7 serialises it (defaults always present)."""
    task = {
        "Parameters": {
            "Command": {
                "CommandLine": "python main.py",
                "PackagePath": "",
                "EnvVars": {},
                "Docker": {"Image": ""},
            },
            "InputMappingConfig": {"Locale": "GBK", "Lock": False},
            "StdoutRedirectPath": "oss://bucket/logs/",
            "StderrRedirectPath": "oss://bucket/logs/",
        },
        "InstanceCount": 1,
        "InputMapping": {},
        "OutputMapping": {},
        "LogMapping": {},
        "Timeout": 3600,
        "MaxRetryCount": 0,
    }
    task.update(over)
    return task


SDK_AUTO = {
    "InstanceType": "ecs.sn1.medium",
    "ECSImageId": "",
    "ImageId": "img-ubuntu",
    "UserData": {},
    "ReserveOnFail": False,
    "DependencyIsvService": "",
    "Configs": {"Networks": {"VPC": {"CidrBlock": "192.168.0.0/16"}}},
}


@pytest.mark.parametrize(
    "task",
    [
        sdk_task(ClusterId="cls-abc", AutoCluster={}),
        sdk_task(ClusterId="", AutoCluster=SDK_AUTO),
        sdk_task(AutoCluster=SDK_AUTO),
        sdk_task(
            ClusterId="cls-abc",
            AutoCluster={"InstanceType": "", "ECSImageId": "", "UserData": {}, "ReserveOnFail": False,
                         "DependencyIsvService": ""},
        ),
        {"ClusterId": "cls-abc", "InstanceCount": 1, "Parameters": {"Command": {"CommandLine": "sh a.sh"}}},
    ],
    ids=["cluster+empty-auto", "empty-cluster+auto", "auto-only", "cluster+sdk-auto", "no-paths"],
)  # fmt: skip
def test_sdk_and_cli_bodies_are_valid(task: dict[str, Any]) -> None:
    body = {
        "Name": "sdk-job", "Description": "Batchcompute Python SDK", "Priority": 0, "Type": "DAG",
        "JobFailOnInstanceFail": True, "AutoRelease": False,
        "DAG": {"Tasks": {"t1": task}, "Dependencies": {}},
    }  # fmt: skip
    assert check_job(body) == []
    parse_job(body)


def test_unknown_keys_are_kept_and_echoed(job: dict[str, Any]) -> None:
    job["WriteSupport"] = True
    job["DAG"]["Tasks"]["taskA"]["Parameters"]["Command"]["Custom"] = {"x": [1]}
    dumped = parse_job(job).model_dump(by_alias=True, exclude_unset=True)
    assert dumped["WriteSupport"] is True
    assert dumped["DAG"]["Tasks"]["taskA"]["Parameters"]["Command"]["Custom"] == {"x": [1]}


def test_documented_defaults_are_applied(job: dict[str, Any]) -> None:
    del job["Priority"]
    del job["JobFailOnInstanceFail"]
    parsed = parse_job(job)
    task = parsed.dag.tasks["taskA"]
    assert (parsed.priority, parsed.job_fail_on_instance_fail, parsed.auto_release) == (0, True, False)
    assert (task.timeout, task.max_retry_count) == (86400, 0)
    params = task.parameters
    paths = (params.command.package_path, params.stdout_redirect_path, params.stderr_redirect_path)
    assert paths == ("", "", "")
    wire = parsed.model_dump(by_alias=True)
    assert wire["JobFailOnInstanceFail"] is True and wire["DAG"]["Tasks"]["taskA"]["Timeout"] == 86400
    assert "Notification" not in wire and wire["Description"] == ""


@pytest.mark.parametrize(
    ("path", "value", "ok"),
    [
        ("InputMapping", {"oss://b/in/": "D:"}, True),
        ("InputMapping", {"oss://b/in/": "C:\\data"}, True),
        ("OutputMapping", {"C:\\out\\": "oss://b/out/"}, True),
        ("OutputMapping", {"/out/": "oss://b/out.tar"}, True),
        ("LogMapping", {"/var/log/x": "oss://b/logs"}, False),
        ("InputMapping", {"oss:///in/": "/in/"}, False),
    ],
)
def test_path_forms(job: dict[str, Any], path: str, value: dict[str, str], ok: bool) -> None:
    job["DAG"]["Tasks"]["taskA"][path] = value
    assert (check_job(job) == []) is ok


# --- other bodies ------------------------------------------------------------------------------


def test_json_body() -> None:
    assert parse_json_body(b'{"a": 1}') == {"a": 1}
    for raw in (b"", b"{", b"\xff\xfe", b"[1,"):
        with pytest.raises(ApiError) as info:
            parse_json_body(raw)
        assert info.value.code == "InvalidJsonFormat"


def test_cluster_rules(cluster: dict[str, Any]) -> None:
    assert check_cluster(cluster) == []
    cluster["Groups"]["group1"]["DesiredVMCount"] = 0  # scale to zero is allowed (§12 #35)
    assert check_cluster(cluster) == []
    cluster["Groups"]["group1"]["DesiredVMCount"] = 65537
    cluster["Groups"]["g2"] = {}
    del cluster["ImageId"]
    assert [(e.code, e.path) for e in check_cluster(cluster)] == [
        ("MissingImageId", "ImageId"),
        ("InvalidDesiredVMCount", "Groups.group1.DesiredVMCount"),
        ("MissingDesiredVMCount", "Groups.g2.DesiredVMCount"),
    ]
    assert check_cluster(cluster)[1].message == (
        "Specified parameter DesiredVMCount is not valid. It must be in [0, 65536]."
    )


def test_cluster_needs_groups_and_an_instance_type(cluster: dict[str, Any]) -> None:
    cluster["Groups"] = {"g": {"DesiredVMCount": 1}}
    assert [e.code for e in check_cluster(cluster)] == ["MissingInstanceType"]
    cluster["InstanceType"] = "bcs.a2.large"
    assert parse_cluster(cluster).groups["g"].desired_vm_count == 1
    cluster["Groups"] = {}
    with pytest.raises(ApiError) as info:
        parse_cluster(cluster)
    assert info.value.message == "Specified parameter Groups is not valid. Its size must be in [1, 64]."


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"Groups": {}},
        {"Groups": {"g1": {"DesiredVMCount": 3}}},
        {"Groups": {"g": {"SpotStrategy": "SpotWithPriceLimit", "SpotPriceLimit": 0.5}}},
        {"UserData": {"a": "b"}},
        {"EnvVars": {"A": "1"}},
        {"InputMapping": {"oss://b/x/": "/x/"}},
    ],
)
def test_modify_cluster_accepts_sdk_partial_bodies(body: dict[str, Any]) -> None:
    parsed = parse_modify_cluster(body)
    assert parsed.model_dump(by_alias=True, exclude_unset=True) == body


def test_modify_cluster_rejects_bad_counts() -> None:
    with pytest.raises(ApiError) as info:
        parse_modify_cluster({"Groups": {"g1": {"DesiredVMCount": "3"}}})
    assert info.value.code == "InvalidDesiredVMCount"


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "MissingPriority"), ({"Priority": "2"}, "InvalidPriority"), ({"Priority": 1001}, "InvalidPriority"),
     ([], "InvalidHttpBody")],
)  # fmt: skip
def test_priority_body(body: Any, code: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_priority(body)
    assert info.value.code == code


def test_priority_body_ok() -> None:
    assert parse_priority({"Priority": 7}) == 7


def test_job_update_body() -> None:
    update = parse_job_update({"Description": "d", "Notification": {"Topic": {"Events": ["OnJobFailed"]}}})
    assert update.priority is None and update.description == "d"
    with pytest.raises(ApiError) as info:
        parse_job_update({"Name": "renamed"})
    assert info.value.code == "InvalidName"
    assert "Only Priority, Description and Notification can be modified." in info.value.message


@pytest.mark.parametrize(
    ("token", "ok"), [("tok_1", True), ("a" * 64, True), ("a" * 65, False), ("t-1", False), ("", False)]
)
def test_idempotent_token(token: str, ok: bool) -> None:
    if ok:
        check_idempotent_token(token)
    else:
        with pytest.raises(ApiError) as info:
            check_idempotent_token(token)
        assert info.value.code == "InvalidIdempotentToken"


def test_independent_problems_are_reported_together() -> None:
    """A bad Dependencies entry and a missing cluster are reported beside errors inside the tasks
    (issue 13): they need only the task names and the two cluster keys. The service's first error
    stays the first error of the tasks."""
    body = {
        "Name": "j", "Type": "DAG",
        "DAG": {
            "Tasks": {"a": _task(InstanceCount="two", ClusterId="cls-1"), "b": _task(Timeout=-1)},
            "Dependencies": {"a": ["ghost"]},
        },
    }
    got = {(e.path, e.code) for e in check_job(body)}
    assert got == {
        ("DAG.Tasks.a.InstanceCount", "InvalidInstanceCount"),
        ("DAG.Tasks.b.Timeout", "InvalidTimeout"),
        ("DAG.Tasks.b.ClusterId", "MissingClusterId"),
        ("DAG.Dependencies.a.0", "InvalidDependencies.a.value"),
    }
    assert _first(body).code == "InvalidInstanceCount"


def test_a_cycle_is_checked_only_once_dependencies_name_declared_tasks() -> None:
    """The one check that needs another first: a cycle through an undeclared task is not a cycle."""
    body = {"Name": "j", "Type": "DAG", "DAG": {
        "Tasks": {"a": _task(ClusterId="cls-1"), "b": _task(ClusterId="cls-1")},
        "Dependencies": {"a": ["b"], "b": ["a", "ghost"]},
    }}
    assert [e.code for e in check_job(body)] == ["InvalidDependencies.b.value"]
    body["DAG"]["Dependencies"]["b"] = ["a"]
    assert [e.code for e in check_job(body)] == ["BadDAG"]
