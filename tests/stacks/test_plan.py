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


def test_a_misspelt_key_is_an_error_naming_file_path_and_the_key_meant(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    path = repo / "stacks" / "specs" / "jobs" / "wordcount.yaml"
    path.write_text(path.read_text().replace("Priority: 1", "Prioirty: 7").replace(
        "CommandLine: python worker.py count", "commandline: python worker.py count"))
    result = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert result.code == 1, result.out
    assert ("- `stacks/specs/jobs/wordcount.yaml` at `Prioirty`: unknown key; did you mean `Priority`?"
            in result.out)
    assert ("`DAG.Tasks.count.Parameters.Command.commandline`: unknown key; did you mean `CommandLine`?"
            in result.out)
    # the program (preview) refuses it the same way
    preview = run_deploy(repo, "preview", "--stack", "dev")
    assert preview.code == 1
    assert "stacks/specs/jobs/wordcount.yaml: Prioirty: unknown key; did you mean `Priority`?" in preview.err
    assert "Traceback" not in preview.err
    # a deliberate extension key is listed in the stack config, and then planned like any key
    path.write_text(path.read_text().replace("commandline:", "CommandLine:"))
    _edit(repo / "stacks" / "Pulumi.dev.yaml",
          lambda d: d["config"].update({"bcs-gitops:extensionKeys": ["Prioirty"]}))
    allowed = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert allowed.code == 2 and "unknown key" not in allowed.out, allowed.out
    assert "`Prioirty`" in allowed.out


def test_independent_problems_are_listed_together(tmp_path: Path) -> None:
    """Unknown key, unknown variable, a type error in a task and a bad Dependencies entry at once."""
    repo = _repo(tmp_path)

    def broken(d: dict) -> None:
        d["DAG"]["Dependencies"] = {"split": ["cuont"]}
        d["DAG"]["Tasks"]["split"]["InstanceCount"] = "one"
        d["DAG"]["Tasks"]["count"]["Timout"] = 5
        d["Description"] = "${nosuchvar}"

    _edit(repo / "stacks" / "specs" / "jobs" / "wordcount.yaml", broken)
    result = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert result.code == 1
    for where in ("`DAG.Dependencies.split.0`: InvalidDependencies.split.value",
                  "`DAG.Tasks.split.InstanceCount`: InvalidInstanceCount",
                  "`DAG.Tasks.count.Timout`: unknown key; did you mean `Timeout`?",
                  "`Description`: unknown variable ${nosuchvar}"):
        assert where in result.out, result.out


def test_a_yaml_syntax_error_shows_file_line_column_and_the_line(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    path = repo / "stacks" / "specs" / "jobs" / "testJob.yaml"
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("Priority:"))
    lines[number] = "Priority: 1: 2"
    path.write_text("\n".join(lines) + "\n")
    result = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert result.code == 1
    expected = (f"- `stacks/specs/jobs/testJob.yaml:{number + 1}:12`: "
                "not valid YAML: mapping values are not allowed here: `Priority: 1: 2`")
    assert expected in result.out, result.out
    preview = run_deploy(repo, "preview", "--stack", "dev")
    assert f"stacks/specs/jobs/testJob.yaml:{number + 1}:12: not valid YAML" in preview.err


def test_the_footer_says_what_destructive_changes_do(tmp_path: Path) -> None:
    """A pure release promises no re-submission; a replace says the job runs again."""
    repo = _repo(tmp_path)
    _edit(repo / "stacks" / "Pulumi.dev.yaml", lambda d: d["config"].update({"bcs-gitops:jobs": ["testJob"]}))
    release = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert release.code == 2 and "#### Job `wordcount`: **release**" in release.out
    assert "**This change releases resources**" in release.out
    assert "Nothing is submitted again." in release.out
    assert "replaces" not in release.out and "submitted again;" not in release.out
    _edit(repo / "stacks" / "specs" / "jobs" / "testJob.yaml", lambda d: d.update(Name="renamed"))
    both = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert "**This change replaces resources**" in both.out
    assert "**This change releases resources**" in both.out
