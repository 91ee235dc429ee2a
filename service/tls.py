"""HTTPS for bcsd: the certificate and key are checked before anything starts.

The official SDK (``security_conn=True``) and CLI default to HTTPS, and job bodies carry OSS keys
in ``Mounts``; uvicorn serves TLS itself from PEM files. Loading them here first turns a missing,
unreadable or mismatched file into one line at start instead of a trace from inside uvicorn.
"""

from __future__ import annotations

import ssl


def check(cert: str, key: str) -> str:
    """``""`` when the pair is usable (or TLS is off), else what is wrong, in one line."""
    if not cert and not key:
        return ""
    if not cert or not key:
        return "--tls-cert and --tls-key go together (HTTPS needs both the certificate and its key)"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        return f"cannot load the TLS certificate/key: {exc.filename}: no such file"
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        return f"cannot load the TLS certificate {cert} with key {key}: {reason}"
    return ""
