"""The notification outbox shared by several nodes on one real PostgreSQL: two deliverers woken
together post each row once, and an idle deliverer picks up rows another node queued without
waking it, or claimed and then went silent on."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from service.notifications import Deliverer
from service.store import repo
from service.store.engine import open_engine
from tests.support.postgres import PostgresCluster
from tests.support.webhook import webhook


@pytest.fixture
def slow_sink() -> Iterator[tuple[str, list[dict]]]:
    """An endpoint that takes 0.2 s to answer: long enough for a second deliverer to read the
    same rows as due while the first is still posting them."""
    with webhook(answer_after_s=0.2) as endpoint:
        yield endpoint


_databases = itertools.count()


@pytest.fixture
def two_nodes(postgres: PostgresCluster) -> Iterator[tuple[Engine, Engine]]:
    """Two nodes' engines on one fresh database."""
    url = postgres.create_database(f"bcsd_outbox_{next(_databases)}")
    first, second = open_engine(url), open_engine(url)
    try:
        yield first, second
    finally:
        first.dispose()
        second.dispose()


def queue(engine: Engine, endpoint: str, marks: list[int]) -> None:
    """Rows as another node's scheduler queues them: committed, nobody here woken."""
    now = time.time()
    rows = [
        {"endpoint": endpoint, "payload": {"Event": "OnJobFinished", "Mark": m}, "attempts": 0,
         "next_at": now, "queued_at": now, "state": "pending"}
        for m in marks
    ]  # fmt: skip
    with engine.begin() as conn:
        repo.enqueue(conn, rows)


def pending(engine: Engine) -> int:
    with engine.begin() as conn:
        return sum(1 for _ in repo.due_notifications(conn, time.time() + 3600))


async def run_until(deliverers: list[Deliverer], done: object, timeout: float) -> None:
    for d in deliverers:
        d.start()
    try:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:  # type: ignore[operator]
            await asyncio.sleep(0.05)
    finally:
        for d in deliverers:
            await d.close()


def test_two_deliverers_woken_together_post_each_row_once(
    two_nodes: tuple[Engine, Engine], slow_sink: tuple[str, list[dict]]
) -> None:
    endpoint, received = slow_sink
    first, second = two_nodes
    queue(first, endpoint, list(range(6)))

    async def both() -> None:
        nodes = [Deliverer(first, 3, 0.05), Deliverer(second, 3, 0.05)]
        await run_until(nodes, lambda: pending(first) == 0, timeout=30)

    asyncio.run(both())
    assert pending(first) == 0
    posts = Counter(m["Mark"] for m in received)
    assert posts == Counter(range(6)), f"posted more than once: {posts}"


def test_an_idle_deliverer_delivers_what_another_node_queued_or_left_claimed(
    two_nodes: tuple[Engine, Engine], slow_sink: tuple[str, list[dict]]
) -> None:
    endpoint, received = slow_sink
    engine, other = two_nodes

    async def scenario() -> None:
        node = Deliverer(engine, 3, 0.05, poll_s=0.3, claim_s=1.0)
        node.start()
        try:
            await asyncio.sleep(0.5)  # it found nothing due and sleeps; nobody will wake it
            queue(other, endpoint, [1, 2])
            with other.begin() as conn:  # the other node took row 2 for an attempt, then went silent
                (_, second) = repo.due_notifications(conn, time.time())
                assert repo.claim_notification(conn, second.id, time.time(), time.time() + 1.0)
            deadline = time.monotonic() + 15
            while (len(received) < 2 or pending(engine)) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await node.close()

    asyncio.run(scenario())
    assert sorted(m["Mark"] for m in received) == [1, 2]
    assert pending(engine) == 0
