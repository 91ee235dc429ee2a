"""Unknown keys in a spec file are mistakes: ``Prioirty: 7`` names the nearest known key.

The service keeps every key an SDK client sends (reference §12 #51), so a misspelt key in a spec
would be accepted silently, the real key would keep its default, and the changed body would plan a
replace. In a spec file, written by hand and reviewed as code, an unknown key is therefore an
error. The known keys are the API schema's own rows (``api.rules``: the same tree the validator
walks), so a key the validator knows is never refused here, plus a job's provider-only keys
(``triggers``, ``on_failure``, ``wait_for``) at its top level. A deliberate extension key (an
SDK-only key the schema has no row for, say) is allowed by listing its dotted path in the stack's
``bcs-gitops:extensionKeys`` (shell-style wildcards: ``DAG.Tasks.*.Bootstrap``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from api.rules.cluster import CLUSTER
from api.rules.field import Field
from api.rules.job import JOB
from provider.properties import PROVIDER_ONLY

SCHEMAS: dict[str, Field] = {"jobs": JOB, "clusters": CLUSTER}
#: top-level keys of a spec that are the provider's, not the API's (``Job.from_spec`` takes them)
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {"jobs": PROVIDER_ONLY}


@dataclass(frozen=True)
class UnknownKey:
    """A key the schema has no row for, at ``path``, and the nearest known key (or "")."""

    path: str
    suggestion: str

    def message(self) -> str:
        hint = f"; did you mean `{self.suggestion}`?" if self.suggestion else ""
        return (f"unknown key{hint} (a deliberate extension key must be listed in the stack's "
                "bcs-gitops:extensionKeys)")


def nearest(key: str, known: Iterable[str]) -> str:
    """The known key ``key`` most likely meant: same letters in another case first, else difflib's
    closest match (ratio ≥ 0.6), else ""."""
    known = sorted(known)
    for candidate in known:
        if candidate.lower() == key.lower():
            return candidate
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return close[0] if close else ""


def unknown_keys(value: Any, schema: Field, path: str = "", also: Iterable[str] = ()) -> Iterator[UnknownKey]:
    """Every key of ``value`` the schema has no row for (``also``: more keys known at this level);
    values of the wrong type are left to the validator (it reports them), so this never fails on them."""
    if schema.kind == "object" and isinstance(value, dict):
        rows = {f.wire: f for f in schema.fields}
        more = set(also)
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in rows:
                yield from unknown_keys(item, rows[key], where)
            elif key not in more:
                yield UnknownKey(where, nearest(str(key), [*rows, *more]))
    elif schema.kind == "map" and isinstance(value, dict) and schema.value is not None:
        for key, item in value.items():
            yield from unknown_keys(item, schema.value, f"{path}.{key}" if path else str(key))
    elif schema.kind == "array" and isinstance(value, list) and schema.items is not None:
        for i, item in enumerate(value):
            yield from unknown_keys(item, schema.items, f"{path}.{i}")


def spec_unknown_keys(kind: str, body: dict[str, Any], allowed: Iterable[str] = ()) -> list[UnknownKey]:
    """Unknown keys of a job (``kind="jobs"``) or cluster spec, minus the allowed extension paths."""
    patterns = list(allowed)
    found = unknown_keys(body, SCHEMAS[kind], also=PROVIDER_KEYS.get(kind, ()))
    return [u for u in found if not any(fnmatchcase(u.path, p) for p in patterns)]
