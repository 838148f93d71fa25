"""Settings read from the environment: time zone, languages, database and cache."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PYTHON = [sys.executable, *(["-S"] if sys.flags.no_site else [])]

PRINT_DATABASE = (
    "import json, eportal.settings as s; d = s.DATABASES['default']; "
    "print(json.dumps({k: d.get(k) for k in ('ENGINE', 'NAME', 'USER', 'PASSWORD', 'HOST', "
    "'PORT')}))"
)


def settings_value(code: str, **env_vars: str) -> str:
    """Import the production settings module in a clean process and print something."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        **env_vars,
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    result = subprocess.run(
        [*PYTHON, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_time_zone_is_oslo():
    assert settings.TIME_ZONE == "Europe/Oslo"
    assert settings.USE_TZ is True


def test_celery_uses_the_same_time_zone():
    assert settings.CELERY_TIMEZONE == "Europe/Oslo"


def test_norwegian_bokmal_is_the_default_language():
    assert settings.LANGUAGE_CODE == "nb"
    assert settings.USE_I18N is True


def test_bokmal_nynorsk_and_english_are_available():
    assert {code for code, _name in settings.LANGUAGES} >= {"nb", "nn", "en"}


def test_database_url_for_postgresql_is_parsed():
    database = json.loads(settings_value(PRINT_DATABASE, DATABASE_URL="postgres://u:p@h:5432/db"))
    assert database == {
        "ENGINE": "eportal.db",  # Django's PostgreSQL backend, cheaper health check
        "NAME": "db",
        "USER": "u",
        "PASSWORD": "p",
        "HOST": "h",
        "PORT": 5432,
    }


PRINT_POOLING = (
    "import json, eportal.settings as s; d = s.DATABASES['default']; "
    "print(json.dumps([d.get('OPTIONS', {}), d.get('DISABLE_SERVER_SIDE_CURSORS', False)]))"
)


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        ("", [{"server_side_binding": True, "prepare_threshold": 2}, False]),
        ("5", [{"server_side_binding": True, "prepare_threshold": 5}, False]),
        # Behind PgBouncer in transaction pooling (docker-compose.yml, tests/test_scale_out.py).
        ("0", [{}, True]),
    ],
)
def test_prepared_statements_and_server_side_cursors_follow_db_prepare_threshold(
    threshold, expected
):
    url = "postgres://u:p@h:5432/db"
    printed = settings_value(PRINT_POOLING, DATABASE_URL=url, DB_PREPARE_THRESHOLD=threshold)
    assert json.loads(printed) == expected


def test_database_defaults_to_a_sqlite_file():
    database = json.loads(settings_value(PRINT_DATABASE))
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(BASE_DIR / "db.sqlite3")


@pytest.mark.parametrize(
    ("env_vars", "backend"),
    [
        ({}, "django.core.cache.backends.locmem.LocMemCache"),
        ({"REDIS_URL": "redis://localhost:6379/0"}, "eportal.cache.RedisCache"),
    ],
)
def test_cache_follows_redis_url(env_vars, backend):
    code = "import eportal.settings as s; print(s.CACHES['default']['BACKEND'])"
    assert settings_value(code, **env_vars) == backend


@pytest.mark.parametrize(
    ("env_vars", "eager"),
    [({}, "True"), ({"REDIS_URL": "redis://localhost:6379/0"}, "False")],
)
def test_celery_runs_in_process_without_redis(env_vars, eager):
    code = "import eportal.settings as s; print(s.CELERY_TASK_ALWAYS_EAGER)"
    assert settings_value(code, **env_vars) == eager


def test_allowed_hosts_is_a_comma_separated_list():
    code = "import eportal.settings as s; print(','.join(s.ALLOWED_HOSTS))"
    value = settings_value(code, ALLOWED_HOSTS=" portal.example.org, www.example.org ,")
    assert value == "portal.example.org,www.example.org"


def test_synthetic_identity_numbers_follow_the_environment():
    code = "import eportal.settings as s; print(s.EPORTAL_ALLOW_SYNTHETIC_IDS)"
    assert settings_value(code) == "False"
    assert settings_value(code, EPORTAL_ALLOW_SYNTHETIC_IDS="1") == "True"


def test_tests_allow_synthetic_identity_numbers():
    assert settings.EPORTAL_ALLOW_SYNTHETIC_IDS is True
