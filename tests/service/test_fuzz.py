"""Malformed input of every kind (hypothesis): never a 5xx, always the API's error body, and the
service keeps serving."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient

SEGMENT = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"), min_size=1, max_size=12
)
PATHS = st.one_of(
    st.sampled_from(
        [
            "/jobs",
            "/jobs/job-00000000000000000000000000000000",
            "/jobs/{job}",
            "/jobs/{job}/stop",
            "/jobs/{job}/start",
            "/jobs/{job}/tasks",
            "/jobs/{job}/tasks/a",
            "/jobs/{job}/tasks/a/instances",
            "/jobs/{job}/tasks/a/instances/0",
            "/jobs/{job}/tasks/a/instances/99999999999999999999",
            "/jobs/{job}/history",
            "/clusters",
            "/clusters/cls-x",
            "/clusters/cls-x/groups/g/instances",
            "/quotas",
            "/available",
            "/images",
            "/",
        ]
    ),
    st.lists(SEGMENT, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts)),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
TASK_KEYS = [
    "InstanceCount",
    "Timeout",
    "MaxRetryCount",
    "Parameters",
    "AutoCluster",
    "ClusterId",
    "InputMapping",
]


@st.composite
def mutated_job(draw):
    """A valid job with one random field replaced by random JSON: exercises deep validation."""
    body = job({"a": task("true")})
    where = draw(st.sampled_from(["top", "dag", "task", "command"]))
    value = draw(JSON)
    if where == "top":
        body[
            draw(
                st.sampled_from(["Name", "Priority", "Type", "DAG", "JobFailOnInstanceFail", "Notification"])
            )
        ] = value
    elif where == "dag":
        body["DAG"][draw(st.sampled_from(["Tasks", "Dependencies"]))] = value
    elif where == "task":
        body["DAG"]["Tasks"]["a"][draw(st.sampled_from(TASK_KEYS))] = value
    else:
        body["DAG"]["Tasks"]["a"]["Parameters"]["Command"][
            draw(st.sampled_from(["CommandLine", "EnvVars"]))
        ] = value
    return json.dumps(body).encode()


BODIES = st.one_of(
    st.just(b""),
    st.binary(max_size=200),
    JSON.map(lambda v: json.dumps(v).encode()),
    mutated_job(),
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
QUERIES = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["Marker", "MaxItemCount", "State", "IdempotentToken", "IsReverse", "description"]),
        st.text(max_size=10),
        max_size=3,
    ),
)


def _check(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        body = r.json()
        assert set(body) == {"Code", "Message", "RequestId", "HostId"} and body["Code"]
        assert "Traceback" not in r.text
        assert r.headers["x-acs-request-id"] == body["RequestId"]


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=METHODS, path=PATHS, query=QUERIES, body=BODIES)
def test_no_5xx_for_any_signed_request(
    shared_bcsd: BcsdProcess, shared_client: SignedClient, method, path, query, body
) -> None:
    path = path.replace("{job}", _a_job(shared_client))
    _check(shared_client.request(method, path, query, raw=body))


_JOB: list[str] = []


def _a_job(client: SignedClient) -> str:
    if not _JOB:
        _JOB.append(client.create_job(job({"a": task("true")})))
    return _JOB[0]


def test_huge_body_refused_without_5xx(shared_client: SignedClient) -> None:
    r = shared_client.request("POST", "/jobs", raw=b"{" + b" " * (300 * 1024) + b"}")
    _check(r)
    assert r.status_code == 413 and r.json()["Code"] == "RequestBodyTooLarge"


def test_non_json_and_wrong_method(shared_client: SignedClient) -> None:
    r = shared_client.request("POST", "/jobs", raw=b"not json")
    assert r.json()["Code"] == "InvalidJsonFormat"
    r = shared_client.request("PATCH", "/jobs")
    assert r.status_code == 400 and r.json()["Code"] == "MethodNotAllowed"
    r = shared_client.get("/no/such/thing")
    assert r.status_code == 404 and r.json()["Code"] == "InvalidResource.NotFound"
    r = shared_client.get("/jobs/")  # no redirect: an API error body
    assert r.status_code == 404 and r.json()["Code"] == "InvalidResource.NotFound"


def test_still_serving_after_fuzz(shared_bcsd: BcsdProcess, shared_client: SignedClient) -> None:
    assert httpx.get(f"{shared_bcsd.url}/healthz").status_code == 200
    job_id = shared_client.create_job(job({"a": task("true")}))
    assert shared_client.wait_job(job_id, timeout=30)["State"] == "Finished"
    assert "Traceback" not in shared_bcsd.log()
