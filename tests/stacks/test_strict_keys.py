"""Unknown keys in spec files: the schema's rows, a job's provider-only keys, the opt-in list."""

from __future__ import annotations

from provider.gitops.strict_keys import spec_unknown_keys


def _job(**top: object) -> dict:
    task = {"InstanceCount": 1, "Parameters": {"Command": {"CommandLine": "true"}},
            "AutoCluster": {"ImageId": "img-ubuntu", "InstanceType": "bcs.a2.large"}}
    return {"Name": "j", "Type": "DAG", "DAG": {"Tasks": {"a": task}}, **top}


def test_provider_only_keys_are_known_at_a_jobs_top_level_only() -> None:
    assert spec_unknown_keys("jobs", _job(wait_for=60, on_failure="restart", triggers=[1])) == []
    (typo,) = spec_unknown_keys("jobs", _job(wait_fr=60))
    assert (typo.path, typo.suggestion) == ("wait_fr", "wait_for")
    body = _job()
    body["DAG"]["Tasks"]["a"]["wait_for"] = 60
    assert [u.path for u in spec_unknown_keys("jobs", body)] == ["DAG.Tasks.a.wait_for"]
    assert [u.path for u in spec_unknown_keys("clusters", {"Name": "c", "wait_for": 1})] == ["wait_for"]


def test_map_keys_are_free_and_extension_paths_are_opted_in() -> None:
    body = _job()
    task = body["DAG"]["Tasks"]["a"]
    task["Parameters"]["Command"]["EnvVars"] = {"ANY_NAME": "x"}
    task["InputMapping"] = {"oss://b/in/": "/home/in/"}
    task["Bootstrap"] = "x"
    task["AutoCluster"]["Instancetype"] = "bcs.a2.large"
    found = {u.path: u.suggestion for u in spec_unknown_keys("jobs", body)}
    assert found == {"DAG.Tasks.a.Bootstrap": "", "DAG.Tasks.a.AutoCluster.Instancetype": "InstanceType"}
    assert [u.path for u in spec_unknown_keys("jobs", body, ["DAG.Tasks.*.Bootstrap"])] == [
        "DAG.Tasks.a.AutoCluster.Instancetype"]
