"""Shared fixtures: a real bcsd subprocess per test (``bcsd``) and a signed client for it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bcsd import BcsdProcess, instance_scratch, start_bcsd
from tests.support.client import SignedClient

# every bcsd a test starts checks its scheduler's run-state invariants after each turn and
# stops on the first broken one (``bcsd serve --validate``); the benchmarks run without
os.environ.setdefault("BCSD_VALIDATE", "1")


@pytest.fixture
def scratch(request: pytest.FixtureRequest) -> Path:
    """A fresh folder this test's sandboxed instances can write and the test can read."""
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)[:80]
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=instance_scratch()))
    path.chmod(0o1777)
    return path


@pytest.fixture
def bcsd(tmp_path: Path) -> Iterator[BcsdProcess]:
    with start_bcsd(tmp_path) as proc:
        yield proc


@pytest.fixture
def client(bcsd: BcsdProcess) -> Iterator[SignedClient]:
    with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as c:
        yield c


@pytest.fixture(scope="module")
def shared_bcsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BcsdProcess]:
    """One bcsd for a whole test module whose tests only create their own jobs (saves the
    ~1-2 s start per test)."""
    with start_bcsd(tmp_path_factory.mktemp("bcsd")) as proc:
        yield proc


@pytest.fixture(scope="module")
def shared_client(shared_bcsd: BcsdProcess) -> Iterator[SignedClient]:
    with SignedClient(shared_bcsd.url, shared_bcsd.key_id, shared_bcsd.secret) as c:
        yield c
