"""The group commit's figures, read at scrape time: how many commits it made and how many
requests' writes they carried (writes per commit is what group commit buys; a signed CreateJob
is one write, its nonce riding in it)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from service.store.group_commit import CommitGroup


class CommitFigures(Collector):
    def __init__(self, commits: CommitGroup) -> None:
        self.commits = commits

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "bcsd_store_group_commits", "Commits made by the group commit (creates and nonces)",
            value=self.commits.flushes,
        )  # fmt: skip
        yield CounterMetricFamily(
            "bcsd_store_group_commit_writes", "Requests' writes those commits carried",
            value=self.commits.writes,
        )  # fmt: skip
