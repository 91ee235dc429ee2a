"""Which state changes exist, as tables. A pair missing from a table is a bug and raises.

Keys are ``(from, to)``; values name the transition (what ends up in the history's Cause
when the caller gives none). Job, task and instance states are the API's five states.
"""

from __future__ import annotations

from typing import Literal

State = Literal["Waiting", "Running", "Finished", "Failed", "Stopped"]
Scope = Literal["Job", "Task", "Instance"]
TERMINAL: frozenset[str] = frozenset({"Finished", "Failed", "Stopped"})

JOB_TRANSITIONS: dict[tuple[str, str], str] = {
    ("Waiting", "Running"): "waiting_to_running",  # first instance started
    ("Waiting", "Stopped"): "waiting_to_stopped",  # StopJob
    ("Waiting", "Finished"): "waiting_to_finished",  # nothing to run (every instance tolerated-failed)
    ("Waiting", "Failed"): "waiting_to_failed",
    ("Running", "Finished"): "running_to_finished",
    ("Running", "Failed"): "running_to_failed",
    ("Running", "Stopped"): "running_to_stopped",
    ("Stopped", "Waiting"): "stopped_to_waiting",  # StartJob
    ("Failed", "Waiting"): "failed_to_waiting",  # StartJob on Failed (reference §12 #15)
}

TASK_TRANSITIONS: dict[tuple[str, str], str] = {
    ("Waiting", "Running"): "waiting_to_running",
    ("Waiting", "Stopped"): "waiting_to_stopped",  # job stopped or failed before it ran (§12 #39)
    ("Waiting", "Finished"): "waiting_to_finished",
    ("Waiting", "Failed"): "waiting_to_failed",
    ("Running", "Finished"): "running_to_finished",
    ("Running", "Failed"): "running_to_failed",
    ("Running", "Stopped"): "running_to_stopped",
    ("Running", "Waiting"): "running_to_waiting",  # every running instance went back to retry
    ("Stopped", "Waiting"): "stopped_to_waiting",
    ("Failed", "Waiting"): "failed_to_waiting",
}

INSTANCE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("Waiting", "Running"): "waiting_to_running",  # launched on a VM slot
    ("Waiting", "Stopped"): "waiting_to_stopped",
    ("Running", "Finished"): "running_to_finished",
    ("Running", "Failed"): "running_to_failed",  # retries exhausted
    ("Running", "Waiting"): "running_to_waiting",  # failed attempt, retry left
    ("Running", "Stopped"): "running_to_stopped",
    ("Stopped", "Waiting"): "stopped_to_waiting",  # StartJob re-queues non-Finished instances
    ("Failed", "Waiting"): "failed_to_waiting",
}

TABLES: dict[str, dict[tuple[str, str], str]] = {
    "Job": JOB_TRANSITIONS,
    "Task": TASK_TRANSITIONS,
    "Instance": INSTANCE_TRANSITIONS,
}


class IllegalTransition(RuntimeError):
    """A state change that no table allows: a scheduler bug, never a user error."""


def transition_name(scope: str, start: str, finish: str, where: str = "") -> str:
    """Name of the transition, or raise :class:`IllegalTransition` naming what was attempted."""
    try:
        return TABLES[scope][(start, finish)]
    except KeyError:
        raise IllegalTransition(f"{scope} {where}: {start} -> {finish} is not a transition") from None
