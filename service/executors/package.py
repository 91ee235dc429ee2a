"""Unpack a PackagePath archive into the sandbox, refusing every member that could escape it.

Two guards: our own member check (clear messages naming the member; absolute names, ``..``,
links pointing outside, devices and fifos refused) and then tarfile's ``data`` filter as a second
line of defence. Nothing is extracted when any member is refused.
"""

from __future__ import annotations

import posixpath
import tarfile
from pathlib import Path


class UnsafePackage(ValueError):
    """The archive is unreadable or has a member that would land outside the sandbox."""


def _inside(name: str) -> bool:
    normal = posixpath.normpath(name)
    return not (name.startswith("/") or normal == ".." or normal.startswith("../"))


def check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    if name.startswith("/") or "\x00" in name or any(p == ".." for p in name.split("/")):
        raise UnsafePackage(f"member {name!r} has an absolute path or '..'")
    if member.issym():
        target = posixpath.join(posixpath.dirname(name), member.linkname)
        if member.linkname.startswith("/") or not _inside(target):
            raise UnsafePackage(f"symlink {name!r} -> {member.linkname!r} points outside the package")
    elif member.islnk():
        if not _inside(member.linkname):
            raise UnsafePackage(f"hard link {name!r} -> {member.linkname!r} points outside the package")
    elif not (member.isfile() or member.isdir()):
        raise UnsafePackage(f"member {name!r} is a device or fifo")


def unpack(archive: Path, dest: Path) -> int:
    """Extract ``archive`` (any tar compression) into ``dest``; returns the number of members."""
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            members = tar.getmembers()
            for member in members:
                check_member(member)
            tar.extractall(dest, filter="data")
    except UnsafePackage:
        raise
    except tarfile.FilterError as exc:
        raise UnsafePackage(f"refused by the tar data filter: {exc}") from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnsafePackage(f"not a readable tar archive: {exc}") from exc
    return len(members)
