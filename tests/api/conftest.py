"""Bodies shared by the api tests: the seed's full example and a minimal valid job/cluster."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

# the full request example of shared/seed/create-job.txt, verbatim
SEED_JOB: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "seed_job.json").read_text())

MINIMAL_JOB: dict[str, Any] = {
    "Name": "job1",
    "Priority": 1,
    "Type": "DAG",
    "JobFailOnInstanceFail": True,
    "DAG": {
        "Tasks": {
            "taskA": {
                "ClusterId": "cls-6kir9pdp3lg6220g418002",
                "InstanceCount": 1,
                "Parameters": {"Command": {"CommandLine": "python worker.py"}},
            }
        }
    },
}

# reference §5.4 (GetCluster example, as a CreateCluster body)
CLUSTER_EXAMPLE: dict[str, Any] = {
    "Name": "clusterName1",
    "Description": "demo",
    "ImageId": "img-ubuntu",
    "Notification": {
        "Topic": {
            "Name": "test-topic",
            "Endpoint": "http://[UserId].mns.[Region].aliyuncs.com/",
            "Events": ["OnClusterDeleted", "OnInstanceCreated", "OnInstanceActive"],
        }
    },
    "Configs": {
        "Disks": {
            "SystemDisk": {"Type": "cloud", "Size": 500},
            "DataDisk": {"Type": "cloud", "Size": 500, "MountPoint": "/path/to/mount"},
        }
    },
    "Groups": {"group1": {"DesiredVMCount": 3, "InstanceType": "bcs.a2.large", "ResourceType": "OnDemand"}},
}


@pytest.fixture
def seed_job() -> dict[str, Any]:
    return copy.deepcopy(SEED_JOB)


@pytest.fixture
def job() -> dict[str, Any]:
    return copy.deepcopy(MINIMAL_JOB)


@pytest.fixture
def cluster() -> dict[str, Any]:
    return copy.deepcopy(CLUSTER_EXAMPLE)
