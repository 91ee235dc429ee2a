"""``bcs-deploy plan``: a temporary git repository with two commits, the real CLI, the real planner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from .conftest import REPO, run_deploy


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "gitops"
    repo.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", repo / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", repo / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "base")
    return repo


def _edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_no_change_is_exit_0(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = run_deploy(repo, "plan", "--stack", "cn-hangzhou", "--base", "HEAD")
    assert result.code == 0, result.err
    assert "No changes." in result.out


def test_priority_update_and_instance_type_replace(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    jobs = repo / "stacks" / "specs" / "jobs"
    _edit(jobs / "wordcount.yaml", lambda d: d.update(Priority=7))
    result = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert result.code == 0, result.err
    assert "#### Job `wordcount`: update in place" in result.out
    assert "`Priority`: `1` → `7`" in result.out

    def bigger(d: dict) -> None:
        d["DAG"]["Tasks"]["taskA"]["AutoCluster"]["InstanceType"] = "bcs.a2.xlarge"
        d["DAG"]["Tasks"]["taskA"]["Mounts"] = {"OSS": {"AccessKeySecret": "s3cr3t-value"}}

    _edit(jobs / "testJob.yaml", bigger)
    (jobs / "wordcount.yaml").unlink()
    _edit(repo / "stacks" / "Pulumi.dev.yaml", lambda d: d["config"].update({"bcs-gitops:jobs": ["testJob"]}))
    result = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert result.code == 2, result.out + result.err
    assert "#### Job `testJob`: **replace**" in result.out
    assert "DAG.Tasks.taskA.AutoCluster.InstanceType" in result.out
    assert "#### Job `wordcount`: **release**" in result.out
    assert "s3cr3t-value" not in result.out


def test_invalid_spec_names_file_and_path(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    path = repo / "stacks" / "specs" / "jobs" / "testJob.yaml"
    _edit(path, lambda d: d["DAG"]["Tasks"]["taskA"].update(InstanceCount=0))
    result = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert result.code == 1
    assert "`stacks/specs/jobs/testJob.yaml` at `DAG.Tasks.taskA.InstanceCount`" in result.out
    # the program reports the same file and path, without a traceback
    preview = run_deploy(repo, "preview", "--stack", "dev")
    assert preview.code == 1
    assert "stacks/specs/jobs/testJob.yaml: DAG.Tasks.taskA.InstanceCount" in preview.err
    assert "Traceback" not in preview.err


def test_unknown_base_revision(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = run_deploy(repo, "plan", "--stack", "dev", "--base", "no-such-rev")
    assert result.code == 1
    assert "unknown git revision" in result.err
