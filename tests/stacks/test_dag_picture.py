"""The plan's DAG diagrams, read back by Mermaid's own parser: what GitHub would draw.

The test reads nodes, edges and classes from the parser's graph, not from our text, so a diagram
that does not parse, or parses into another graph than the DAG, fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from provider.gitops.dag_picture import job_mermaid
from tests.support.mermaid import parse

from .conftest import run_deploy
from .test_plan import _repo


def _graph(parsed: dict[str, Any]) -> tuple[dict[str, tuple[str, list[str]]], set[tuple[str, str, str, str]]]:
    """``{task name: (label text, classes)}`` and ``{(from task, to task, stroke, label)}``."""
    assert parsed["ok"], parsed
    names = {v["id"]: v["text"].split("<b>")[1].split("</b>")[0] for v in parsed["vertices"]}
    nodes = {names[v["id"]]: (v["text"], v["classes"]) for v in parsed["vertices"]}
    edges = {(names[e["start"]], names[e["end"]], e["stroke"], e["text"]) for e in parsed["edges"]}
    return nodes, edges


def _task(instance_type: str, command: str = "python worker.py") -> dict[str, Any]:
    return {"AutoCluster": {"ImageId": "img-ubuntu", "InstanceType": instance_type}, "InstanceCount": 1,
            "Parameters": {"Command": {"CommandLine": command}}}


def test_a_changed_dag_is_drawn_with_added_removed_and_changed_tasks_marked(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    path = repo / "stacks" / "specs" / "jobs" / "wordcount.yaml"
    doc = yaml.safe_load(path.read_text())
    tasks = doc["DAG"]["Tasks"]
    tasks["merge-all"] = _task("bcs.a2.xlarge", "python worker.py merge")
    tasks["count"]["AutoCluster"]["InstanceType"] = "bcs.a2.xlarge"
    del tasks["split"]
    tasks["tally"] = {**_task("ecs.sn1.medium"), "ClusterId": "cls-000000000000000000000a"}
    doc["DAG"]["Dependencies"] = {"count": ["merge-all"], "tally": ["merge-all"]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    markdown = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD")
    assert markdown.code == 2, markdown.err
    block = markdown.out.split("```mermaid\n", 1)[1].split("```", 1)[0]
    alone = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD", "--format", "mermaid")
    assert alone.code == 2, alone.err
    assert alone.out.startswith("%% Job wordcount: replace\n")
    from_comment, from_cli = parse([block, alone.out])
    assert from_comment == from_cli
    nodes, edges = _graph(from_cli)
    assert set(nodes) == {"count", "merge-all", "split", "tally"}
    assert nodes["merge-all"][1] == ["added"] and "bcs.a2.xlarge" in nodes["merge-all"][0]
    assert nodes["split"][1] == ["removed"] and "bcs.a2.large" in nodes["split"][0]
    assert nodes["count"][1] == ["changed"]
    assert "bcs.a2.large → bcs.a2.xlarge" in nodes["count"][0]
    assert "AutoCluster.InstanceType" in nodes["count"][0]
    assert "cluster cls-000000000000000000000a" in nodes["tally"][0]  # a ClusterId wins over the AutoCluster
    assert edges == {
        ("count", "merge-all", "normal", "added"),
        ("tally", "merge-all", "normal", "added"),
        ("split", "count", "dotted", "removed"),
    }
    assert set(from_cli["classes"]) == {"added", "removed", "changed"}


def test_every_job_of_the_stacks_draws_and_parses() -> None:
    """Created (all added), unchanged and released pictures of every job in the repository."""
    jobs = Path(__file__).resolve().parents[2] / "stacks" / "specs" / "jobs"
    bodies = [yaml.safe_load(p.read_text()) for p in sorted(jobs.glob("*.yaml"))]
    diagrams = [job_mermaid(None, b) for b in bodies] + [job_mermaid(b, b) for b in bodies]
    diagrams += [job_mermaid(b, None) for b in bodies]
    results = parse(diagrams)
    assert all(r["ok"] for r in results), results
    created = _graph(results[[b["Name"] for b in bodies].index("wordcount")])
    assert created[1] == {("split", "count", "normal", "")}
    assert all(classes == ["added"] for _text, classes in created[0].values())


def test_one_job_alone_and_a_broken_diagram_is_refused_by_the_parser(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    one = run_deploy(repo, "plan", "--stack", "dev", "--base", "HEAD", "--format", "mermaid",
                     "--job", "wordcount")
    assert one.code == 0, one.err
    (parsed,) = parse([one.out])
    nodes, edges = _graph(parsed)
    assert set(nodes) == {"split", "count"} and all(c == [] for _t, c in nodes.values())
    assert edges == {("split", "count", "normal", "")}
    # the parser is a real check: a truncated diagram does not parse
    (broken,) = parse([one.out.rsplit("\n", 3)[0] + "\n    t0 -->"])
    assert broken["ok"] is False and "Parse error" in broken["error"]
