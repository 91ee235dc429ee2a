"""The FastAPI application factory of bcsd: store, scheduler, executor and notification
deliverer started in the lifespan; the ApiGate middleware (auth, body limit, request ids) in
front; the routes; one error renderer (``service.http_errors``)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import http_errors
from service.auth import NonceRegistry
from service.config import Settings
from service.credentials import Credentials
from service.executors import isolation, limits
from service.executors.base import EventSink, Executor
from service.middleware import ApiGate
from service.notifications import Deliverer
from service.routes import clusters, jobs, misc, not_offered, tasks
from service.runtime import Runtime
from service.scheduler.loop import Scheduler
from service.store import repo
from service.store.engine import open_engine
from service.store.group_commit import CommitGroup
from service.telemetry.commit_figures import CommitFigures
from service.telemetry.metrics import Metrics
from service.telemetry.requests import RequestTelemetry
from service.telemetry.scheduler_figures import SchedulerFigures, observe_turns, start_latency_sink
from service.telemetry.store_figures import StoreFigures

log = logging.getLogger("bcsd")


def build_executor(settings: Settings, sink: EventSink) -> Executor:
    """The executor named by ``settings.executor`` (local processes or Dask)."""
    if settings.executor == "dask":
        from service.executors.dask import DaskExecutor

        return DaskExecutor(
            sink, settings.dask_scheduler, unschedulable_timeout_s=settings.dask_unschedulable_timeout_s
        )
    from service.executors.local import LocalExecutor

    return LocalExecutor(
        sink,
        max_parallel=settings.running_limit,
        vm_idle_s=settings.vm_sandbox_idle_s,
        vm_max=settings.vm_sandbox_max,
    )


def create_app(settings: Settings, creds: Credentials) -> FastAPI:
    """Raises ``IsolationUnavailable`` when ``--isolation bwrap`` cannot work on this machine."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    mode, isolation_warning = isolation.resolve(settings.isolation)
    settings = dataclasses.replace(settings, isolation=mode)
    engine = open_engine(settings.db_url, settings.quotas.max_job_count)
    metrics = Metrics()
    scheduler = Scheduler(engine, settings)
    deliverer = Deliverer(
        engine,
        settings.notify_retries,
        settings.notify_backoff_s,
        lambda o: metrics.notifications.labels(o).inc(),
        poll_s=settings.lease_ttl_s if scheduler.ownership.enabled else None,
    )
    scheduler.on_notify = deliverer.wake
    scheduler.on_launch = lambda _launch: metrics.launches.inc()
    scheduler.on_exit = lambda ev: metrics.exits.labels("succeeded" if ev.succeeded else "failed").inc()
    observe_turns(scheduler, metrics.turns)
    metrics.registry.register(SchedulerFigures(scheduler))
    metrics.registry.register(StoreFigures(engine, scheduler.node_id, scheduler.ownership.enabled))
    commits = CommitGroup(functools.partial(scheduler.transaction, pipelined=True))
    metrics.registry.register(CommitFigures(commits))
    rt = Runtime(settings, engine, scheduler, deliverer, metrics, commits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if isolation_warning:
            log.warning("%s", isolation_warning)
        sink = start_latency_sink(scheduler.sink, engine, metrics.start_latency, scheduler)
        await scheduler.start(build_executor(settings, sink))
        deliverer.start()
        log.info(
            "bcsd ready on %s://%s:%d (data dir %s, executor %s, isolation %s, limits %s)",
            settings.scheme, settings.host, settings.port, settings.data_dir, settings.executor,
            mode, limits.in_force(settings.executor),
        )  # fmt: skip
        try:
            yield
        finally:
            await deliverer.close()
            await scheduler.close()
            engine.dispose()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
    app.state.rt = rt
    http_errors.install(app)
    modules = (misc, jobs, tasks, clusters, not_offered)
    for module in modules:
        app.include_router(module.router)

    # durable on SQLite too (a restart must not forget them) and unique across the nodes sharing
    # a database: one INSERT committed before the request goes on, in a commit it shares with
    # concurrent requests' nonces and creates (a CreateJob's own); expired rows swept once a minute
    nonces = NonceRegistry(settings.clock_skew_s, repo.claim_nonce_later, commits)
    app.add_middleware(
        ApiGate, creds=creds, nonces=nonces, skew_s=settings.clock_skew_s, max_body=settings.max_body_bytes,
        on_auth_failure=lambda err: metrics.auth_failures.labels(err.code).inc(),
    )  # fmt: skip
    routes = [route for module in modules for route in module.router.routes]  # the flat list to match
    app.add_middleware(RequestTelemetry, metrics=metrics, routes=routes)  # outermost
    return app
