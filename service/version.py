"""The version of bcsd: the installed distribution's (``bcs-gitops``), one definition for
``--version``, ``/healthz``, ``/openapi.json`` and ``bcsd_build_info``."""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "bcs-gitops"


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
