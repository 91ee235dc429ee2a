"""HTTPS: ``bcsd serve --tls-cert --tls-key`` with a throwaway CA (trustme), the official SDK with
``security_conn=True`` trusting that CA for this test only, and the start-up checks of the pair."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import batchcompute.utils.constants as sdk_constants
import httpx
import pytest
import trustme
from batchcompute import Client

from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient

BCSD = Path(sys.executable).with_name("bcsd")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(certificate chain, key, CA) PEM files for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    chain, key, ca_pem = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_pem))
    return chain, key, ca_pem


@pytest.fixture(scope="module")
def https_bcsd(
    tls_files: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BcsdProcess]:
    chain, key, ca_pem = tls_files
    trust = ssl.create_default_context(cafile=str(ca_pem))
    with start_bcsd(tmp_path_factory.mktemp("bcsd"), trust=trust, tls_cert=chain, tls_key=key) as proc:
        yield proc


def test_the_official_sdk_over_https(
    https_bcsd: BcsdProcess, tls_files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK speaks HTTPS to its SECURITY_SERVICE_PORT (443) with the default trust store: point
    # that port at this bcsd and trust the throwaway CA through SSL_CERT_FILE, for this test only.
    monkeypatch.setattr(sdk_constants, "SECURITY_SERVICE_PORT", https_bcsd.port)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[2]))
    Client.register_region("local-tls", "127.0.0.1", https_bcsd.port)
    sdk = Client("127.0.0.1", https_bcsd.key_id, https_bcsd.secret, security_conn=True)
    job_id = sdk.create_job(job({"a": task("true")})).Id
    assert sdk.get_job(job_id).Name == "test-job"
    assert job_id in [j.Id for j in sdk.list_jobs("", 10).Items]
    assert "bcsd ready on https://127.0.0.1:" in https_bcsd.log()


def test_the_sdk_refuses_a_certificate_it_does_not_trust(
    https_bcsd: BcsdProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setattr(sdk_constants, "SECURITY_SERVICE_PORT", https_bcsd.port)
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    Client.register_region("local-tls", "127.0.0.1", https_bcsd.port)
    sdk = Client("127.0.0.1", https_bcsd.key_id, https_bcsd.secret, security_conn=True)
    with pytest.raises(ssl.SSLCertVerificationError):
        sdk.list_jobs("", 10)


def test_plain_http_gets_no_api_on_the_tls_port(https_bcsd: BcsdProcess) -> None:
    plain = https_bcsd.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        SignedClient(plain, https_bcsd.key_id, https_bcsd.secret, timeout=5).get("/jobs")


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("cert-only", "--tls-cert and --tls-key go together"),
        ("missing-key", "no such file"),
        ("wrong-key", "cannot load the TLS certificate"),
    ],
)
def test_a_bad_certificate_pair_is_one_clear_line(
    which: str, expected: str, tls_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    chain, key, _ = tls_files
    other_key = tmp_path / "other-key.pem"
    trustme.CA().issue_cert("127.0.0.1").private_key_pem.write_to_path(str(other_key))
    flags = {
        "cert-only": ["--tls-cert", str(chain)],
        "missing-key": ["--tls-cert", str(chain), "--tls-key", str(tmp_path / "absent.pem")],
        "wrong-key": ["--tls-cert", str(chain), "--tls-key", str(other_key)],
    }[which]
    got = subprocess.run(
        [str(BCSD), "serve", "--port", "0", "--data-dir", str(tmp_path / "data"), *flags],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert got.returncode == 2
    assert expected in got.stderr and got.stderr.count("\n") == 1
    assert "Traceback" not in got.stderr and "bcsd ready" not in got.stderr
