"""What the routes share: the store engine, settings, scheduler, notification deliverer and
metrics of one running bcsd (attached to ``app.state.rt``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from service.config import Settings
from service.notifications import Deliverer
from service.scheduler.loop import Scheduler
from service.telemetry.metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    scheduler: Scheduler
    deliverer: Deliverer
    metrics: Metrics
