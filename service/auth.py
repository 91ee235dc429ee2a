"""Verify the ``acs ID:SIGNATURE`` Authorization of every request (reference §2, §9.6).

Order of checks (first failure wins, nothing is done for a rejected request):
missing header → malformed header → unknown key id → Date missing/skewed (±15 min,
``x-acs-date`` fallback) → signature (both canonical-resource readings, §2.4) → body digest
(``Content-MD5``/``contentMd5``) → nonce missing/too long → nonce replay.
The nonce is checked last so an attacker cannot burn a legitimate client's nonce with a
forged request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

from sqlalchemy import Connection

from api.errors import ApiError, error
from api.signing import candidate_resources, header, request_date, verify
from service.credentials import Credentials
from service.store.group_commit import CommitGroup, Prelude, precede_next_write

#: ``repo.claim_nonce_later``: send the nonce's insert in the caller's transaction; the call it
#: returns answers False when the nonce was used
StoreNonce = Callable[[Connection, str, float, float | None], Callable[[], bool]]
#: sends the claim, returns its verdict (raises ``SignatureNonceUsed`` for a used nonce)
ClaimStep = Callable[[Connection], Callable[[], None]]

#: paths answered without a signature
PUBLIC_PATHS: frozenset[str] = frozenset({"/healthz", "/metrics", "/openapi.json"})


#: the nonces table's column width; a longer nonce would not fit (PostgreSQL refuses it)
MAX_NONCE = 128

#: the headers that carry a body digest: ``Content-MD5`` (signed, RFC 1864 base64 or hex) and the
#: SDK's ``contentMd5`` (unsigned, lower-case hex of the body it sends)
DIGEST_HEADERS: tuple[str, ...] = ("Content-MD5", "contentMd5")


class NonceRegistry:
    """Remembers signature nonces for the replay window so a replayed request is refused.

    ``store`` inserts into the store's ``nonces`` table (unique on the nonce, False on a
    duplicate) inside a group-commit write (``service.store.group_commit``): the claim is
    committed before the request goes on, on SQLite as on PostgreSQL, so a request captured
    before a restart, or answered by another node on a shared database, stays refused. A
    request whose route makes one group-commit write (CreateJob) spends its nonce in that write's
    flush (:meth:`defer`), one commit instead of two. Expired rows are swept lazily, at most once
    a minute, so a request pays one INSERT, not a DELETE scan.
    """

    def __init__(self, window_s: float, store: StoreNonce, commits: CommitGroup) -> None:
        self.window_s = window_s
        self.store = store
        self.commits = commits
        self._next_sweep = 0.0

    def _claim(self, nonce: str, now: float, on_used: Callable[[ApiError], None] | None) -> ClaimStep:
        """The store step that spends ``nonce``: refuses (``SignatureNonceUsed``) a used one."""
        sweep_before: float | None = None
        if now >= self._next_sweep:
            sweep_before = now
            self._next_sweep = now + 60
        expires = now + 2 * self.window_s  # a request dated +window may arrive until now+2*window

        def step(conn: Connection) -> Callable[[], None]:
            claimed = self.store(conn, nonce, expires, sweep_before)

            def verdict() -> None:
                if not claimed():
                    used = error("nonce_used")
                    if on_used is not None:
                        on_used(used)
                    raise used

            return verdict

        return step

    async def spend(self, nonce: str, now: float, on_used: Callable[[ApiError], None] | None = None) -> None:
        """Spend ``nonce`` now, in a flush of its own (shared with concurrent requests)."""
        claim = self._claim(nonce, now, on_used)
        await self.commits.run(lambda conn: claim(conn)())

    def defer(self, nonce: str, now: float, on_used: Callable[[ApiError], None] | None = None) -> Prelude:
        """Spend ``nonce`` in this request's next group-commit write, before that write and kept
        when it refuses; :meth:`settle` spends it alone when the request made no such write."""
        return precede_next_write(self._claim(nonce, now, on_used))

    async def settle(self, prelude: Prelude) -> None:
        """Before a deferred request is answered: spend its nonce alone unless a write took it."""
        if not prelude.taken:
            await self.commits.run(_nothing)


def _nothing(_conn: Connection) -> None:
    """The write of a flush that only carries a deferred nonce."""


def check_digest(headers: Mapping[str, str], body: bytes) -> None:
    """Refuse a body whose ``Content-MD5``/``contentMd5`` is not its MD5 (issue 10).

    The signature covers ``Content-MD5`` but not the body, so without this a body swapped after
    signing would be accepted under the original's signature. ``contentMd5`` is unsigned (it
    proves nothing against tampering) but the SDK computes it over the exact ASCII JSON it
    sends, so checking it too catches a corrupted body at no risk to the SDK.
    """
    actual: bytes | None = None
    for name in DIGEST_HEADERS:
        given = header(headers, name).strip()
        if not given:
            continue
        expected = _digest_bytes(given)
        if expected is None:
            raise error("digest_invalid", header=name)
        if actual is None:
            actual = hashlib.md5(body).digest()
        if not hmac.compare_digest(expected, actual):
            raise error("digest_mismatch", header=name)


def _digest_bytes(text: str) -> bytes | None:
    """The 16 bytes of an MD5 written as hex (either case, as the docs disagree) or base64."""
    if len(text) == 32:
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None
    return raw if len(raw) == 16 else None


def has_digest(headers: Mapping[str, str]) -> bool:
    """True when the request names a body digest the gate must check before the nonce."""
    return any(header(headers, name) for name in DIGEST_HEADERS)


def verify_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    creds: Credentials,
    skew_s: float,
    now: float,
    body: bytes | None = None,
) -> str:
    """Every check but the replay one: return the request's nonce (the caller spends it through
    :class:`NonceRegistry`, last), or raise the ``ApiError`` that says why not.

    ``body`` is the request body when the request carries a digest header (the gate reads it
    first); it is checked after the signature and before the nonce is spent.
    """
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
    if body is not None:
        check_digest(headers, body)
    nonce = header(headers, "x-acs-signature-nonce")
    if not nonce:
        raise error("nonce_missing")
    if len(nonce) > MAX_NONCE:
        raise error("nonce_invalid")
    return nonce
