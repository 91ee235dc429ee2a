"""Runs a Pulumi Python program against our monitor: the language host's job, in a subprocess.

The Pulumi CLI starts the program with the monitor and engine addresses, project, stack,
dry-run flag and config; the SDK's ``reset_options`` / ``set_all_config`` / ``run_in_stack`` do the
rest. The driver passes those through the environment variable ``BCS_DEPLOY_RUN`` (JSON). The
program's own exceptions end here and are printed as their message only: users see
``stacks/specs/jobs/x.yaml: DAG.Tasks.a...: ...``, not a traceback (``BCS_DEBUG=1`` shows it).
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
import traceback
from pathlib import Path

ENV = "BCS_DEPLOY_RUN"
EXIT_PROGRAM_ERROR = 3


def main() -> int:
    import logging

    from pulumi.runtime import reset_options, run_in_stack, set_all_config

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    spec = json.loads(os.environ[ENV])
    main_dir = Path(spec["main"])
    reset_options(
        project=spec["project"],
        stack=spec["stack"],
        monitor_address=spec["monitor"],
        engine_address=spec["engine"],
        preview=spec["preview"],
        parallel=4,
        organization="organization",
        root_directory=spec.get("root"),
    )
    set_all_config(spec["config"], spec["secret_keys"])
    sys.path.insert(0, str(main_dir))
    program = str(main_dir / "__main__.py") if main_dir.is_dir() else str(main_dir)

    def run_program() -> None:
        runpy.run_path(program, run_name="__main__")

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run_in_stack(run_program))
    except BaseException as exc:  # every failure becomes one message for the driver
        if os.environ.get("BCS_DEBUG"):
            traceback.print_exc()
        message = str(exc).strip() or type(exc).__name__
        print(message, file=sys.stderr)
        return EXIT_PROGRAM_ERROR
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
