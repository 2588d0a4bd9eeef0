"""A real PostgreSQL server for the data tests: a new cluster in a temporary folder, on 127.0.0.1.

The binaries are Debian's (`apt-get install postgresql`, which `.ci/run` does): found through
`pg_config --bindir`, /usr/lib/postgresql/*/bin or the PATH. initdb refuses to run as root, so
as root the cluster belongs to the `postgres` user the package creates and every command runs
through `runuser -u postgres`. `Unavailable` says why a server cannot be had here.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "report"
PASSWORD = "pg-s3cret-7f2a"  # scram-sha-256: a wrong password is refused, as in production
TIMEOUT = 120


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


@dataclass(frozen=True)
class PostgresServer:
    """A running server: its port, and the URL that reaches it with the test user."""

    port: int

    def url(self, password: str = PASSWORD, database: str = "postgres") -> str:
        """A SQLAlchemy URL for psycopg 3."""
        return f"postgresql+psycopg://{USER}:{password}@127.0.0.1:{self.port}/{database}"


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"[0-9]+", path.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                ["pg_config", "--bindir"], capture_output=True, text=True, timeout=30
            )
            candidates.append(Path(done.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner() -> tuple[list[str], int | None]:
    """The command prefix that runs a PostgreSQL tool, and the uid to own the cluster."""
    if os.geteuid() != 0:
        return [], None
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable(
            "running as root, initdb refuses root, and there is no `postgres` user"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise Unavailable("running as root and `runuser` is missing to run initdb as postgres")
    return [runuser, "-u", "postgres", "--"], owner.pw_uid


def _run(command: list[str], folder: Path, what: str) -> None:
    """Run a PostgreSQL tool; Unavailable with its output's end when it fails."""
    with (folder / "tool.out").open("ab") as out:  # a file, not a pipe the server could keep
        try:
            done = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Unavailable(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        tail = []
        for name in ("tool.out", "server.log"):
            with contextlib.suppress(OSError):
                tail += (folder / name).read_text(errors="replace").splitlines()[-5:]
        raise Unavailable(f"{what} failed (exit {done.returncode}): {' / '.join(tail)}")


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A new cluster, started for the block and removed after it."""
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable("no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql")
    prefix, uid = _as_owner()
    folder = Path(tempfile.mkdtemp(prefix="reporting-pg-"))
    data = folder / "data"
    started = False
    try:
        (folder / "password").write_text(PASSWORD + "\n")
        if uid is not None:
            for path in (folder, folder / "password"):
                os.chown(path, uid, -1)
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", USER, "-A", "scram-sha-256"]
        initdb += [f"--pwfile={folder / 'password'}", "-E", "UTF8", "--locale=C", "--no-sync"]
        _run(prefix + initdb, folder, "initdb")
        for attempt in range(3):  # a port found free may be taken before the server binds it
            port = free_port()
            options = f"-h 127.0.0.1 -p {port} -k {folder} -F -c shared_buffers=16MB"
            start = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log")]
            try:
                _run([*prefix, *start, "-w", "-t", "60", "-o", options, "start"], folder, "pg_ctl")
            except Unavailable:
                if attempt == 2:
                    raise
                continue
            started = True
            break
        yield PostgresServer(port)
    finally:
        if started:
            with contextlib.suppress(Unavailable):
                stop = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
                _run(prefix + stop, folder, "pg_ctl stop")
        shutil.rmtree(folder, ignore_errors=True)
