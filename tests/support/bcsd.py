"""Start a real ``bcsd serve`` subprocess on a free loopback port, for tests and benchmarks.

proc = start_bcsd(tmp_path)          # waits for GET /healthz
...                                  # proc.url, proc.key_id, proc.secret, proc.data_dir
proc.kill9(); proc.restart()         # crash and recover on the same data dir
proc.stop()                          # SIGTERM, then SIGKILL; always by PID
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BCSD = Path(sys.executable).parent / "bcsd"


@functools.cache
def instance_scratch() -> Path:
    """One folder of this test run that sandboxed instances may write (``--isolation-rw-path``):
    tests whose instances coordinate through files (barriers, gates, traces) put them here,
    never in bcsd's data dir, which instances cannot see. World-writable: instances run as nobody."""
    path = Path(tempfile.mkdtemp(prefix="bcs-scratch-"))
    path.chmod(0o1777)
    atexit.register(shutil.rmtree, path, True)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class BcsdProcess:
    url: str
    host: str
    port: int
    key_id: str
    secret: str
    data_dir: Path
    pid: int
    options: dict[str, object] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None
    generated_credentials: bool = False
    verify: ssl.SSLContext | bool = True  # what its probe trusts when it serves HTTPS (``tls_cert=``)

    def _argv(self) -> list[str]:
        argv = [
            str(BCSD),
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        for key, value in self.options.items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        return [*argv, "--isolation-rw-path", str(instance_scratch())]

    def _launch(self, timeout: float = 30.0) -> None:
        env = dict(os.environ, BCS_ACCESS_KEY_ID=self.key_id, BCS_ACCESS_KEY_SECRET=self.secret)
        if not self.key_id:  # let bcsd generate (or reuse) DATA_DIR/credentials.json
            env.pop("BCS_ACCESS_KEY_ID", None)
            env.pop("BCS_ACCESS_KEY_SECRET", None)
        assert self.log_path is not None
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(self._argv(), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bcsd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0, verify=self.verify).status_code == 200:
                    if not self.key_id:
                        stored = json.loads((self.data_dir / "credentials.json").read_text())
                        self.key_id, self.secret = stored["AccessKeyId"], stored["AccessKeySecret"]
                        self.generated_credentials = True
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"bcsd did not become healthy within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def __enter__(self) -> BcsdProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if it does not exit within 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        """Start again on the same port and data dir (after stop() or kill9())."""
        self.stop()
        self._launch()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def start_bcsd(
    tmp_path: Path,
    *,
    generate_credentials: bool = False,
    trust: ssl.SSLContext | bool = True,
    data_dir: Path | None = None,
    **options: object,
) -> BcsdProcess:
    """Start ``bcsd serve`` with a fresh data dir under ``tmp_path``. ``options`` become CLI flags
    (``max_running=4`` -> ``--max-running 4``). With ``generate_credentials`` the key pair is not
    passed in the environment: bcsd generates ``credentials.json`` and the fields are read back.
    With ``tls_cert=``/``tls_key=`` it serves HTTPS; ``trust`` is the context its probe verifies with.
    ``data_dir``: an existing data dir to serve (an upgrade test's store) instead of a fresh one."""
    port = free_port()
    scheme = "https" if options.get("tls_cert") else "http"
    data_dir = data_dir or Path(tmp_path) / f"bcsd-{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = BcsdProcess(
        url=f"{scheme}://127.0.0.1:{port}",
        host="127.0.0.1",
        port=port,
        key_id="" if generate_credentials else "LTAItest" + secrets.token_hex(4),
        # never a leading '-': the engine suite passes it to `pulumi config set --secret` as an argument
        secret="" if generate_credentials else "s" + secrets.token_urlsafe(18),
        data_dir=data_dir,
        pid=0,
        options=dict(options),
        log_path=data_dir / "bcsd.log",
        verify=trust,
    )
    proc._launch()
    return proc
