"""Looking up a state change in the API's transition tables (``api.states``).

A pair missing from a table is a scheduler bug and raises, naming what was attempted.
"""

from __future__ import annotations

from api.states import TRANSITIONS, Scope


class IllegalTransition(RuntimeError):
    """A state change that no table allows: a scheduler bug, never a user error."""


def transition_name(scope: Scope, start: str, finish: str, where: str = "") -> str:
    """Name of the transition, or raise :class:`IllegalTransition` naming what was attempted."""
    try:
        return TRANSITIONS[scope][(start, finish)]  # type: ignore[index]
    except KeyError:
        raise IllegalTransition(f"{scope} {where}: {start} -> {finish} is not a transition") from None
