"""Where spec files come from: the working tree, or a git revision (``git show REV:path``).

Both give the two callbacks :func:`provider.gitops.specs.load_stack_specs` needs, so a PR plan
reads the base revision with exactly the code that the program uses on the working tree.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from provider.gitops.specs import ListDir, ReadFile


class GitError(Exception):
    """git failed (unknown revision, not a repository)."""


def fs_source(root: Path) -> tuple[ReadFile, ListDir]:
    """Read files under ``root`` on disk."""

    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def list_dir(rel: str) -> list[str]:
        path = root / rel
        return sorted(p.name for p in path.iterdir() if p.is_file()) if path.is_dir() else []

    return read, list_dir


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)


def repo_root(path: Path) -> Path:
    proc = _git(path, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise GitError(f"{path} is not in a git repository")
    return Path(proc.stdout.strip())


def check_revision(repo: Path, rev: str) -> str:
    """The commit ``rev`` names; raise :class:`GitError` when it names none."""
    proc = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if proc.returncode != 0:
        raise GitError(f"unknown git revision {rev!r}")
    return proc.stdout.strip()


def git_source(repo: Path, rev: str, root: str) -> tuple[ReadFile, ListDir]:
    """Read files under ``root`` (relative to the repository) as they are at ``rev``."""
    prefix = root.strip("/") + "/" if root.strip("/") not in ("", ".") else ""

    def read(rel: str) -> str | None:
        proc = _git(repo, "show", f"{rev}:{prefix}{rel}")
        return proc.stdout if proc.returncode == 0 else None

    def list_dir(rel: str) -> list[str]:
        proc = _git(repo, "ls-tree", "--name-only", f"{rev}", f"{prefix}{rel}/")
        if proc.returncode != 0:
            return []
        return sorted(line.rsplit("/", 1)[-1] for line in proc.stdout.splitlines() if line)

    return read, list_dir
