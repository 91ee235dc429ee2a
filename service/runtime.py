"""What the routes share: the store engine, settings, scheduler, notification deliverer and
metrics of one running bcsd, and the group commit its writes share (attached to ``app.state.rt``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from service.config import Settings
from service.notifications import Deliverer
from service.scheduler.loop import Scheduler
from service.store.group_commit import CommitGroup
from service.telemetry.metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    scheduler: Scheduler
    deliverer: Deliverer
    metrics: Metrics
    commits: CommitGroup  # the create path's and the nonces' shared commits
