"""Issue 10 items 4-6 against a real bcsd: a body swapped after signing, a request without a
nonce, and a nonce replayed after a restart are each refused, and nothing is done."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from api.signing import sign_headers, signature, string_to_sign
from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient

ORIGINAL = json.dumps(job({"a": task("true")})).encode()
SWAPPED = json.dumps(job({"a": task("echo swapped")})).encode()


def _count_jobs(client: SignedClient) -> int:
    return len(client.get("/jobs", {"MaxItemCount": 100}).json()["Items"])


def _resign(bcsd: BcsdProcess, headers: dict[str, str]) -> dict[str, str]:
    """Recompute Authorization over ``headers`` as they stand (after a test changed them)."""
    headers = {k: v for k, v in headers.items() if k != "Authorization"}
    headers["Authorization"] = (
        f"acs {bcsd.key_id}:{signature(bcsd.secret, string_to_sign('POST', '/jobs', headers))}"
    )
    return headers


def _signed(bcsd: BcsdProcess, body: bytes = ORIGINAL, extra: dict[str, str] | None = None) -> dict[str, str]:
    return sign_headers("POST", "/jobs", extra, bcsd.key_id, bcsd.secret, body=body)


def _post(bcsd: BcsdProcess, headers: dict[str, str], body: bytes = ORIGINAL) -> httpx.Response:
    return httpx.post(f"{bcsd.url}/jobs", content=body, headers=headers)


def _refused(r: httpx.Response, code: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json()["Code"] == code and set(r.json()) >= {"Code", "Message", "RequestId", "HostId"}


MD5 = hashlib.md5(ORIGINAL)


@pytest.mark.parametrize(
    "digest", [MD5.hexdigest(), MD5.hexdigest().upper(), base64.b64encode(MD5.digest()).decode()]
)
def test_signed_content_md5_of_the_body_is_accepted(shared_bcsd: BcsdProcess, digest: str) -> None:
    assert _post(shared_bcsd, _signed(shared_bcsd, extra={"Content-MD5": digest})).status_code == 201


def test_body_swapped_after_signing_is_refused(shared_bcsd: BcsdProcess, shared_client: SignedClient) -> None:
    """The attack of item 4: Content-MD5 is signed, the body is not; swap the body, keep the
    headers (and the unsigned contentMd5 recomputed, as an attacker would)."""
    bcsd = shared_bcsd
    before = _count_jobs(shared_client)
    headers = _signed(bcsd, extra={"Content-MD5": MD5.hexdigest()})
    headers["contentMd5"] = hashlib.md5(SWAPPED).hexdigest()
    r = _post(bcsd, headers, SWAPPED)
    _refused(r, "BadDigest")
    assert "Content-MD5" in r.json()["Message"]
    headers.pop("contentMd5")
    _refused(_post(bcsd, headers, SWAPPED), "BadDigest")
    assert _count_jobs(shared_client) == before
    # the nonce was not spent by the refused request: the genuine body still goes through
    assert _post(bcsd, headers, ORIGINAL).status_code == 201


def test_unsigned_content_md5_mismatch_and_malformed_digest(shared_bcsd: BcsdProcess) -> None:
    bcsd = shared_bcsd
    headers = _signed(bcsd)  # the SDK's way: contentMd5 (hex of ORIGINAL), unsigned
    _refused(_post(bcsd, headers, SWAPPED), "BadDigest")
    _refused(_post(bcsd, _signed(bcsd, extra={"Content-MD5": "not-a-digest"})), "InvalidDigest")
    _refused(_post(bcsd, _signed(bcsd, extra={"contentMd5": "z" * 32})), "InvalidDigest")


def test_request_without_nonce_is_refused(shared_bcsd: BcsdProcess, shared_client: SignedClient) -> None:
    bcsd = shared_bcsd
    before = _count_jobs(shared_client)
    headers = _signed(bcsd)
    headers.pop("x-acs-signature-nonce")
    headers = _resign(bcsd, headers)  # a valid signature, just no nonce
    for _ in range(2):
        _refused(_post(bcsd, headers), "MissingSignatureNonce")
    get = sign_headers("GET", "/quotas", None, bcsd.key_id, bcsd.secret)
    get.pop("x-acs-signature-nonce")
    get["Authorization"] = (
        f"acs {bcsd.key_id}:{signature(bcsd.secret, string_to_sign('GET', '/quotas', get))}"
    )
    _refused(httpx.get(f"{bcsd.url}/quotas", headers=get), "MissingSignatureNonce")
    long = _resign(bcsd, {**_signed(bcsd), "x-acs-signature-nonce": "n" * 129})
    _refused(_post(bcsd, long), "InvalidSignatureNonce")
    assert _count_jobs(shared_client) == before


def test_nonce_replayed_after_restart_is_refused(tmp_path: Path) -> None:
    """Item 6: seen nonces survive a restart on the same data dir (SQLite)."""
    with start_bcsd(tmp_path) as bcsd:
        headers = _signed(bcsd)
        assert _post(bcsd, headers).status_code == 201
        bcsd.restart()
        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            before = _count_jobs(client)
            _refused(_post(bcsd, headers), "SignatureNonceUsed")
            assert _count_jobs(client) == before == 1
        bcsd.kill9()
        bcsd.restart()
        _refused(_post(bcsd, headers), "SignatureNonceUsed")
