"""Start a real ``embedroute serve`` process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

#: the tests' HTTP client: some requests load a model on first use (seconds on a cold, busy machine),
#: which httpx's 5 s default would turn into a spurious ReadTimeout
http = httpx.Client(timeout=httpx.Timeout(300.0, connect=10.0))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(
        self,
        root: Path,
        *args: str,
        host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or root.parent / f"server-{self.port}.log"
        cmd = [
            sys.executable,
            "-m",
            "embedroute.cli.main",
            "serve",
            str(root),
            "--host",
            host,
            "--port",
            str(self.port),
            *args,
        ]
        self._out = open(self.log, "w")
        self.proc = subprocess.Popen(
            cmd, stdout=self._out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        )

    def wait(self, timeout: float = 300) -> Server:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"server did not answer within {timeout}s:\n{self.log.read_text()[-3000:]}")

    def warm(self, timeout: float = 600) -> Server:
        """Search every served collection once with each of its experts, with a generous timeout, so that
        cold work (model loads, first-use checks, index builds) happens here and not inside a test's
        request with httpx's 5 s default."""
        for col in httpx.get(self.url + "/api/collections", timeout=timeout).json():
            for expert in col["experts"]:
                resp = httpx.post(
                    f"{self.url}/api/collections/{col['name']}/search",
                    json={"query": "warm up", "k": 1, "expert": expert},
                    timeout=timeout,
                )
                resp.raise_for_status()
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._out.close()
