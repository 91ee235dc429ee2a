"""A figure is printed only for work that succeeded (issue 16, item 4).

A benchmark that times a job which in fact Failed, or creates that were refused, would print a
fast and meaningless number. Every bench raises ``FailedRun`` as soon as the work it timed is
not what it claims, and runs its ``main`` through ``refuse_failed_runs``: the run then ends with
one line saying why and a non-zero exit, and the figure is never printed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

#: exit status of a bench that refused to print a figure (distinct from a crash's 1)
REFUSED = 3


class FailedRun(RuntimeError):
    """The work a figure timed did not succeed: the figure is refused."""


def require(ok: bool, why: str) -> None:
    """Raise ``FailedRun(why)`` unless ``ok``."""
    if not ok:
        raise FailedRun(why)


def require_finished(body: dict[str, Any], what: str = "job") -> dict[str, Any]:
    """A job body as GetJob answers it, checked to have ended ``Finished``."""
    require(
        body.get("State") == "Finished",
        f"{what} {body.get('Id', '?')} ended {body.get('State')}: {body.get('Message', '')}",
    )
    return body


def require_statuses(statuses: Iterable[int], expected: int, what: str) -> int:
    """Every answer had status ``expected``; returns how many there were."""
    seen = list(statuses)
    wrong = [s for s in seen if s != expected]
    require(not wrong, f"{len(wrong)} of {len(seen)} {what} answered {sorted(set(wrong))}, not {expected}")
    return len(seen)


def refuse_failed_runs(main: Callable[[], int | None]) -> int:
    """Run a bench's ``main``; a ``FailedRun`` becomes one ``REFUSED`` line and exit ``REFUSED``."""
    try:
        return main() or 0
    except FailedRun as failed:
        print(f"REFUSED: no figure printed, the timed work failed: {failed}", flush=True)
        return REFUSED


if __name__ == "__main__":
    sys.exit("bench/verdict.py is a module, run a bench_*.py")
