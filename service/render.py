"""Response bodies in the shapes the SDK type-checks (reference §7): timestamps in the wire
format or "", ``InstanceId`` int, ``OwnerId`` int, metrics objects with all five counters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from api.states import RUN_STATES
from api.timestamps import format_ts


def ts(value: float | None) -> str:
    return format_ts(datetime.fromtimestamp(value, UTC)) if value else ""


def metrics(counts: dict[str, int] | None) -> dict[str, int]:
    counts = counts or {}
    return {f"{s}Count": int(counts.get(s, 0)) for s in RUN_STATES}


def job(row: Row, task_counts: dict[str, int], inst_counts: dict[str, int]) -> dict[str, Any]:
    return {
        "Id": row.id,
        "Name": row.name,
        "OwnerId": int(row.owner_id),
        "Priority": int(row.priority),
        "State": row.state,
        "Message": row.message or "",
        "CreationTime": ts(row.creation_time),
        "StartTime": ts(row.start_time),
        "EndTime": ts(row.end_time),
        "Description": str((row.description or {}).get("Description", "")),
        "AutoRelease": bool(row.auto_release),
        "JobFailOnInstanceFail": bool(row.fail_on_instance_fail),
        "TaskMetrics": metrics(task_counts),
        "InstanceMetrics": metrics(inst_counts),
    }


def task(row: Row, inst_counts: dict[str, int] | None, vm_count: int) -> dict[str, Any]:
    return {
        "TaskName": row.name,
        "State": row.state,
        "StartTime": ts(row.start_time),
        "EndTime": ts(row.end_time),
        "InstanceMetrics": metrics(inst_counts),
        "ClusterId": row.cluster_id or row.auto_cluster_id,
        "AutoClusterId": row.auto_cluster_id if not row.cluster_id else "",
        "VMCount": int(vm_count),
        "ReservedVMCount": int(row.reserved_vm_count),
    }


def instance(row: Row) -> dict[str, Any]:
    kept = row.sandbox_path if row.state == "Failed" else ""
    return {
        "InstanceId": int(row.instance_id),
        "State": row.state,
        "StartTime": ts(row.start_time),
        "EndTime": ts(row.end_time),
        "RetryCount": int(row.retry_count),
        "Progress": 100 if row.state == "Finished" else 0,
        "NodeIp": row.node_ip or "",
        "Node": row.node or "",
        "SandboxPath": kept or "",
        "StdoutRedirectPath": row.stdout_object or "",
        "StderrRedirectPath": row.stderr_object or "",
        "Result": {
            "ExitCode": int(row.exit_code) if row.exit_code is not None else 0,
            "ErrorCode": row.error_code or "",
            "ErrorMessage": row.error_message or "",
            "Detail": row.detail or "",
        },
        "Error": {"Code": row.error_code or "", "Message": row.error_message or ""},
        "Outputs": {},
    }


def cluster(row: Row, groups: list[Row], vms: list[Row]) -> dict[str, Any]:
    desc = row.description or {}
    live: dict[str, int] = {}
    for vm in vms:
        if vm.state == "Running":
            live[vm.group_name] = live.get(vm.group_name, 0) + 1
    group_body = {}
    for g in groups:
        spec = g.spec or {}
        group_body[g.name] = {
            "DesiredVMCount": int(g.desired),
            "ActualVMCount": live.get(g.name, 0),
            "InstanceType": g.instance_type,
            "ResourceType": str(spec.get("ResourceType") or "OnDemand"),
            "SpotStrategy": str(spec.get("SpotStrategy") or ""),
            "SpotPriceLimit": float(spec.get("SpotPriceLimit") or 0.0),
            "Disks": {},
        }
    configs = dict(desc.get("Configs") or {})
    configs.setdefault("Disks", {})
    configs.setdefault("Mounts", {})
    configs.setdefault("Networks", {})
    return {
        "Id": row.id,
        "Name": row.name,
        "Description": str(desc.get("Description") or ""),
        "OwnerId": int(row.owner_id),
        "CreationTime": ts(row.creation_time),
        "State": row.state,
        "ImageId": str(desc.get("ImageId") or ""),
        "InstanceType": str(desc.get("InstanceType") or ""),
        "Bootstrap": str(desc.get("Bootstrap") or ""),
        "SecurityGroup": "",
        "UserData": dict(desc.get("UserData") or {}),
        "EnvVars": dict(desc.get("EnvVars") or {}),
        "InputMapping": dict(desc.get("InputMapping") or {}),
        "InputMappingConfig": dict(desc.get("InputMappingConfig") or {}),
        "Notification": dict(
            desc.get("Notification") or {"Topic": {"Name": "", "Endpoint": "", "Events": []}}
        ),
        "Configs": configs,
        "WriteSupport": bool(desc.get("WriteSupport", False)),
        "Groups": group_body,
        "OperationLogs": [f"[{ts(row.creation_time)}]Creating cluster successfully"],
        "Metrics": {
            "RunningCount": sum(live.values()),
            "StartingCount": 0,
            "StoppingCount": 0,
            "StoppedCount": 0,
        },
    }


def cluster_vm(vm: Row) -> dict[str, Any]:
    return {
        "Id": vm.id,
        "Hint": "",
        "State": vm.state,
        "IpAddress": "127.0.0.1",
        "HostName": vm.id,
        "CreationTime": ts(vm.creation_time),
        "InstancePassword": "",
        "ErrorCode": 0,
        "ErrorMessage": "",
    }
