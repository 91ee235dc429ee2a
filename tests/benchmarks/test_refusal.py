"""A bench refuses to print a figure for work that failed (issue 16, item 4): against a real
bcsd, a timed job whose instances fail, and creates that are refused, end the bench with one
REFUSED line and a non-zero exit instead of a throughput."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_scaleout, bench_service
from bench.bench_scaleout import client_of
from bench.verdict import REFUSED, FailedRun, refuse_failed_runs
from tests.service.jobspec import job, task
from tests.support.bcsd import start_bcsd


def test_a_failed_job_is_refused_not_timed(tmp_path: Path) -> None:
    with start_bcsd(tmp_path, isolation="none") as bcsd, client_of(bcsd) as c:
        job_id = c.create_job(job({"a": task("false", count=3)}))
        with pytest.raises(FailedRun, match="ended Failed"):
            bench_service.finished(c, job_id, 60)


def test_refused_creates_are_refused_not_timed(tmp_path: Path) -> None:
    """MaxJobCount 2: the third create answers 4xx, so a create rate over 4 creates is refused."""
    refused = pytest.raises(FailedRun, match="not 201")
    with start_bcsd(tmp_path, isolation="none", max_job_count=2) as bcsd, refused:
        bench_scaleout.create_rate(bcsd, 4, 1)


def test_refusal_is_one_line_and_a_nonzero_exit(capsys: pytest.CaptureFixture[str]) -> None:
    def bench() -> int:
        raise FailedRun("job job-1 ended Failed")

    assert refuse_failed_runs(bench) == REFUSED != 0
    said = "REFUSED: no figure printed, the timed work failed: job job-1 ended Failed\n"
    assert capsys.readouterr().out == said
