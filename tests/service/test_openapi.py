"""``GET /openapi.json``: public, one operation per route, request bodies from the ``api`` models,
the API's error body instead of a 422, the ``acs`` scheme; and schemathesis against a real bcsd
through a signing session: no 5xx, every status and body as documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from openapi_spec_validator import validate
from schemathesis import checks

from api.signing import sign_headers
from service.openapi.operations import CLUSTER_EXAMPLE, JOB_EXAMPLE
from service.routes import clusters, jobs, misc, tasks
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient

#: examples per operation: ~27 operations, so a few hundred signed requests in all
EXAMPLES = 12
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def openapi_bcsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BcsdProcess]:
    """Small quotas: generated jobs are real jobs, so keep what they can ask of the machine small."""
    with start_bcsd(
        tmp_path_factory.mktemp("bcsd"), max_running=2, max_job_task_count=3, max_task_instance_count=3,
        max_instance_timeout=5, auto_cluster_max_vms=2,
    ) as proc:  # fmt: skip
        yield proc


@pytest.fixture(scope="module")
def document(openapi_bcsd: BcsdProcess) -> dict[str, Any]:
    r = httpx.get(f"{openapi_bcsd.url}/openapi.json")  # no signature: public like /healthz
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    return r.json()


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    """What a client generator checks first: the document against the OpenAPI 3.1 meta-schema."""
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_is_one_documented_operation(document: dict[str, Any]) -> None:
    routes = {
        (method, _template(route.path))
        for module in (misc, jobs, tasks, clusters)
        for route in module.router.routes
        for method in route.methods  # type: ignore[attr-defined]
    }
    documented = {(m.upper(), _template(p)) for p, ops in document["paths"].items() for m in ops}
    assert documented == routes
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert {"DeleteClusterInstance", "RecreateClusterInstance", "ChangeJobPriority"} <= set(ids)


def test_bodies_parameters_errors_and_security(document: dict[str, Any]) -> None:
    paths = document["paths"]
    create = paths["/jobs"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobDescription"
    }
    task = document["components"]["schemas"]["TaskDescription"]
    assert set(task["required"]) == {"Parameters", "InstanceCount"} and "Timeout" in task["properties"]
    assert [p["name"] for p in create["parameters"]] == ["IdempotentToken"]
    listed = {p["name"] for p in paths["/jobs"]["get"]["parameters"]}
    assert {"Marker", "MaxItemCount", "State", "ClusterId", "IsReverse"} <= listed
    assert [p["name"] for p in paths["/jobs/{JobId}"]["get"]["parameters"]] == ["JobId", "description"]
    error = document["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"Code", "Message", "RequestId", "HostId"}
    for ops in paths.values():
        for op in ops.values():
            assert "422" not in op["responses"]
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert document["components"]["securitySchemes"]["acs"]["name"] == "Authorization"
    assert document["security"] == [{"acs": []}]
    assert paths["/healthz"]["get"]["security"] == [] and paths["/openapi.json"]["get"]["security"] == []


class SigningSession(requests.Session):
    """Signs each prepared request over the exact path, query and body that go on the wire."""

    def __init__(self, key_id: str, secret: str) -> None:
        super().__init__()
        self.key_id, self.secret = key_id, secret

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else body
        method, target = request.method or "GET", request.path_url
        signed = sign_headers(method, target, dict(request.headers), self.key_id, self.secret, body=raw)
        request.headers.update(signed)
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def api_schema(openapi_bcsd: BcsdProcess) -> Any:
    return schemathesis.openapi.from_url(f"{openapi_bcsd.url}/openapi.json")


@pytest.fixture(scope="module")
def signing(openapi_bcsd: BcsdProcess) -> Iterator[SigningSession]:
    with SigningSession(openapi_bcsd.key_id, openapi_bcsd.secret) as session:
        yield session


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)  # fmt: skip
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    case: Any, signing: SigningSession
) -> None:
    case.call_and_validate(session=signing, checks=CHECKS)


def test_real_objects_answer_as_documented(
    api_schema: Any, signing: SigningSession, openapi_bcsd: BcsdProcess
) -> None:
    """Generated ids rarely exist: this walks every read with real ones, after a real workload."""
    with SignedClient(openapi_bcsd.url, openapi_bcsd.key_id, openapi_bcsd.secret) as client:
        cluster_id = client.post("/clusters", CLUSTER_EXAMPLE).json()["Id"]
        job_id = client.create_job(JOB_EXAMPLE)
        assert client.wait_job(job_id)["State"] == "Finished"
        vm_id = client.get(f"/clusters/{cluster_id}/groups/group1/instances").json()["Items"][0]["Id"]
    job = {"JobId": job_id}
    task = {**job, "TaskName": "hello"}
    group = {"ClusterId": cluster_id, "GroupName": "group1"}
    vm = {**group, "InstanceId": vm_id}
    calls: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
        ("GET", "/jobs", {}, {"State": "Finished"}),
        ("GET", "/jobs/{JobId}", job, {}),
        ("GET", "/jobs/{JobId}", job, {"description": ""}),
        ("GET", "/jobs/{JobId}/history", job, {}),
        ("GET", "/jobs/{JobId}/tasks", job, {}),
        ("GET", "/jobs/{JobId}/tasks/{TaskName}", task, {}),
        ("GET", "/jobs/{JobId}/tasks/{TaskName}/instances", task, {"Marker": "0"}),
        ("GET", "/jobs/{JobId}/tasks/{TaskName}/instances/{InstanceId}", {**task, "InstanceId": "0"}, {}),
        ("GET", "/clusters", {}, {}),
        ("GET", "/clusters/{ClusterId}", {"ClusterId": cluster_id}, {}),
        ("GET", "/clusters/{ClusterId}/groups/{GroupName}/instances", group, {}),
        ("GET", "/clusters/{ClusterId}/groups/{GroupName}/instances/{InstanceId}", vm, {}),
        ("POST", "/clusters/{ClusterId}/groups/{GroupName}/instances/{InstanceId}/recreate", vm, {}),
        ("GET", "/quotas", {}, {}),
        ("GET", "/available", {}, {}),
        ("GET", "/healthz", {}, {}),
        ("GET", "/metrics", {}, {}),
        ("DELETE", "/jobs/{JobId}", job, {}),
    ]
    for method, path, path_parameters, query in calls:
        case = api_schema[path][method].Case(path_parameters=path_parameters, query=query)
        response = case.call_and_validate(session=signing, checks=CHECKS)
        assert response.status_code < 300, (method, path, response.text)


def test_the_document_needs_no_signature_but_the_api_does(openapi_bcsd: BcsdProcess) -> None:
    assert httpx.get(f"{openapi_bcsd.url}/openapi.json").status_code == 200
    unsigned = httpx.get(f"{openapi_bcsd.url}/jobs")
    assert unsigned.status_code == 400 and unsigned.json()["Code"] == "MissingAuthorization"
