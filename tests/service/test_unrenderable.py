"""Issue 10, items 1-3, against a real bcsd: what could be stored but never rendered back is
refused at parse time with a 400 naming the field, and every accepted body renders (200)."""

from __future__ import annotations

import json

import pytest

from api.parse import MAX_JSON_DEPTH
from tests.service.jobspec import job, task
from tests.support.client import SignedClient


def _nest(depth: int) -> object:
    """``depth`` levels of objects (the innermost holds 1)."""
    value: object = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def _assert_error(r, code: str, *needles: str) -> None:
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"Code", "Message", "RequestId", "HostId"}
    assert body["Code"] == code, body
    for n in needles:
        assert n in body["Message"], body


def _reads_ok(client: SignedClient, job_id: str = "") -> None:
    for path, params in (("/jobs", None), ("/clusters", None)):
        assert client.get(path, params).status_code == 200
    if job_id:
        assert client.get(f"/jobs/{job_id}").status_code == 200
        assert client.get(f"/jobs/{job_id}", "description").status_code == 200


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (rb'"Description": "\ud800"', "InvalidDescription"),
        (b'"Description": "\xed\xa0\x80"', "InvalidDescription"),  # WTF-8 surrogate bytes
        (b'"Description": "\xff"', "InvalidDescription"),  # invalid UTF-8
        (rb'"Foo": "\udc00"', "InvalidFoo"),  # unknown key
        (rb'"Foo": {"\ud800x": 1}', "InvalidFoo.\\ud800x"),  # in a key
        (rb'"Notification": {"Topic": {"Name": "\ud800"}}', "InvalidNotification.Topic.Name"),
        (rb'"Foo": "a\u0000b"', "InvalidFoo"),
        (b'"Foo": NaN', "InvalidFoo"),
        (b'"Foo": [1, -Infinity]', "InvalidFoo.1"),
        (b'"Foo": 1e400', "InvalidFoo"),
    ],
)
def test_unrenderable_values_refused_in_create_job(
    shared_client: SignedClient, raw: bytes, code: str
) -> None:
    body = json.dumps(job({"a": task("true")})).encode()
    r = shared_client.request("POST", "/jobs", raw=body[:-1] + b", " + raw + b"}")
    _assert_error(r, code)
    _reads_ok(shared_client)


@pytest.mark.parametrize(
    "where", [("Parameters", "Command", "CommandLine"), ("Parameters", "Command", "EnvVars", "K")]
)
def test_surrogate_in_task_fields(shared_client: SignedClient, where: tuple[str, ...]) -> None:
    spec = job({"a": task("true")})
    node = spec["DAG"]["Tasks"]["a"]
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = "\ud800"
    raw = json.dumps(spec).encode()  # ensure_ascii: the surrogate travels as \ud800
    _assert_error(shared_client.request("POST", "/jobs", raw=raw), "InvalidDAG.Tasks.a." + ".".join(where))


def test_surrogate_in_mounts_and_patch(shared_client: SignedClient) -> None:
    spec = job({"a": task("true", Mounts={"Entries": [{"Source": "oss://b/\ud800", "Destination": "/m"}]})})
    r = shared_client.request("POST", "/jobs", raw=json.dumps(spec).encode())
    _assert_error(r, "InvalidDAG.Tasks.a.Mounts.Entries.0.Source")
    job_id = shared_client.create_job(job({"a": task("true")}))
    r = shared_client.request("PATCH", f"/jobs/{job_id}", raw=rb'{"Description": "\ud800"}')
    _assert_error(r, "InvalidDescription")
    _reads_ok(shared_client, job_id)


def test_nesting_limit(shared_client: SignedClient) -> None:
    # the top-level object is level 1, Foo's object level 2: MAX_JSON_DEPTH - 1 objects fit
    ok = job({"a": task("true")}) | {"Foo": _nest(MAX_JSON_DEPTH - 1)}
    job_id = shared_client.create_job(ok)
    _reads_ok(shared_client, job_id)
    described = shared_client.get(f"/jobs/{job_id}", "description").json()
    assert described["Foo"] == ok["Foo"]  # kept verbatim
    for depth in (MAX_JSON_DEPTH, 256, 960, 5000):
        deep = job({"a": task("true")}) | {"Foo": _nest(depth)}
        raw = json.dumps(deep).encode() if depth < 900 else _deep_raw(depth)
        r = shared_client.request("POST", "/jobs", raw=raw)
        _assert_error(r, "InvalidJsonFormat", *(["deeper than 64 levels"] if depth < 900 else []))
    _reads_ok(shared_client, job_id)


def _deep_raw(depth: int) -> bytes:
    """A body nesting ``depth`` levels under Foo, built as text (json.dumps would recurse)."""
    base = json.dumps(job({"a": task("true")})).encode()
    return base[:-1] + b', "Foo": ' + b'{"k": ' * depth + b"1" + b"}" * depth + b"}"


def _cluster(**extra: object) -> dict[str, object]:
    return {
        "Name": "c",
        "ImageId": "img-ubuntu",
        "InstanceType": "ecs.sn1.medium",
        "Groups": {"g": {"DesiredVMCount": 1}},
        **extra,
    }


def test_cluster_fields_have_rules(shared_client: SignedClient) -> None:
    r = shared_client.post("/clusters", _cluster(InputMappingConfig="GBK"))
    _assert_error(r, "InvalidInputMappingConfig", "Its type must be object")
    r = shared_client.post("/clusters", _cluster(InputMappingConfig={"Locale": "nope"}))
    _assert_error(r, "InvalidInputMappingConfig.Locale")
    r = shared_client.post("/clusters", _cluster(Description="\ud800"))
    _assert_error(r, "InvalidDescription")
    r = shared_client.post("/clusters", _cluster(InputMappingConfig={"Locale": "GBK", "Lock": True}))
    assert r.status_code == 201, r.text
    cluster_id = r.json()["Id"]
    for bad, code in (
        ({"InputMappingConfig": "x"}, "InvalidInputMappingConfig"),
        ({"Notification": 5}, "InvalidNotification"),
        ({"Notification": {"Topic": "x"}}, "InvalidNotification.Topic"),
        ({"EnvVars": {"K": "\ud800"}}, "InvalidEnvVars.K"),
    ):
        _assert_error(shared_client.put(f"/clusters/{cluster_id}", bad), code)
    good = {"InputMappingConfig": {"Lock": False}, "Notification": {"Topic": {"Name": "t", "Events": []}}}
    assert shared_client.put(f"/clusters/{cluster_id}", good).status_code == 200
    got = shared_client.get(f"/clusters/{cluster_id}")
    assert got.status_code == 200, got.text
    assert got.json()["InputMappingConfig"] == {"Lock": False}
    assert got.json()["Notification"]["Topic"]["Name"] == "t"
    _reads_ok(shared_client)
