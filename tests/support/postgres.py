"""A throwaway PostgreSQL server built from the distribution's binaries.

``initdb`` creates a cluster in a temp dir, ``pg_ctl`` starts it on a free
127.0.0.1 port with durability switched off (tests never need a crash-safe
disk), and each test that wants isolation gets its own database.

PostgreSQL refuses to run as root, so when we are root the temp dir is handed
to an unprivileged user (``postgres`` if it exists, else ``nobody``) and the
binaries run through ``runuser`` (or ``setpriv``).

The cluster lives under ``/tmp`` (or ``$FABLEDGER_PG_TMPDIR``, e.g. ``/dev/shm``;
it must be traversable by that user).

Binary lookup order: ``$FABLEDGER_PG_BIN`` (if set, it is the only place
looked at, so pointing it at an empty dir simulates a machine without
PostgreSQL), then ``PATH``, then ``/usr/lib/postgresql/*/bin``, newest first.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

PG_BIN_ENV = "FABLEDGER_PG_BIN"
PG_TMPDIR_ENV = "FABLEDGER_PG_TMPDIR"  # e.g. /dev/shm: a tmpfs makes CREATE DATABASE ~20x faster
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
USER = "fabledger"
HOST = "127.0.0.1"
# C locale: byte-order collation, identical on every machine.
INITDB_ARGS = ("-A", "trust", "-U", USER, "--no-sync", "-E", "UTF8", "--locale=C")
SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",
}


class PostgresCommandFailed(RuntimeError):
    """initdb or pg_ctl exited non-zero; the message carries its output and the server log."""


def find_pg_bindir() -> Path | None:
    """The directory holding a matching initdb + pg_ctl pair, if any."""
    for bindir in _candidate_bindirs():
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl")):
            return bindir
    return None


def _candidate_bindirs() -> list[Path]:
    override = os.environ.get(PG_BIN_ENV)
    if override is not None:
        return [Path(override)]
    initdb = shutil.which("initdb")  # resolved, so pg_ctl comes from the same install
    on_path = [Path(initdb).resolve().parent] if initdb else []
    return on_path + _debian_bindirs()


def _debian_bindirs() -> list[Path]:
    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parent.name))

    return sorted(DEBIAN_PG_ROOT.glob("*/bin"), key=version, reverse=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PostgresDatabase:
    dsn: str
    host: str
    port: int
    user: str
    dbname: str

    def eventsourcing_env(self, **extra: str) -> dict[str, str]:
        """Environment for an eventsourcing Application using this database."""
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": "",
            **extra,
        }


class PostgresServer:
    """One running cluster; ``start()`` then ``stop()`` (or use as a context)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.host = HOST
        self.user = USER
        self.port = 0
        self._root: Path | None = None
        self._runas = _unprivileged_user() if os.geteuid() == 0 else None

    # -- lifecycle -----------------------------------------------------------

    def start(self, attempts: int = 3) -> PostgresServer:
        parent = os.environ.get(PG_TMPDIR_ENV, "/tmp")  # not $TMPDIR: may be private to root
        self._root = Path(tempfile.mkdtemp(prefix="fabledger-pg-", dir=parent))
        if self._runas is not None:
            os.chown(self._root, self._runas.pw_uid, self._runas.pw_gid)
        try:
            self._run("initdb", "-D", self.datadir, *INITDB_ARGS)
            self._start_on_free_port(attempts)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_on_free_port(self, attempts: int) -> None:
        for attempt in range(1, attempts + 1):
            self.port = free_port()  # another process may take it before postgres binds it
            try:
                self._run("pg_ctl", "-D", self.datadir, "-l", self.logfile, *self._start_args())
                return
            except PostgresCommandFailed:
                if attempt == attempts:
                    raise

    def stop(self) -> None:
        if self._root is None:
            return
        if (Path(self.datadir) / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    def pause(self, mode: str = "fast") -> None:
        """Stop the server but keep its data (pg_ctl stop -m fast|smart|immediate)."""
        self._run("pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop")

    def resume(self) -> None:
        """Start a paused server again, on the same port."""
        self._run("pg_ctl", "-D", self.datadir, "-l", self.logfile, *self._start_args())

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- databases -----------------------------------------------------------

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def database(self, name: str) -> PostgresDatabase:
        return PostgresDatabase(self.dsn(name), self.host, self.port, self.user, name)

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(statement)

    # -- plumbing ------------------------------------------------------------

    @property
    def datadir(self) -> str:
        assert self._root is not None, "server not started"
        return str(self._root / "data")

    @property
    def logfile(self) -> str:
        assert self._root is not None, "server not started"
        return str(self._root / "postgres.log")

    def _start_args(self) -> list[str]:
        settings = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
        return ["-o", f"-p {self.port} -k {self._root} {settings}", "-w", "start"]

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        argv = [str(self.bindir / tool), *args]
        if self._runas is not None:
            argv = [*_drop_privileges(self._runas), *argv]
        # cwd: the unprivileged user may not be able to read the caller's cwd.
        result = subprocess.run(
            argv, cwd=self._root, capture_output=True, text=True, check=False, timeout=60
        )
        if check and result.returncode != 0:
            log = Path(self.logfile)
            raise PostgresCommandFailed(
                f"{' '.join(argv)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
                f"--- {log}\n{log.read_text()[-4000:] if log.exists() else '(none)'}"
            )


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither 'postgres' nor 'nobody' exists")


def _drop_privileges(user: pwd.struct_passwd) -> list[str]:
    if shutil.which("runuser"):
        return ["runuser", "-u", user.pw_name, "--"]
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
