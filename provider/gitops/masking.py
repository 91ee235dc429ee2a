"""Masking of secret-bearing fields before a spec or a diff is shown to anyone.

A job spec may carry OSS credentials (``Mounts.OSS.AccessKeySecret``, ``AccessSecurityToken``)
and a stack may carry ``bcs:accessKeySecret``. Previews, PR comments and ``--json`` output are
read by people and CI logs, so any field whose name is in ``SECRET_FIELDS`` is replaced by
``MASK`` wherever it appears, unless it is empty (an empty secret tells nothing and helps review).
"""

from __future__ import annotations

from typing import Any

MASK = "[secret]"
SECRET_FIELDS = frozenset(
    {
        "AccessKeySecret",
        "AccessSecurityToken",
        "SecurityToken",
        "Password",
        "accessKeySecret",
        "access_key_secret",
        "security_token",
    }
)


def is_secret_path(path: str) -> bool:
    """Whether the last key of a dotted path names a secret field."""
    return path.rsplit(".", 1)[-1] in SECRET_FIELDS


def mask_secret_fields(value: Any) -> Any:
    """A copy of ``value`` with every non-empty secret field replaced by ``MASK``."""
    if isinstance(value, dict):
        return {
            k: (MASK if k in SECRET_FIELDS and v not in ("", None) else mask_secret_fields(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secret_fields(v) for v in value]
    return value


def mask_value(path: str, value: Any) -> Any:
    """``value`` masked if ``path`` names a secret field, else with nested secrets masked."""
    if is_secret_path(path) and value not in ("", None):
        return MASK
    return mask_secret_fields(value)
