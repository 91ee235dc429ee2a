"""Where and how the driver keeps a stack: Pulumi's file backend, its checkpoint format, the
one-time migration of the former private ``.bcs/state/<stack>.json``, and empty-stack runs."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import yaml

from provider.driver.backend import StackPaths
from provider.driver.secrets import Crypter, seal
from provider.driver.state import StateStore

from .conftest import PASSPHRASE, ToyProject

PROVIDER_URN = "urn:pulumi:dev::toy::pulumi:providers:pulumi-python::default"


def test_checkpoint_has_the_cli_layout_and_shape(toy: ToyProject) -> None:
    toy.items({"a": {"kind": "small", "size": 1, "secret": "s3cr3t-value"},
               "b": {"kind": "k", "parent": "a"}})
    assert toy.deploy("up", "--stack", "dev", "--yes").code == 0
    backend = toy.root / ".bcs" / "pulumi" / ".pulumi"
    assert (backend / "meta.yaml").read_text() == "version: 1\n"
    doc = json.loads(toy.state_text())
    assert doc["version"] == 3 and doc["checkpoint"]["stack"] == "organization/toy/dev"
    latest = doc["checkpoint"]["latest"]
    salt = yaml.safe_load((toy.root / "Pulumi.dev.yaml").read_text())["encryptionsalt"]
    assert latest["secrets_providers"] == {"type": "passphrase", "state": {"salt": salt}}
    root, provider, a, b = latest["resources"]
    assert root["urn"] == "urn:pulumi:dev::toy::pulumi:pulumi:Stack::toy-dev"
    assert set(root["outputs"]) == {"a_id", "b_id", "greeting"}
    assert provider["urn"] == PROVIDER_URN and provider["inputs"]["toy:greeting"] == "hello"
    assert a["provider"] == f"{PROVIDER_URN}::{provider['id']}" and a["parent"] == root["urn"]
    assert a["inputs"]["secret"]["ciphertext"].startswith("v1:") and "s3cr3t-value" not in toy.state_text()
    assert b["dependencies"] == [a["urn"]]
    assert b["propertyDependencies"]["parent_id"] == [a["urn"]] and b["propertyDependencies"]["kind"] == []
    assert not list((backend / "locks").rglob("*.json"))  # the CLI-style lock is gone after the run


def test_a_cli_lock_file_stops_the_driver(toy: ToyProject) -> None:
    lock_dir = toy.root / ".bcs" / "pulumi" / ".pulumi" / "locks" / "organization" / "toy" / "dev"
    lock_dir.mkdir(parents=True)
    info = {"pid": 12345, "username": "ci", "hostname": "elsewhere", "timestamp": "2026-01-01T00:00:00Z"}
    (lock_dir / "0b4e7a1c-0000-4000-8000-000000000000.json").write_text(json.dumps(info))
    result = toy.deploy("up", "--stack", "dev", "--yes")
    assert result.code == 4, result.err
    assert "pid 12345 of ci@elsewhere" in result.err and "pulumi cancel" in result.err
    assert toy.ops_log() == []


def test_backend_url_moves_the_state(toy: ToyProject, tmp_path: Path) -> None:
    elsewhere = tmp_path / "backend"
    result = toy.deploy("up", "--stack", "dev", "--yes", env={"PULUMI_BACKEND_URL": f"file://{elsewhere}"})
    assert result.code == 0, result.err
    assert (elsewhere / ".pulumi" / "stacks" / "toy" / "dev.json").is_file()
    assert not toy.checkpoint.exists()


def test_legacy_state_is_migrated_once(toy: ToyProject) -> None:
    toy.items({"a": {"kind": "small", "size": 1, "secret": "s3cr3t-value"}})
    assert toy.deploy("up", "--stack", "dev", "--yes").code == 0
    # rewrite the stack as the driver used to keep it, and drop the backend
    os.environ["PULUMI_CONFIG_PASSPHRASE"] = PASSPHRASE
    try:
        state = StateStore(StackPaths(toy.root / ".bcs" / "pulumi", "toy", "dev")).load()
        crypter = Crypter(PASSPHRASE)
    finally:
        os.environ.pop("PULUMI_CONFIG_PASSPHRASE")
    old_fields = ("urn", "type", "name", "custom", "parent", "id", "inputs", "outputs", "dependencies",
                  "pending_delete")
    body = {
        "resources": [{k: v for k, v in asdict(r).items() if k in old_fields} for r in state.resources],
        "outputs": state.outputs,
    }
    legacy = toy.root / ".bcs" / "state" / "dev.json"
    legacy.parent.mkdir(parents=True)
    doc = {"version": 1, "stack": "dev", "secrets": {"salt": crypter.salt_state}, **seal(body, crypter)}
    legacy.write_text(json.dumps(doc))
    toy.checkpoint.unlink()

    first = toy.deploy("up", "--stack", "dev", "--yes", "--json")
    assert first.code == 0, first.err
    assert first.ops() == {"a": "same"}
    assert sum("migrated" in line for line in first.err.splitlines()) == 1
    assert not legacy.exists() and legacy.with_name("dev.json.migrated").is_file()
    assert "::a" in toy.state_text() and "s3cr3t-value" not in toy.state_text()
    second = toy.deploy("preview", "--stack", "dev", "--json")
    assert second.code == 0 and "migrated" not in second.err


def test_refresh_of_an_empty_stack_does_nothing(toy: ToyProject) -> None:
    assert toy.deploy("up", "--stack", "dev", "--yes").code == 0
    assert toy.deploy("destroy", "--stack", "dev", "--yes").code == 0
    refresh = toy.deploy("refresh", "--stack", "dev", "--yes", "--json")
    assert refresh.code == 0, refresh.err
    assert refresh.json()["steps"] == [] and "error" not in refresh.err


def test_refresh_of_a_stack_never_deployed(toy: ToyProject) -> None:
    refresh = toy.deploy("refresh", "--stack", "dev", "--yes")
    assert refresh.code == 0, refresh.err
    assert "error" not in refresh.err


def test_an_error_without_message_names_its_type() -> None:
    from provider.driver.cli import error_message

    assert error_message(ValueError("bad")) == "bad"
    text = error_message(AssertionError())
    assert text.startswith("AssertionError") and "BCS_DEBUG=1" in text
