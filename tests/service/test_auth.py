"""Authentication failures against a real bcsd: each refused with its code, nothing done."""

from __future__ import annotations

import time

import httpx
import pytest

from api.signing import sign_headers
from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient

BODY = job({"a": task("true")})


def _count_jobs(client: SignedClient) -> int:
    return len(client.get("/jobs", {"MaxItemCount": 100}).json()["Items"])


def _post(bcsd: BcsdProcess, headers: dict[str, str]) -> httpx.Response:
    import json

    return httpx.post(f"{bcsd.url}/jobs", content=json.dumps(BODY), headers=headers)


def _signed(bcsd: BcsdProcess, **kw: object) -> dict[str, str]:
    import json

    return sign_headers("POST", "/jobs", None, bcsd.key_id, bcsd.secret, body=json.dumps(BODY), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda h, b: h.pop("Authorization"), 400, "MissingAuthorization"),
        (lambda h, b: h.__setitem__("Authorization", "Basic abc"), 400, "InvalidAuthorization"),
        (lambda h, b: h.__setitem__("Authorization", "acs nokey"), 400, "InvalidAuthorization"),
        (
            lambda h, b: h.__setitem__("Authorization", "acs someoneelse:AAAA"),
            403,
            "InvalidAccessKeyId.NotFound",
        ),
        (lambda h, b: h.__setitem__("Authorization", f"acs {b.key_id}:AAAA"), 400, "SignatureDoesNotMatch"),
        (
            lambda h, b: h.__setitem__("x-acs-version", "2016-06-30"),
            400,
            "SignatureDoesNotMatch",
        ),  # signed header
        (lambda h, b: h.__setitem__("Date", "not a date"), 400, "RequestTimeTooSkewed"),
    ],
)
def test_rejected_requests_do_nothing(
    shared_bcsd: BcsdProcess, shared_client: SignedClient, mutate, status: int, code: str
) -> None:
    bcsd = shared_bcsd
    client = shared_client
    before = _count_jobs(client)
    headers = _signed(bcsd)
    mutate(headers, bcsd)
    r = _post(bcsd, headers)
    assert r.status_code == status and r.json()["Code"] == code
    assert r.headers["x-acs-request-id"] == r.json()["RequestId"]
    assert _count_jobs(client) == before


def test_date_skew_beyond_fifteen_minutes(shared_bcsd: BcsdProcess) -> None:
    bcsd = shared_bcsd
    old = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 16 * 60))
    r = _post(bcsd, _signed(bcsd, date=old))
    assert r.status_code == 400 and r.json()["Code"] == "RequestTimeTooSkewed"
    near = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 14 * 60))
    assert _post(bcsd, _signed(bcsd, date=near)).status_code == 201


def test_x_acs_date_fallback(shared_bcsd: BcsdProcess) -> None:
    bcsd = shared_bcsd
    headers = _signed(bcsd)
    date = headers.pop("Date")
    headers["x-acs-date"] = date
    headers = sign_headers(
        "POST", "/jobs", headers, bcsd.key_id, bcsd.secret
    )  # re-sign with x-acs-date in place
    headers.pop("Date")
    headers = {**headers}
    # the signature above covered the Date slot = x-acs-date's value
    from api.signing import signature, string_to_sign

    headers["Authorization"] = (
        f"acs {bcsd.key_id}:{signature(bcsd.secret, string_to_sign('POST', '/jobs', headers))}"
    )
    assert _post(bcsd, headers).status_code == 201


def test_replayed_nonce_is_refused(shared_bcsd: BcsdProcess, shared_client: SignedClient) -> None:
    bcsd = shared_bcsd
    client = shared_client
    headers = _signed(bcsd)
    assert _post(bcsd, headers).status_code == 201
    before = _count_jobs(client)
    replay = _post(bcsd, headers)
    assert replay.status_code == 400 and replay.json()["Code"] == "SignatureNonceUsed"
    assert _count_jobs(client) == before


def test_health_and_metrics_need_no_signature(shared_bcsd: BcsdProcess) -> None:
    bcsd = shared_bcsd
    assert httpx.get(f"{bcsd.url}/healthz").json()["Status"] == "ok"
    assert "bcsd_jobs_created_total" in httpx.get(f"{bcsd.url}/metrics").text
    assert httpx.get(f"{bcsd.url}/quotas").json()["Code"] == "MissingAuthorization"


def test_secret_never_in_log(shared_bcsd: BcsdProcess, shared_client: SignedClient) -> None:
    bcsd = shared_bcsd
    client = shared_client
    client.create_job(BODY)
    assert bcsd.secret not in bcsd.log() and bcsd.key_id in bcsd.log()
