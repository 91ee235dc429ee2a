"""Unpack a PackagePath archive into the sandbox; nothing it holds may land or point outside.

Why not ``tarfile.extractall(filter="data")``: the filter judges each member by
``os.path.realpath`` *before* extracting it, and Python 3.11.7's non-strict realpath stops
resolving when a path grows past PATH_MAX and goes on lexically. A chain of nested directories
and short symlinks (CVE-2025-4517) therefore looks inside to the filter while the kernel, following
the links already extracted, lands outside; the filter also judges a symlink only against what is
on disk when it is extracted, so a later member can change what an earlier link means (the
``a -> x/..`` then ``x -> .`` reordering).

So we extract member by member ourselves, judging every path against the disk as it is now with a
*strict* realpath (any error resolving it — a loop, a name too long — refuses the package):

- names: no absolute path, ``..`` component or NUL;
- directories: ``mkdir``; regular files: ``O_CREAT|O_EXCL|O_NOFOLLOW`` in a parent whose real path is
  inside ``dest``, streamed in chunks while counting the bytes really written (headers can lie);
- symlinks: only when the target, resolved through what is on disk now, stays inside ``dest``;
  after the last member every extracted symlink is checked again, because a later link can change
  what an earlier one resolves to;
- hard links: only to an earlier regular-file member, written as a copy of that member's data
  (counted toward the size limit); never ``os.link``;
- devices, fifos and anything else: refused;
- modes: the owner's rwx, read/exec for group and other; no setuid/setgid/sticky, no group/other
  write; never chown.

Limits: ``MAX_BYTES`` unpacked and ``MAX_MEMBERS`` members (keyword overrides on ``unpack``).
On any refusal everything extracted so far is removed again, so nothing partial remains.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from pathlib import Path
from typing import IO

MAX_BYTES = 2 * 1024**3
MAX_MEMBERS = 100_000
_CHUNK = 1024 * 1024
_SPECIAL = {
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a fifo",
}


class UnsafePackage(ValueError):
    """The archive is unreadable, too big, or has a member that would land outside the sandbox."""


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"


def _mode(member: tarfile.TarInfo, owner: int) -> int:
    return (member.mode & 0o755) | owner


class _Unpacker:
    def __init__(self, tar: tarfile.TarFile, dest: str, max_bytes: int, max_members: int) -> None:
        self.tar, self.dest = tar, dest
        self.max_bytes, self.max_members = max_bytes, max_members
        self.written = 0
        self.created: dict[str, None] = {}  # real paths in creation order (removed in reverse on refusal)
        self.links: dict[str, str] = {}  # real path of each symlink made -> member name
        self.files: dict[str, tarfile.TarInfo] = {}  # member name -> the regular-file member with its data

    # ---- paths ------------------------------------------------------------------------------------
    def inside(self, real: str) -> bool:
        return real == self.dest or real.startswith(self.dest + os.sep)

    def resolve(self, path: str) -> str:
        """Strict realpath of the part of ``path`` that exists; missing trailing parts are joined as
        written. Any other error (loop, name too long, not a directory) raises OSError."""
        head, tail = path.rstrip(os.sep) or os.sep, []
        while True:
            try:
                real = os.path.realpath(head, strict=True)
                break
            except FileNotFoundError:
                head, last = os.path.split(head)
                if not last:
                    raise
                tail.append(last)
        return posixpath.normpath(os.path.join(real, *reversed(tail)))

    def parent(self, name: str) -> str:
        """The real directory ``name`` goes in, made (inside ``dest``) when missing."""
        real = self.dest
        for part in name.split("/")[:-1]:
            path = os.path.join(real, part)
            if not os.path.lexists(path):
                os.mkdir(path, 0o755)
                self.created[path] = None
            real = os.path.realpath(path, strict=True)
            if not self.inside(real) or not os.path.isdir(real):
                raise UnsafePackage(f"member {name!r}: {part!r} leads outside the package or is no directory")
        return real

    # ---- members ----------------------------------------------------------------------------------
    def member(self, member: tarfile.TarInfo) -> None:
        raw = member.name
        if raw.startswith("/") or "\x00" in raw or ".." in raw.split("/"):
            raise UnsafePackage(f"member {raw!r} has an absolute path, '..' or NUL")
        name = posixpath.normpath(raw)
        if name == ".":
            if member.isdir():
                return
            raise UnsafePackage(f"member {raw!r} is not a directory but names the package root")
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            kind = _SPECIAL.get(member.type, f"of unsupported type {member.type!r}")
            raise UnsafePackage(f"member {raw!r} is {kind}")
        if member.issym() and (member.linkname.startswith("/") or "\x00" in member.linkname):
            raise UnsafePackage(f"symlink {raw!r} -> {member.linkname!r} is absolute")
        path = os.path.join(self.parent(name), posixpath.basename(name))
        if member.isdir():
            self.directory(raw, path, member)
        elif member.issym():
            self.symlink(raw, path, member.linkname)
        elif member.islnk():
            target = posixpath.normpath(member.linkname)
            if target not in self.files:
                raise UnsafePackage(
                    f"hard link {raw!r} -> {member.linkname!r} is not to an earlier file of the package"
                )
            self.file(raw, path, self.files[target], member)
            self.files[name] = self.files[target]
        else:
            self.file(raw, path, member, member)
            self.files[name] = member

    def directory(self, raw: str, path: str, member: tarfile.TarInfo) -> None:
        if not os.path.lexists(path):
            os.mkdir(path, 0o700)
            self.created[path] = None
        elif not stat.S_ISDIR(os.lstat(path).st_mode):
            raise UnsafePackage(f"directory {raw!r} would replace a file or link of the same name")
        os.chmod(path, _mode(member, 0o700))

    def symlink(self, raw: str, path: str, target: str) -> None:
        self.replace(raw, path)
        real = self.resolve(os.path.join(os.path.dirname(path), target))
        if not self.inside(real):
            raise UnsafePackage(f"symlink {raw!r} -> {target!r} points outside the package")
        os.symlink(target, path)
        self.created[path] = None
        self.links[path] = raw

    def file(self, raw: str, path: str, data: tarfile.TarInfo, member: tarfile.TarInfo) -> None:
        if self.written + data.size > self.max_bytes:
            raise UnsafePackage(f"package unpacks to more than {_size(self.max_bytes)} (at member {raw!r})")
        self.replace(raw, path)
        source: IO[bytes] | None = self.tar.extractfile(data)
        if source is None:
            raise UnsafePackage(f"member {raw!r} has no data")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        self.created[path] = None
        with source, os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                self.written += len(chunk)
                if self.written > self.max_bytes:
                    raise UnsafePackage(
                        f"package unpacks to more than {_size(self.max_bytes)} (at member {raw!r})"
                    )
                out.write(chunk)
            os.fchmod(out.fileno(), _mode(member, 0o600))
            with contextlib.suppress(OSError, OverflowError, ValueError):  # a bad mtime: keep "now"
                os.utime(out.fileno(), (member.mtime, member.mtime))

    def replace(self, raw: str, path: str) -> None:
        """A later member of the same name replaces an earlier file or link (never a directory)."""
        if not os.path.lexists(path):
            return
        if path not in self.created or stat.S_ISDIR(os.lstat(path).st_mode):
            raise UnsafePackage(f"member {raw!r} would replace an existing directory or file")
        os.unlink(path)
        del self.created[path]
        self.links.pop(path, None)

    # ---- the whole archive ------------------------------------------------------------------------
    def run(self) -> int:
        count = 0
        for member in self.tar:
            count += 1
            if count > self.max_members:
                raise UnsafePackage(f"package has more than {self.max_members} members")
            try:
                self.member(member)
            except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
                reason = getattr(exc, "strerror", None) or exc  # not the paths: they can be 4 KiB long
                raise UnsafePackage(f"member {member.name!r}: {reason}") from exc
        for path, raw in self.links.items():  # a later link may have changed what this one means
            try:
                real = self.resolve(path)
            except OSError as exc:
                raise UnsafePackage(f"symlink {raw!r} cannot be resolved: {exc}") from exc
            if not self.inside(real):
                raise UnsafePackage(f"symlink {raw!r} points outside the package once all members exist")
        return count

    def remove_all(self) -> None:
        for path in reversed(self.created):
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            except FileNotFoundError:
                pass


def unpack(archive: Path, dest: Path, *, max_bytes: int = MAX_BYTES, max_members: int = MAX_MEMBERS) -> int:
    """Extract ``archive`` (any tar compression) into ``dest``; returns the number of members.

    Raises ``UnsafePackage`` (and leaves nothing extracted) when any member is refused, a limit is
    exceeded or the archive cannot be read.
    """
    dest.mkdir(parents=True, exist_ok=True)
    unpacker: _Unpacker | None = None
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            unpacker = _Unpacker(tar, os.path.realpath(dest, strict=True), max_bytes, max_members)
            return unpacker.run()
    except UnsafePackage:
        if unpacker is not None:
            unpacker.remove_all()
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        if unpacker is not None:
            unpacker.remove_all()
        raise UnsafePackage(f"not a readable tar archive: {exc}") from exc
