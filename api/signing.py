"""The one implementation of BatchCompute's ``acs`` HMAC-SHA1 request signature.

Both sides use it: the provider's HTTP client signs with :func:`sign_headers`, the service
verifies with :func:`verify`. Keeping one implementation means a client and the server can
never disagree about the string-to-sign (reference §2.2).

String-to-sign::

    VERB \\n Accept \\n Content-MD5 \\n Content-Type \\n Date \\n x-acs-* lines + resource

The ``Content-MD5`` slot reads a header literally named ``Content-MD5``; the official SDK
sends its digest as ``contentMd5``, so that slot is empty for SDK requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

__all__ = [
    "canonical_target",
    "candidate_resources",
    "header",
    "request_date",
    "sign_headers",
    "signature",
    "string_to_sign",
    "verify",
]

ACS_PREFIX = "x-acs-"
API_VERSION = "2015-11-11"


def header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive header lookup; ``""`` when absent (the SDK's ``iget``)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value)
    return ""


def request_date(headers: Mapping[str, str]) -> str:
    """The DATE slot: ``Date``, falling back to ``x-acs-date`` (JS SDK, reference §2.4)."""
    return header(headers, "Date") or header(headers, "x-acs-date")


def string_to_sign(method: str, target: str, headers: Mapping[str, str]) -> str:
    """Build the exact string the SDK signs; ``target`` is the request-target (path + query)."""
    acs_lines = "".join(
        f"{key.lower().strip()}:{headers[key]}\n"
        for key in sorted(headers)
        if key.lower().strip().startswith(ACS_PREFIX)
    )
    parts = [
        method.upper(),
        header(headers, "Accept").strip(),
        header(headers, "Content-MD5").strip(),
        header(headers, "Content-Type").strip(),
        request_date(headers),
        acs_lines + target,
    ]
    return "\n".join(parts)


def signature(secret: str, text: str) -> str:
    """base64(HMAC-SHA1(secret, text))."""
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def canonical_target(path: str, params: Mapping[str, object] | str | None = None) -> str:
    """The request-target the SDK puts on the wire: sorted, ``_``→``-`` keys, bare blank keys."""
    if not params:
        return path
    if isinstance(params, str):
        return f"{path}?{params}"
    pairs = []
    for key in sorted(params):
        name = quote(str(key).replace("_", "-"), safe="")
        value = params[key]
        text = "" if value is None else str(value)
        pairs.append(name if not text.strip() else f"{name}={quote(text, safe='')}")
    return f"{path}?{'&'.join(pairs)}"


def sign_headers(
    method: str,
    target: str,
    headers: Mapping[str, str] | None,
    key_id: str,
    secret: str,
    *,
    region: str = "local",
    body: bytes | str = b"",
    date: str | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Return ``headers`` plus Date, nonce, the x-acs-* set and ``Authorization``, as the SDK sends them.

    ``target`` must be the exact request-target that goes on the wire (see :func:`canonical_target`).
    """
    out: dict[str, str] = {
        "Date": date or time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
        "x-acs-region-id": region,
        "x-acs-access-key-id": key_id,
        "x-acs-signature-method": "HMAC-SHA1",
        "x-acs-signature-version": "1.0",
        "x-acs-version": API_VERSION,
        "x-acs-signature-nonce": nonce or str(uuid.uuid1()),
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if raw:
        out["contentMd5"] = hashlib.md5(raw).hexdigest()
    out.update(headers or {})
    out["Authorization"] = f"acs {key_id}:{signature(secret, string_to_sign(method, target, out))}"
    return out


def candidate_resources(raw_path: str, raw_query: str) -> list[str]:
    """Both CanonicalizedResource readings of one request (reference §2.4).

    A: the raw request-target verbatim (the Python SDK). B: decoded path, query re-sorted by
    name with decoded values (the JS SDK).
    """
    verbatim = f"{raw_path}?{raw_query}" if raw_query else raw_path
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&") if raw_query else []:
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    pairs.sort(key=lambda kv: kv[0])
    rendered = "&".join(k if v == "" else f"{k}={v}" for k, v in pairs)
    decoded = unquote(raw_path) + (f"?{rendered}" if rendered else "")
    return [verbatim] if decoded == verbatim else [verbatim, decoded]


def verify(
    method: str, resources: Iterable[str], headers: Mapping[str, str], secret: str, given: str
) -> bool:
    """True when ``given`` matches the signature of any candidate resource (constant-time compare)."""
    ok = False
    for resource in resources:
        expected = signature(secret, string_to_sign(method, resource, headers))
        ok |= hmac.compare_digest(expected.encode(), given.encode())
    return ok
