"""The Pulumi program: every job and cluster spec of the stack under specs/, as resources.

See provider/gitops/specs.py for the spec layout and the per-stack config keys.
"""

from pathlib import Path

from provider.gitops.program import deploy_stack

deploy_stack(Path(__file__).resolve().parent)
