"""Checking a Job's inputs: the API's rules on its API part, and the provider-only knobs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from provider.preview import has_unknown
from provider.properties import api_part

ON_FAILURE_POLICIES: tuple[str, ...] = ("keep", "restart", "replace")
DEFAULT_WAIT_SECONDS = 3600.0


def wait_timeout(inputs: Mapping[str, Any]) -> float | None:
    """Seconds to block create/update until Finished; ``None`` when the job is not waited for.

    ``wait_for`` may be ``True`` (one hour), a number of seconds, or ``{"timeout": seconds}``.
    """
    value = inputs.get("wait_for")
    if value in (None, False, {}, 0):
        return None
    if value is True:
        return DEFAULT_WAIT_SECONDS
    if isinstance(value, Mapping):
        value = value.get("timeout", DEFAULT_WAIT_SECONDS)
    return float(value)


def _at(doc: Any, path: str) -> Any:
    for seg in path.split(".") if path else ():
        if not isinstance(doc, Mapping) or seg not in doc:
            return None
        doc = doc[seg]
    return doc


def _policy_failures(inputs: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    policy = inputs.get("on_failure")
    if policy not in (None, *ON_FAILURE_POLICIES):
        yield "on_failure", f"InvalidOnFailure: on_failure must be one of {', '.join(ON_FAILURE_POLICIES)}"
    wait = inputs.get("wait_for")
    if isinstance(wait, Mapping):
        wait = wait.get("timeout", DEFAULT_WAIT_SECONDS)
    if wait is not None and not isinstance(wait, bool) and not (isinstance(wait, int | float) and wait >= 0):
        yield "wait_for", "InvalidWaitFor: wait_for must be true, a number of seconds, or {timeout: seconds}"


def spec_failures(spec: Mapping[str, Any], errors: Iterable[Any]) -> list[tuple[str, str]]:
    """``api`` check errors of ``spec`` as ``(property path, "Code: Message")``, leaving out those
    about values still unknown during preview: the engine checks again once they are known."""
    return [
        (err.path, f"{err.code}: {err.message}")
        for err in errors
        if not has_unknown(_at(spec, err.path) if err.path else None)
    ]


def input_failures(inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a Job's inputs, all at once (the API's rules, then the provider's policies)."""
    import api
    from provider.offered_types import offered_instance_types

    spec = api_part(inputs)
    offered = offered_instance_types()
    refused = api.job_instance_type_errors(spec, offered) if offered else ()
    return spec_failures(spec, [*api.check_job(spec), *refused]) + list(_policy_failures(inputs))
