"""Concurrent CreateJobs share commits (``service/store/group_commit.py``) without changing what
each one gets: a refused create leaves nothing written (its MaxJobCount slot included), creates
with one IdempotentToken still make one job, and every job answered 201 survives a restart.

The creates are sent from threads at once so that several land in one flush; the assertions
hold whichever way they were grouped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, Engine, select

from api.errors import ApiError, error
from api.signing import sign_headers
from service.store import repo
from service.store.engine import open_engine
from service.store.group_commit import CommitGroup, precede_next_write
from service.store.schema import jobs, nonces
from tests.service.jobspec import PARKED_CLUSTER, job, task
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient
from tests.support.postgres import PostgresUnavailable, start_postgres

SLOTS = 4


def test_concurrent_creates_keep_each_answer(tmp_path: Path) -> None:
    with start_bcsd(tmp_path, max_job_count=SLOTS) as bcsd:
        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            r = client.post("/clusters", PARKED_CLUSTER)
            assert r.status_code == 201, r.text
            parked = r.json()["Id"]
        valid = job({"a": task("true", cluster_id=parked)})
        unknown = job({"a": task("true", cluster_id="cls-nosuchcluster")})
        twin = job({"a": task("echo twin", cluster_id=parked)})

        def create(body: dict, token: str = "") -> tuple[int, str]:
            with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as c:
                params = {"IdempotentToken": token} if token else None
                r = c.post("/jobs", body, params=params)
                return r.status_code, r.json().get("Id", r.json().get("Code", ""))

        # refused after their MaxJobCount claim (unknown cluster) beside creates that must fit
        # in the slots those refusals would have leaked; one token sent four times
        sent = [(unknown, "")] * 6 + [(valid, "")] * (SLOTS - 1) + [(twin, "tok_group_commit")] * 4
        with ThreadPoolExecutor(len(sent)) as pool:
            answers = list(pool.map(lambda item: create(*item), sent))
        refused = [a for (body, _), a in zip(sent, answers, strict=True) if body is unknown]
        created = [a for (body, _), a in zip(sent, answers, strict=True) if body is valid]
        twins = [a for (body, _), a in zip(sent, answers, strict=True) if body is twin]
        # an unknown cluster is 404; one that arrives once the valid creates hold every slot is
        # refused by the quota first (403), which is no leak: the valid ones all got 201 below
        assert all((status, code) in {(404, "InvalidResource.NotFound"), (403, "QuotaExhausted.MaxJobCount")}
                   for status, code in refused), refused  # fmt: skip
        assert all(status == 201 for status, _ in created + twins), created + twins
        assert len({job_id for _, job_id in twins}) == 1, "one token, one job"
        stored = {job_id for _, job_id in created + twins}
        assert len(stored) == SLOTS

        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            r = client.post("/jobs", valid)
            assert r.status_code == 403, r.text  # every slot is taken by a stored job
            assert r.json()["Code"] == "QuotaExhausted.MaxJobCount"
            bcsd.restart()
            listed = {item["Id"] for item in client.get("/jobs", {"MaxItemCount": 100}).json()["Items"]}
        assert listed == stored, "every create answered 201 is durable, nothing else was stored"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The real store of either kind, schema made by bcsd's own ``open_engine``."""
    if request.param == "sqlite":
        engine = open_engine(f"sqlite:///{tmp_path / 'bcsd.db'}")
        yield engine
        engine.dispose()
        return
    try:
        pg = start_postgres()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        engine = open_engine(pg.url)
        yield engine
        engine.dispose()
    finally:
        pg.stop()


def test_a_write_refused_after_writing_leaves_nothing_and_the_flush_commits(store: Engine) -> None:
    """A write that refuses after it wrote (as CreateJob does past its MaxJobCount claim) in a
    flush it shares: its rows are taken back by its savepoint, the others' rows are committed."""

    def claim(nonce: str, refuse: bool = False) -> Callable[[Connection], bool]:
        def write(conn: Connection) -> bool:
            assert repo.claim_nonce(conn, nonce, expires=2e9)
            if refuse:
                raise error("not_found")
            return True

        return write

    async def flush_of_four() -> list[object]:
        commits = CommitGroup(store.begin)
        writes = [claim("before"), claim("refused", refuse=True), claim("after"), claim("last")]
        answers = await asyncio.gather(*(commits.run(w) for w in writes), return_exceptions=True)
        assert commits.flushes == 1, "the four writes shared one commit"
        return answers

    answers = asyncio.run(flush_of_four())
    assert answers[0] is True and answers[2:] == [True, True]
    assert isinstance(answers[1], ApiError) and answers[1].code == "InvalidResource.NotFound"
    with store.connect() as conn:
        stored = set(conn.execute(select(nonces.c.nonce)).scalars())
    assert stored == {"before", "after", "last"}, "the refused write's row was taken back alone"


def _job_row(job_id: str) -> dict[str, object]:
    return {"id": job_id, "seq": 1, "name": job_id, "owner_id": 1, "priority": 0, "state": "Waiting",
            "description": {}, "spec_hash": "", "auto_release": False, "fail_on_instance_fail": False,
            "creation_time": 0.0}  # fmt: skip


def test_queued_inserts_of_a_refused_write_are_taken_back_alone(store: Engine) -> None:
    """On PostgreSQL a flush runs in pipeline mode (``store.pipeline``): the create path's
    INSERTs and the savepoints only queue, sent with the next statement whose result is read.
    A write that refuses after queueing its rows, and after a read that must already see them,
    still loses exactly its own rows; the writes around it commit theirs. (SQLite runs the same
    writes one statement at a time.)"""
    pipelined: list[bool] = []

    def create(job_id: str, refuse: bool = False) -> Callable[[Connection], str]:
        def write(conn: Connection) -> str:
            if conn.dialect.name == "postgresql":
                pipelined.append(bool(conn.connection.driver_connection.pgconn.pipeline_status))
            repo.insert_job(conn, _job_row(job_id), [], [])
            if refuse:
                seen = repo.get_job(conn, job_id)  # a read: the queued INSERT went first
                assert seen is not None and seen.id == job_id
                raise error("not_found")
            return job_id

        return write

    async def flush_of_four() -> list[object]:
        commits = CommitGroup(store.begin)
        writes = [
            create("job-before"),
            create("job-refused", refuse=True),
            create("job-after"),
            create("job-last"),
        ]
        answers = await asyncio.gather(*(commits.run(w) for w in writes), return_exceptions=True)
        assert commits.flushes == 1, "the four writes shared one commit"
        return answers

    answers = asyncio.run(flush_of_four())
    assert answers[0] == "job-before" and answers[2:] == ["job-after", "job-last"]
    assert isinstance(answers[1], ApiError) and answers[1].code == "InvalidResource.NotFound"
    if store.dialect.name == "postgresql":
        assert pipelined == [True] * 4, "every write of the flush ran in pipeline mode"
    with store.connect() as conn:
        stored = set(conn.execute(select(jobs.c.id)).scalars())
    assert stored == {"job-before", "job-after", "job-last"}, "the refused write's rows were taken back alone"


def test_a_used_nonce_refuses_its_write_alone_whenever_its_verdict_comes(store: Engine) -> None:
    """A request's nonce claim (a ``Prelude``) sends its INSERT and gives its verdict later: at
    once on SQLite, on PostgreSQL with the write's first read (one round trip for both). A used
    nonce refuses its write either way, and only its write: its queued rows are taken back, the
    writes around it commit, every nonce of the flush stays spent."""
    with store.begin() as conn:
        assert repo.claim_nonce(conn, "nonce-used", expires=2e9)

    def claim(nonce: str) -> Callable[[Connection], Callable[[], None]]:
        def step(conn: Connection) -> Callable[[], None]:
            claimed = repo.claim_nonce_later(conn, nonce, expires=2e9)

            def verdict() -> None:
                if not claimed():
                    raise error("nonce_used")

            return verdict

        return step

    def create(job_id: str) -> Callable[[Connection], str]:
        def write(conn: Connection) -> str:
            repo.insert_job(conn, _job_row(job_id), [], [])
            assert repo.get_job(conn, job_id) is not None  # the write's first read
            return job_id

        return write

    async def flush_of_three() -> list[object]:
        commits = CommitGroup(store.begin)

        async def request(job_id: str, nonce: str) -> str:
            precede_next_write(claim(nonce))
            return await commits.run(create(job_id))

        sent = [("job-a", "nonce-a"), ("job-b", "nonce-used"), ("job-c", "nonce-c")]
        answers = await asyncio.gather(*(request(*item) for item in sent), return_exceptions=True)
        assert commits.flushes == 1, "the three writes shared one commit"
        return answers

    answers = asyncio.run(flush_of_three())
    assert answers[0] == "job-a" and answers[2] == "job-c"
    assert isinstance(answers[1], ApiError) and answers[1].code == "SignatureNonceUsed", answers[1]
    with store.connect() as conn:
        assert set(conn.execute(select(jobs.c.id)).scalars()) == {"job-a", "job-c"}
        spent = set(conn.execute(select(nonces.c.nonce)).scalars())
    assert spent == {"nonce-a", "nonce-used", "nonce-c"}


def test_a_flush_that_fails_stores_nothing_of_its_writes(store: Engine) -> None:
    """The savepoints stay inside the flush's one transaction: when a later write fails (not a
    refusal), the writes before it are not committed either. (With pysqlite's own transaction
    handling the first SAVEPOINT opened the transaction and its RELEASE committed it.)"""

    def broken(conn: Connection) -> bool:
        raise RuntimeError("the store failed")

    async def flush() -> list[object]:
        commits = CommitGroup(store.begin)
        writes = [
            lambda conn: repo.claim_nonce(conn, "first", expires=2e9),
            lambda conn: repo.claim_nonce(conn, "second", expires=2e9),
            broken,
        ]
        return await asyncio.gather(*(commits.run(w) for w in writes), return_exceptions=True)

    answers = asyncio.run(flush())
    assert all(isinstance(answer, RuntimeError) for answer in answers), answers
    with store.connect() as conn:
        assert list(conn.execute(select(nonces.c.nonce))) == []


def _commits(url: str) -> tuple[float, float]:
    """(group commits, writes they carried) from a real bcsd's /metrics."""
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
        for s in family.samples
    }
    return samples["bcsd_store_group_commits_total"], samples["bcsd_store_group_commit_writes_total"]


def test_a_signed_create_spends_its_nonce_in_its_own_commit(tmp_path: Path) -> None:
    """A CreateJob's nonce rides in the create's write (one commit, not two), and every replay
    is still refused: of a create that was stored, of one refused after writing (its savepoint
    is undone, its nonce stays spent), and of one refused before any write (its nonce is spent
    alone before it is answered). Any other signed request spends its nonce alone first."""
    with start_bcsd(tmp_path) as bcsd:
        body = json.dumps(job({"a": task("true", cluster_id="cls-nosuchcluster")})).encode()
        valid = json.dumps(job({"a": task("true")})).encode()

        def post(content: bytes, headers: dict[str, str]) -> httpx.Response:
            return httpx.post(f"{bcsd.url}/jobs", content=content, headers=headers)

        def signed(content: bytes) -> dict[str, str]:
            return sign_headers("POST", "/jobs", None, bcsd.key_id, bcsd.secret, body=content)

        before = _commits(bcsd.url)
        created_headers = signed(valid)
        created = post(valid, created_headers)
        assert created.status_code == 201, created.text
        assert _commits(bcsd.url) == (before[0] + 1, before[1] + 1), "nonce and create: one write, one commit"

        unknown_headers = signed(body)
        assert post(body, unknown_headers).status_code == 404  # refused after its MaxJobCount claim
        not_json = b"{not json"
        not_json_headers = signed(not_json)
        assert post(not_json, not_json_headers).status_code == 400  # refused before any write
        sent = ((valid, created_headers), (body, unknown_headers), (not_json, not_json_headers))
        for content, headers in sent:
            replay = post(content, headers)
            assert replay.status_code == 400 and replay.json()["Code"] == "SignatureNonceUsed", replay.text

        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            before = _commits(bcsd.url)
            assert client.get("/jobs").status_code == 200
            assert _commits(bcsd.url) == (before[0] + 1, before[1] + 1), "a read spends its nonce alone"
            assert [item["Id"] for item in client.get("/jobs").json()["Items"]] == [created.json()["Id"]]
