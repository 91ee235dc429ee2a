"""Shared type aliases and closed sets of the BatchCompute API (event names, id forms).

States and what each allows live in ``api.states``.
"""

from __future__ import annotations

import re

JobId = str
TaskName = str
ClusterId = str

#: ``job-`` + 32 upper-case hex characters (reference §1.1)
JOB_ID_RE = re.compile(r"^job-[0-9A-F]{32}$")
#: ``cls-`` + 22 lower-case alphanumerics (reference §1.1)
CLUSTER_ID_RE = re.compile(r"^cls-[0-9a-z]{22}$")

#: notification events a job may subscribe to (reference §10)
JOB_EVENTS: tuple[str, ...] = (
    "OnJobWaiting", "OnJobRunning", "OnJobStopped", "OnJobFinished", "OnJobFailed",
    "OnTaskWaiting", "OnTaskRunning", "OnTaskStopped", "OnTaskFinished", "OnTaskFailed",
    "OnInstanceWaiting", "OnInstanceRunning", "OnInstanceStopped", "OnInstanceFinished", "OnInstanceFailed",
    "OnPriorityChange",
)  # fmt: skip
#: notification events a cluster may subscribe to (reference §10)
CLUSTER_EVENTS: tuple[str, ...] = ("OnClusterDeleted", "OnInstanceCreated", "OnInstanceActive")

#: seed's Locale list plus UTF-8, which the CLI offers (reference §12 #37)
LOCALES: tuple[str, ...] = (
    "GBK", "GB2312-80", "BIG5", "ANSI", "EUC-JP", "EUC-TW", "EUC-KR", "SHIFT-JIS", "KSC5601", "UTF-8",
)  # fmt: skip
RESOURCE_TYPES: tuple[str, ...] = ("OnDemand", "Spot")
CLUSTER_RESOURCE_TYPES: tuple[str, ...] = ("OnDemand", "Spot", "PrePaid")
SPOT_STRATEGIES: tuple[str, ...] = ("SpotWithPriceLimit", "SpotAsPriceGo")
