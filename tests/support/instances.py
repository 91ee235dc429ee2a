"""Find the real processes of a job's instances from outside their sandboxes.

Inside a bwrap sandbox an instance has its own PID namespace, so ``echo $$`` names a pid that
means nothing to the test. bcsd gives every instance ``BATCH_COMPUTE_DAG_JOB_ID`` in its
environment, which root can read in ``/proc/<pid>/environ``.
"""

from __future__ import annotations

import os
from pathlib import Path


def instance_pids(job_id: str, *, instance_id: int | None = None, program: str = "") -> list[int]:
    """Pids (host namespace) of processes whose environment names ``job_id`` (and the instance),
    optionally only those whose argv[0] ends with ``program``."""
    wanted = f"BATCH_COMPUTE_DAG_JOB_ID={job_id}".encode()
    inst = f"BATCH_COMPUTE_DAG_INSTANCE_ID={instance_id}".encode() if instance_id is not None else b""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            argv0 = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if wanted in env and (not inst or inst in env) and argv0.endswith(program):
            found.append(int(entry))
    return sorted(found)
