"""Real tar archives unpacked into real folders: nothing may land or point outside the destination.

Every refusal also checks that nothing is left in ``dest`` and nothing appeared beside it.
"""

from __future__ import annotations

import io
import os
import shlex
import stat
import sys
import tarfile
from pathlib import Path

import pytest

from service.executors import package
from service.objectstore import ObjectStore
from tests.service.test_runner import launch_for, run

Member = tuple[tarfile.TarInfo, bytes | None]


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes | None = None,
           mode: int = 0o644) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    if kind == tarfile.REGTYPE and data is None:
        data = b""
    return info, data


def sym(name: str, link: str) -> Member:
    return member(name, tarfile.SYMTYPE, link)


def write_tar(path: Path, members: list[Member], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for info, data in members:
            if data is None:
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def everything(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture()
def dest(tmp_path: Path) -> Path:
    d = tmp_path / "box" / "dest"
    d.mkdir(parents=True)
    return d


def refused(archive: Path, dest: Path, match: str | None = None, **limits: int) -> str:
    """Unpack must refuse; dest is left empty and nothing new exists anywhere beside it."""
    root = dest.parent.parent
    before = everything(root)
    with pytest.raises(package.UnsafePackage, match=match) as caught:
        package.unpack(archive, dest, **limits)
    assert list(dest.iterdir()) == []
    assert everything(root) == before
    return str(caught.value)


def cve_2025_4517(dest: Path) -> list[Member]:
    """The CPython regression test's shape: realpath gives up past PATH_MAX and goes on lexically."""
    steps = "abcdefghijklmnop"
    limit = os.pathconf(dest, "PC_PATH_MAX")
    component = "d" * ((limit - len(str(dest)) - 1) // (len(steps) + 1))
    members: list[Member] = []
    path = ""
    for step in steps:
        members.append(member(os.path.join(path, component), tarfile.DIRTYPE, mode=0o755))
        members.append(sym(os.path.join(path, step), component))
        path = os.path.join(path, component)
    linkpath = os.path.join(*steps, "l" * 254)
    members.append(sym(linkpath, os.path.join(*[".."] * len(steps))))  # kernel: back up to dest
    members.append(sym("escape", os.path.join(linkpath, "..")))  # kernel: dest/..
    members.append(member("escape/newfile", data=b"escaped"))
    return members


def test_cve_2025_4517_symlink_chain_passes_the_data_filter_but_not_unpack(tmp_path: Path) -> None:
    # the two destinations have paths of the same length, so one archive fits both
    scratch, ours = tmp_path / "s" / "dest", tmp_path / "o" / "dest"
    scratch.mkdir(parents=True)
    ours.mkdir(parents=True)
    archive = write_tar(tmp_path / "cve.tar", cve_2025_4517(scratch), "w")
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        bypassed = True
    except (tarfile.TarError, OSError):
        bypassed = False  # a Python with the fix
    if sys.version_info[:2] == (3, 11) and sys.version_info < (3, 11, 13):
        assert bypassed, "this Python's data filter should let the CVE-2025-4517 chain through"
    if bypassed:
        assert (tmp_path / "s" / "newfile").read_bytes() == b"escaped"  # written outside scratch
    refused(archive, ours)
    assert not (tmp_path / "o" / "newfile").exists()


def test_reordered_links_a_to_x_dotdot_then_x_to_dot(dest: Path, tmp_path: Path) -> None:
    members = [sym("a", "x/.."), sym("x", ".")]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with tarfile.open(write_tar(tmp_path / "reorder.tar.gz", members)) as tar:
        tar.extractall(scratch, filter="data")  # each link looked inside when it was extracted
    assert os.path.realpath(scratch / "a") == str(tmp_path)  # ... but together they lead out
    message = refused(write_tar(tmp_path / "r.tar.gz", members), dest)
    assert "'a'" in message and "outside" in message
    # writing through the reordered link is refused at once
    refused(write_tar(tmp_path / "w.tar.gz", [*members, member("a/escape.txt", data=b"x")]), dest)
    assert not (dest.parent / "escape.txt").exists()


@pytest.mark.parametrize(
    "members",
    [
        [sym("evil", "/etc")],
        [sym("evil", "../outside")],
        [member("ok.txt", data=b"fine"), sym("sub/evil", "../..")],
        [member("../escape.txt", data=b"x")],
        [member("/tmp/bcs-abs-escape.txt", data=b"x")],
        [member("a/../../escape.txt", data=b"x")],
    ],
    ids=["absolute-symlink", "relative-symlink", "dir-symlink", "dotdot", "absolute-name", "nested-dotdot"],
)
def test_escaping_names_and_symlinks_refused(members: list[Member], dest: Path, tmp_path: Path) -> None:
    refused(write_tar(tmp_path / "bad.tar.gz", members), dest)
    assert not Path("/tmp/bcs-abs-escape.txt").exists()


@pytest.mark.parametrize("link", ["../../secret.txt", "SECRET", "nothere.txt", "later.txt"])
def test_hard_links_only_to_earlier_members(link: str, dest: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret")
    link = str(secret) if link == "SECRET" else link
    members = [member("first.txt", data=b"1"), member("h", tarfile.LNKTYPE, link)]
    members.append(member("later.txt", data=b"2"))
    message = refused(write_tar(tmp_path / "hard.tar.gz", members), dest)
    assert "'h'" in message
    assert secret.read_bytes() == b"secret" and secret.stat().st_nlink == 1


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_devices_and_fifos_refused(kind: bytes, dest: Path, tmp_path: Path) -> None:
    special = member("dev/thing", kind)
    special[0].devmajor, special[0].devminor = 1, 3
    message = refused(write_tar(tmp_path / "dev.tar.gz", [member("ok.txt", data=b"x"), special]), dest)
    assert "'dev/thing'" in message


def test_size_bomb_refused(dest: Path, tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "bomb.tar.gz", [member("zeros.bin", data=bytes(8 * 1024 * 1024))])
    assert archive.stat().st_size < 100_000
    assert "unpacks to more than 1 MiB" in refused(archive, dest, max_bytes=1024 * 1024)
    # many members, each under the limit, add up too
    parts = [member(f"part{i}.bin", data=bytes(300 * 1024)) for i in range(4)]
    refused(write_tar(tmp_path / "parts.tar.gz", parts), dest, "more than 1 MiB", max_bytes=1024 * 1024)


def test_lying_header_reports_the_default_limit(dest: Path, tmp_path: Path) -> None:
    info = tarfile.TarInfo("huge.bin")
    info.size = 3 * 1024**3  # the header says 3 GiB; only one block of data follows
    archive = tmp_path / "liar.tar"
    archive.write_bytes(info.tobuf(tarfile.GNU_FORMAT) + bytes(tarfile.BLOCKSIZE))
    assert package.MAX_BYTES == 2 * 1024**3
    assert "unpacks to more than 2 GiB" in refused(archive, dest)


def test_too_many_members(dest: Path, tmp_path: Path) -> None:
    assert package.MAX_MEMBERS == 100_000
    archive = write_tar(tmp_path / "many.tar.gz", [member(f"f{i}", data=b"") for i in range(6)])
    assert "has more than 5 members" in refused(archive, dest, max_members=5)
    assert package.unpack(archive, dest, max_members=6) == 6


def test_setuid_setgid_sticky_and_group_write_dropped(dest: Path, tmp_path: Path) -> None:
    members = [
        member("d", tarfile.DIRTYPE, mode=0o3777),
        member("d/tool", data=b"#!/bin/sh\n", mode=0o6777),
        member("plain", data=b"x", mode=0o640),
    ]
    package.unpack(write_tar(tmp_path / "modes.tar.gz", members), dest)
    assert stat.S_IMODE((dest / "d").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "d" / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "plain").stat().st_mode) == 0o640


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_good_package_extracts(mode: str, dest: Path, tmp_path: Path) -> None:
    members = [
        member("./", tarfile.DIRTYPE, mode=0o755),
        member("pkg/sub/deeper/", tarfile.DIRTYPE, mode=0o755),
        member("pkg/sub/deeper/a.txt", data=b"alpha", mode=0o644),
        member("pkg/run.sh", data=b"#!/bin/sh\necho hi\n", mode=0o755),
        sym("pkg/link", "sub/deeper/a.txt"),
        sym("pkg/d", "sub"),
        member("pkg/d/via.txt", data=b"through an inside link"),
        member("pkg/hard", tarfile.LNKTYPE, "pkg/sub/deeper/a.txt"),
    ]
    before = everything(tmp_path)
    assert package.unpack(write_tar(tmp_path / "good.tar", members, mode), dest) == len(members)
    pkg = dest / "pkg"
    assert (pkg / "sub/deeper/a.txt").read_bytes() == b"alpha"
    assert (pkg / "link").is_symlink() and os.readlink(pkg / "link") == "sub/deeper/a.txt"
    assert (pkg / "link").read_bytes() == b"alpha"
    assert (pkg / "sub/via.txt").read_bytes() == b"through an inside link"
    hard = pkg / "hard"
    assert not hard.is_symlink() and hard.read_bytes() == b"alpha"
    assert hard.stat().st_nlink == 1  # a copy, never os.link
    assert os.access(pkg / "run.sh", os.X_OK)
    new = everything(tmp_path) - before
    assert all(p == "good.tar" or p.startswith("box/dest") for p in new), new


def test_garbage_is_unsafe(dest: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar at all")
    assert "not a readable tar archive" in refused(junk, dest)


# ---- uploads never follow a symlink out of the sandbox ----------------------------------------------


def test_put_folder_skips_symlinked_files_and_dirs(tmp_path: Path) -> None:
    store = ObjectStore.local(tmp_path / "data")
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.txt").write_text("secret")
    (outside / "deep" / "more.txt").write_text("secret too")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "ok.txt").write_text("ok")
    (src / "sub" / "also.txt").write_text("also")
    (src / "file-link").symlink_to(outside / "secret.txt")
    (src / "dir-link").symlink_to(outside)
    (src / "sub" / "dangling").symlink_to(tmp_path / "nothing")
    uploaded = store.put_folder(src, "oss://bkt/out/")
    assert uploaded == ["oss://bkt/out/ok.txt", "oss://bkt/out/sub/also.txt"]
    assert store.list("oss://bkt/") == uploaded


@pytest.mark.parametrize("which", ["output", "log", "output-dir", "stdout"])
def test_run_instance_does_not_upload_through_a_symlink_out(which: str, tmp_path: Path) -> None:
    store = ObjectStore.local(tmp_path / "data")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOP SECRET outside the sandbox")
    targets = {
        "output": "os.path.join(root, 'home/out/result.txt')",
        "log": "'run.log'",
        "output-dir": "os.path.join(root, 'home/outdir')",
        "stdout": "os.path.join(os.environ['HOME'], '..', 'stdout')",
    }
    code = (
        "import os; root = os.environ['BATCH_COMPUTE_LOCAL_ROOT']; "
        "os.makedirs(os.path.join(root, 'home/out'), exist_ok=True); "
        f"t = {targets[which]}; os.path.lexists(t) and os.remove(t); "
        f"os.symlink({str(secret if which != 'output-dir' else tmp_path)!r}, t)"
    )
    launch = launch_for(
        store,
        tmp_path,
        f"python -c {shlex.quote(code)}",
        output_mapping={"/home/out/result.txt": "oss://data/out/result.txt", "/home/outdir/": "oss://data/dir/"},
        log_mapping={"run.log": "oss://logs/mapped/"},
    )
    exited = run(launch)
    assert exited.exit_code == 0, exited
    assert exited.error_code == "OutputUploadFailed", exited
    assert "is a symlink leading outside the sandbox" in exited.detail
    for stored in (tmp_path / "data").rglob("*"):
        assert not stored.is_file() or b"TOP SECRET" not in stored.read_bytes(), stored
