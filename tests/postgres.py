"""A throwaway PostgreSQL server for the tests, started from the local PostgreSQL binaries.

Fixtures (registered as a plugin in ``tests/conftest.py``):

- ``postgres_cluster`` (session): one server for the whole run, in a temporary directory; initdb'd with
  ``-A trust`` and ``--no-sync``, run with ``fsync=off``, on 127.0.0.1 at a free port, with its unix socket
  in that directory too. Stopped (``-m immediate``) and deleted at the end of the run, failed or not.
- ``postgres_url`` (function): a new, empty database on that server for each test, as a
  ``postgresql+asyncpg://`` URL. Nothing is migrated: the test (or ``build_runtime``) does that.

A test that must stop the server (an outage) starts its own with :func:`running_cluster`, and stops and
starts it with ``cluster.stop(mode)`` and ``cluster.start(same_port=True)``. To stop it ``-m immediate``
(a crash) and keep what was committed, give it ``synchronous_commit=on``: with it off, as here, a crash
loses the last commits (``fsync=off`` loses nothing while the machine stays up).

The binaries are ``$DRAFTBOT_PG_BIN`` if set, else the newest ``/usr/lib/postgresql/*/bin`` (Debian's
layout), else ``initdb``/``pg_ctl``/``postgres`` on ``PATH``. ``make test`` installs Debian's ``postgresql``
when they are missing; without them the PostgreSQL tests fail and say how to install them.
``DRAFTBOT_SKIP_POSTGRES=1`` skips them instead (for a quick local run; CI must not set it).

PostgreSQL refuses to run as root. As root (CI), initdb and the server run as the ``postgres`` user that
Debian's package creates (``nobody`` if there is none), and the temporary directory is theirs; otherwise
they run as the current user.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SKIP_ENV = "DRAFTBOT_SKIP_POSTGRES"
BIN_ENV = "DRAFTBOT_PG_BIN"
DEBIAN_BINS = Path("/usr/lib/postgresql")
TOOLS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "postgres"
START_TIMEOUT_S = 30
INSTALL_HINT = (
    "The PostgreSQL tests need the PostgreSQL server binaries (initdb, pg_ctl, postgres) and none were "
    f"found in ${BIN_ENV}, {DEBIAN_BINS}/*/bin or PATH. `make test` installs them when run as root; "
    "otherwise install Debian's package: `sudo apt-get install postgresql` (or point "
    f"{BIN_ENV} at a bin directory that has them). To skip these tests instead, set {SKIP_ENV}=1."
)

# Settings for speed and for catching mistakes: durability off (the data is thrown away), and a server time
# zone far from UTC so that code relying on the session time zone being UTC shows up.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "shared_buffers": "32MB",
    "timezone": "'Pacific/Chatham'",  # UTC+12:45 / +13:45
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",  # expected errors (unique violations, triggers) would be noise
}


class PostgresUnavailable(RuntimeError):
    pass


def find_bin_dir() -> Path | None:
    """Where initdb, pg_ctl and postgres are: ``$DRAFTBOT_PG_BIN``, Debian's layout, then PATH."""
    override = os.environ.get(BIN_ENV)
    if override:
        path = Path(override)
        if not all((path / tool).is_file() for tool in TOOLS):
            raise PostgresUnavailable(f"{BIN_ENV}={override} does not contain {', '.join(TOOLS)}")
        return path
    candidates = [path / "bin" for path in DEBIAN_BINS.glob("*") if (path / "bin" / "pg_ctl").is_file()]
    candidates.sort(key=lambda bin_dir: _version_key(bin_dir.parent.name), reverse=True)
    for bin_dir in candidates:
        if all((bin_dir / tool).is_file() for tool in TOOLS):
            return bin_dir
    on_path = [shutil.which(tool) for tool in TOOLS]
    if all(on_path):
        return Path(str(on_path[0])).resolve().parent
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunAs:
    """Who runs initdb and the server: the current user, or (as root) an unprivileged one."""

    uid: int
    gid: int
    name: str

    @classmethod
    def choose(cls) -> RunAs | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                entry = pwd.getpwnam(name)
                return cls(entry.pw_uid, entry.pw_gid, name)
        raise PostgresUnavailable(
            "running as root, and there is no postgres or nobody user to run PostgreSQL"
        )


@dataclass
class PostgresCluster:
    bin_dir: Path
    base: Path
    run_as: RunAs | None
    port: int = 0
    _databases: Iterator[int] = field(default_factory=itertools.count)
    _running: bool = False
    settings: dict[str, str] = field(default_factory=dict)  # over SERVER_SETTINGS

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """For asyncpg itself."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def next_database_name(self) -> str:
        return f"draftbot_test_{next(self._databases)}"

    # --- life cycle ---------------------------------------------------------------------------------

    def _run(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        # As root, like `setpriv --reuid --regid --clear-groups`: no root privileges left.
        run_as = self.run_as
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        for name in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGOPTIONS"):
            env.pop(name, None)
        result = subprocess.run(
            [str(arg) for arg in args],
            cwd=self.base,  # the unprivileged user may not be able to enter the current directory
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 30,
            check=False,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,
        )
        if check and result.returncode != 0:
            command = " ".join(str(arg) for arg in args)
            raise PostgresUnavailable(
                f"{command} failed ({result.returncode}):\n{result.stdout}{result.stderr}{self._log_tail()}"
            )
        return result

    def _log_tail(self) -> str:
        try:
            return "\n--- server log ---\n" + "\n".join(self.log_file.read_text().splitlines()[-30:])
        except OSError:
            return ""

    def init(self) -> None:
        self._run(
            self.bin_dir / "initdb",
            "-D",
            self.data_dir,
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        settings = {**SERVER_SETTINGS, **self.settings, "unix_socket_directories": f"'{self.base}'"}
        with (self.data_dir / "postgresql.conf").open("a") as conf:  # initdb made it; it stays theirs
            conf.write("\n# draftbot tests\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self, attempts: int = 3, *, same_port: bool = False) -> None:
        """Start the server on a free port; with ``same_port``, again on the port it had (a restart)."""
        for attempt in range(1, attempts + 1):
            if not (same_port and self.port):
                self.port = _free_port()
            result = self._run(
                self.bin_dir / "pg_ctl",
                "start",
                "-D",
                self.data_dir,
                "-l",
                self.log_file,
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "-o",
                f"-p {self.port}",
                check=False,
            )
            if result.returncode == 0:
                self._running = True
                return
            if attempt == attempts:  # most likely someone took the port between our check and the start
                raise PostgresUnavailable(
                    f"PostgreSQL did not start:\n{result.stdout}{result.stderr}{self._log_tail()}"
                )

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m mode``: ``immediate`` (like a crash, the default) or ``fast``."""
        if self._running:
            result = self._run(
                self.bin_dir / "pg_ctl", "stop", "-D", self.data_dir, "-m", mode, "-w", check=False
            )
            if result.returncode == 0:
                self._running = False
            else:
                self._kill_postmaster()

    def _kill_postmaster(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
        self._running = False

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def running_cluster(settings: dict[str, str] | None = None) -> Iterator[PostgresCluster]:
    """Start a throwaway cluster (``settings`` over :data:`SERVER_SETTINGS`); stop and delete it on the way
    out, whatever happened."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(INSTALL_HINT)
    run_as = RunAs.choose()
    # Short: the unix socket path must fit in 107 bytes.
    base = Path(tempfile.mkdtemp(prefix="draftbot-pg-"))
    cluster = PostgresCluster(bin_dir, base, run_as, settings=dict(settings or {}))
    watchdog = None
    try:
        watchdog = _start_watchdog(cluster)
        if run_as is not None:
            os.chown(base, run_as.uid, run_as.gid)
            if not _reachable_by_others(base.parent):
                raise PostgresUnavailable(
                    f"the {run_as.name} user cannot reach {base}: set TMPDIR to a directory others may enter"
                )
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            cluster.remove()
            if watchdog is not None:
                watchdog.terminate()
                watchdog.wait()


# Cleans up if the test run dies without running its teardown (SIGTERM, SIGKILL, a CI timeout): waits for
# the test process to go away, then stops the server and deletes its directory.
WATCHDOG = """
import os, shutil, subprocess, sys, time
pid, pg_ctl, data, base, uid, gid = sys.argv[1:]
while True:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        break
    except PermissionError:
        pass
    time.sleep(1)
user = {} if uid == "-" else {"user": int(uid), "group": int(gid), "extra_groups": []}
if os.path.exists(os.path.join(data, "postmaster.pid")):
    stop = [pg_ctl, "stop", "-D", data, "-m", "immediate", "-w"]
    subprocess.run(stop, cwd=base, capture_output=True, **user)
shutil.rmtree(base, ignore_errors=True)
"""


def _start_watchdog(cluster: PostgresCluster) -> subprocess.Popen[bytes] | None:
    """Best effort: without it, only a run that dies uncleanly leaves a server behind."""
    run_as = cluster.run_as
    with contextlib.suppress(OSError):
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                WATCHDOG,
                str(os.getpid()),
                str(cluster.bin_dir / "pg_ctl"),
                str(cluster.data_dir),
                str(cluster.base),
                str(run_as.uid) if run_as else "-",
                str(run_as.gid) if run_as else "-",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not hit by the Ctrl-C or the kill meant for the test run
        )
    return None


def _reachable_by_others(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in (path, *path.parents))


async def create_database(cluster: PostgresCluster) -> str:
    import asyncpg  # a dev dependency; imported here so that merely loading this plugin never needs it

    name = cluster.next_database_name()
    connection = await asyncpg.connect(cluster.dsn())
    try:
        await connection.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    finally:
        await connection.close()
    return cluster.url(name)


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: PostgreSQL tests skipped")
    with contextlib.ExitStack() as stack:
        try:
            cluster = stack.enter_context(running_cluster())
        except PostgresUnavailable as err:
            failure = str(err)  # failed below, outside this handler: no chained traceback around the message
        else:
            yield cluster
            return
    pytest.fail(failure, pytrace=False)


@pytest.fixture
async def postgres_url(postgres_cluster: PostgresCluster) -> AsyncIterator[str]:
    """A fresh, empty database (no tables) on the test PostgreSQL server."""
    yield await create_database(postgres_cluster)
