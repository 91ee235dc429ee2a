"""Signature nonces on every backend: a fresh one is accepted once, its replay refused.

On PostgreSQL the claim once counted ``rowcount`` of ``INSERT … ON CONFLICT DO NOTHING``, which
psycopg does not report as 1, so every request looked like a replay; this holds both halves.
"""

from __future__ import annotations

from tests.service.test_replay import _post, _refused, _signed
from tests.support.bcsd import BcsdProcess


def test_fresh_nonce_accepted_once_then_refused(shared_bcsd: BcsdProcess) -> None:
    headers = _signed(shared_bcsd)
    assert _post(shared_bcsd, headers).status_code == 201
    _refused(_post(shared_bcsd, headers), "SignatureNonceUsed")
    assert _post(shared_bcsd, _signed(shared_bcsd)).status_code == 201  # a new nonce still works
