"""PgBouncer in transaction mode between the functions and PostgreSQL, as RDS Proxy is in AWS.

What runs here is what Lambda meets in production: a pooler that hands each transaction whatever
server session is free, so nothing a function sends may rely on session state, and that refuses a
connection whose startup packet carries a parameter it does not know. PgBouncer knows ``user``,
``database``, ``application_name``, ``client_encoding``, ``DateStyle``, ``TimeZone`` and
``standard_conforming_strings``; ``extra_float_digits`` is ignored, as RDS Proxy accepts it. Anything
else (``options`` first of all) is refused at startup, as RDS Proxy refuses it. (The exact RDS Proxy
list is held by tests/integration/test_proxy.py's startup guard.)

Debian's ``pgbouncer`` package provides the server (the Makefile installs it, as it does Chromium).
Without it, ``LOCAL_PROXY=none`` makes ``make dev`` connect straight to PostgreSQL (docs/deploy.md).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# Where Debian installs it (/usr/sbin is not on every user's PATH).
BINARY_CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")
ADMIN_USER = "pgbouncer_admin"
# Server sessions per database and user: above the local stack's workers and the tests' concurrent
# shoppers, below the embedded server's 100 connections with room for the tests' own.
POOL_SIZE = 30


def binary() -> str | None:
    for candidate in BINARY_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@dataclass
class PgBouncer:
    """A running PgBouncer for ``upstream`` (a server's conninfo), serving ``users`` (name → password)."""

    upstream: str
    users: dict[str, str]
    port: int = 0
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    process: subprocess.Popen[bytes] | None = None
    directory: Path | None = None

    def start(self, timeout_s: float = 20) -> PgBouncer:
        executable = binary()
        if executable is None:
            raise RuntimeError(
                "PgBouncer (Debian's pgbouncer package) was not found: run `make install` as root, "
                "`sudo apt-get install pgbouncer`, or set LOCAL_PROXY=none to connect straight to PostgreSQL"
            )
        self.port = self.port or _free_port()
        server = conninfo_to_dict(self.upstream)
        self.directory = Path(tempfile.mkdtemp(prefix="cart-pgbouncer-"))
        users = {**self.users, ADMIN_USER: self.admin_password}
        (self.directory / "userlist.txt").write_text(
            "".join(f"{_quote(name)} {_quote(password)}\n" for name, password in users.items())
        )
        target = " ".join(f"{key}={server[key]}" for key in ("host", "port") if server.get(key))
        (self.directory / "pgbouncer.ini").write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = {target}",
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = scram-sha-256",
                    f"auth_file = {self.directory / 'userlist.txt'}",
                    f"admin_users = {ADMIN_USER}",
                    "pool_mode = transaction",
                    "max_client_conn = 500",
                    f"default_pool_size = {POOL_SIZE}",
                    # RDS Proxy accepts it; libpq-based drivers of other languages send it.
                    "ignore_startup_parameters = extra_float_digits",
                    "log_connections = 0",
                    "log_disconnections = 0",
                    "log_pooler_errors = 1",
                    f"logfile = {self.directory / 'pgbouncer.log'}",
                    "",
                ]
            )
        )
        command = [executable, str(self.directory / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root. The embedded server's own user can reach its socket.
            user = next((name for name in ("embedded_postgres", "nobody") if _user_exists(name)), "nobody")
            shutil.chown(self.directory, user)
            for path in self.directory.iterdir():
                shutil.chown(path, user)
            command[1:1] = ["-u", user]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603 - Debian's pgbouncer
        deadline = time.monotonic() + timeout_s
        while not self._listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"PgBouncer exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"PgBouncer did not listen on 127.0.0.1:{self.port} in {timeout_s} s")
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def url(self, dbname: str, user: str) -> str:
        """A conninfo that reaches ``dbname`` through this PgBouncer as ``user``."""
        return make_conninfo(
            host="127.0.0.1", port=self.port, dbname=dbname, user=user, password=self.users[user], sslmode="disable"
        )

    def admin(self, command: str) -> list[dict[str, str | None]]:
        """A command on PgBouncer's admin console (e.g. ``RECONNECT``: server sessions are replaced
        once released, so a changed role setting reaches every new transaction; ``SHOW SERVERS``);
        the rows it answers, as text."""
        conninfo = make_conninfo(
            host="127.0.0.1", port=self.port, dbname="pgbouncer", user=ADMIN_USER,
            password=self.admin_password, sslmode="disable",
        )  # fmt: skip
        # The admin console speaks only the simple query protocol.
        with psycopg.connect(conninfo, autocommit=True) as conn:
            result = conn.pgconn.exec_(command.encode())
            if result.status not in (psycopg.pq.ExecStatus.COMMAND_OK, psycopg.pq.ExecStatus.TUPLES_OK):
                raise RuntimeError(f"PgBouncer {command}: {(result.error_message or b'').decode()}")
            names = [(result.fname(column) or b"").decode() for column in range(result.nfields)]
            return [
                {
                    name: None if (value := result.get_value(row, column)) is None else value.decode()
                    for column, name in enumerate(names)
                }
                for row in range(result.ntuples)
            ]

    def log_tail(self, lines: int = 20) -> str:
        if self.directory is None or not (self.directory / "pgbouncer.log").exists():
            return ""
        return "\n".join((self.directory / "pgbouncer.log").read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# The application role the API signs in as locally (db/app_role.py), as DbAppUsername is in AWS.
APP_ROLE = "cart_app"


def api_database(admin_url: str, password: str, *, proxy: bool = True) -> tuple[str, PgBouncer | None]:
    """Where the API connects for ``admin_url``'s database: as the application role, through a new
    PgBouncer in transaction mode (``proxy``) or straight to the server; and that PgBouncer to stop."""
    if not proxy:
        return make_conninfo(admin_url, user=APP_ROLE, password=password), None
    bouncer = PgBouncer(admin_url, {APP_ROLE: password}).start()
    return bouncer.url(str(conninfo_to_dict(admin_url).get("dbname") or APP_ROLE), APP_ROLE), bouncer
