"""Verify the ``acs ID:SIGNATURE`` Authorization of every request (reference §2, §9.6).

Order of checks (first failure wins, nothing is done for a rejected request):
missing header → malformed header → unknown key id → Date missing/skewed (±15 min,
``x-acs-date`` fallback) → signature (both canonical-resource readings, §2.4) → nonce replay.
The nonce is checked last so an attacker cannot burn a legitimate client's nonce with a
forged request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

from api.errors import error
from api.signing import candidate_resources, header, request_date, verify
from service.credentials import Credentials

#: paths answered without a signature
PUBLIC_PATHS: frozenset[str] = frozenset({"/healthz", "/metrics"})


class NonceRegistry:
    """Remembers signature nonces for the skew window so a replayed request is refused.

    In memory for one node; ``shared`` (a callable inserting into the store's ``nonces`` table,
    returning False on a duplicate) makes the check hold across several bcsd nodes on one
    database.
    """

    def __init__(self, window_s: float, shared: Callable[[str, float], bool] | None = None) -> None:
        self.window_s = window_s
        self.shared = shared
        self._seen: dict[str, float] = {}
        self._next_sweep = 0.0

    def first_use(self, nonce: str, now: float) -> bool:
        if now >= self._next_sweep:
            self._seen = {n: exp for n, exp in self._seen.items() if exp > now}
            self._next_sweep = now + 60
        if nonce in self._seen:
            return False
        expires = now + 2 * self.window_s  # a request dated +window may arrive until now+2*window
        if self.shared is not None and not self.shared(nonce, expires):
            return False
        self._seen[nonce] = expires
        return True


def authenticate(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    creds: Credentials,
    nonces: NonceRegistry,
    skew_s: float,
    now: float | None = None,
) -> str:
    """Return the authenticated key id, or raise the ``ApiError`` that says why not."""
    now = time.time() if now is None else now
    auth = header(headers, "Authorization").strip()
    if not auth:
        raise error("missing_authorization")
    scheme, _, rest = auth.partition(" ")
    key_id, sep, given = rest.strip().rpartition(":")
    if scheme != "acs" or not sep or not key_id or not given:
        raise error("invalid_authorization")
    if key_id != creds.key_id:
        raise error("access_key_not_found")
    date_text = request_date(headers)
    try:
        sent = parsedate_to_datetime(date_text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        raise error("time_skewed") from None
    if abs(now - sent) > skew_s:
        raise error("time_skewed")
    method_name = header(headers, "x-acs-signature-method")
    if method_name and method_name.upper() != "HMAC-SHA1":
        raise error("signature_mismatch")
    if not verify(method, candidate_resources(raw_path, raw_query), headers, creds.secret, given):
        raise error("signature_mismatch")
    nonce = header(headers, "x-acs-signature-nonce")
    if nonce and not nonces.first_use(nonce, now):
        raise error("nonce_used")
    return key_id
