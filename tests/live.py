"""The portal's own processes, run for real by the tests that check it as production runs
it: a Redis server of the test's own, Celery workers and beat, gunicorn and PgBouncer, all
on 127.0.0.1 against the test database.

Those tests are ``django_db(transaction=True)``: what they write is committed, so the
processes see it, and every process is stopped before pytest-django empties the tables.
The processes get production settings (``eportal.settings`` from the environment, like
docker-compose.yml), not ``tests.settings``. Each one's output goes to a log file in the
test's ``tmp_path``; a process that does not come up fails the test with that log.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

HOST = "127.0.0.1"
BIN = Path(sys.executable).parent
ROOT = Path(settings.BASE_DIR)


def program(name: str, *, package: str) -> str:
    """The path of a program the test needs: skipped without it, failed in CI (.ci/run
    installs it), like the tests marked ``postgres``."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found:
        return found
    reason = f"needs {name} (Debian: apt-get install {package})"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


class Process:
    """A command run in its own process group, its output in ``log``."""

    def __init__(self, command: list[str], *, env: dict[str, str], log: Path) -> None:
        self.command, self.env, self.log = command, env, log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def check_running(self) -> None:
        if self.popen.poll() is not None:
            raise AssertionError(
                f"{self.command[0]} exited ({self.popen.returncode}):\n{self.output()[-3000:]}"
            )

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        def seen() -> bool:
            self.check_running()
            return text in self.output()

        wait_for(seen, timeout=timeout, what=f"{Path(self.command[0]).name} saying {text!r}")

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def children(self) -> list[int]:
        """The ids of this process's children (a Celery worker's pool processes)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                    found.append(int(entry.name))
        return found


def pid_with_connection(pids: list[int], local_port: int, remote_port: int) -> int | None:
    """Which of ``pids`` holds the TCP connection 127.0.0.1:local_port -> :remote_port."""
    wanted = f"0100007F:{local_port:04X} 0100007F:{remote_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if f"{fields[1]} {fields[2]}" == wanted:
            inode = fields[9]
            break
    if inode is None:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
    return None


class RedisServer:
    """A redis-server of the test's own (never the shared one), on a free port, without
    persistence: stopping it loses what it held, as a crashed broker without AOF would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: Process | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def ping(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    def start(self) -> None:
        command = [program("redis-server", package="redis-server")]
        command += ["--port", str(self.port), "--bind", HOST]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = Process(command, env=base_env(), log=self.directory / "redis.log")
        wait_for(self.ping, timeout=20, what="redis-server answering")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture
def live_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, running (``stop()``/``start()`` it at will)."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def base_env() -> dict[str, str]:
    return {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}


def database_url(*, port: int | None = None) -> str:
    """The test database (the one this test commits to), directly or through ``port``."""
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = db["HOST"] or HOST
    return f"postgres://{user}{password}@{host}:{port or db['PORT'] or 5432}/{db['NAME']}"


def portal_env(*, redis_url: str, database: str, **extra: str) -> dict[str, str]:
    """Production settings from the environment, as docker-compose.yml gives them, for a
    process on this machine: plain HTTP on loopback, synthetic identity numbers."""
    env = base_env()
    env.update(
        DJANGO_SETTINGS_MODULE="eportal.settings",
        PYTHONPATH=str(ROOT),
        DEBUG="0",
        # This process's key: sessions it writes (factories.log_in_patient) read there.
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        EPORTAL_ALLOW_SYNTHETIC_IDS="1",
        # No collectstatic in the tests: templates name the plain static files.
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DATABASE_URL=database,
        REDIS_URL=redis_url,
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def celery_worker(env: dict[str, str], log: Path, *, concurrency: int = 2) -> Process:
    command = [str(BIN / "celery"), "-A", "eportal", "worker", "--pool=prefork"]
    command += ["-c", str(concurrency), "--loglevel=INFO", "-n", f"live{free_port()}@%h"]
    command += ["--without-gossip", "--without-mingle"]
    worker = Process(command, env=env, log=log)
    worker.wait_for_output(" ready.")
    return worker


def celery_beat(env: dict[str, str], log: Path, schedule: Path) -> Process:
    command = [str(BIN / "celery"), "-A", "eportal", "beat", "--loglevel=INFO"]
    command += [f"--schedule={schedule}"]
    beat = Process(command, env=env, log=log)
    beat.wait_for_output("beat: Starting...")
    return beat


def http_status(port: int, path: str) -> int:
    with contextlib.suppress(OSError):
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("GET", path)
            return conn.getresponse().status
        finally:
            conn.close()
    return 0


def gunicorn(env: dict[str, str], log: Path, *, workers: int = 2) -> tuple[Process, int]:
    """gunicorn as in docker-compose.yml (sync workers), on a free port; (process, port)."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "eportal.wsgi:application", "--bind", f"{HOST}:{port}"]
    command += ["--workers", str(workers), "--timeout", "60", "--forwarded-allow-ips", HOST]
    web = Process(command, env=env, log=log)

    def up() -> bool:
        web.check_running()
        return http_status(port, "/healthz") == 200

    wait_for(up, timeout=60, what="gunicorn answering /healthz", every=0.25)
    return web, port


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in reversed(processes):
            process.stop()


class PgBouncer:
    """PgBouncer in transaction pooling in front of the test's PostgreSQL, as
    docker-compose.yml runs it. Debian's package (1.18) keeps no prepared statements across
    transactions, so the portal behind it runs with ``DB_PREPARE_THRESHOLD=0``."""

    def __init__(self, directory: Path, *, pool_size: int = 4) -> None:
        db = connection.settings_dict
        self.port = free_port()
        directory.mkdir(exist_ok=True)
        userlist = directory / "userlist.txt"
        userlist.write_text(f'"{db["USER"] or "postgres"}" ""\n')
        ini = directory / "pgbouncer.ini"
        ini.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={db['HOST'] or HOST} port={db['PORT'] or 5432}",
                    "[pgbouncer]",
                    f"listen_addr = {HOST}",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = trust",
                    f"auth_file = {userlist}",
                    "pool_mode = transaction",
                    f"default_pool_size = {pool_size}",
                    "max_client_conn = 500",
                    # psycopg and Django send nothing else at startup; pgbouncer refuses
                    # startup parameters it does not know.
                    "ignore_startup_parameters = extra_float_digits",
                    f"admin_users = {db['USER'] or 'postgres'}",
                    "",
                ]
            )
        )
        command = [program("pgbouncer", package="pgbouncer")]
        # It refuses to run as root (CI runs as root); it reads its files before it switches.
        if os.geteuid() == 0:
            command += ["-u", "nobody"]
        self.process = Process([*command, str(ini)], env=base_env(), log=directory / "log")

        def listening() -> bool:
            self.process.check_running()
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1):
                return True
            return False

        wait_for(listening, timeout=20, what="pgbouncer listening")

    def show(self, what: str) -> list[dict[str, str]]:
        """``SHOW <what>`` on PgBouncer's admin console (psql: it speaks only the simple
        query protocol)."""
        command = [
            program("psql", package="postgresql-client"),
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "pgbouncer",
        ]
        result = subprocess.run(
            [*command, "-AF", "\t", "-c", f"SHOW {what}"],
            check=True,
            capture_output=True,
            text=True,
        )
        lines = [line for line in result.stdout.splitlines() if "\t" in line]
        header, *rows = (line.split("\t") for line in lines)
        return [dict(zip(header, row, strict=False)) for row in rows]

    def stop(self) -> None:
        self.process.stop()
