"""Properties over generated bodies: valid ones pass and survive dump -> parse; any mutation of
a valid body yields only ApiErrors, in both modes, and first-error == first of all-errors."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import ApiError, JobDescription, check_job, parse_job
from api.types import JOB_EVENTS, LOCALES

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,20}", fullmatch=True)
text = st.text(max_size=30)
oss_dir = st.from_regex(r"oss://[a-z0-9]{3,8}/([a-z0-9]{1,8}/){0,2}", fullmatch=True)
oss_file = st.from_regex(r"oss://[a-z0-9]{3,8}/([a-z0-9]{1,8}/){0,2}[a-z0-9]{1,8}\.tar\.gz", fullmatch=True)
local = st.from_regex(r"/([a-z0-9]{1,8}/){1,3}", fullmatch=True)
env = st.dictionaries(st.from_regex(r"[A-Z_]{1,10}", fullmatch=True), text, max_size=4)


@st.composite
def tasks(draw: st.DrawFn) -> dict[str, Any]:
    command: dict[str, Any] = {"CommandLine": draw(st.text(max_size=60))}
    if draw(st.booleans()):
        command["PackagePath"] = draw(st.one_of(st.just(""), oss_file))
    if draw(st.booleans()):
        command["EnvVars"] = draw(env)
    params: dict[str, Any] = {"Command": command}
    if draw(st.booleans()):
        params["InputMappingConfig"] = {"Locale": draw(st.sampled_from(LOCALES)), "Lock": draw(st.booleans())}
    if draw(st.booleans()):
        params["StdoutRedirectPath"] = draw(oss_dir)
        params["StderrRedirectPath"] = draw(oss_dir)
    task: dict[str, Any] = {"Parameters": params, "InstanceCount": draw(st.integers(1, 50))}
    if draw(st.booleans()):
        task["Timeout"] = draw(st.integers(1, 10**6))
    if draw(st.booleans()):
        task["MaxRetryCount"] = draw(st.integers(0, 5))
    if draw(st.booleans()):
        task["InputMapping"] = draw(st.dictionaries(oss_dir, local, max_size=3))
    if draw(st.booleans()):
        task["OutputMapping"] = draw(st.dictionaries(local, oss_dir, max_size=3))
    if draw(st.booleans()):
        task["ClusterId"] = draw(names)
    else:
        task["AutoCluster"] = {
            "InstanceType": draw(st.sampled_from(["bcs.a2.large", "ecs.sn1.medium"])),
            draw(st.sampled_from(["ImageId", "ECSImageId"])): draw(st.sampled_from(["img-ubuntu", "m-1"])),
            "ReserveOnFail": draw(st.booleans()),
            "SpotPriceLimit": draw(st.integers(0, 5000)) / 1000,
        }
    return task


@st.composite
def jobs(draw: st.DrawFn) -> dict[str, Any]:
    task_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    deps: dict[str, list[str]] = {}
    for i, upstream in enumerate(task_names):  # edges only point forward: always acyclic
        later = task_names[i + 1 :]
        if later and draw(st.booleans()):
            deps[upstream] = draw(st.lists(st.sampled_from(later), min_size=1, unique=True))
    body: dict[str, Any] = {
        "Name": draw(names),
        "Type": "DAG",
        "DAG": {"Tasks": {n: draw(tasks()) for n in task_names}, "Dependencies": deps},
    }
    if draw(st.booleans()):
        body["Priority"] = draw(st.integers(0, 1000))
    if draw(st.booleans()):
        body["Description"] = draw(text)
    if draw(st.booleans()):
        body["JobFailOnInstanceFail"] = draw(st.booleans())
    if draw(st.booleans()):
        events = draw(st.lists(st.sampled_from(JOB_EVENTS), unique=True))
        body["Notification"] = {"Topic": {"Name": "t", "Endpoint": "http://x/", "Events": events}}
    return body


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        out.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, out)
    return out


@SETTINGS
@given(jobs())
def test_valid_bodies_pass_and_round_trip(body: dict[str, Any]) -> None:
    assert check_job(body) == []
    parsed = parse_job(body)
    # the normal form is a fixed point, through the rule walk or loaded back as stored
    assert parse_job(parsed.wire) == parsed
    assert JobDescription.model_validate(parsed.wire) == parsed
    assert parse_job(parsed.wire).wire == parsed.wire


@SETTINGS
@given(jobs(), st.data())
def test_mutations_only_raise_api_errors(body: dict[str, Any], data: st.DataObject) -> None:
    mutated = copy.deepcopy(body)
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(_containers(mutated, [])))
        value = data.draw(json_values)
        if isinstance(target, dict):
            keys = list(target) + [data.draw(st.text(max_size=8))]
            key = data.draw(st.sampled_from(keys))
            if key in target and data.draw(st.booleans()):
                del target[key]
            else:
                target[key] = value
        elif target:
            target[data.draw(st.integers(0, len(target) - 1))] = value
        else:
            target.append(value)
    every = check_job(mutated)
    assert all(isinstance(e, ApiError) for e in every)
    try:
        parse_job(mutated)
    except ApiError as first:
        assert every and every[0] == first
        assert first.status == 400
    else:
        assert every == []
