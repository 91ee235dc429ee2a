"""An invalid spec, and a ``pulumi up`` killed with SIGKILL mid-create, through the real engine.

The kill lands after bcsd received the CreateJob and before the engine recorded its result, so
the checkpoint keeps a pending create and the file backend's lock. The recovery is the one
provider/README.md ("Interrupted deployments") tells users: ``pulumi cancel``, ``pulumi refresh
--clear-pending-creates``, ``pulumi up``; the IdempotentToken (stack + URN + spec) makes the
re-sent CreateJob answer with the job bcsd already runs, so there is never a duplicate.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

from tests.support.client import SignedClient
from tests.support.pulumi_cli import descendants, start
from tests.support.waiting import until

from .conftest import JOB_TYPE, STACK, EngineProject, job_spec, jobs_named, task

pytestmark = [pytest.mark.pulumi_cli, pytest.mark.slow, pytest.mark.incremental]



SLOW = "python3 -c 'import time; time.sleep(5)'"  # up waits for it (wait_for): time to kill


def test_01_invalid_spec_fails_naming_file_and_path(
    project: EngineProject, shared_client: SignedClient
) -> None:
    project.spec("jobs", "slow", job_spec("slow", task(SLOW), wait_for=60))
    bad = task("python3 -c pass")
    bad["InstanceCount"] = -1
    project.spec("jobs", "x", job_spec("x", bad))
    for command in ("preview", "up"):
        args = ("--yes", "--skip-preview") if command == "up" else ()
        run = project.cli(command, *args, check=False)
        text = run.out + run.err
        assert run.code != 0, text
        assert "stacks/specs/jobs/x.yaml: DAG.Tasks.main.InstanceCount" in text, text
        assert shared_client.get("/jobs").json()["Items"] == [], f"{command} created a job"
    project.spec("jobs", "x", None)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone: it has exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_02_up_killed_mid_create_then_recovered_without_duplicate(
    project: EngineProject, shared_client: SignedClient, tmp_path: Path
) -> None:
    cli = start(project, "up", "--yes", "--skip-preview", "--stack", STACK, output=tmp_path / "up.out")
    try:
        submitted = until(lambda: jobs_named(shared_client, "slow"), "bcsd to receive the CreateJob")
        assert cli.poll() is None, "up ended before it could be killed:\n" + (tmp_path / "up.out").read_text()
    finally:
        plugins = descendants(cli.pid)  # language host, its program, provider host
        os.kill(cli.pid, signal.SIGKILL)  # the CLI alone, as `kill -9` of a user's `pulumi up`
        cli.wait(timeout=30)
    assert len(plugins) >= 3, plugins  # the test sees what it checks
    try:
        # Our plugins notice their CLI is gone and end themselves (and the program with them).
        until(lambda: not [pid for pid in plugins if _alive(pid)], "the CLI's plugins to exit by themselves")
    finally:
        for pid in plugins:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    job_id = submitted[0]["Id"]

    deployment = project.cli("stack", "export").out
    assert '"type": "creating"' in deployment and f"{JOB_TYPE}::slow" in deployment  # pending create
    locked = project.cli("up", "--yes", "--skip-preview", check=False)
    assert locked.code != 0 and "pulumi cancel" in locked.err, locked.err

    # the documented recovery, step by step
    project.cli("cancel", "--yes")
    project.cli("refresh", "--clear-pending-creates", "--yes", "--skip-preview")
    assert '"pending_operations"' not in project.cli("stack", "export").out
    project.cli("up", "--yes", "--skip-preview")

    assert project.outputs()["jobs"]["slow"] == {"id": job_id, "state": "Finished"}
    assert [j["Id"] for j in jobs_named(shared_client, "slow")] == [job_id], "the job was submitted twice"
    assert shared_client.job(job_id)["State"] == "Finished"
    run = project.cli("preview", "--expect-no-changes")
    assert "warning" not in run.out.lower(), run.out  # no pending operation is left to warn about


def test_03_destroy(project: EngineProject, shared_client: SignedClient) -> None:
    project.cli("destroy", "--yes", "--skip-preview")
    assert project.state() == {}
    assert shared_client.get("/jobs").json()["Items"] == []
