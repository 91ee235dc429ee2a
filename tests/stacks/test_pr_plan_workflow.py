"""``docs/ci/pr-plan.yml`` as GitHub would run it: its plan step's script, run by bash against a real
repository with the real ``bcs-deploy``, posts the errors of invalid specs (and only then fails the
check), and its comments say what it does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import PASSPHRASE, REPO
from .test_plan import _edit, _repo

WORKFLOW = REPO / "docs" / "ci" / "pr-plan.yml"


def _steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["plan"]["steps"]


def _run_plan_step(repo: Path, tmp_path: Path) -> tuple[int, dict[str, str], str]:
    """The plan step's script with GitHub's expressions filled in; (exit, step outputs, plan.md)."""
    script = next(s for s in _steps() if s.get("id") == "plan")["run"]
    script = script.replace("${{ matrix.stack }}", "dev").replace("${{ github.base_ref }}", "main")
    (repo / ".venv").mkdir(exist_ok=True)
    (repo / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    outputs, summary = tmp_path / "github_output", tmp_path / "summary"
    env = dict(os.environ, GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(summary),
               PULUMI_CONFIG_PASSPHRASE=PASSPHRASE)
    subprocess.run(["git", "-C", str(repo), "update-ref", "refs/remotes/origin/main", "HEAD"], check=True)
    done = subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return done.returncode, values, (repo / "plan.md").read_text()


def test_invalid_specs_are_posted_then_the_check_fails(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _edit(repo / "stacks" / "specs" / "jobs" / "testJob.yaml", lambda d: d.update(Prioirty=3))
    code, outputs, plan = _run_plan_step(repo, tmp_path)
    assert code == 0  # the step itself succeeds, so the comment step after it runs
    assert outputs["exit"] == "1"
    assert "`stacks/specs/jobs/testJob.yaml` at `Prioirty`: unknown key; did you mean `Priority`?" in plan
    steps = _steps()
    plan_at = next(i for i, s in enumerate(steps) if s.get("id") == "plan")
    comment = steps[plan_at + 1]
    assert "createComment" in comment["with"]["script"] and "if" not in comment
    last = steps[-1]
    assert last["if"] == "steps.plan.outputs.exit == '1'" and "exit 1" in last["run"]


def test_a_destructive_plan_is_labelled_and_the_comments_tell_the_truth(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _edit(repo / "stacks" / "Pulumi.dev.yaml", lambda d: d["config"].update({"bcs-gitops:jobs": ["testJob"]}))
    code, outputs, plan = _run_plan_step(repo, tmp_path)
    assert code == 0 and outputs["exit"] == "2" and "**release**" in plan
    label = next(s for s in _steps() if "addLabels" in str(s.get("with", {})))
    assert label["if"] == "steps.plan.outputs.exit == '2'"
    text = WORKFLOW.read_text()
    assert "|| true" not in text  # it once told readers to remove an `|| true` it did not have
