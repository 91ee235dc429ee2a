"""The offline driver end to end: real CLI, real program subprocess, real ``python -m pulumi.dynamic``.

The toy provider (``toy/toy_provider.py``) keeps each resource as a file and logs every call, so
the order of provider calls the driver makes is observable.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import yaml

from provider.driver.backend import StackPaths
from provider.driver.locks import locked

from .conftest import ToyProject


def test_preview_up_then_noop(toy: ToyProject) -> None:
    preview = toy.deploy("preview", "--stack", "dev")
    assert preview.code == 0, preview.err
    assert "+ a (pulumi-python:dynamic/toy:Toy) create" in preview.out
    assert "parent_id: output<unknown>" in preview.out
    assert toy.ops_log() == []  # preview changes nothing
    assert not toy.checkpoint.exists()

    up = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    assert up.code == 0, up.err
    assert up.ops() == {"a": "create", "b": "create"}
    doc = up.json()
    assert doc["ok"] is True and doc["outputs"]["greeting"] == "hello"
    a_id = doc["outputs"]["a_id"]
    assert [line.split()[:2] for line in toy.ops_log()] == [["create", "a"], ["create", "b"]]
    # b received a's real id: the dependency's output flowed back into the program
    b_file = json.loads((toy.data / f"{doc['outputs']['b_id']}.json").read_text())
    assert b_file["parent_id"] == a_id
    step = doc["steps"][0]
    assert set(step) >= {"name", "type", "operation", "paths", "changes"}
    assert "kind" in step["paths"]

    again = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    assert again.code == 0, again.err
    assert again.ops() == {"a": "same", "b": "same"}
    assert len(toy.ops_log()) == 2


def test_update_and_replace_orders(toy: ToyProject) -> None:
    assert toy.deploy("up", "--stack", "dev", "--yes").code == 0
    toy.items({"a": {"kind": "small", "size": 5}, "b": {"kind": "large", "size": 2, "parent": "a"}})
    preview = toy.deploy("preview", "--stack", "dev")
    assert "~ a (pulumi-python:dynamic/toy:Toy) update" in preview.out
    assert "~ size: 1 => 5" in preview.out
    assert "+- b (pulumi-python:dynamic/toy:Toy) replace [create-before-delete]" in preview.out
    assert "replace: kind changed" in preview.out

    up = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    assert up.code == 0, up.err
    assert up.ops() == {"a": "update", "b": "replace"}
    log = [line.split()[:2] for line in toy.ops_log()[2:]]
    # create-before-delete: the replacement exists before the old one goes, at the end of the run
    assert log == [["update", "a"], ["create", "b"], ["delete", "b"]]

    b = {"kind": "tiny", "size": 2, "parent": "a", "dbr": True}
    toy.items({"a": {"kind": "small", "size": 5}, "b": b})
    up = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    assert up.code == 0, up.err
    assert up.json()["steps"][1]["deleteBeforeReplace"] is True
    assert [line.split()[:2] for line in toy.ops_log()[5:]] == [["delete", "b"], ["create", "b"]]


def test_removed_resources_are_deleted_dependents_first(toy: ToyProject) -> None:
    assert toy.deploy("up", "--stack", "dev", "--yes").code == 0
    toy.items({})
    up = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    assert up.code == 0, up.err
    assert [s["name"] for s in up.json()["steps"]] == ["b", "a"]
    assert [line.split()[:2] for line in toy.ops_log()[2:]] == [["delete", "b"], ["delete", "a"]]
    assert [r["type"] for r in toy.resources()] == ["pulumi:pulumi:Stack"]


def test_refresh_drops_what_is_gone_and_up_recreates_it(toy: ToyProject) -> None:
    up = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    a_id = up.json()["outputs"]["a_id"]
    (toy.data / f"{a_id}.json").unlink()
    refresh = toy.deploy("refresh", "--stack", "dev", "--yes", "--json")
    assert refresh.code == 0, refresh.err
    assert refresh.ops() == {"a": "delete", "b": "same"}
    again = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    assert again.ops()["a"] == "create"


def test_destroy_deletes_everything(toy: ToyProject) -> None:
    assert toy.deploy("up", "--stack", "dev", "--yes").code == 0
    destroy = toy.deploy("destroy", "--stack", "dev", "--yes", "--json")
    assert destroy.code == 0, destroy.err
    steps = [(s["name"], s["operation"]) for s in destroy.json()["steps"]]
    assert steps == [("b", "delete"), ("a", "delete")]
    assert sorted(p.name for p in toy.data.iterdir()) == ["ops.log"]


def test_up_without_yes_off_a_terminal_refuses(toy: ToyProject) -> None:
    result = toy.deploy("up", "--stack", "dev")
    assert result.code == 1
    assert "--yes" in result.out
    assert toy.ops_log() == []


def test_lock_held_by_another_run(toy: ToyProject) -> None:
    paths = StackPaths(toy.root / ".bcs" / "pulumi", "toy", "dev")
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locked(paths, "up"):
            entered.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert entered.wait(10)
        result = toy.deploy("up", "--stack", "dev", "--yes")
    finally:
        release.set()
        holder.join()
    assert result.code == 4
    assert f"locked by pid {os.getpid()}" in result.err
    assert "Traceback" not in result.err
    assert toy.deploy("preview", "--stack", "dev").code == 0  # released again


def test_secrets_are_encrypted_in_state(toy: ToyProject) -> None:
    plaintext = "hunter2-plaintext-value"
    toy.items({"a": {"kind": "small", "size": 1, "secret": plaintext}})
    up = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    assert up.code == 0, up.err
    assert plaintext not in toy.state_text()
    assert plaintext not in up.out and plaintext not in up.err
    assert '"ciphertext"' in toy.state_text()
    # the provider got the real value
    a_id = up.json()["outputs"]["a_id"]
    assert json.loads((toy.data / f"{a_id}.json").read_text())["secret"] == plaintext
    assert toy.deploy("up", "--stack", "dev", "--yes", "--json").ops() == {"a": "same"}
    wrong = toy.deploy("up", "--stack", "dev", "--yes", env={"PULUMI_CONFIG_PASSPHRASE": "wrong"})
    assert wrong.code == 1
    assert "passphrase" in wrong.err and "Traceback" not in wrong.err


def test_provider_error_is_one_clear_line(toy: ToyProject) -> None:
    # q depends on a, so a's create has certainly finished (and been saved) before q fails;
    # unrelated resources register in no fixed order
    toy.items({"a": {"kind": "small", "size": 1}, "q": {"kind": "x", "fail": "create", "parent": "a"}})
    result = toy.deploy("up", "--stack", "dev", "--yes")
    assert result.code == 1
    assert "error: q (create): QuotaExhausted.MaxJobCount: The job count quota is exhausted." in result.err
    assert "Traceback" not in result.err + result.out
    # the summary says what was done and what failed; it never reads like a success
    assert "Resources: 1 created, 1 failed (q create)" in result.out, result.out
    # the step that succeeded before the failure is in the state
    assert "::a" in toy.state_text()


def test_check_failures_are_reported(toy: ToyProject) -> None:
    toy.items({"a": {"kind": "small", "size": -1}})
    result = toy.deploy("preview", "--stack", "dev")
    assert result.code == 1
    assert "a (create): invalid inputs: size: must be >= 0" in result.err


def test_program_error_without_traceback(toy: ToyProject, tmp_path: Path) -> None:
    (toy.root / "items.yaml").write_text("a: [unclosed")
    result = toy.deploy("preview", "--stack", "dev")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "items" in result.err or "flow" in result.err


def test_unknown_stack_is_a_clear_error(toy: ToyProject) -> None:
    result = toy.deploy("preview", "--stack", "nosuch")
    assert result.code == 1
    assert "no stack named 'nosuch'" in result.err and "Traceback" not in result.err
    assert not (toy.checkpoint.parent / "nosuch.json").exists()


def test_outputs_are_printed_whole_or_not_at_all(toy: ToyProject) -> None:
    """A long or nested output is never cut (it is what the user came to read); --suppress-outputs
    leaves the block out."""
    greeting = "hello " + "x" * 150 + " end"
    (toy.root / "Pulumi.dev.yaml").write_text(
        yaml.safe_dump({"config": {"toy:dir": str(toy.data), "toy:greeting": greeting}})
    )
    toy.items({"a": {"kind": "small", "size": 1}})
    up = toy.deploy("up", "--stack", "dev", "--yes")
    assert up.code == 0, up.err
    assert f'greeting: "{greeting}"' in up.out
    quiet = toy.deploy("up", "--stack", "dev", "--yes", "--suppress-outputs")
    assert quiet.code == 0 and "Resources: 1 unchanged" in quiet.out
    assert "Outputs:" not in quiet.out and greeting not in quiet.out
