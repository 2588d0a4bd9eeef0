"""A real Redis server for the shared-budget tests: Debian's `redis-server` on 127.0.0.1.

Started on a free port in a temporary folder, with no persistence (`--save ''`, no AOF), and
stopped after the block. `.ci/run` installs the package; `Unavailable` says why none can start.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pg_server import free_port

START_TIMEOUT = 20.0


class Unavailable(Exception):
    """No Redis server can be started here; the message says why."""


@dataclass(frozen=True)
class RedisServer:
    """A running server and the URL that reaches it."""

    port: int
    password: str | None = None

    @property
    def url(self) -> str:
        """A redis:// URL of database 0, with the password when the server requires one."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"


def _answers(port: int, password: str | None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if password:
                sock.sendall(f"AUTH {password}\r\n".encode())
                if not sock.recv(16).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(password: str | None = None) -> Iterator[RedisServer]:
    """A new server (requiring `password` if given), started for the block and stopped after."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise Unavailable("no redis-server binary: apt-get install redis-server")
    folder = Path(tempfile.mkdtemp(prefix="reporting-redis-"))
    port = free_port()
    command = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(folder),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--logfile", str(folder / "server.log"),
    ]  # fmt: skip
    if password:
        command += ["--requirepass", password]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(port, password):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "server.log").read_text(errors="replace") if folder.exists() else ""
                raise Unavailable(f"redis-server did not start: {log[-300:]}")
            time.sleep(0.05)
        yield RedisServer(port, password)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
