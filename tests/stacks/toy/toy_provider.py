"""A toy dynamic provider for the driver's tests: each resource is a JSON file in a directory.

Every call appends a line to ``ops.log`` in that directory, so tests can check the order in
which the driver called the provider. ``kind`` forces a replacement; ``size`` and ``secret``
update in place; ``dbr: true`` asks for delete-before-replace; ``size < 0`` fails Check;
``fail: create`` makes Create fail with a one-line error.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

FIELDS = ("kind", "size", "secret", "parent_id", "fail")


class QuotaError(Exception):
    pass


class ToyProvider(ResourceProvider):
    directory: str = ""

    def configure(self, req: ConfigureRequest) -> None:
        self.directory = req.config.get("toy:dir")

    def _log(self, line: str) -> None:
        with open(Path(self.directory) / "ops.log", "a") as fh:
            fh.write(line + "\n")

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if isinstance(news.get("size"), int | float) and news["size"] < 0:
            failures.append(CheckFailure("size", "must be >= 0"))
        return CheckResult(news, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in FIELDS if olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k == "kind"]
        return DiffResult(bool(changed), replaces, None, bool(news.get("dbr")))

    def create(self, props: dict[str, Any]) -> CreateResult:
        if props.get("fail") == "create":
            raise QuotaError("QuotaExhausted.MaxJobCount: The job count quota is exhausted.")
        id_ = "toy-" + uuid.uuid4().hex[:8]
        outs = {k: props.get(k) for k in FIELDS if k in props} | {"name": props["name"], "state": "Ready"}
        (Path(self.directory) / f"{id_}.json").write_text(json.dumps(outs))
        self._log(f"create {props['name']} {id_}")
        return CreateResult(id_, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = {k: news.get(k) for k in FIELDS if k in news} | {"name": news["name"], "state": "Ready"}
        (Path(self.directory) / f"{id_}.json").write_text(json.dumps(outs))
        self._log(f"update {news['name']} {id_}")
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        (Path(self.directory) / f"{id_}.json").unlink(missing_ok=True)
        self._log(f"delete {props.get('name')} {id_}")

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(self.directory) / f"{id_}.json"
        if not path.exists():
            return ReadResult(None, {})
        return ReadResult(id_, json.loads(path.read_text()))


class Toy(Resource, module="toy", name="Toy"):
    id_out: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ToyProvider(), name, {"name": name, "state": None, **props}, opts)
