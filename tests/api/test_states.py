"""The state tables of ``api.states``: consistent with each other, and obeyed by the scheduler core.

The routes answer 409 and the core ignores a stale action by reading the same ``JOB_ACTIONS``
table, so a state the table lets through must also be one the core acts on, and the move the
action makes must be a transition the tables allow.
"""

from __future__ import annotations

import pytest

from api.states import (
    JOB_ACTIONS,
    JOB_TRANSITIONS,
    RUN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Phase,
    allows,
)
from service.scheduler import core

#: the state each action moves an allowed job to (DeleteJob and ChangePriority move none)
TARGET: dict[str, Phase] = {"StopJob": "Stopped", "StartJob": "Waiting"}


def test_every_table_names_only_run_states() -> None:
    named = {s for table in TRANSITIONS.values() for pair in table for s in pair}
    named |= {s for states in JOB_ACTIONS.values() for s in states}
    assert named <= set(RUN_STATES)


@pytest.mark.parametrize(("action", "target"), TARGET.items())
def test_an_allowed_action_is_a_transition(action: str, target: Phase) -> None:
    for state in JOB_ACTIONS[action]:  # type: ignore[index]
        assert (state, target) in JOB_TRANSITIONS, (action, state)


def test_nothing_leaves_a_terminal_state_on_its_own() -> None:
    """Only StartJob (to Waiting) moves a job out of a terminal state."""
    assert {b for (a, b) in JOB_TRANSITIONS if a in TERMINAL_STATES} == {"Waiting"}


def _view(state: Phase) -> core.JobView:
    inst = core.InstanceView(0, state="Stopped" if state in ("Stopped", "Failed") else state)
    task = core.TaskView("a", (), 0, [inst], state=inst.state)
    return core.JobView(
        id="job-1", state=state, fail_on_instance_fail=True, auto_release=False, tasks={"a": task}
    )


@pytest.mark.parametrize("state", RUN_STATES)
@pytest.mark.parametrize(
    ("action", "event"), [("StopJob", core.StopRequested()), ("StartJob", core.StartRequested())]
)
def test_the_core_acts_exactly_where_the_table_allows(
    state: Phase, action: str, event: core.Event
) -> None:
    out = core.step(_view(state), event, 1.0)
    moved = [i.to for i in out if isinstance(i, core.SetJobState)]
    assert moved == ([TARGET[action]] if allows(action, state) else [])  # type: ignore[arg-type]
