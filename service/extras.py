"""Optional parts of bcsd and the extra that installs each: ``pip install bcs-gitops`` gives the
API, the scheduler, the local executor and SQLite; a setting that needs more names its extra in
one line at start instead of failing later with an import trace."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings


@dataclass(frozen=True)
class Extra:
    name: str  # pip install 'bcs-gitops[<name>]'
    module: str  # what it brings
    needed_by: str  # the setting, as the user wrote it
    wanted: Callable[[Settings], bool]


EXTRAS: tuple[Extra, ...] = (
    Extra("dask", "distributed", "--executor dask", lambda s: s.executor == "dask"),
    Extra(
        "postgres",
        "psycopg",
        "a postgresql:// --database-url",
        lambda s: s.database_url.startswith(("postgresql", "postgres:")),
    ),  # fmt: skip
    Extra(
        "s3",
        "s3fs",
        '--object-store {"protocol": "s3", …}',
        lambda s: s.object_store.get("protocol") in ("s3", "s3a"),
    ),  # fmt: skip
    Extra(
        "oss",
        "ossfs",
        '--object-store {"protocol": "oss", …}',
        lambda s: s.object_store.get("protocol") == "oss",
    ),  # fmt: skip
)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(settings: Settings) -> str:
    """``""`` when every part the settings use is installed, else the first missing one, in a line."""
    for extra in EXTRAS:
        if extra.wanted(settings) and not _installed(extra.module):
            return f"{extra.needed_by} needs the {extra.name} extra: pip install 'bcs-gitops[{extra.name}]'"
    return ""
