"""Start and stop the test OpenID Connect provider as a real process on 127.0.0.1 (for fixtures)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90


@dataclass
class RunningProvider:
    base_url: str
    issuer: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_provider(*, clients: list[dict], users: list[dict]) -> Iterator[RunningProvider]:
    """A provider process with these clients and users; its own SQLite database in a temp folder."""
    with tempfile.TemporaryDirectory(prefix="auror-op-") as tmp:
        tmp_path = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        config = tmp_path / "op.json"
        config.write_text(json.dumps({"clients": clients, "users": users}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "AUROR_"))}
        env.update({"OP_DB": str(tmp_path / "op.sqlite3"), "OP_SITE_URL": base, "PYTHONPATH": str(REPO)})
        log_path = tmp_path / "op.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.oidc_provider.run", "--port", str(port), "--config", str(config)],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        provider = RunningProvider(base_url=base, issuer=f"{base}/openid", process=proc, log_path=log_path)
        try:
            _wait_until_up(provider)
            yield provider
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_up(provider: RunningProvider) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    url = provider.issuer + "/.well-known/openid-configuration"
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            raise RuntimeError(f"the test OIDC provider exited:\n{provider.log()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the test OIDC provider did not answer at {url} in {START_TIMEOUT}s:\n{provider.log()}")
