# ruff: noqa: E501  (the seed rows are kept one per line, as in the seed table)
"""One test per row of the seed's CreateJob error table (shared/seed/create-job.txt).

The rows below are transcribed from the seed (Code, Message, HTTP status), not read back from
the implementation's catalogue. Each row carries an input that triggers exactly that row:
first-error mode must answer the row, and all-errors mode must find that one error only.
Where a row has ``{key}`` / ``{Parameter}`` / ``{value}``, the trigger says what to fill in.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from api import ApiError, Quotas, error, parse_job, parse_json_body, quota_errors
from api import check_job as check_job_body

T = "DAG.Tasks.taskA"
P = f"{T}.Parameters"
C = f"{P}.Command"

Result = tuple[ApiError | None, list[ApiError]]


def _at(body: dict[str, Any], path: str) -> dict[str, Any]:
    node: Any = body
    for part in path.split(".") if path else []:
        node = node[part]
    return node


def set_(path: str, key: str, value: Any) -> Callable[[dict[str, Any]], Result]:
    """Trigger: set ``key`` of the object at ``path`` to ``value``, then validate."""

    def mutate(body: dict[str, Any]) -> None:
        _at(body, path)[key] = value

    return lambda body: _run(body, mutate)


def del_(path: str, key: str) -> Callable[[dict[str, Any]], Result]:
    """Trigger: remove ``key`` from the object at ``path``, then validate."""

    def mutate(body: dict[str, Any]) -> None:
        del _at(body, path)[key]

    return lambda body: _run(body, mutate)


def _run(body: dict[str, Any], mutate: Callable[[dict[str, Any]], None]) -> Result:
    mutate(body)
    try:
        parse_job(body)
        first = None
    except ApiError as exc:
        first = exc
    return first, check_job_body(body)


def raw(body: Any) -> Callable[[dict[str, Any]], Result]:
    """Trigger: validate ``body`` itself instead of the minimal job."""
    return lambda _: _run_raw(body)


def _run_raw(body: Any) -> Result:
    try:
        parse_job(body)
        first = None
    except ApiError as exc:
        first = exc
    return first, check_job_body(body)


def not_json(_: dict[str, Any]) -> Result:
    try:
        parse_json_body(b'{"Name": ')
    except ApiError as exc:
        return exc, [exc]
    return None, []


def service_raised(key: str) -> Callable[[dict[str, Any]], Result]:
    """Rows the service raises itself (not body validation): built through ``error()``."""
    return lambda _: (error(key), [error(key)])


def quota(field: str, value: Any, **quotas: int) -> Callable[[dict[str, Any]], Result]:
    def run(body: dict[str, Any]) -> Result:
        if field:
            _at(body, T)[field] = value
        tasks = _at(body, "DAG.Tasks")
        for i in range(int(value) if field == "" and value else 0):
            tasks[f"t{i}"] = copy.deepcopy(tasks["taskA"])
        found = quota_errors(
            parse_job(body), Quotas(**quotas), job_count=quotas.get("max_job_count", 0) and 5
        )
        return (found[0] if found else None), found

    return run


def seventeen_tasks(body: dict[str, Any]) -> Result:
    tasks = _at(body, "DAG.Tasks")
    for i in range(16):
        tasks[f"t{i}"] = copy.deepcopy(tasks["taskA"])
    return _run(body, lambda b: None)


def many(n: int, make: Callable[[int], tuple[str, str]]) -> dict[str, str]:
    return dict(make(i) for i in range(n))


LONG_KEY = "K" * 129
OSS_LONG = "oss://bucket/" + "x" * 1012  # 1025 characters
LOCAL_LONG = "/" + "x" * 1024  # 1025 characters
OSS_Q = "OSS path must start with \u2018oss://\u2018, must end with \u2018/\u2018 if it is a folder, and must not end with \u2018/\u2018 if it is a file."

# (Code, Message, HTTP status, {placeholder: filler}, trigger) — Code/Message/status from the seed
ROWS: list[tuple[str, str, int, dict[str, str], Callable[[dict[str, Any]], Result]]] = [
    ("IdempotentTokenMismatch", "Specified idempotent token mismatch.", 400, {},
     service_raised("idempotent_token_mismatch")),
    ("Invalid{Parameter}", "Specified parameter {Parameter} is not valid.", 400,
     {"Parameter": "AutoCluster.ResourceType"}, set_(T, "AutoCluster", {"ResourceType": "Reserved"})),
    ("InvalidClusterId", "Specified parameter ClusterId is not valid. Its type must be string.", 400, {},
     set_(T, "ClusterId", 7)),
    ("InvalidClusterId", "Specified parameter ClusterId is not valid. Its length must be in [1, 64].", 400, {},
     set_(T, "ClusterId", "c" * 65)),
    ("InvalidClusterId", "Specified parameter ClusterId is not valid. It must only contain characters within [a-zA-Z0-9-], and must not start with [0-9].", 400, {},
     set_(T, "ClusterId", "9cls")),
    ("InvalidCommand", "Specified parameter Command is not valid. Its type must be object.", 400, {},
     set_(P, "Command", "python worker.py")),
    ("InvalidCommandLine", "Specified parameter CommandLine is not valid. Its type must be string.", 400, {},
     set_(C, "CommandLine", ["python", "worker.py"])),
    ("InvalidCommandLine", "Specified parameter CommandLine is not valid. Its length must be in [0, 1024].", 400, {},
     set_(C, "CommandLine", "x" * 1025)),
    ("InvalidDAG", "Specified parameter DAG is not valid. Its type must be object.", 400, {},
     set_("", "DAG", [])),
    ("InvalidDependencies", "Specified parameter Dependencies is not valid. Its type must be object.", 400, {},
     set_("DAG", "Dependencies", ["taskA"])),
    ("InvalidDependencies.{key}.value", "Specified parameter Dependencies.{key}.value is not valid. Its type must be array.", 400,
     {"key": "taskA"}, set_("DAG", "Dependencies", {"taskA": "taskB"})),
    ("InvalidDescription", "Specified parameter Description is not valid. Its type must be string.", 400, {},
     set_("", "Description", 3)),
    ("InvalidDescription", "Specified parameter Description is not valid. Its length must be in [0, 1024].", 400, {},
     set_("", "Description", "d" * 1025)),
    ("InvalidEnvVars", "Specified parameter EnvVars is not valid. Its type must be object.", 400, {},
     set_(C, "EnvVars", "A=1")),
    ("InvalidEnvVars", "Specified parameter EnvVars is not valid. Its size must be in [0, 64].", 400, {},
     set_(C, "EnvVars", many(65, lambda i: (f"V{i}", "1")))),
    ("InvalidEnvVars.{key}", "Specified parameter EnvVars.{key} is not valid. Its length must be in [1, 128].", 400,
     {"key": LONG_KEY}, set_(C, "EnvVars", {LONG_KEY: "1"})),
    ("InvalidEnvVars.{key}.value", "Specified parameter EnvVars.{key}.value is not valid. Its type must be string.", 400,
     {"key": "FOO"}, set_(C, "EnvVars", {"FOO": 1})),
    ("InvalidEnvVars.{key}.value", "Specified parameter EnvVars.{key}.value is not valid. Its length must be in [0, 1024].", 400,
     {"key": "FOO"}, set_(C, "EnvVars", {"FOO": "v" * 1025})),
    ("InvalidHttpBody", "Specified parameter HttpBody is not valid. Its type must be object.", 400, {},
     raw([{"Name": "job1"}])),
    ("InvalidInputMapping", "Specified parameter InputMapping is not valid. Its type must be object.", 400, {},
     set_(T, "InputMapping", "oss://bucket/in/")),
    ("InvalidInputMapping", "Specified parameter InputMapping is not valid. Its size must be in [0, 16].", 400, {},
     set_(T, "InputMapping", many(17, lambda i: (f"oss://bucket/in{i}/", f"/home/in{i}/")))),
    ("InvalidInputMapping.{key}", "Specified parameter InputMapping.{key} is not valid. Its length must be in [1, 1024].", 400,
     {"key": OSS_LONG}, set_(T, "InputMapping", {OSS_LONG: "/home/in/"})),
    ("InvalidInputMapping.{key}", "Specified parameter InputMapping.{key} is not valid. " + OSS_Q, 400,
     {"key": "http://bucket/in/"}, set_(T, "InputMapping", {"http://bucket/in/": "/home/in/"})),
    ("InvalidInputMapping.{key}.value", "Specified parameter InputMapping.{key}.value is not valid. Its type must be string.", 400,
     {"key": "oss://bucket/in/"}, set_(T, "InputMapping", {"oss://bucket/in/": None})),
    ("InvalidInputMapping.{key}.value", "Specified parameter InputMapping.{key}.value is not valid. Its length must be in [0, 1024].", 400,
     {"key": "oss://bucket/in/"}, set_(T, "InputMapping", {"oss://bucket/in/": LOCAL_LONG})),
    ("InvalidInputMapping.{key}.value", "Specified parameter InputMapping.{key}.value is not valid. Local path must be an absolute path on linux, and a drive letter on windows.", 400,
     {"key": "oss://bucket/in/"}, set_(T, "InputMapping", {"oss://bucket/in/": "home/in/"})),
    ("InvalidInputMappingConfig", "Specified parameter InputMappingConfig is not valid. Its type must be object.", 400, {},
     set_(P, "InputMappingConfig", "GBK")),
    ("InvalidInstanceCount", "Specified parameter InstanceCount is not valid. Its type must be integer.", 400, {},
     set_(T, "InstanceCount", "1")),
    ("InvalidJobFailOnInstanceFail", "Specified parameter JobFailOnInstanceFail is not valid. Its type must be boolean.", 400, {},
     set_("", "JobFailOnInstanceFail", "true")),
    ("InvalidJsonFormat", "The request body has an invalid json format.", 400, {}, not_json),
    ("InvalidLocale", "Specified parameter Locale is not valid.", 400, {},
     set_(P, "InputMappingConfig", {"Locale": "KOI8-R", "Lock": False})),
    ("InvalidLock", "Specified parameter Lock is not valid. Its type must be boolean.", 400, {},
     set_(P, "InputMappingConfig", {"Locale": "GBK", "Lock": "no"})),
    ("InvalidLogMapping", "Specified parameter LogMapping is not valid. Its type must be object.", 400, {},
     set_(T, "LogMapping", [])),
    ("InvalidLogMapping", "Specified parameter LogMapping is not valid. Its size must be in [0, 16].", 400, {},
     set_(T, "LogMapping", many(17, lambda i: (f"/var/log/l{i}", "oss://bucket/logs/")))),
    ("InvalidLogMapping.{key}", "Specified parameter LogMapping.{key} is not valid. Its length must be in [1, 1024].", 400,
     {"key": LOCAL_LONG}, set_(T, "LogMapping", {LOCAL_LONG: "oss://bucket/logs/"})),
    ("InvalidLogMapping.{key}", "Specified parameter LogMapping.{key} is not valid. Local path must be an absolute path.", 400,
     {"key": "var/log/app.log"}, set_(T, "LogMapping", {"var/log/app.log": "oss://bucket/logs/"})),
    ("InvalidLogMapping.{key}.value", "Specified parameter LogMapping.{key}.value is not valid. Its type must be string.", 400,
     {"key": "/var/log/app.log"}, set_(T, "LogMapping", {"/var/log/app.log": 1})),
    ("InvalidLogMapping.{key}.value", "Specified parameter LogMapping.{key}.value is not valid. Its length must be in [0, 1024].", 400,
     {"key": "/var/log/app.log"}, set_(T, "LogMapping", {"/var/log/app.log": OSS_LONG + "/"})),
    ("InvalidLogMapping.{key}.value", "Specified parameter LogMapping.{key}.value is not valid. " + OSS_Q, 400,
     {"key": "/var/log/app.log"}, set_(T, "LogMapping", {"/var/log/app.log": "/mnt/logs/"})),
    ("InvalidMaxRetryCount", "Specified parameter MaxRetryCount is not valid. Its type must be integer.", 400, {},
     set_(T, "MaxRetryCount", 1.5)),
    ("InvalidName", "Specified parameter Name is not valid. Its type must be string.", 400, {},
     set_("", "Name", None)),
    ("InvalidName", "Specified parameter Name is not valid. Its length must be in [1, 64].", 400, {},
     set_("", "Name", "")),
    ("InvalidName", "Specified parameter Name is not valid. It must only contain characters within [a-zA-Z0-9-], and must not start with [0-9].", 400, {},
     set_("", "Name", "my job")),
    ("InvalidOutputMapping", "Specified parameter OutputMapping is not valid. Its type must be object.", 400, {},
     set_(T, "OutputMapping", "oss://bucket/out/")),
    ("InvalidOutputMapping", "Specified parameter OutputMapping is not valid. Its size must be in [0, 16].", 400, {},
     set_(T, "OutputMapping", many(17, lambda i: (f"/home/out{i}/", f"oss://bucket/out{i}/")))),
    ("InvalidOutputMapping.{key}", "Specified parameter OutputMapping.{key} is not valid. Its length must be in [1, 1024].", 400,
     {"key": ""}, set_(T, "OutputMapping", {"": "oss://bucket/out/"})),
    ("InvalidOutputMapping.{key}", "Specified parameter OutputMapping.{key} is not valid. Local path must be an absolute path.", 400,
     {"key": "out/"}, set_(T, "OutputMapping", {"out/": "oss://bucket/out/"})),
    ("InvalidOutputMapping.{key}.value", "Specified parameter OutputMapping.{key}.value is not valid. Its type must be string.", 400,
     {"key": "/home/out/"}, set_(T, "OutputMapping", {"/home/out/": ["oss://bucket/out/"]})),
    ("InvalidOutputMapping.{key}.value", "Specified parameter OutputMapping.{key}.value is not valid. Its length must be in [0, 1024].", 400,
     {"key": "/home/out/"}, set_(T, "OutputMapping", {"/home/out/": OSS_LONG})),
    ("InvalidOutputMapping.{key}.value", "Specified parameter OutputMapping.{key}.value is not valid. " + OSS_Q, 400,
     {"key": "/home/out/"}, set_(T, "OutputMapping", {"/home/out/": "s3://bucket/out/"})),
    ("InvalidPackagePath", "Specified parameter PackagePath is not valid. Its type must be string.", 400, {},
     set_(C, "PackagePath", False)),
    ("InvalidPackagePath", "Specified parameter PackagePath is not valid. Its length must be in [0, 1024].", 400, {},
     set_(C, "PackagePath", OSS_LONG)),
    ("InvalidPackagePath", "Specified parameter PackagePath is not valid. " + OSS_Q, 400, {},
     set_(C, "PackagePath", "oss://bucket/tests/")),
    ("InvalidParameters", "Specified parameter Parameters is not valid. Its type must be object.", 400, {},
     set_(T, "Parameters", "python worker.py")),
    ("InvalidPriority", "Specified parameter Priority is not valid. Its type must be integer.", 400, {},
     set_("", "Priority", "1")),
    ("InvalidPriority", "Specified parameter Priority is not valid. It must be in [0, 1000].", 400, {},
     set_("", "Priority", 1001)),
    ("InvalidStderrRedirectPath", "Specified parameter StderrRedirectPath is not valid. Its type must be string.", 400, {},
     set_(P, "StderrRedirectPath", {})),
    ("InvalidStderrRedirectPath", "Specified parameter StderrRedirectPath is not valid. Its length must be in [0, 1024].", 400, {},
     set_(P, "StderrRedirectPath", OSS_LONG + "/")),
    ("InvalidStderrRedirectPath", "Specified parameter StderrRedirectPath is not valid. " + OSS_Q, 400, {},
     set_(P, "StderrRedirectPath", "/tmp/logs/")),
    ("InvalidStdoutRedirectPath", "Specified parameter StdoutRedirectPath is not valid. Its type must be string.", 400, {},
     set_(P, "StdoutRedirectPath", 0)),
    ("InvalidStdoutRedirectPath", "Specified parameter StdoutRedirectPath is not valid. Its length must be in [0, 1024].", 400, {},
     set_(P, "StdoutRedirectPath", OSS_LONG + "/")),
    ("InvalidStdoutRedirectPath", "Specified parameter StdoutRedirectPath is not valid. " + OSS_Q, 400, {},
     set_(P, "StdoutRedirectPath", "oss://bucket/logs")),
    ("InvalidTasks", "Specified parameter Tasks is not valid. Its type must be object.", 400, {},
     set_("DAG", "Tasks", [])),
    ("InvalidTasks", "Specified parameter Tasks is not valid. Its size must be in [1, 16].", 400, {},
     seventeen_tasks),
    ("InvalidTasks.{key}", "Specified parameter Tasks.{key} is not valid. Its length must be in [1, 64].", 400,
     {"key": "t" * 65}, set_("DAG", "Tasks", {"t" * 65: copy.deepcopy(
         {"ClusterId": "cls-1", "InstanceCount": 1, "Parameters": {"Command": {"CommandLine": "x"}}})})),
    ("InvalidTasks.{key}", "Specified parameter Tasks.{key} is not valid. It must only contain characters within [a-zA-Z0-9-], and must not start with [0-9]..", 400,
     {"key": "1st"}, set_("DAG", "Tasks", {"1st": copy.deepcopy(
         {"ClusterId": "cls-1", "InstanceCount": 1, "Parameters": {"Command": {"CommandLine": "x"}}})})),
    ("InvalidTimeout", "Specified parameter Timeout is not valid. Its type must be integer.", 400, {},
     set_(T, "Timeout", "86400")),
    ("InvalidType", "Specified parameter Type is not valid.", 400, {}, set_("", "Type", "App")),
    ("MissingClusterId", "ClusterId is mandatory for this action.", 400, {}, del_(T, "ClusterId")),
    ("MissingCommand", "Command is mandatory for this action.", 400, {}, del_(P, "Command")),
    ("MissingCommandLine", "CommandLine is mandatory for this action.", 400, {}, del_(C, "CommandLine")),
    ("MissingDAG", "DAG is mandatory for this action.", 400, {}, del_("", "DAG")),
    ("MissingInstanceCount", "InstanceCount is mandatory for this action.", 400, {}, del_(T, "InstanceCount")),
    ("MissingName", "Name is mandatory for this action.", 400, {}, del_("", "Name")),
    ("MissingParameters", "Parameters is mandatory for this action.", 400, {}, del_(T, "Parameters")),
    ("MissingTasks", "Tasks is mandatory for this action.", 400, {}, del_("DAG", "Tasks")),
    ("MissingType", "Type is mandatory for this action.", 400, {}, del_("", "Type")),
    ("QuotaExhausted.MaxInstanceTimeout", "The MaxInstanceTimeout ({value}) quota is exhausted.", 403,
     {"value": "3600"}, quota("Timeout", 7200, max_instance_timeout=3600)),
    ("QuotaExhausted.MaxJobCount", "The MaxJobCount ({value}) quota is exhausted.", 403,
     {"value": "5"}, quota("", 0, max_job_count=5)),
    ("QuotaExhausted.MaxJobTaskCount", "The MaxJobTaskCount ({value}) quota is exhausted.", 403,
     {"value": "2"}, quota("", 2, max_job_task_count=2)),
    ("QuotaExhausted.MaxTaskInstanceCount", "The MaxTaskInstanceCount ({value}) quota is exhausted.", 403,
     {"value": "4"}, quota("InstanceCount", 5, max_task_instance_count=4)),
]  # fmt: skip


def _fill(template: str, filler: dict[str, str]) -> str:
    for name, value in filler.items():
        template = template.replace("{" + name + "}", value)
    return template


def test_every_seed_row_is_transcribed() -> None:
    assert len(ROWS) == 81  # every line of the seed table


@pytest.mark.parametrize(
    ("code", "message", "status", "filler", "trigger"),
    ROWS,
    ids=[f"{i:02d}-{row[0]}" for i, row in enumerate(ROWS)],
)
def test_seed_row(
    job: dict[str, Any],
    code: str,
    message: str,
    status: int,
    filler: dict[str, str],
    trigger: Callable[[dict[str, Any]], Result],
) -> None:
    first, every = trigger(job)
    assert first is not None, "the input was accepted"
    assert (first.code, first.message, first.status) == (_fill(code, filler), _fill(message, filler), status)
    assert every == [first], "the trigger must break exactly this row"
