"""``oss://bucket/key`` object storage for bcsd, over fsspec.

Why fsspec: one small API covers the three places objects can live — a directory on this
machine (the default, ``DATA_DIR/oss/bucket/key``), real Alibaba OSS through ``ossfs`` and S3
through ``s3fs`` — so the runner, the CLI and the routes never care which one is configured.

An ``ObjectStore`` is described by plain strings (``to_config`` / ``from_config``) so it can travel
inside ``InstanceLaunch.object_store`` to a Dask worker. Secrets never travel in that description:
an option value written ``env:NAME`` is read from the environment variable ``NAME`` only when the
filesystem is opened, and ``repr`` never shows option values.

Keys are checked before any I/O: ``..``, ``.`` and empty (absolute) components are refused, so a
key can never escape ``ROOT`` of the local store.
"""

from __future__ import annotations

import builtins
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEME = "oss://"

# protocol -> (fsspec protocol, pip extra that provides it)
BACKENDS: dict[str, tuple[str, str]] = {
    "file": ("file", ""),
    "oss": ("oss", "ossfs"),
    "s3": ("s3", "s3fs"),
}


class ObjectStoreError(Exception):
    """A user-visible object-store failure (bad path, missing object, backend error)."""


@dataclass(frozen=True, slots=True)
class ObjectPath:
    """A parsed ``oss://bucket/key``; ``key`` ends with ``/`` when it names a prefix (a folder)."""

    bucket: str
    key: str

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    def child(self, relative: str) -> ObjectPath:
        base = self.key if self.is_prefix else self.key + "/"
        return parse_oss_path(f"{SCHEME}{self.bucket}/{base}{relative}")


def parse_oss_path(url: str) -> ObjectPath:
    """Split ``oss://bucket/key``, refusing anything that could escape the store's root."""
    if not isinstance(url, str) or not url.startswith(SCHEME):
        raise ObjectStoreError(f"not an oss:// path: {url!r}")
    rest = url[len(SCHEME) :]
    bucket, _, key = rest.partition("/")
    if not bucket or bucket in (".", "..") or "\\" in bucket:
        raise ObjectStoreError(f"invalid bucket in {url!r}")
    if "\x00" in key or "\\" in key:
        raise ObjectStoreError(f"invalid character in object key {url!r}")
    parts = key.split("/")
    # a trailing "/" leaves one empty last part: that marks a prefix, every other part must be real
    for part in parts[:-1] if key.endswith("/") else parts if key else []:
        if part in ("", ".", ".."):
            raise ObjectStoreError(f"object key {key!r} has an empty, '.' or '..' component")
    return ObjectPath(bucket, key)


@dataclass(slots=True)
class ObjectStore:
    """Object storage addressed by ``oss://`` paths.

    ``protocol`` is one of ``BACKENDS``; ``root`` is the local directory for ``file`` (ignored by
    the others); ``options`` are passed to the fsspec filesystem (values ``env:NAME`` resolved at
    open time).
    """

    protocol: str = "file"
    root: str = ""
    options: dict[str, str] = field(default_factory=dict)
    _fs: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.protocol not in BACKENDS:
            known = ", ".join(sorted(BACKENDS))
            raise ObjectStoreError(f"unknown object store protocol {self.protocol!r} (one of {known})")
        if self.protocol == "file":
            if not self.root:
                raise ObjectStoreError("a local object store needs a root directory")
            self.root = os.path.abspath(self.root)

    def __repr__(self) -> str:  # never show option values: they may name or hold credentials
        return f"ObjectStore(protocol={self.protocol!r}, root={self.root!r}, options={sorted(self.options)})"

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def local(cls, data_dir: str | os.PathLike[str]) -> ObjectStore:
        """The default store of ``bcsd serve``: ``oss://bucket/key`` is ``DATA_DIR/oss/bucket/key``."""
        return cls("file", str(Path(data_dir).resolve() / "oss"))

    def to_config(self) -> dict[str, str]:
        """A plain, picklable description (for ``InstanceLaunch.object_store``)."""
        cfg = {"protocol": self.protocol, "root": self.root}
        cfg.update({f"option.{k}": v for k, v in self.options.items()})
        return cfg

    @classmethod
    def from_config(cls, cfg: dict[str, str]) -> ObjectStore:
        options = {k[len("option.") :]: v for k, v in cfg.items() if k.startswith("option.")}
        return cls(cfg.get("protocol", "file"), cfg.get("root", ""), options)

    # ---- plumbing -----------------------------------------------------------------------------
    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs = self._open()
        return self._fs

    def _open(self) -> Any:
        import fsspec  # lazily: the CLI's fast paths and pickled configs need not pay for it

        fs_protocol, extra = BACKENDS[self.protocol]
        if self.protocol == "file":
            return fsspec.filesystem("file", auto_mkdir=True)
        resolved: dict[str, str] = {}
        for k, v in self.options.items():
            if v.startswith("env:"):
                name = v[4:]
                if name not in os.environ:
                    raise ObjectStoreError(f"object store option {k!r} needs environment variable {name}")
                resolved[k] = os.environ[name]
            else:
                resolved[k] = v
        try:
            return fsspec.filesystem(fs_protocol, **resolved)
        except ImportError as exc:
            raise ObjectStoreError(f"the {self.protocol!r} object store needs the {extra!r} package") from exc

    def _native(self, p: ObjectPath) -> str:
        key = p.key.rstrip("/")
        if self.protocol == "file":
            base = os.path.join(self.root, p.bucket)
            return os.path.join(base, key) if key else base
        return f"{p.bucket}/{key}" if key else p.bucket

    def _relative(self, native: str, base_native: str) -> str:
        return native[len(base_native) :].lstrip("/")

    def _wrap(self, what: str, url: str, exc: Exception) -> ObjectStoreError:
        if isinstance(exc, ObjectStoreError):
            return exc
        if isinstance(exc, FileNotFoundError):
            return ObjectStoreError(f"{what}: no such object {url}")
        return ObjectStoreError(f"{what} {url}: {type(exc).__name__}: {exc}")

    # ---- operations ---------------------------------------------------------------------------
    def exists(self, url: str) -> bool:
        """True when ``url`` names an object, or a prefix holding at least one object."""
        p = parse_oss_path(url)
        native = self._native(p)
        try:
            if not self.fs.exists(native):
                return False
            return not p.is_prefix or bool(self.fs.find(native))
        except Exception as exc:
            raise self._wrap("exists", url, exc) from exc

    def is_object(self, url: str) -> bool:
        """True when ``url`` names a single object (not a prefix)."""
        p = parse_oss_path(url)
        if p.is_prefix:
            return False
        try:
            return bool(self.fs.isfile(self._native(p)))
        except Exception as exc:
            raise self._wrap("stat", url, exc) from exc

    def read_bytes(self, url: str) -> bytes:
        p = parse_oss_path(url)
        if p.is_prefix:
            raise ObjectStoreError(f"{url} is a prefix, not an object")
        try:
            return bytes(self.fs.cat_file(self._native(p)))
        except Exception as exc:
            raise self._wrap("read", url, exc) from exc

    def write_bytes(self, url: str, data: bytes) -> None:
        p = parse_oss_path(url)
        if p.is_prefix:
            raise ObjectStoreError(f"{url} is a prefix; an object key cannot end with '/'")
        try:
            self.fs.pipe_file(self._native(p), data)
        except Exception as exc:
            raise self._wrap("write", url, exc) from exc

    def put_file(self, local: str | os.PathLike[str], url: str) -> str:
        """Upload one file; a prefix ``url`` receives it under its basename. Returns the object url."""
        p = parse_oss_path(url)
        if p.is_prefix:
            p = p.child(Path(local).name)
        try:
            self.fs.put_file(os.fspath(local), self._native(p))
        except Exception as exc:
            raise self._wrap("upload to", p.url(), exc) from exc
        return p.url()

    def put_folder(self, local_dir: str | os.PathLike[str], url: str) -> list[str]:
        """Upload every regular file under ``local_dir`` (recursively) below the prefix ``url``.

        Symlinks below ``local_dir`` are skipped, file or directory, and never descended into: an
        upload never follows a link out of the folder (``os.walk`` with ``followlinks=False``, not
        ``Path.rglob``, which may follow directory links).
        """
        base = os.fspath(local_dir)
        prefix = parse_oss_path(url if url.endswith("/") else url + "/")
        found: list[str] = []
        for top, _dirs, files in os.walk(base, followlinks=False):
            for name in files:
                path = os.path.join(top, name)
                if stat.S_ISREG(os.lstat(path).st_mode):  # not a symlink, fifo or socket
                    found.append(Path(os.path.relpath(path, base)).as_posix())
        return [self.put_file(os.path.join(base, rel), prefix.child(rel).url()) for rel in sorted(found)]

    def put(self, local: str | os.PathLike[str], url: str) -> list[str]:
        """Upload a file or a folder, whichever ``local`` is."""
        if Path(local).is_dir():
            return self.put_folder(local, url)
        if not Path(local).is_file():
            raise ObjectStoreError(f"no such local file or folder: {local}")
        return [self.put_file(local, url)]

    def list(self, url: str) -> list[str]:
        """Every object url at or below ``url`` (recursive), sorted."""
        p = parse_oss_path(url)
        native = self._native(p)
        try:
            if not self.fs.exists(native):
                return []
            if not p.is_prefix and self.fs.isfile(native):
                return [p.url()]
            found = self.fs.find(native)
        except Exception as exc:
            raise self._wrap("list", url, exc) from exc
        base = p if p.is_prefix else parse_oss_path(url + "/")
        # compare on the part below the prefix so local and remote backends name objects the same way
        prefix_native = self._native(base)
        return sorted(base.child(self._relative(str(n), prefix_native)).url() for n in found)

    def get(self, url: str, local: str | os.PathLike[str]) -> builtins.list[Path]:
        """Download an object to a file, or every object below a prefix into a folder.

        An object copied to ``local`` ending in ``/`` (or an existing folder) lands under its
        basename there. Missing objects raise ``ObjectStoreError``.
        """
        p = parse_oss_path(url)
        dest = Path(local)
        if not p.is_prefix and self.is_object(url):
            if os.fspath(local).endswith("/") or dest.is_dir():
                dest = dest / p.key.rsplit("/", 1)[-1]
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.fs.get_file(self._native(p), os.fspath(dest))
            except Exception as exc:
                raise self._wrap("download", url, exc) from exc
            return [dest]
        objects = self.list(url if p.is_prefix else url + "/")
        if not objects and not p.is_prefix:
            raise ObjectStoreError(f"download: no such object {url}")
        base = p if p.is_prefix else parse_oss_path(url + "/")
        written = []
        dest.mkdir(parents=True, exist_ok=True)
        for obj in objects:
            relative = parse_oss_path(obj).key[len(base.key) :]
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.fs.get_file(self._native(parse_oss_path(obj)), os.fspath(target))
            except Exception as exc:
                raise self._wrap("download", obj, exc) from exc
            written.append(target)
        return written
