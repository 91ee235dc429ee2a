"""The PATCH body of an in-place job update comes from the plan (JOB_LIFECYCLE decides what may
change in place); a removed field goes back to its API default."""

from __future__ import annotations

from typing import Any

import pytest

from provider import planner
from provider.job_provider import patch_body

BASE: dict[str, Any] = {
    "Name": "nightly",
    "Type": "DAG",
    "Priority": 1,
    "JobFailOnInstanceFail": True,
    "Description": "first",
    "DAG": {
        "Tasks": {
            "a": {
                "InstanceCount": 1,
                "Parameters": {"Command": {"CommandLine": "python3 -c pass"}},
                "AutoCluster": {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu"},
            }
        }
    },
}
TOPIC = {"Topic": {"Name": "t", "Endpoint": "http://127.0.0.1:9/", "Events": ["OnJobFailed"]}}


def _with(**changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**BASE, **changes}.items() if v is not None}


@pytest.mark.parametrize(
    "new, body",
    [
        (_with(Priority=9), {"Priority": 9}),
        (_with(Description=None), {"Description": ""}),
        (_with(Priority=2, Notification=TOPIC), {"Priority": 2, "Notification": TOPIC}),
        (_with(wait_for=30), {}),  # provider-only: nothing to send
    ],
    ids=["priority", "description-removed", "priority-and-notification", "wait-for-only"],
)
def test_patch_body_holds_the_in_place_api_fields(new: dict[str, Any], body: dict[str, Any]) -> None:
    plan = planner.plan("Job", BASE, new)
    assert plan.action == "update"
    assert patch_body(plan, new) == body
