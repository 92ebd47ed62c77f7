"""Starts real `freshet serve` processes for the live-server tests and stops them."""
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

BIN = os.environ.get("FRESHET_BIN", os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "freshet"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One freshet process on a private port and data directory."""

    def __init__(self, data_dir, port=None, extra_args=(), storage=None, env=None):
        self.data_dir = str(data_dir)
        self.port = port or free_port()
        self.storage = storage or f"rocksdb://{self.data_dir}"
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.log_path = os.path.join(self.data_dir + "-logs", f"server-{self.port}.log")
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30.0):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--port", str(self.port), "--storage", self.storage, "--log-level", "warning", *self.extra_args],
            stdout=log, stderr=log, env=self.env,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"freshet exited with {self.proc.returncode}; log: {open(self.log_path).read()[-2000:]}")
            try:
                if requests.get(self.url + "/readyz", timeout=0.5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("freshet did not become ready in time")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, timeout=30.0) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=timeout)
        return self.proc.returncode if self.proc else 0


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "data").start()
    yield srv
    srv.kill()


@pytest.fixture
def make_server(tmp_path):
    started = []

    def make(**kwargs):
        srv = Server(kwargs.pop("data_dir", tmp_path / "data"), **kwargs)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.kill()


@pytest.fixture
def tpuf(server):
    from turbopuffer import Turbopuffer

    return Turbopuffer(api_key="test-key", base_url=server.url)
