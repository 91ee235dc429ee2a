"""Quotas, available resources, health, metrics and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from service.config import INSTANCE_TYPES, SPOT_INSTANCE_TYPES
from service.executors import limits
from service.openapi import build_document
from service.routes.common import rt
from service.version import version

router = APIRouter()
DISK_TYPES = ["cloud", "cloud_efficiency", "cloud_ssd", "ephemeral", "ephemeral_ssd"]


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, str]:
    """Liveness, plus how instances are confined (an operator checks isolation is really on)."""
    settings = rt(request).settings
    return {
        "Status": "ok",
        "Version": version(),
        "Isolation": settings.isolation,
        "Limits": limits.in_force(settings.executor),
    }


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(rt(request).metrics.render(), media_type="text/plain; version=0.0.4")


@router.get("/openapi.json")
async def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document (no auth, like /healthz): a client generator's input."""
    return build_document(version())


@router.get("/quotas")
async def quotas() -> dict[str, Any]:
    return {
        "AvailableClusterResourceType": ["OnDemand", "Spot"],
        "AvailableClusterInstanceDataDiskType": DISK_TYPES,
        "AvailableClusterInstanceSystemDiskType": DISK_TYPES,
        "AvailableClusterInstanceType": sorted(INSTANCE_TYPES),
        "AvailableSpotInstanceType": list(SPOT_INSTANCE_TYPES),
    }


def _types(names: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "InstanceType": name,
            "CpuCore": INSTANCE_TYPES[name][0],
            "MemorySize": INSTANCE_TYPES[name][1],
            "Network": {"Classic": True, "Vpc": True},
        }
        for name in names
    ]


@router.get("/available")
async def available() -> dict[str, Any]:
    """The instance-type table the scheduler uses (CpuCore, MemorySize GB)."""
    return {
        "AvailableClusterInstanceType": _types(sorted(INSTANCE_TYPES)),
        "AvailableSpotInstanceType": _types(list(SPOT_INSTANCE_TYPES)),
        "AvailablePrepaidInstanceType": [],
        "AvailableResourceType": ["OnDemand", "Spot"],
        "AvailableSystemDiskType": DISK_TYPES,
        "AvailableDataDiskType": DISK_TYPES,
    }
