"""Shared fixtures: a real bcsd subprocess per test (``bcsd``) and a signed client for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient


@pytest.fixture
def bcsd(tmp_path: Path) -> Iterator[BcsdProcess]:
    proc = start_bcsd(tmp_path)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def client(bcsd: BcsdProcess) -> Iterator[SignedClient]:
    c = SignedClient(bcsd.url, bcsd.key_id, bcsd.secret)
    try:
        yield c
    finally:
        c.close()
