"""The access key pair bcsd accepts.

From ``BCS_ACCESS_KEY_ID`` / ``BCS_ACCESS_KEY_SECRET`` when set; otherwise generated once into
``DATA_DIR/credentials.json`` (mode 0600) so restarts keep accepting the same key. Only the id
is ever logged.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("bcsd.credentials")


@dataclass(frozen=True, slots=True)
class Credentials:
    key_id: str
    secret: str

    def __repr__(self) -> str:  # never show the secret, even in a debugger or a log line
        return f"Credentials(key_id={self.key_id!r}, secret=***)"


def load_credentials(data_dir: Path, env: dict[str, str] | None = None) -> Credentials:
    """Environment first, then ``credentials.json``, else generate and store a new pair."""
    env = dict(os.environ) if env is None else env
    key_id, secret = env.get("BCS_ACCESS_KEY_ID", ""), env.get("BCS_ACCESS_KEY_SECRET", "")
    if key_id and secret:
        log.info("accepting access key id %s (from environment)", key_id)
        return Credentials(key_id, secret)
    path = data_dir / "credentials.json"
    if path.exists():
        stored = json.loads(path.read_text())
        creds = Credentials(stored["AccessKeyId"], stored["AccessKeySecret"])
        log.info("accepting access key id %s (from %s)", creds.key_id, path)
        return creds
    creds = Credentials("LTAI" + secrets.token_hex(8), secrets.token_urlsafe(24))
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"AccessKeyId": creds.key_id, "AccessKeySecret": creds.secret}, out)
    log.info("generated access key id %s; its secret is in %s (mode 0600)", creds.key_id, path)
    return creds
