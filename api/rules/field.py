"""The vocabulary of the wire rules: one ``Field`` row describes one key of a request body.

A schema is a tree of ``Field`` rows (objects hold ``fields``, maps hold a ``key`` rule and a
``value`` rule, arrays hold an ``items`` rule). The walker in ``api.rules.walk`` reads the rows
in order, which is the API's order of checks, and yields catalogue errors. Defaults and which
lists are order-free belong to the models (``api.models``), which the walk never sees: a
test proves both name the same keys, kinds and required-ness. Rules that span several keys
(cycles, which of ClusterId/AutoCluster takes effect) are ``checks`` attached to an object row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from api.errors import ApiError

Kind = Literal["string", "integer", "boolean", "number", "object", "map", "array"]
Form = Literal["oss", "oss_dir", "oss_file", "local", "local_win"]

#: what the type template prints for each kind (reference §9.2 T1)
TYPE_NAMES: dict[str, str] = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "number": "number",
    "object": "object",
    "map": "object",
    "array": "array",
}

#: a cross-key rule on an object: (object dict, its param, its path) -> errors
Check = Callable[[dict[str, Any], str, str], Iterator[ApiError]]


@dataclass(frozen=True, slots=True)
class CheckAfter:
    """A cross-key rule that needs only the keys ``needs`` of its object to have passed.

    A plain ``Check`` runs only when every key of its object passed, so it never reports a
    consequence of an earlier error. Some rules depend on much less: whether Dependencies name
    declared tasks needs the task *names*, not valid tasks. Such a rule says which keys it needs,
    and reports together with errors in the others (the provider's ``check`` lists every problem
    at once; the service's first error is unchanged, as checks come after their object's keys).
    """

    check: Check
    needs: tuple[str, ...]


# Names (job, cluster, task, group names and cluster ids): letters, digits, '_' and '-', not
# starting with a digit. The seed's message prints [a-zA-Z0-9-] but its meaning column (and the
# DOC terms page) include '_'; we accept '_' and keep the seed's message (reference §12 #1).
NAME_RE = re.compile(r"^[A-Za-z_-][A-Za-z0-9_-]*$")
_OSS_RE = re.compile(r"^oss://[^/]+(/.*)?$")
_WIN_ABS_RE = re.compile(r"^[A-Za-z]:[\\/]")
_WIN_DRIVE_RE = re.compile(r"^[A-Za-z]:([\\/].*)?$")


def _is_oss(v: str) -> bool:
    return _OSS_RE.match(v) is not None


#: path form -> predicate; the message is the catalogue rule named in FORM_RULES
FORMS: dict[str, Callable[[str], bool]] = {
    "oss": _is_oss,
    "oss_dir": lambda v: _is_oss(v) and v.endswith("/"),
    "oss_file": lambda v: _is_oss(v) and not v.endswith("/"),
    "local": lambda v: v.startswith("/") or _WIN_ABS_RE.match(v) is not None,
    "local_win": lambda v: v.startswith("/") or _WIN_DRIVE_RE.match(v) is not None,
}
FORM_RULES: dict[str, str] = {
    "oss": "oss_path",
    "oss_dir": "oss_path",
    "oss_file": "oss_path",
    "local": "local_path",
    "local_win": "local_path_win",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One key of a body and every rule the API applies to its value, in check order.

    ``param`` is the name printed in codes and messages (``ClusterId`` in ``InvalidClusterId``);
    by default it is the wire name, or ``<parent param>.<wire>`` under a ``prefix`` object
    (``AutoCluster.InstanceType``) for objects the seed does not list field by field.
    """

    wire: str
    kind: Kind
    param: str | None = None
    required: bool = False
    #: "" counts as absent (ClusterId beside an AutoCluster, reference §12 #10)
    empty_is_absent: bool = False
    #: catalogue rule for a wrong JSON type ("generic" where the seed has no type row)
    type_rule: str = "type"
    choices: tuple[Any, ...] | None = None
    length: tuple[int, int] | None = None
    charset: str | None = None
    form: Form | None = None
    #: "" passes the path-form rule (PackagePath "" = no package, reference §12 #9)
    allow_empty: bool = False
    range: tuple[int | float, int | float] | None = None
    decimals: int | None = None
    size: tuple[int, int] | None = None
    fields: tuple[Field, ...] = ()
    prefix: bool = False
    key: Field | None = None
    value: Field | None = None
    items: Field | None = None
    checks: tuple[Check | CheckAfter, ...] = ()


def child_param(parent: Field, parent_param: str, child: Field) -> str:
    """The name ``child`` is reported under inside ``parent``."""
    if child.param is not None:
        return child.param
    if parent.prefix and parent_param:
        return f"{parent_param}.{child.wire}"
    return child.wire
