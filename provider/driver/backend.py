"""Where a stack's checkpoint lives: a Pulumi file backend, laid out as ``pulumi login file://DIR`` keeps it.

    DIR/.pulumi/meta.yaml                              version: 1 (the project-scoped layout)
    DIR/.pulumi/stacks/<project>/<stack>.json          the checkpoint (``{"version": 3, "checkpoint": ...}``)
    DIR/.pulumi/locks/organization/<project>/<stack>/  one ``<uuid>.json`` per engine run holding the stack
    DIR/.pulumi/bcs-deploy/<project>/<stack>.lock      the driver's own ``fcntl`` lock (the CLI ignores it)

``DIR`` is the one the CLI would use: ``PULUMI_BACKEND_URL`` (``file://...``) when set, else the
project's ``backend.url`` in ``Pulumi.yaml``, else ``.bcs/pulumi`` under the project. Blobs are
written the way the CLI's blob store (gocloud ``fileblob``) writes them: atomically, with a
``.attrs`` sidecar holding the content's MD5, so either engine reads what the other wrote.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

BACKEND_URL_ENV = "PULUMI_BACKEND_URL"
DEFAULT_BACKEND = Path(".bcs") / "pulumi"
ORGANIZATION = "organization"  # the file backend's only organization
META = "version: 1\n"


class BackendError(Exception):
    """The backend URL is not a local file backend, or its layout is one we do not write."""


def backend_dir(project_root: Path, project_url: str | None = None) -> Path:
    """The backend directory for a project, chosen as the CLI chooses it."""
    url = os.environ.get(BACKEND_URL_ENV) or project_url
    if not url:
        return project_root / DEFAULT_BACKEND
    if not url.startswith("file://"):
        raise BackendError(
            f"{BACKEND_URL_ENV}={url}: bcs-deploy keeps state only in a local file backend (file://DIR)"
        )
    path = Path(os.path.expanduser(url[len("file://"):]))
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


@dataclass(frozen=True)
class StackPaths:
    """The files of one stack in one backend."""

    root: Path
    project: str
    stack: str

    @property
    def bookkeeping(self) -> Path:
        return self.root / ".pulumi"

    @property
    def meta(self) -> Path:
        return self.bookkeeping / "meta.yaml"

    @property
    def checkpoint(self) -> Path:
        return self.bookkeeping / "stacks" / self.project / f"{self.stack}.json"

    @property
    def cli_lock_dir(self) -> Path:
        return self.bookkeeping / "locks" / ORGANIZATION / self.project / self.stack

    @property
    def driver_lock(self) -> Path:
        return self.bookkeeping / "bcs-deploy" / self.project / f"{self.stack}.lock"

    @property
    def qualified_stack(self) -> str:
        """The checkpoint's ``stack`` field: ``organization/<project>/<stack>``."""
        return f"{ORGANIZATION}/{self.project}/{self.stack}"

    def ensure_layout(self) -> None:
        """Create ``meta.yaml`` (project-scoped layout) unless there is one; refuse the legacy layout."""
        if self.meta.is_file():
            text = self.meta.read_text(encoding="utf-8")
            if "version: 1" not in text:
                raise BackendError(
                    f"{self.meta}: not the project-scoped layout (version: 1);"
                    " run `pulumi state upgrade` first"
                )
            return
        write_blob(self.meta, META.encode())


def write_blob(path: Path, data: bytes) -> None:
    """Write ``path`` atomically, with the ``.attrs`` sidecar the CLI's blob store keeps beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    attrs = {
        "user.cache_control": "",
        "user.content_disposition": "",
        "user.content_encoding": "",
        "user.content_language": "",
        "user.content_type": "text/plain; charset=utf-8",
        "user.metadata": None,
        "md5": base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324 - a checksum, as fileblob
    }
    _atomic(path.with_name(path.name + ".attrs"), json.dumps(attrs, separators=(",", ":")).encode())
    _atomic(path, data)


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def remove_blob(path: Path) -> None:
    """Delete a blob and its sidecar; a missing one is fine."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".attrs").unlink(missing_ok=True)
