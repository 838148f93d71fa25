"""The backup and restore commands of docs/operations.md ("Backups"), run for real: dump the
database with pg_dump, restore it into an empty database with pg_restore, and find the same
rows there."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.db import connection

from tests import factories

COUNTS = (
    "SELECT count(*) FROM clinics_patient",
    "SELECT count(*) FROM clinics_clinic",
    "SELECT count(*) FROM django_migrations",
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def libpq_args(dbname: str) -> list[str]:
    settings = connection.settings_dict
    args = ["-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432)]
    args += ["-U", settings["USER"] or "postgres"]
    return [*args, "-d", dbname]


def scalar(dbname: str, sql: str) -> str:
    command = ["psql", *libpq_args(dbname), "-tAc", sql]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def test_pg_dump_and_pg_restore_bring_back_every_row(tmp_path, clinic):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.fail("pg_dump and pg_restore are needed (Debian: postgresql-client)")
    patients = [factories.make_patient(clinic) for _ in range(5)]
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "eportal.dump"
    restored = f"{source}_restored"
    # The commands of docs/operations.md, with this test database's name.
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", *libpq_args(source)],
        check=True,
    )
    scalar("postgres", f'DROP DATABASE IF EXISTS "{restored}"')
    scalar("postgres", f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", *libpq_args(restored), str(dump)],
            check=True,
        )
        for count in COUNTS:
            assert scalar(restored, count) == scalar(source, count)
        ids = scalar(
            restored, "SELECT string_agg(national_id, ',' ORDER BY id) FROM clinics_patient"
        )
        assert ids.split(",") == [p.national_id for p in patients]
    finally:
        scalar("postgres", f'DROP DATABASE IF EXISTS "{restored}"')
