"""The keeper's count of the process groups its runner host started and ended
(``service/executors/keeper.py``); the keeper itself is exercised end to end by
``test_recovery.py::test_a_crash_of_bcsd_with_its_runner_host_leaves_no_command_running``."""

from __future__ import annotations

from service.executors.keeper import held_groups


def test_a_group_is_held_until_it_ended_as_often_as_it_started() -> None:
    # a VM sandbox's group is held once per instance on it
    lines = [b"+101\n", b"+202\n", b"+202\n", b"-101\n", b"-202\n"]
    assert held_groups(lines) == [202]
    assert held_groups([*lines, b"-202\n"]) == []


def test_lines_that_name_no_group_are_ignored() -> None:
    # never the keeper's own group (0), init (1), a negative or a garbled number
    lines = [b"+0\n", b"+1\n", b"+-5\n", b"+12x\n", b"*7\n", b"\n", b"+", b"+303"]
    assert held_groups(lines) == [303]
