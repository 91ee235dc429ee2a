"""Every state of the API and which actions and state changes each one allows, as tables.

Jobs, tasks and instances share the five run states (reference §5). The routes answer 409 for an
action the table forbids, the scheduler core ignores a stale one with the same table, and the
provider waits on the same terminal set, so "which states accept StopJob" is written only here.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

#: the API's State of a job, task or instance (named apart from the scheduler's RunState, which owns memory)
Phase = Literal["Waiting", "Running", "Finished", "Failed", "Stopped"]
ClusterState = Literal["Active", "Deleting", "Deleted", "Error"]
VMState = Literal["Pending", "Starting", "Running", "Deleting", "Deleted"]
Scope = Literal["Job", "Task", "Instance"]

#: the five run states in the API's order (the ``…Count`` fields and metrics use this order)
RUN_STATES: Final[tuple[Phase, ...]] = get_args(Phase)
#: states in which a job, task or instance still has work to do
ACTIVE_STATES: Final[frozenset[Phase]] = frozenset({"Waiting", "Running"})
#: states after which a job no longer changes on its own (the SDK's ``poll`` stops there)
TERMINAL_STATES: Final[frozenset[Phase]] = frozenset({"Finished", "Failed", "Stopped"})
#: terminal states in which the work was not done: a job's Message says why, StartJob re-runs them
UNSUCCESSFUL_STATES: Final[frozenset[Phase]] = frozenset({"Failed", "Stopped"})

JobAction = Literal["StopJob", "StartJob", "DeleteJob", "ChangePriority"]

#: the job states in which each action is accepted; any other state answers 409 (reference §7)
JOB_ACTIONS: Final[dict[JobAction, frozenset[Phase]]] = {
    "StopJob": ACTIVE_STATES,
    "StartJob": UNSUCCESSFUL_STATES,  # StartJob on Failed: reference §12 #15
    "DeleteJob": TERMINAL_STATES,
    "ChangePriority": frozenset({"Stopped"}),
}


def allows(action: JobAction, state: str) -> bool:
    """Whether a job in ``state`` accepts ``action`` (the one table above)."""
    return state in JOB_ACTIONS[action]


#: ``(from, to)`` -> the transition's name (the history's Cause when the caller gives none)
JOB_TRANSITIONS: Final[dict[tuple[Phase, Phase], str]] = {
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

TASK_TRANSITIONS: Final[dict[tuple[Phase, Phase], str]] = {
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

INSTANCE_TRANSITIONS: Final[dict[tuple[Phase, Phase], str]] = {
    ("Waiting", "Running"): "waiting_to_running",  # launched on a VM slot
    ("Waiting", "Stopped"): "waiting_to_stopped",
    ("Running", "Finished"): "running_to_finished",
    ("Running", "Failed"): "running_to_failed",  # retries exhausted
    ("Running", "Waiting"): "running_to_waiting",  # failed attempt, retry left
    ("Running", "Stopped"): "running_to_stopped",
    ("Stopped", "Waiting"): "stopped_to_waiting",  # StartJob re-queues non-Finished instances
    ("Failed", "Waiting"): "failed_to_waiting",
}

TRANSITIONS: Final[dict[Scope, dict[tuple[Phase, Phase], str]]] = {
    "Job": JOB_TRANSITIONS,
    "Task": TASK_TRANSITIONS,
    "Instance": INSTANCE_TRANSITIONS,
}
