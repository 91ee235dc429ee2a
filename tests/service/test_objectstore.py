"""The local object store: oss:// paths map under ROOT, round trips, escapes refused."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from service.objectstore import ObjectStore, ObjectStoreError, parse_oss_path


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore.local(tmp_path / "data")


def test_object_lives_under_data_dir_oss(store: ObjectStore, tmp_path: Path) -> None:
    store.write_bytes("oss://bkt/a/b.txt", b"hello")
    assert (tmp_path / "data" / "oss" / "bkt" / "a" / "b.txt").read_bytes() == b"hello"
    assert store.read_bytes("oss://bkt/a/b.txt") == b"hello"
    assert store.exists("oss://bkt/a/b.txt")
    assert store.exists("oss://bkt/a/")
    assert not store.exists("oss://bkt/a/missing")
    assert not store.exists("oss://other/")


def test_put_file_into_prefix_uses_basename(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "worker.tar.gz"
    src.write_bytes(b"x" * 10)
    assert store.put_file(src, "oss://bkt/pkg/") == "oss://bkt/pkg/worker.tar.gz"
    assert store.put_file(src, "oss://bkt/pkg/renamed.tgz") == "oss://bkt/pkg/renamed.tgz"
    assert store.list("oss://bkt/pkg/") == ["oss://bkt/pkg/renamed.tgz", "oss://bkt/pkg/worker.tar.gz"]


def test_put_folder_and_get_prefix_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "one.txt").write_text("1")
    (src / "sub" / "two.txt").write_text("2")
    (src / "sub" / "deeper" / "three.txt").write_text("3")
    uploaded = store.put(src, "oss://bkt/in")
    assert sorted(uploaded) == store.list("oss://bkt/in/")
    assert store.list("oss://bkt/in/") == [
        "oss://bkt/in/one.txt",
        "oss://bkt/in/sub/deeper/three.txt",
        "oss://bkt/in/sub/two.txt",
    ]
    dest = tmp_path / "dest"
    store.get("oss://bkt/in/", dest)
    assert (dest / "sub" / "deeper" / "three.txt").read_text() == "3"
    assert (dest / "one.txt").read_text() == "1"
    # a prefix given without its trailing slash is still a folder when no object has that name
    dest2 = tmp_path / "dest2"
    store.get("oss://bkt/in/sub", dest2)
    assert sorted(p.name for p in dest2.rglob("*.txt")) == ["three.txt", "two.txt"]


def test_get_single_object_to_file_and_folder(store: ObjectStore, tmp_path: Path) -> None:
    store.write_bytes("oss://bkt/o/data.bin", b"\x00\x01")
    store.get("oss://bkt/o/data.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == b"\x00\x01"
    store.get("oss://bkt/o/data.bin", str(tmp_path / "dir") + "/")
    assert (tmp_path / "dir" / "data.bin").read_bytes() == b"\x00\x01"


def test_missing_object_is_a_clear_error(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ObjectStoreError, match="no such object"):
        store.read_bytes("oss://bkt/nope")
    with pytest.raises(ObjectStoreError, match="no such object"):
        store.get("oss://bkt/nope", tmp_path / "x")
    assert store.list("oss://bkt/nothing/") == []


@pytest.mark.parametrize(
    "url",
    [
        "oss://bkt/../escape",
        "oss://bkt/a/../../escape",
        "oss://../x",
        "oss://bkt//abs",
        "oss://bkt/./x",
        "oss:///x",
        "s3://bkt/x",
        "/etc/passwd",
        "oss://bkt/a\\..\\b",
    ],
)
def test_escaping_or_malformed_paths_refused(store: ObjectStore, url: str, tmp_path: Path) -> None:
    with pytest.raises(ObjectStoreError):
        store.write_bytes(url, b"x")
    assert not any(tmp_path.glob("escape*"))


def test_config_round_trip_is_picklable_and_hides_secrets(tmp_path: Path) -> None:
    store = ObjectStore.local(tmp_path)
    again = ObjectStore.from_config(pickle.loads(pickle.dumps(store.to_config())))
    store.write_bytes("oss://b/k", b"v")
    assert again.read_bytes("oss://b/k") == b"v"
    remote = ObjectStore("s3", "", {"key": "env:MY_KEY", "secret": "env:MY_SECRET"})
    assert "env:MY_SECRET" in remote.to_config().values()
    assert "MY_SECRET" not in repr(remote)


def test_parse_prefix_vs_object() -> None:
    assert parse_oss_path("oss://b/dir/").is_prefix
    assert not parse_oss_path("oss://b/dir/f").is_prefix
    assert parse_oss_path("oss://b").is_prefix
    assert parse_oss_path("oss://b/dir/").child("x/y").url() == "oss://b/dir/x/y"
